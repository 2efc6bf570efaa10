//! The npu's compute unit alone (Verilated, its own top with the plain array and the
//! post-processing module inside), against the golden model: random MATMULs (overwrite and
//! accumulate, k and m at their limits, one-row tiles accumulating into one row back to back)
//! and POSTs and ALU instructions over buffers the harness holds, with tokens given at random;
//! every accumulator row and output word must equal the model's, and the unit must pop and
//! push as the flags say.

mod common;

use common::npu::{get_lanes, offer, put_lanes, Ports};
use common::{sim_cache, tool};
use npugen::config::{ArrayConfig, Config, Dataflow, NpuConfig, PostprocConfig};
use npugen::flow::tools::ToolKind;
use npugen::model::io::wrap;
use npugen::model::npu::{Dram, HostRegs, NpuModel};
use npugen::model::postproc::column_params;
use npugen::model::Matrix;
use npugen::npu::gen::compute_unit_design;
use npugen::npu::isa::{Deps, Instr, Opcode};
use npugen::npu::regs::ErrorCode;
use npugen::npu::Geometry;
use npugen::rng::{seed_from_env, Rng};
use npugen::sim::ports::{get_u64 as get, set_u64 as put};
use npugen::sim::verilator::{build_model, TraceFormat, Verilated};

fn config(df: Dataflow, rows: u32, cols: u32, acc_bits: u32) -> Config {
    Config {
        name: "npu_c".into(),
        array: Some(ArrayConfig {
            rows,
            cols,
            dataflow: df,
            acc_bits: Some(acc_bits),
            ..Default::default()
        }),
        postproc: Some(PostprocConfig {
            zero_point: -3,
            ..Default::default()
        }),
        lif: None,
        npu: Some(NpuConfig {
            act_kib: 1,
            weight_kib: 1,
            out_kib: 1,
            param_rows: 4,
            acc_rows: 16,
            ..Default::default()
        }),
    }
}

/// An ALU instruction: every function and source, operand rows overlapping the destination,
/// the immediate and the shift at their extremes as often as in between.
fn random_alu(rng: &mut Rng, g: &Geometry, deps: Deps) -> Instr {
    let rows = rng.range(0, 5) as u64;
    let kind = rng.range(0, 2) as u64;
    let depth = if kind == 1 { 60 } else { g.acc_rows };
    let imm = match rng.range(0, 4) {
        0 => 0x8000,
        1 => 0x7fff,
        2 => rng.range(0, 0xffff) as u64,
        _ => (rng.range(-4, 5) as i16 as u16).into(),
    };
    let top = i64::from(g.acc_bits) - 1;
    let shift = match rng.range(0, 4) {
        0 => 0,
        1 => top as u64,
        _ => rng.range(0, top) as u64,
    };
    let args = [
        ("func", rng.range(0, 4) as u64),
        ("src_kind", kind),
        (
            "dst",
            rng.range(0, i64::from(g.acc_rows) - rows as i64) as u64,
        ),
        ("src", rng.range(0, i64::from(depth) - rows as i64) as u64),
        ("rows", rows),
        ("imm", imm),
        ("shift", shift),
    ];
    Instr::new(Opcode::Alu, deps, &args).unwrap()
}

fn random_instr(rng: &mut Rng, g: &Geometry) -> Instr {
    let deps = Deps {
        pop_prev: rng.coin(),
        pop_next: rng.coin(),
        push_prev: rng.coin(),
        push_next: rng.coin(),
    };
    let pick = rng.range(0, 4);
    if pick == 1 {
        return random_alu(rng, g, deps);
    }
    if pick == 0 {
        let rows = rng.range(0, 5) as u64;
        let args = [
            (
                "acc",
                rng.range(0, i64::from(g.acc_rows) - rows as i64) as u64,
            ),
            ("rows", rows),
            ("dst", rng.range(0, 40) as u64),
            ("param", rng.range(0, i64::from(g.param_rows) - 1) as u64),
        ];
        return Instr::new(Opcode::Post, deps, &args).unwrap();
    }
    let r = u64::from(g.rows);
    let (k, m) = match g.dataflow {
        Dataflow::Os => (rng.range(1, 12) as u64, rng.range(1, r as i64) as u64),
        Dataflow::Ws => (rng.range(1, r as i64) as u64, rng.range(1, 6) as u64),
    };
    // One-row tiles into a few rows, so back-to-back accumulation into one row happens.
    let acc = if m == 1 {
        rng.range(0, 1) as u64
    } else {
        rng.range(0, 16 - m as i64) as u64
    };
    let act_words = match g.dataflow {
        Dataflow::Os => k,
        Dataflow::Ws => m,
    };
    let args = [
        ("accumulate", u64::from(rng.coin())),
        ("act", rng.range(0, 60 - act_words as i64) as u64),
        ("weight", rng.range(0, 60 - k as i64) as u64),
        ("acc", acc),
        ("k", k),
        ("m", m),
    ];
    Instr::new(Opcode::Matmul, deps, &args).unwrap()
}

/// A MATMUL writing rows 0..m, then a one-word MATMUL accumulating into rows m-1.. .
fn back_to_back(g: &Geometry) -> Vec<Instr> {
    let m = u64::from(match g.dataflow {
        Dataflow::Os => g.rows,
        Dataflow::Ws => 2,
    });
    let (k0, k1) = match g.dataflow {
        Dataflow::Os => (8, 1),
        Dataflow::Ws => (u64::from(g.rows), 1),
    };
    [(0, 0, k0), (1, m - 1, k1)]
        .iter()
        .map(|&(accumulate, acc, k)| {
            let args = [
                ("accumulate", accumulate),
                ("act", 2),
                ("weight", 5),
                ("acc", acc),
                ("k", k),
                ("m", m),
            ];
            Instr::new(Opcode::Matmul, Deps::default(), &args).unwrap()
        })
        .collect()
}

#[test]
fn matmuls_and_posts_match_the_model() {
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    let seed = seed_from_env("NPUGEN_SEED");
    println!("seed {seed} (NPUGEN_SEED replays)");
    let mut rng = Rng::new(seed);
    // OS with one row: one-row tiles accumulating into one row as closely as the feeder
    // allows; its 20-bit accumulators give the ALU a width that is not a power of two.
    for (df, rows, cols, acc_bits) in [
        (Dataflow::Os, 3, 2, 32),
        (Dataflow::Ws, 2, 3, 32),
        (Dataflow::Os, 1, 2, 20),
    ] {
        let cfg = config(df, rows, cols, acc_bits);
        let g = Geometry::new(&cfg).unwrap();
        let p = cfg.postproc.clone().unwrap();
        let build = build_model(
            &compute_unit_design(&cfg).unwrap(),
            TraceFormat::Vcd,
            &sim_cache(),
        )
        .unwrap();
        let (ob, os) = g.out.unwrap();
        for round in 0..8 {
            let mut model = NpuModel::new(&cfg).unwrap();
            for w in model.act_words_mut() {
                for v in w.iter_mut() {
                    *v = wrap(i128::from(rng.next_u64() as i64), g.in_bits, true);
                }
            }
            for w in model.weight_words_mut() {
                for v in w.iter_mut() {
                    *v = wrap(i128::from(rng.next_u64() as i64), g.w_bits, true);
                }
            }
            // Valid records: the config's scale, random biases.
            for row in model.param_rows_mut() {
                let b = Matrix::zeros(1, cols as usize);
                let bias: Vec<i128> = (0..cols)
                    .map(|_| i128::from(rng.range(-3000, 3000)))
                    .collect();
                let recs = column_params(&p, &b, &bias, None).unwrap();
                *row = recs.iter().flat_map(|r| r.words()).collect();
            }
            let act = model.act_words_mut().to_vec();
            let weight = model.weight_words_mut().to_vec();
            let params = model.param_rows_mut().to_vec();
            let mut instrs: Vec<Instr> = (0..30).map(|_| random_instr(&mut rng, &g)).collect();
            if round == 0 {
                // A long tile, then a one-word tile accumulating into its last row: in OS the
                // second tile's first row arrives right behind the first's last (the
                // write-back's bypass).
                instrs.splice(0..0, back_to_back(&g));
                // And last, SHR's ties on both sides of zero: -3, 5, -5 by 2 in rows 13..16.
                for (row, v) in [(13, -3i16), (14, 5), (15, -5)] {
                    let mov = [
                        ("src_kind", 2),
                        ("dst", row),
                        ("rows", 1),
                        ("imm", v as u16 as u64),
                    ];
                    instrs.push(Instr::new(Opcode::Alu, Deps::default(), &mov).unwrap());
                }
                let shr = [
                    ("func", 4),
                    ("src", 13),
                    ("dst", 13),
                    ("rows", 3),
                    ("shift", 1),
                ];
                instrs.push(Instr::new(Opcode::Alu, Deps::default(), &shr).unwrap());
            }
            let mut prog: Vec<Instr> = instrs
                .iter()
                .map(|i| Instr {
                    deps: Deps::default(),
                    ..i.clone()
                })
                .collect();
            prog.push(Instr::new(Opcode::Finish, Deps::default(), &[]).unwrap());
            let mut dram = Dram::new(16 * prog.len());
            for (k, x) in prog.iter().enumerate() {
                dram.bytes[16 * k..16 * k + 16].copy_from_slice(&x.to_bytes());
            }
            let regs = HostRegs {
                prog_addr: 0,
                prog_len: prog.len() as u32,
                bases: [0; 4],
            };
            let out = model.run(&mut dram, &regs);
            assert_eq!(out.error, ErrorCode::None, "{:?} at {}", out.error, out.pc);

            let mut sim = Verilated::load(&build).unwrap();
            let s = Ports::of(&sim);
            let mut acc = vec![vec![0i128; cols as usize]; g.acc_rows as usize];
            let mut outw = vec![vec![0i128; cols as usize]; g.out_words as usize];
            put(sim.inputs_mut(), s.get("rst"), 1);
            sim.step();
            put(sim.inputs_mut(), s.get("rst"), 0);
            let (mut next, mut cycles) = (0usize, 0);
            let mut counts = [0usize; 4];
            // Reads issued last cycle: (act, weight, acc, param) addresses.
            let mut reads: [Option<usize>; 4] = [None; 4];
            loop {
                cycles += 1;
                assert!(
                    cycles < 50_000,
                    "the compute unit hung at instruction {next}"
                );
                let w = sim.inputs_mut();
                if let Some(a) = reads[0] {
                    put_lanes(w, s.get("act_rdata"), &act[a], g.in_bits);
                }
                if let Some(a) = reads[1] {
                    put_lanes(w, s.get("w_rdata"), &weight[a], g.w_bits);
                }
                if let Some(a) = reads[2] {
                    put_lanes(w, s.get("acc_rdata"), &acc[a], g.acc_bits);
                }
                if let Some(a) = reads[3] {
                    let words: Vec<i128> = params[a].iter().map(|&x| i128::from(x)).collect();
                    put_lanes(w, s.get("p_rdata"), &words, 32);
                }
                put(w, s.get("halt"), 0);
                put(w, s.get("tok_l2c"), u64::from(rng.coin()));
                put(w, s.get("tok_s2c"), u64::from(rng.coin()));
                offer(w, &s, &instrs, next);
                sim.step();
                let o = sim.outputs();
                let one = |n: &str| o[s.get(n).offset] & 1 == 1;
                let addr = |n: &str| get(o, s.get(n)) as usize;
                // Read-first memories: this cycle's reads see the rows before this cycle's write.
                let re = |n: &str, a: &str| one(n).then(|| addr(a));
                reads = [
                    re("act_re", "act_raddr"),
                    re("w_re", "w_raddr"),
                    re("acc_re", "acc_raddr"),
                    re("p_re", "p_raddr"),
                ];
                // The unit has no bypass: it relies on never reading the row it writes in
                // the same cycle (the write would land after the read).
                let collide =
                    one("acc_we") && one("acc_re") && addr("acc_raddr") == addr("acc_waddr");
                assert!(
                    !collide,
                    "{df:?} {rows}x{cols} round {round}, cycle {cycles}: accumulator row {} read \
                     while written (instructions taken: {next}; the program: {instrs:?})",
                    addr("acc_raddr")
                );
                if one("acc_we") {
                    acc[addr("acc_waddr")] =
                        get_lanes(o, s.get("acc_wdata"), cols, g.acc_bits, true);
                }
                if one("out_we") {
                    outw[addr("out_waddr")] = get_lanes(o, s.get("out_wdata"), cols, ob, os);
                }
                for (k, n) in ["pop_l2c", "pop_s2c", "push_c2l", "push_c2s"]
                    .iter()
                    .enumerate()
                {
                    counts[k] += usize::from(one(n));
                }
                let taken = one("q_ready");
                if !taken && next == instrs.len() && one("idle") {
                    break;
                }
                next += usize::from(taken);
            }
            let want = [
                instrs.iter().filter(|i| i.deps.pop_prev).count(),
                instrs.iter().filter(|i| i.deps.pop_next).count(),
                instrs.iter().filter(|i| i.deps.push_prev).count(),
                instrs.iter().filter(|i| i.deps.push_next).count(),
            ];
            let label = format!("{df:?} {rows}x{cols} round {round}");
            assert_eq!(counts, want, "{label}: pops l2c/s2c, pushes c2l/c2s");
            assert_eq!(acc, model.acc_rows_mut(), "{label}: accumulator rows");
            assert_eq!(outw, model.out_words_mut(), "{label}: output words");
            if round == 0 {
                // Against the ISA's words, not only the model: ties away from zero.
                for (row, v) in [(13, -2), (14, 3), (15, -3)] {
                    assert!(acc[row].iter().all(|&x| x == v), "{label}: row {row}");
                }
            }
        }
    }
}
