//! The npu's store unit alone (Verilated, its own top), against the golden model: random
//! STOREs of output words and accumulator rows (signed and unsigned outputs, 4- and 8-byte
//! accumulators, unaligned rows, rows across 4 KiB boundaries, rows of no elements) into the
//! AXI4 memory model with random back-pressure and a read port granted at random; the DRAM
//! afterwards must equal the model's byte for byte. A SLVERR on one byte must raise the error
//! flag with the pc of the first STORE that wrote a beat holding it.

mod common;

use common::npu::{first_touching, model_image, offer, put_lanes, row_ranges, Ports, BASES, DRAM};
use common::{sim_cache, tool};
use npugen::config::{ArrayConfig, Config, Dataflow, NpuConfig, PostprocConfig};
use npugen::flow::tools::ToolKind;
use npugen::model::io::wrap;
use npugen::model::npu::{Dram, HostRegs, NpuModel};
use npugen::npu::gen::buffers::ACC_DELAYED_READ;
use npugen::npu::gen::store_unit_design;
use npugen::npu::isa::{Deps, Instr, Opcode};
use npugen::npu::regs::ErrorCode;
use npugen::npu::Geometry;
use npugen::rng::{seed_from_env, Rng};
use npugen::sim::npu::axi_mem::{AxiMem, MemIn, MemTiming};
use npugen::sim::ports::{get_u64 as get, set_u64 as put};
use npugen::sim::verilator::{build_model, TraceFormat, Verilated};

fn config(bus: u32, cols: u32, post: Option<bool>, acc_bits: u32) -> Config {
    Config {
        name: "npu_s".into(),
        array: Some(ArrayConfig {
            rows: 2,
            cols,
            dataflow: Dataflow::Os,
            acc_bits: Some(acc_bits),
            ..Default::default()
        }),
        postproc: post.map(|signed| PostprocConfig {
            out_signed: signed,
            zero_point: 0,
            ..Default::default()
        }),
        lif: None,
        npu: Some(NpuConfig {
            act_kib: 1,
            weight_kib: 1,
            out_kib: 1,
            param_rows: 4,
            acc_rows: 16,
            axi_data_bits: bus,
            ..Default::default()
        }),
    }
}

fn random_store(rng: &mut Rng, g: &Geometry, cfg: &Config) -> Instr {
    loop {
        let src = if g.out.is_some() {
            rng.range(0, 1) as u64
        } else {
            1
        };
        let depth = if src == 0 { g.out_words } else { g.acc_rows };
        let eb = u64::from(if src == 0 { g.out_bytes } else { g.acc_bytes });
        let elems = rng.range(0, i64::from(g.cols)) as u64;
        let rows = rng.range(0, 4) as u64;
        let sram = rng.range(0, i64::from(depth) - rows as i64) as u64;
        let stride = rng.range(0, 300) as u64;
        let base = rng.range(0, 3) as u64;
        let dram = rng.range(0, 3000) as u64;
        let end = BASES[base as usize] + dram + rows.saturating_sub(1) * stride + elems * eb;
        if rows > 0 && end > DRAM as u64 {
            continue;
        }
        let deps = Deps {
            pop_prev: rng.coin(),
            push_prev: rng.coin(),
            ..Deps::default()
        };
        let args = [
            ("src", src),
            ("base", base),
            ("sram", sram),
            ("dram", dram),
            ("rows", rows),
            ("elems", elems),
            ("stride", stride),
        ];
        let i = Instr::new(Opcode::Store, deps, &args).unwrap();
        let plain = Instr::new(Opcode::Store, Deps::default(), &args).unwrap();
        let mut d = Dram::new(DRAM + 32);
        d.bytes[DRAM..DRAM + 16].copy_from_slice(&plain.to_bytes());
        d.bytes[DRAM + 16..DRAM + 32].copy_from_slice(
            &Instr::new(Opcode::Finish, Deps::default(), &[])
                .unwrap()
                .to_bytes(),
        );
        let regs = HostRegs {
            prog_addr: DRAM as u64,
            prog_len: 2,
            bases: BASES,
        };
        if NpuModel::new(cfg).unwrap().run(&mut d, &regs).error == ErrorCode::None {
            return i;
        }
    }
}

#[test]
fn stores_match_the_model_byte_for_byte() {
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    let seed = seed_from_env("NPUGEN_SEED");
    println!("seed {seed} (NPUGEN_SEED replays)");
    let mut rng = Rng::new(seed);
    for (bus, cols, post, acc_bits) in [
        (128, 3, Some(true), 32),
        (64, 5, Some(false), 24),
        (256, 2, None, 40),
    ] {
        let cfg = config(bus, cols, post, acc_bits);
        let g = Geometry::new(&cfg).unwrap();
        let build = build_model(
            &store_unit_design(&cfg).unwrap(),
            TraceFormat::Vcd,
            &sim_cache(),
        )
        .unwrap();
        for kind in 0..3 {
            let mut model = NpuModel::new(&cfg).unwrap();
            let (ob, os) = g.out.unwrap_or((8, true));
            for w in model.out_words_mut() {
                for v in w.iter_mut() {
                    *v = wrap(i128::from(rng.next_u64() as i64), ob, os);
                }
            }
            for r in model.acc_rows_mut() {
                for v in r.iter_mut() {
                    *v = wrap(i128::from(rng.next_u64() as i64), g.acc_bits, g.signed);
                }
            }
            let out = model.out_words_mut().to_vec();
            let acc = model.acc_rows_mut().to_vec();
            let mut stores: Vec<Instr> =
                (0..20).map(|_| random_store(&mut rng, &g, &cfg)).collect();
            // Rows that straddle 4 KiB: accumulator rows ending past 4096 and 8192.
            for at in [4090u64, 8190] {
                let args = [
                    ("src", 1),
                    ("dram", at),
                    ("rows", 1),
                    ("elems", u64::from(g.cols)),
                ];
                stores.insert(
                    0,
                    Instr::new(Opcode::Store, Deps::default(), &args).unwrap(),
                );
            }
            // Kind 2: SLVERR on one byte a store past the middle writes; the unit must flag
            // the first store whose bursts hold it.
            let (slverr, want_err) = if kind == 2 {
                let (r, _) = rows_of(&stores, &g)
                    .into_iter()
                    .find(|(_, idx)| *idx >= stores.len() / 2)
                    .expect("a store with data past the middle");
                let bad = r.start..r.start + 1;
                let first = first_touching(&rows_of(&stores, &g), u64::from(g.axi_bytes), &bad);
                (Some(bad), Some(first))
            } else {
                (None, None)
            };
            let timing = match kind {
                0 => MemTiming::default(),
                _ => MemTiming {
                    latency: 13,
                    bytes_per_cycle: 6,
                    offer: 40,
                    seed,
                    slverr,
                },
            };
            let bytes: Vec<u8> = (0..DRAM).map(|_| rng.next_u64() as u8).collect();
            let (mut dram, regs) = model_image(&stores, &bytes);
            assert_eq!(model.run(&mut dram, &regs).error, ErrorCode::None);

            let mut sim = Verilated::load(&build).unwrap();
            let s = Ports::of(&sim);
            let mut mem = AxiMem::new(bytes, g.axi_bytes, timing.clone());
            put(sim.inputs_mut(), s.get("rst"), 1);
            sim.step();
            put(sim.inputs_mut(), s.get("rst"), 0);
            for (i, b) in BASES.iter().enumerate() {
                put(sim.inputs_mut(), s.get(&format!("base{i}")), *b);
            }
            let (mut next, mut pops, mut pushes) = (0usize, 0, 0);
            let want_pops = stores.iter().filter(|i| i.deps.pop_prev).count();
            let want_pushes = stores.iter().filter(|i| i.deps.push_prev).count();
            // The memories' read and output registers (output buffer, accumulator memory).
            let cols = g.cols as usize;
            let mut rd1 = [vec![0i128; cols], vec![0i128; cols]];
            let mut rdata = rd1.clone();
            // An accumulator read request waits a cycle in a register before the memory.
            let mut acc_request: Option<usize> = None;
            let mut cycles = 0;
            loop {
                cycles += 1;
                assert!(cycles < 100_000, "the store unit hung at STORE {next}");
                let m = mem.drive().clone();
                let grant = rng.coin();
                let w = sim.inputs_mut();
                put(w, s.get("start"), u64::from(cycles == 1));
                put(w, s.get("tok_c2s"), u64::from(rng.coin()));
                put(w, s.get("halt"), 0);
                put(w, s.get("rd_grant"), u64::from(grant));
                // What the output registers hold: words read two cycles before (accumulator
                // rows: requested three cycles before).
                put_lanes(w, s.get("rd_out_data"), &rdata[0], ob);
                put_lanes(w, s.get("rd_acc_data"), &rdata[1], g.acc_bits);
                offer(w, &s, &stores, next);
                put(w, s.get("aw_ready"), u64::from(m.awready));
                put(w, s.get("w_ready"), u64::from(m.wready));
                put(w, s.get("b_valid"), u64::from(m.b.is_some()));
                put(w, s.get("b_resp"), u64::from(m.b.unwrap_or(0)));
                sim.step();
                let o = sim.outputs();
                let one = |n: &str| o[s.get(n).offset] & 1 == 1;
                let read = (one("rd_en") && grant)
                    .then(|| (get(o, s.get("rd_src")), get(o, s.get("rd_addr")) as usize));
                // The clock edge: the output registers take the read registers, which take this
                // cycle's read. In the npu the compute unit reads the accumulator memory
                // whenever the store does not: its read register then holds someone else's row.
                rdata = rd1.clone();
                let acc_now = match read {
                    Some((1, at)) => Some(at),
                    _ => None,
                };
                let acc_read = if ACC_DELAYED_READ {
                    std::mem::replace(&mut acc_request, acc_now)
                } else {
                    acc_now
                };
                if let Some((0, at)) = read {
                    rd1[0] = out[at].clone();
                }
                if let Some(at) = acc_read {
                    rd1[1] = acc[at].clone();
                } else {
                    rd1[1] = (0..cols)
                        .map(|_| wrap(i128::from(rng.next_u64() as i64), g.acc_bits, g.signed))
                        .collect();
                }
                let wdata: Vec<u8> = (0..g.axi_bytes as usize)
                    .map(|k| (o[s.get("w_data").offset + k / 4] >> (8 * (k % 4))) as u8)
                    .collect();
                mem.respond(&MemIn {
                    aw: one("aw_valid").then(|| {
                        (
                            get(o, s.get("aw_addr")),
                            get(o, s.get("aw_len")) as u32,
                            g.axi_bytes.trailing_zeros(),
                        )
                    }),
                    w: one("w_valid").then(|| (wdata, get(o, s.get("w_strb")), one("w_last"))),
                    bready: one("b_ready"),
                    ..MemIn::default()
                });
                pops += usize::from(one("pop_c2s"));
                pushes += usize::from(one("push_s2c"));
                let taken = one("q_ready");
                if !taken && next == stores.len() && one("idle") && mem.quiet() {
                    break;
                }
                next += usize::from(taken);
            }
            let label = format!("{bus}-bit bus, {cols} columns, post {post:?}, {timing:?}");
            assert!(mem.violations.is_empty(), "{label}: {:?}", mem.violations);
            assert_eq!((pops, pushes), (want_pops, want_pushes), "{label}");
            let err = sim.outputs()[s.get("err").offset] & 1 == 1;
            if let Some(pc) = want_err {
                assert!(err, "{label}: no error flag");
                let got = sim.outputs()[s.get("err_pc").offset] as usize;
                assert_eq!(got, pc, "{label}: the store that saw SLVERR");
                continue;
            }
            assert!(!err, "{label}: error flag");
            let first = (0..DRAM).find(|&k| mem.bytes[k] != dram.bytes[k]);
            assert_eq!(first, None, "{label}: first differing byte");
        }
    }
}

/// The DRAM bytes each store's rows touch.
fn rows_of(stores: &[Instr], g: &Geometry) -> Vec<(std::ops::Range<u64>, usize)> {
    row_ranges(stores, |i| {
        u64::from(if i.get("src") == 0 {
            g.out_bytes
        } else {
            g.acc_bytes
        })
    })
}
