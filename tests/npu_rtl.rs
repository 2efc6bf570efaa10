//! The npu's Verilated RTL, driven as a host would (AXI4 memory model with random
//! back-pressure, AXI4-Lite register driver), against the instruction-level golden model:
//! status, error pc, the instruction counter and the ID registers.
//!
//! Here: FINISH and every error the sequencer raises at dispatch or on a fetch, on the three
//! bus widths' npus (the 64-bit one without post-processing, where POST and the parameter and
//! output buffers are bad fields); `npu_gemm.rs` runs whole programs on the same builds.

mod common;

use common::npu::bus_config as config;
use common::{sim_cache, tool};
use npugen::config::Dataflow;
use npugen::flow::tools::ToolKind;
use npugen::model::npu::{Dram, HostRegs, NpuModel};
use npugen::npu::gen::npu_design;
use npugen::npu::isa::{Deps, Instr, Opcode};
use npugen::npu::regs::{ErrorCode, MAGIC, VERSION};
use npugen::npu::Geometry;
use npugen::rng::seed_from_env;
use npugen::sim::npu::axi_mem::MemTiming;
use npugen::sim::npu::run;
use npugen::sim::verilator::{build_model, TraceFormat, Verilated};

fn op(o: Opcode, deps: Deps, args: &[(&str, u64)]) -> Instr {
    Instr::new(o, deps, args).unwrap()
}

/// A program (or raw words) in a DRAM of `len` bytes at `addr`.
struct Case {
    what: &'static str,
    words: Vec<[u32; 4]>,
    len: usize,
    addr: u64,
    prog_len: u32,
}

fn case(what: &'static str, prog: Vec<Instr>) -> Case {
    let n = prog.len() as u32;
    Case {
        what,
        words: prog.iter().map(Instr::encode).collect(),
        len: 4096,
        addr: 0,
        prog_len: n,
    }
}

fn cases(g: &Geometry) -> Vec<Case> {
    let d = Deps::default();
    let fin = || op(Opcode::Finish, d, &[]);
    let mut v = vec![
        case("finish", vec![fin()]),
        case("finish, then more", vec![fin(), fin(), fin()]),
        case(
            "padded parameter rows",
            vec![
                op(
                    Opcode::Load,
                    d,
                    &[("buf", 2), ("rows", 1), ("elems", 1), ("pad_left", 1)],
                ),
                fin(),
            ],
        ),
        case(
            "illegal buf",
            vec![op(Opcode::Load, d, &[("buf", 3)]), fin()],
        ),
        case(
            "elems beyond R",
            vec![
                op(
                    Opcode::Load,
                    d,
                    &[("rows", 1), ("elems", u64::from(g.rows) + 1)],
                ),
                fin(),
            ],
        ),
        case(
            "act range",
            vec![
                op(
                    Opcode::Load,
                    d,
                    &[
                        ("sram", u64::from(g.act_words) - 1),
                        ("rows", 2),
                        ("elems", 1),
                    ],
                ),
                fin(),
            ],
        ),
        case(
            "m > R (OS), k > R (WS)",
            vec![
                op(
                    Opcode::Matmul,
                    d,
                    &[("k", u64::from(g.rows) + 1), ("m", u64::from(g.rows) + 1)],
                ),
                fin(),
            ],
        ),
        case("k = 0", vec![op(Opcode::Matmul, d, &[("m", 1)]), fin()]),
        case(
            "acc range",
            vec![
                op(Opcode::Matmul, d, &[("k", 1), ("m", 2), ("acc", 15)]),
                fin(),
            ],
        ),
        case(
            "param range",
            vec![op(Opcode::Post, d, &[("rows", 1), ("param", 8)]), fin()],
        ),
        case(
            "store elems",
            vec![
                op(
                    Opcode::Store,
                    d,
                    &[("src", 1), ("rows", 1), ("elems", u64::from(g.cols) + 1)],
                ),
                fin(),
            ],
        ),
        case(
            "store src 2",
            vec![op(Opcode::Store, d, &[("src", 2)]), fin()],
        ),
        case(
            "pop without push",
            vec![
                op(
                    Opcode::Matmul,
                    Deps {
                        pop_prev: true,
                        ..d
                    },
                    &[("k", 1), ("m", 1)],
                ),
                fin(),
            ],
        ),
        case("no instructions", vec![]),
    ];
    // ALU: every check, in the model's order; an immediate's src is not a row.
    let last_acc = u64::from(g.acc_rows) - 1;
    for (what, args) in [
        ("alu func 5", vec![("func", 5)]),
        ("alu src_kind 3", vec![("src_kind", 3), ("shift", 63)]),
        (
            "alu shift = acc_bits",
            vec![("shift", u64::from(g.acc_bits))],
        ),
        ("alu dst range", vec![("dst", last_acc), ("rows", 2)]),
        ("alu acc src range", vec![("src", last_acc), ("rows", 2)]),
        (
            "alu act src range",
            vec![
                ("src_kind", 1),
                ("src", u64::from(g.act_words) - 1),
                ("rows", 2),
            ],
        ),
        (
            "alu immediate, any src",
            vec![("src_kind", 2), ("src", 0xffff), ("rows", 2), ("func", 4)],
        ),
    ] {
        v.push(case(what, vec![op(Opcode::Alu, d, &args), fin()]));
    }
    // Raw words: a reserved bit, opcode 0, a flag a unit lacks.
    for (what, w) in [
        ("reserved bit", [15u32 | 1 << 31, 0, 0, 0]),
        ("opcode 0", [0, 0, 0, 0]),
        ("load with pop_prev", [1 | 1 << 4, 0, 0, 0]),
        ("post reserved", [4 | 1 << 9, 0, 0, 0]),
    ] {
        v.push(Case {
            what,
            words: vec![w, fin().encode()],
            len: 4096,
            addr: 0,
            prog_len: 2,
        });
    }
    v.push(Case {
        what: "fetch beyond DRAM",
        words: vec![],
        len: 4096,
        addr: 4096,
        prog_len: 1,
    });
    v.push(Case {
        what: "unaligned program",
        words: vec![fin().encode()],
        len: 4096,
        addr: 8,
        prog_len: 1,
    });
    v.push(Case {
        what: "no FINISH within prog_len",
        words: vec![fin().encode()],
        len: 4096,
        addr: 0,
        prog_len: 0,
    });
    v
}

fn dram_of(c: &Case) -> Vec<u8> {
    let mut d = vec![0u8; c.len];
    for (i, w) in c.words.iter().enumerate() {
        for (k, x) in w.iter().enumerate() {
            let at = c.addr as usize + 16 * i + 4 * k;
            if at + 4 <= d.len() {
                d[at..at + 4].copy_from_slice(&x.to_le_bytes());
            }
        }
    }
    d
}

#[test]
fn sequencer_ends_every_program_as_the_model_does() {
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    let seed = seed_from_env("NPUGEN_SEED");
    println!("seed {seed} (NPUGEN_SEED replays)");
    for bits in [64, 128, 256] {
        let cfg = config(bits);
        let g = Geometry::new(&cfg).unwrap();
        let design = npu_design(&cfg).unwrap();
        let build = build_model(&design, TraceFormat::Vcd, &sim_cache()).unwrap();
        let timings = [
            MemTiming::default(),
            MemTiming {
                latency: 30,
                bytes_per_cycle: 3,
                offer: 40,
                seed,
                slverr: None,
            },
        ];
        for c in cases(&g) {
            for t in &timings {
                let regs = HostRegs {
                    prog_addr: c.addr,
                    prog_len: c.prog_len,
                    bases: [0; 4],
                };
                let mut dram = Dram::of(dram_of(&c));
                let want = NpuModel::new(&cfg).unwrap().run(&mut dram, &regs);
                let mut sim = Verilated::load(&build).unwrap();
                let got =
                    run(&mut sim, g.axi_bytes, dram_of(&c), &regs, t.clone(), 20_000).unwrap();
                let label = format!("{} on a {bits}-bit bus, {t:?}", c.what);
                assert!(got.violations.is_empty(), "{label}: {:?}", got.violations);
                assert_eq!((got.code(), got.pc), (Some(want.error), want.pc), "{label}");
                assert_eq!(
                    got.counter("INSTRUCTIONS"),
                    want.counters.instructions,
                    "{label}"
                );
                assert!(got.counter("CYCLES") > 0, "{label}");
                assert_eq!(got.dram, dram.bytes, "{label}: DRAM changed");
            }
        }
        // The ID registers read this configuration.
        let mut sim = Verilated::load(&build).unwrap();
        let c = case("finish", vec![op(Opcode::Finish, Deps::default(), &[])]);
        let regs = HostRegs {
            prog_len: 1,
            ..HostRegs::default()
        };
        let got = run(
            &mut sim,
            g.axi_bytes,
            dram_of(&c),
            &regs,
            MemTiming::default(),
            1000,
        )
        .unwrap();
        let id = |n: &str| got.id.iter().find(|(k, _)| k == n).unwrap().1;
        assert_eq!(id("ID"), MAGIC);
        assert_eq!(id("VERSION"), VERSION);
        assert_eq!(id("ARRAY"), g.rows | g.cols << 16);
        let post = u32::from(g.out.is_some());
        assert_eq!(id("WIDTHS"), 8 | 8 << 8 | 32 << 16 | (8 * post) << 24);
        // Dataflow, signed, post-processing, signed outputs, rounding 0, bus bytes, address
        // bits.
        let ws = u32::from(g.dataflow == Dataflow::Ws);
        assert_eq!(
            id("FEATURES"),
            ws | 1 << 1 | post << 2 | post << 3 | (bits / 8) << 8 | 32 << 16
        );
        assert_eq!(id("ACT_WORDS"), g.act_words);
        assert_eq!(id("ACC_ROWS"), 16);
        assert_eq!(id("OUT_WORDS"), g.out_words);
        assert_eq!(got.code(), Some(ErrorCode::None));
    }
}

#[test]
fn a_read_error_on_fetch_stops_at_that_instruction() {
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    let cfg = config(128);
    let g = Geometry::new(&cfg).unwrap();
    let build = build_model(&npu_design(&cfg).unwrap(), TraceFormat::Vcd, &sim_cache()).unwrap();
    // Three FINISH... but the first two words are legal instructions the sequencer would
    // dispatch; use FINISH at 2 and SLVERR on the instruction at 0: AXI_READ at pc 0.
    let fin = op(Opcode::Finish, Deps::default(), &[]);
    let c = case("slverr", vec![fin.clone(), fin.clone(), fin]);
    let regs = HostRegs {
        prog_len: 3,
        ..HostRegs::default()
    };
    let t = MemTiming {
        slverr: Some(0..16),
        ..MemTiming::default()
    };
    let mut sim = Verilated::load(&build).unwrap();
    let got = run(&mut sim, g.axi_bytes, dram_of(&c), &regs, t, 2000).unwrap();
    assert_eq!((got.code(), got.pc), (Some(ErrorCode::AxiRead), 0));
    // SLVERR on the second instruction: FINISH at 0 ends the program first, no error.
    let t = MemTiming {
        slverr: Some(16..32),
        ..MemTiming::default()
    };
    let mut sim = Verilated::load(&build).unwrap();
    let got = run(&mut sim, g.axi_bytes, dram_of(&c), &regs, t, 2000).unwrap();
    assert_eq!((got.code(), got.pc), (Some(ErrorCode::None), 0));
}
