//! Whole programs on the Verilated npu, driven as a host would (AXI4 memory model, AXI4-Lite
//! register driver, interrupt), against the instruction-level golden model: GEMMs from the
//! program builder (both schedules, K deeper than the buffers, M and N beyond the array) on the
//! three bus widths' npus (both dataflows, with and without post-processing), with the memory
//! fast and with random back-pressure on every channel. The whole DRAM afterwards must equal
//! the model's byte for byte, the result the plain product's, and every counter the model
//! defines the model's; the array-busy counter must equal the beats the program's MATMULs
//! feed. AXI errors raised by a LOAD or a STORE must end the program at that instruction.

mod common;

use common::npu::bus_config;
use common::{sim_cache, tool};
use npugen::config::{Config, Dataflow};
use npugen::flow::tools::ToolKind;
use npugen::model::npu::{Dram, HostRegs, NpuModel};
use npugen::model::postproc::{column_params, postprocess_matrix};
use npugen::model::{matmul, Matrix};
use npugen::npu::gen::npu_design;
use npugen::npu::host::GemmImage;
use npugen::npu::isa::{Deps, Instr, Opcode};
use npugen::npu::program::{gemm, GemmShape, Program};
use npugen::npu::regs::ErrorCode;
use npugen::npu::Geometry;
use npugen::rng::{seed_from_env, Rng};
use npugen::sim::npu::axi_mem::MemTiming;
use npugen::sim::npu::run;
use npugen::sim::operands::random_matrix;
use npugen::sim::verilator::{build_model, ModelBuild, TraceFormat, Verilated};

/// Beats the array accepts for `prog`: OS k per MATMUL; WS k weight rows and m activations.
fn beats(g: &Geometry, prog: &Program) -> u64 {
    prog.instrs
        .iter()
        .filter(|i| i.op == Opcode::Matmul)
        .map(|i| match g.dataflow {
            Dataflow::Os => i.get("k"),
            Dataflow::Ws => i.get("k") + i.get("m"),
        })
        .sum()
}

/// The memory: fast, and slow with random back-pressure on every channel.
fn timings(seed: u64) -> [MemTiming; 2] {
    [
        MemTiming::default(),
        MemTiming {
            latency: 25,
            bytes_per_cycle: 5,
            offer: 60,
            seed,
            slverr: None,
        },
    ]
}

struct Gemm {
    shape: GemmShape,
    prog: Program,
    image: GemmImage,
    want: Matrix,
    dram: Vec<u8>,
    regs: HostRegs,
}

fn prepare(cfg: &Config, rng: &mut Rng, (m, k, n): (u32, u32, u32)) -> Gemm {
    let g = Geometry::new(cfg).unwrap();
    let shape = GemmShape { m, k, n };
    let prog = gemm(&g, shape).unwrap();
    let image = GemmImage::new(&g, shape, prog.instrs.len());
    let a = random_matrix(rng, m as usize, k as usize, 8, true);
    let b = random_matrix(rng, k as usize, n as usize, 8, true);
    let acc = matmul(&a, &b, g.acc_bits, g.signed);
    let (params, want) = match &cfg.postproc {
        Some(p) => {
            let bias: Vec<i128> = (0..n).map(|_| i128::from(rng.range(-3000, 3000))).collect();
            let params = column_params(p, &b, &bias, None).unwrap();
            let want = postprocess_matrix(p, &acc, &params);
            (params, want)
        }
        None => (Vec::new(), acc),
    };
    let (dram, regs) = image.write(&g, &prog, &a, &b, &params);
    Gemm {
        shape,
        prog,
        image,
        want,
        dram: dram.bytes,
        regs,
    }
}

fn build(bits: u32) -> (Config, Geometry, ModelBuild) {
    let cfg = bus_config(bits);
    let g = Geometry::new(&cfg).unwrap();
    let build = build_model(&npu_design(&cfg).unwrap(), TraceFormat::Vcd, &sim_cache()).unwrap();
    (cfg, g, build)
}

#[test]
fn builder_gemms_run_on_the_rtl_as_on_the_model() {
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    let seed = seed_from_env("NPUGEN_SEED");
    println!("seed {seed} (NPUGEN_SEED replays)");
    let mut rng = Rng::new(seed);
    for bits in [64, 128, 256] {
        let (cfg, g, build) = build(bits);
        let (r, c) = (g.rows, g.cols);
        // Inside one tile, one tile exactly, a border on every side, N over several column
        // blocks (A-resident), K deeper than half the buffers (K chunks accumulate while the
        // tile before is stored: compute and store share the accumulator memory's read port).
        let mut shapes = vec![
            (1, 1, 1),
            (r, r, c),
            (r + 1, 2 * r + 1, c + 1),
            (7, 150, 2),
            (9, 13, 4 * c + 1),
            (2 * r + 1, 600, c + 1),
        ];
        // And three at random.
        for _ in 0..3 {
            let mut d = |hi: i64| rng.range(1, hi) as u32;
            shapes.push((d(20), d(80), d(16)));
        }
        for &(m, k, n) in &shapes {
            let gm = prepare(&cfg, &mut rng, (m, k, n));
            let mut dram = Dram::of(gm.dram.clone());
            let want = NpuModel::new(&cfg).unwrap().run(&mut dram, &gm.regs);
            assert_eq!(want.error, ErrorCode::None);
            assert_eq!(gm.image.result(&g, &dram), gm.want, "the model's product");
            for t in timings(seed) {
                let label = format!("{bits}-bit npu, gemm {m},{k},{n}, {t:?}, seed {seed}");
                let mut sim = Verilated::load(&build).unwrap();
                let got = run(
                    &mut sim,
                    g.axi_bytes,
                    gm.dram.clone(),
                    &gm.regs,
                    t,
                    2_000_000,
                )
                .unwrap_or_else(|e| panic!("{label}: {e}"));
                assert!(got.violations.is_empty(), "{label}: {:?}", got.violations);
                assert_eq!((got.code(), got.pc), (Some(want.error), want.pc), "{label}");
                let out = Dram::of(got.dram.clone());
                assert_eq!(gm.image.result(&g, &out), gm.want, "{label}: the result");
                assert!(
                    got.dram == dram.bytes,
                    "{label}: DRAM differs from the model's"
                );
                let wc = &want.counters;
                for (name, v) in [
                    ("INSTRUCTIONS", wc.instructions),
                    ("DMA_RD_BYTES", wc.dma_rd_bytes),
                    ("DMA_WR_BYTES", wc.dma_wr_bytes),
                    ("FETCH_BYTES", wc.fetch_bytes),
                    ("ARRAY_BUSY", beats(&g, &gm.prog)),
                ] {
                    assert_eq!(got.counter(name), v, "{label}: {name}");
                }
                let cycles = got.counter("CYCLES");
                for name in [
                    "STALL_LOAD_DEP",
                    "STALL_COMPUTE_DEP",
                    "STALL_STORE_DEP",
                    "STALL_AXI_READ",
                    "STALL_AXI_WRITE",
                ] {
                    assert!(got.counter(name) < cycles, "{label}: {name} >= CYCLES");
                }
                println!(
                    "{label}: {cycles} cycles, {} MACs, array busy {}",
                    wc.macs,
                    got.counter("ARRAY_BUSY")
                );
            }
        }
    }
}

#[test]
fn axi_errors_in_loads_and_stores_end_the_program_at_that_instruction() {
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    let seed = seed_from_env("NPUGEN_SEED");
    println!("seed {seed} (NPUGEN_SEED replays)");
    let mut rng = Rng::new(seed);
    let (cfg, g, build) = build(256);
    let gm = prepare(&cfg, &mut rng, (5, 9, 7));
    // SLVERR on B's first bytes (a LOAD), and on the result's last row (a STORE).
    let im = gm.image;
    let last_row = im.c + u64::from((gm.shape.m - 1) * gm.shape.n * g.out_bytes);
    for (what, range, code, op) in [
        (
            "load of B",
            im.b..im.b + 1,
            ErrorCode::AxiRead,
            Opcode::Load,
        ),
        (
            "store of C",
            last_row..last_row + 1,
            ErrorCode::AxiWrite,
            Opcode::Store,
        ),
    ] {
        // The model's instruction: the first whose access touches the range.
        let mut model = NpuModel::new(&cfg).unwrap();
        let mut dram = Dram {
            slverr: Some(range.clone()),
            ..Dram::of(gm.dram.clone())
        };
        let want = model.run(&mut dram, &gm.regs);
        assert_eq!(want.error, code, "{what}: the model");
        assert_eq!(gm.prog.instrs[want.pc as usize].op, op, "{what}: the model");
        assert!(want.pc > 0, "{what}: an instruction after others ran");
        for t in timings(seed) {
            let t = MemTiming {
                slverr: Some(range.clone()),
                ..t
            };
            let label = format!("SLVERR on the {what}, {t:?}");
            let mut sim = Verilated::load(&build).unwrap();
            let got = run(&mut sim, g.axi_bytes, gm.dram.clone(), &gm.regs, t, 500_000)
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            assert!(got.violations.is_empty(), "{label}: {:?}", got.violations);
            assert_eq!((got.code(), got.pc), (Some(code), want.pc), "{label}");
        }
    }
}

/// A hand-written program whose ALU instructions read every source (activation words, the
/// matrix product's accumulator rows, the immediate alone) and use every function, in place
/// and across rows, between a MATMUL and a STORE of the accumulator memory: on the 64-bit
/// (WS) and 128-bit (OS) npus, the DRAM afterwards must equal the model's.
#[test]
fn alu_instructions_run_on_the_rtl_as_on_the_model() {
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    let seed = seed_from_env("NPUGEN_SEED");
    println!("seed {seed} (NPUGEN_SEED replays)");
    let mut rng = Rng::new(seed);
    for bits in [64, 128] {
        let (cfg, g, build) = build(bits);
        let (r, c) = (u64::from(g.rows), u64::from(g.cols));
        let (k, m) = match g.dataflow {
            Dataflow::Os => (8, r),
            Dataflow::Ws => (r, 4),
        };
        let none = Deps::default();
        let op = |o: Opcode, deps: Deps, args: &[(&str, u64)]| Instr::new(o, deps, args).unwrap();
        let alu = |deps: Deps, args: &[(&str, u64)]| op(Opcode::Alu, deps, args);
        let imm = |v: i16| u64::from(v as u16);
        let in_b = u64::from(g.act_bytes);
        let w_b = u64::from(g.weight_bytes);
        let prog = vec![
            op(
                Opcode::Load,
                none,
                &[("rows", 8), ("elems", r), ("stride", r * in_b)],
            ),
            op(
                Opcode::Load,
                Deps {
                    push_next: true,
                    ..none
                },
                &[
                    ("buf", 1),
                    ("base", 1),
                    ("rows", k),
                    ("elems", c),
                    ("stride", c * w_b),
                ],
            ),
            op(
                Opcode::Matmul,
                Deps {
                    pop_prev: true,
                    ..none
                },
                &[("k", k), ("m", m)],
            ),
            // acc[8..12] = (act[0..4] - 3) << 2; += acc[0..4] << 1; acc[0..4] = max(., 0);
            // acc[8..12] = round(acc[8..12] / 8); acc[9..12] = min(., act[4..7] + 100);
            // acc[13..15] = 5 << 30 (wraps), then acc[12..15] += acc[11..14] (overlapping:
            // each row reads the one the row before wrote).
            alu(
                none,
                &[
                    ("src_kind", 1),
                    ("dst", 8),
                    ("rows", 4),
                    ("imm", imm(-3)),
                    ("shift", 2),
                ],
            ),
            alu(none, &[("func", 1), ("dst", 8), ("rows", 4), ("shift", 1)]),
            alu(none, &[("func", 2), ("src_kind", 2), ("rows", 4)]),
            alu(
                none,
                &[
                    ("func", 4),
                    ("src", 8),
                    ("dst", 8),
                    ("rows", 4),
                    ("shift", 3),
                ],
            ),
            alu(
                none,
                &[
                    ("func", 3),
                    ("src_kind", 1),
                    ("src", 4),
                    ("dst", 9),
                    ("rows", 3),
                    ("imm", 100),
                ],
            ),
            alu(
                none,
                &[
                    ("src_kind", 2),
                    ("dst", 13),
                    ("rows", 2),
                    ("imm", 5),
                    ("shift", 30),
                ],
            ),
            alu(
                Deps {
                    push_next: true,
                    ..none
                },
                &[("func", 1), ("src", 11), ("dst", 12), ("rows", 3)],
            ),
            op(
                Opcode::Store,
                Deps {
                    pop_prev: true,
                    ..none
                },
                &[
                    ("src", 1),
                    ("base", 3),
                    ("rows", 15),
                    ("elems", c),
                    ("stride", c * u64::from(g.acc_bytes)),
                ],
            ),
            op(Opcode::Finish, none, &[]),
        ];
        // Random operands where the program reads them, the program above them.
        let bases = [0u64, 512, 0, 1024];
        let code_at = 4096u64;
        let mut bytes = vec![0u8; 8192];
        for b in bytes[..1024].iter_mut() {
            *b = rng.next_u64() as u8;
        }
        for (i, x) in prog.iter().enumerate() {
            let at = code_at as usize + 16 * i;
            bytes[at..at + 16].copy_from_slice(&x.to_bytes());
        }
        let regs = HostRegs {
            prog_addr: code_at,
            prog_len: prog.len() as u32,
            bases,
        };
        let mut dram = Dram::of(bytes.clone());
        let want = NpuModel::new(&cfg).unwrap().run(&mut dram, &regs);
        assert_eq!(
            (want.error, want.pc),
            (ErrorCode::None, prog.len() as u32 - 1)
        );
        assert_ne!(dram.bytes, bytes, "the program stores something");
        for t in timings(seed) {
            let label = format!("{bits}-bit npu, ALU program, {t:?}, seed {seed}");
            let mut sim = Verilated::load(&build).unwrap();
            let got = run(&mut sim, g.axi_bytes, bytes.clone(), &regs, t, 200_000)
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            assert!(got.violations.is_empty(), "{label}: {:?}", got.violations);
            assert_eq!((got.code(), got.pc), (Some(want.error), want.pc), "{label}");
            assert!(
                got.dram == dram.bytes,
                "{label}: DRAM differs from the model's"
            );
            assert_eq!(
                got.counter("INSTRUCTIONS"),
                want.counters.instructions,
                "{label}"
            );
        }
    }
}
