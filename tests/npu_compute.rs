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
use npugen::npu::gen::buffers::ACC_DELAYED_READ;
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
            acc_rows: 64,
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

/// Pairs of MATMULs, each pair in rows of its own from row 16 on (rows no later instruction
/// writes): one writing m rows, then a short one accumulating into its last row and on, its k
/// from 1 to 6: in OS the second tile's first row arrives one, two or three cycles behind the
/// first's last (each of the write-back's bypasses).
fn back_to_back(g: &Geometry) -> Vec<Instr> {
    let m = u64::from(match g.dataflow {
        Dataflow::Os => g.rows,
        Dataflow::Ws => 2,
    });
    let k0 = match g.dataflow {
        Dataflow::Os => 8,
        Dataflow::Ws => u64::from(g.rows),
    };
    (1..=6)
        .flat_map(|k1| {
            let base = 16 + (2 * m - 1) * (k1 - 1);
            [(0, base, k0), (1, base + m - 1, k1.min(k0))]
        })
        .map(|(accumulate, acc, k)| {
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
        (Dataflow::Os, 4, 2, 32),
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
                // Long tiles, each followed by a short one accumulating into its last row.
                instrs.extend(back_to_back(&g));
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
            // The memories' read registers and output registers (act, weight, acc, param),
            // as lanes; a read's word reaches the unit two cycles after it, an accumulator
            // row's three when its request is registered before the memory (the memory
            // then reads the request of the cycle before).
            let lanes_of = |words: &[i128]| words.to_vec();
            let p_words = params.first().map_or(0, Vec::len);
            let widths = [g.rows as usize, cols as usize, cols as usize, p_words];
            let mut rd1: Vec<Vec<i128>> = widths.iter().map(|&n| vec![0; n]).collect();
            let mut rdata = rd1.clone();
            // Rows read two cycles, one cycle and no cycle before a write of the same row (the
            // write-back's bypasses), and the accumulator reads of the two cycles before.
            let mut hazards = [0usize; 3];
            let mut acc_reads: [Option<usize>; 2] = [None; 2];
            let mut acc_request: Option<usize> = None;
            loop {
                cycles += 1;
                assert!(
                    cycles < 50_000,
                    "the compute unit hung at instruction {next}"
                );
                let w = sim.inputs_mut();
                put_lanes(w, s.get("act_rdata"), &rdata[0], g.in_bits);
                put_lanes(w, s.get("w_rdata"), &rdata[1], g.w_bits);
                put_lanes(w, s.get("acc_rdata"), &rdata[2], g.acc_bits);
                put_lanes(w, s.get("p_rdata"), &rdata[3], 32);
                put(w, s.get("halt"), 0);
                put(w, s.get("tok_l2c"), u64::from(rng.coin()));
                put(w, s.get("tok_s2c"), u64::from(rng.coin()));
                offer(w, &s, &instrs, next);
                sim.step();
                let o = sim.outputs();
                let one = |n: &str| o[s.get(n).offset] & 1 == 1;
                let addr = |n: &str| get(o, s.get(n)) as usize;
                // The clock edge: output registers take the read registers (they never
                // hold), which take this cycle's reads, read first.
                rdata.clone_from(&rd1);
                let re = |n: &str, a: &str| one(n).then(|| addr(a));
                if let Some(a) = re("act_re", "act_raddr") {
                    rd1[0] = lanes_of(&act[a]);
                }
                if let Some(a) = re("w_re", "w_raddr") {
                    rd1[1] = lanes_of(&weight[a]);
                }
                let acc_read = re("acc_re", "acc_raddr");
                let acc_read = if ACC_DELAYED_READ {
                    std::mem::replace(&mut acc_request, acc_read)
                } else {
                    acc_read
                };
                let written = one("acc_we").then(|| addr("acc_waddr"));
                match acc_read {
                    // A row read as it is written: the memory may return anything.
                    Some(a) if written == Some(a) => {
                        hazards[2] += 1;
                        rd1[2] = (0..cols)
                            .map(|_| wrap(i128::from(rng.next_u64() as i64), g.acc_bits, true))
                            .collect();
                    }
                    Some(a) => rd1[2] = acc[a].clone(),
                    // In the npu the store unit reads when the compute unit does not.
                    None => {
                        rd1[2] = (0..cols)
                            .map(|_| wrap(i128::from(rng.next_u64() as i64), g.acc_bits, true))
                            .collect();
                    }
                }
                for (d, &r) in acc_reads.iter().enumerate() {
                    if written.is_some() && written == r {
                        hazards[d] += 1;
                    }
                }
                acc_reads = [acc_reads[1], acc_read];
                if let Some(a) = re("p_re", "p_raddr") {
                    rd1[3] = params[a].iter().map(|&x| i128::from(x)).collect();
                }
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
            println!("{label}: rows read 2, 1 and 0 cycles before their write: {hazards:?}");
            if round == 0 && df == Dataflow::Os && rows > 1 {
                // Both bypasses ran (an OS array of one row drains a tile per MATMUL, a WS
                // array a tile after its weights: their rows never come that close).
                assert!(hazards.iter().all(|&n| n > 0), "{label}: {hazards:?}");
            }
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
