//! The npu's load unit alone (Verilated, its own top), against the golden model: random LOADs
//! (every buffer, unaligned rows, strides that are not multiples of the bus, rows across 4 KiB
//! boundaries, rows over 256 beats, zero padding on every side, rows of no elements) read
//! from the AXI4 memory model with random back-pressure; every buffer word the unit writes
//! must equal the model's, and the unit must take, pop and push exactly as the flags say. A
//! SLVERR on one byte must raise the error flag with the pc of the first LOAD that read a beat
//! holding it.

mod common;

use common::npu::{first_touching, get_lanes, model_image, offer, row_ranges, Ports, BASES, DRAM};
use common::{sim_cache, tool};
use npugen::config::{ArrayConfig, Config, Dataflow, NpuConfig, PostprocConfig};
use npugen::flow::tools::ToolKind;
use npugen::model::npu::{Dram, HostRegs, NpuModel};
use npugen::npu::gen::load_unit_design;
use npugen::npu::isa::{Deps, Instr, Opcode};
use npugen::npu::regs::ErrorCode;
use npugen::npu::Geometry;
use npugen::rng::{seed_from_env, Rng};
use npugen::sim::npu::axi_mem::{AxiMem, MemIn, MemTiming};
use npugen::sim::ports::set_u64 as put;
use npugen::sim::verilator::{build_model, TraceFormat, Verilated};

fn config(axi_data_bits: u32, rows: u32, cols: u32, in_bits: u32) -> Config {
    Config {
        name: "npu_l".into(),
        array: Some(ArrayConfig {
            rows,
            cols,
            dataflow: Dataflow::Ws,
            input_bits: in_bits,
            weight_bits: 8,
            acc_bits: Some(32),
            ..Default::default()
        }),
        postproc: Some(PostprocConfig::default()),
        lif: None,
        npu: Some(NpuConfig {
            act_kib: 1,
            weight_kib: 1,
            param_rows: 8,
            acc_rows: 16,
            axi_data_bits,
            ..Default::default()
        }),
    }
}

/// A random LOAD the model accepts (it runs [LOAD, FINISH] without error).
fn random_load(rng: &mut Rng, g: &Geometry, cfg: &Config) -> Instr {
    loop {
        let buf = rng.range(0, 2) as u64;
        let (lanes, depth) = match buf {
            0 => (g.rows, g.act_words),
            1 => (g.cols, g.weight_words),
            _ => (g.cols, g.param_rows),
        };
        let pad = buf != 2;
        let pad_left = if pad {
            rng.range(0, (i64::from(lanes) - 1).min(2)) as u64
        } else {
            0
        };
        let elems = rng.range(0, i64::from(lanes) - pad_left as i64) as u64;
        let rows = rng.range(0, 5) as u64;
        let (pt, pb) = if pad {
            (rng.range(0, 2) as u64, rng.range(0, 2) as u64)
        } else {
            (0, 0)
        };
        let words = pt + rows + pb;
        let sram = rng.range(0, i64::from(depth) - words as i64) as u64;
        let stride = rng.range(0, 300) as u64;
        let base = rng.range(0, 3) as u64;
        let dram = rng.range(0, 3000) as u64;
        let deps = Deps {
            pop_next: rng.coin(),
            push_next: rng.coin(),
            ..Deps::default()
        };
        let i = Instr::new(
            Opcode::Load,
            deps,
            &[
                ("buf", buf),
                ("base", base),
                ("pad_left", pad_left),
                ("sram", sram),
                ("dram", dram),
                ("rows", rows),
                ("elems", elems),
                ("stride", stride),
                ("pad_top", pt),
                ("pad_bottom", pb),
            ],
        )
        .unwrap();
        // Every row within the RTL's memory (the model's also holds the program above it).
        let eb = [g.act_bytes, g.weight_bytes, 20][buf as usize] as u64;
        let end = BASES[base as usize] + dram + rows.saturating_sub(1) * stride + elems * eb;
        if rows > 0 && end > DRAM as u64 {
            continue;
        }
        // The model must run it (ranges), flags aside.
        let plain = Instr {
            deps: Deps::default(),
            ..i.clone()
        };
        let prog = [
            plain,
            Instr::new(Opcode::Finish, Deps::default(), &[]).unwrap(),
        ];
        let mut dram_img = Dram::new(DRAM + 64);
        let at = DRAM;
        for (k, x) in prog.iter().enumerate() {
            dram_img.bytes[at + 16 * k..at + 16 * k + 16].copy_from_slice(&x.to_bytes());
        }
        let regs = HostRegs {
            prog_addr: at as u64,
            prog_len: 2,
            bases: BASES,
        };
        if NpuModel::new(cfg).unwrap().run(&mut dram_img, &regs).error == ErrorCode::None {
            return i;
        }
    }
}

#[test]
fn loads_match_the_model_word_for_word() {
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    let seed = seed_from_env("NPUGEN_SEED");
    println!("seed {seed} (NPUGEN_SEED replays)");
    let mut rng = Rng::new(seed);
    // The last: parameter rows of up to 2,200 bytes, over 256 beats of the 64-bit bus (a row
    // split at 256 beats, and after a 4 KiB boundary).
    let configs = [
        (128, 4, 3, 8),
        (64, 3, 5, 8),
        (256, 5, 2, 12),
        (64, 2, 110, 8),
    ];
    for (bus, rows, cols, in_bits) in configs {
        let cfg = config(bus, rows, cols, in_bits);
        let g = Geometry::new(&cfg).unwrap();
        let build = build_model(
            &load_unit_design(&cfg).unwrap(),
            TraceFormat::Vcd,
            &sim_cache(),
        )
        .unwrap();
        for kind in 0..3 {
            let mut loads: Vec<Instr> = (0..24).map(|_| random_load(&mut rng, &g, &cfg)).collect();
            // Rows that straddle the 4 KiB boundaries: parameter rows (cols * 20 bytes) at
            // 26 and 30 bytes before 4096 and 8192.
            for at in [4070, 8162] {
                let straddle = Instr::new(
                    Opcode::Load,
                    Deps::default(),
                    &[
                        ("buf", 2),
                        ("dram", at),
                        ("rows", 1),
                        ("elems", u64::from(g.cols)),
                        ("sram", 1),
                    ],
                )
                .unwrap();
                loads.insert(0, straddle);
            }
            // Kind 2: SLVERR on one byte of a row of a load past the middle; the unit must
            // flag the first load that reads a beat holding it.
            let (slverr, want_err) = if kind == 2 {
                let (at, _) = rows_of(&loads, &g)
                    .into_iter()
                    .filter(|(_, idx)| *idx >= loads.len() / 2)
                    .map(|(r, idx)| (r.start, idx))
                    .next()
                    .expect("a load with data past the middle");
                let bad = at..at + 1;
                let first = first_touching(&rows_of(&loads, &g), u64::from(g.axi_bytes), &bad);
                (Some(bad), Some(first))
            } else {
                (None, None)
            };
            let timing = match kind {
                0 => MemTiming::default(),
                _ => MemTiming {
                    latency: 17,
                    bytes_per_cycle: 5,
                    offer: 45,
                    seed,
                    slverr,
                },
            };
            let mut bytes: Vec<u8> = (0..DRAM + 64).map(|_| rng.next_u64() as u8).collect();
            // The model: the loads (flags cleared), FINISH, at the end of DRAM.
            let (mut dram, regs) = model_image(&loads, &bytes);
            let mut model = NpuModel::new(&cfg).unwrap();
            assert_eq!(model.run(&mut dram, &regs).error, ErrorCode::None);

            // The RTL: the same loads through its queue port.
            let mut sim = Verilated::load(&build).unwrap();
            let s = Ports::of(&sim);
            bytes.truncate(DRAM);
            let mut mem = AxiMem::new(bytes, g.axi_bytes, timing.clone());
            let mut act = vec![vec![0i128; g.rows as usize]; g.act_words as usize];
            let mut weight = vec![vec![0i128; g.cols as usize]; g.weight_words as usize];
            let mut params = vec![vec![0u32; 5 * g.cols as usize]; g.param_rows as usize];
            let (mut next, mut pops, mut pushes) = (0usize, 0, 0);
            let want_pops = loads.iter().filter(|i| i.deps.pop_next).count();
            let want_pushes = loads.iter().filter(|i| i.deps.push_next).count();
            put(sim.inputs_mut(), s.get("rst"), 1);
            sim.step();
            put(sim.inputs_mut(), s.get("rst"), 0);
            for (i, b) in BASES.iter().enumerate() {
                put(sim.inputs_mut(), s.get(&format!("base{i}")), *b);
            }
            let mut cycles = 0;
            loop {
                cycles += 1;
                assert!(cycles < 200_000, "the load unit hung at LOAD {next}");
                let m = mem.drive().clone();
                let w = sim.inputs_mut();
                put(w, s.get("start"), u64::from(cycles == 1));
                put(w, s.get("tok_c2l"), u64::from(rng.coin()));
                put(w, s.get("halt"), 0);
                offer(w, &s, &loads, next);
                put(w, s.get("ar_ready"), u64::from(m.arready));
                put(w, s.get("r_valid"), u64::from(m.r.is_some()));
                if let Some((data, resp, last)) = &m.r {
                    let r = s.get("r_data");
                    for (k, c) in data.chunks(4).enumerate() {
                        w[r.offset + k] = u32::from_le_bytes(c.try_into().unwrap());
                    }
                    put(w, s.get("r_resp"), u64::from(*resp));
                    put(w, s.get("r_last"), u64::from(*last));
                }
                sim.step();
                let o = sim.outputs();
                let one = |n: &str| o[s.get(n).offset] & 1 == 1;
                let get = |n: &str| {
                    u64::from(o[s.get(n).offset])
                        | if s.get(n).width > 32 {
                            u64::from(o[s.get(n).offset + 1]) << 32
                        } else {
                            0
                        }
                };
                mem.respond(&MemIn {
                    ar: one("ar_valid").then(|| {
                        (
                            get("ar_addr"),
                            get("ar_len") as u32,
                            g.axi_bytes.trailing_zeros(),
                        )
                    }),
                    rready: one("r_ready"),
                    ..MemIn::default()
                });
                let we = o[s.get("we").offset];
                let at = get("waddr") as usize;
                if we & 1 == 1 {
                    act[at] = get_lanes(o, s.get("act_wdata"), g.rows, g.in_bits, true);
                }
                if we & 2 == 2 {
                    weight[at] = get_lanes(o, s.get("weight_wdata"), g.cols, 8, true);
                }
                if we & 4 == 4 {
                    params[at] = get_lanes(o, s.get("param_wdata"), 5 * g.cols, 32, false)
                        .into_iter()
                        .map(|w| w as u32)
                        .collect();
                }
                assert!(we.count_ones() <= 1);
                pops += usize::from(one("pop_c2l"));
                pushes += usize::from(one("push_l2c"));
                // Idle in the cycle that takes an instruction is the idle before it.
                let taken = one("q_ready");
                if !taken && next == loads.len() && one("idle") && mem.quiet() {
                    break;
                }
                next += usize::from(taken);
            }
            let label = format!("{bus}-bit bus, {rows}x{cols}, {timing:?}");
            assert!(mem.violations.is_empty(), "{label}: {:?}", mem.violations);
            assert_eq!((pops, pushes), (want_pops, want_pushes), "{label}");
            if let Some(pc) = want_err {
                // After an error the buffers do not matter (the program ends): only the flag.
                assert!(sim_err(&sim, &s), "{label}: no error flag");
                let got = sim.outputs()[s.get("err_pc").offset] as usize;
                assert_eq!(got, pc, "{label}: the load that saw SLVERR");
                continue;
            }
            assert!(!sim_err(&sim, &s), "{label}: error flag");
            assert_eq!(act, model.act_words(), "{label}: activation buffer");
            assert_eq!(weight, model.weight_words(), "{label}: weight buffer");
            assert_eq!(params, model.param_rows(), "{label}: parameter buffer");
        }
    }
}

fn sim_err(sim: &Verilated, s: &Ports) -> bool {
    sim.outputs()[s.get("err").offset] & 1 == 1
}

/// The DRAM bytes each load's rows touch.
fn rows_of(loads: &[Instr], g: &Geometry) -> Vec<(std::ops::Range<u64>, usize)> {
    row_ranges(loads, |i| {
        u64::from([g.act_bytes, g.weight_bytes, 20][i.get("buf") as usize])
    })
}
