//! The npu's program builder and instruction-level golden model against a plain A * B (and the
//! npu_core's post-processing model) on GEMMs smaller than, equal to and larger than the array
//! and the buffers, both dataflows, with and without post-processing; every error path of
//! the model raises its code at the right instruction.

use npugen::config::{ArrayConfig, Config, Dataflow, NpuConfig, PostprocConfig};
use npugen::model::npu::{Dram, HostRegs, NpuModel};
use npugen::model::params::ColumnParams;
use npugen::model::postproc::{column_params, postprocess_matrix};
use npugen::model::{matmul, Matrix};
use npugen::npu::host::GemmImage;
use npugen::npu::isa::{Deps, Instr, Opcode};
use npugen::npu::program::{gemm, GemmShape, Program};
use npugen::npu::regs::ErrorCode;
use npugen::npu::Geometry;
use npugen::rng::{seed_from_env, Rng};
use npugen::sim::operands::{filled, random_matrix};

fn config(df: Dataflow, rows: u32, cols: u32, post: bool, npu: NpuConfig) -> Config {
    Config {
        name: "npu_t".into(),
        array: Some(ArrayConfig {
            rows,
            cols,
            dataflow: df,
            ..Default::default()
        }),
        postproc: post.then(|| PostprocConfig {
            zero_point: -3,
            ..Default::default()
        }),
        lif: None,
        npu: Some(npu),
    }
}

/// Small buffers, so that GEMMs of a few dozen rows already span several K chunks and blocks.
fn small() -> NpuConfig {
    NpuConfig {
        act_kib: 1,
        weight_kib: 1,
        param_rows: 8,
        acc_rows: 16,
        ..Default::default()
    }
}

/// Runs `a * b` (+ bias) through the builder and the model; returns the result and what
/// the plain reference says it must be.
fn run(cfg: &Config, a: &Matrix, b: &Matrix, bias: &[i128]) -> (Matrix, Matrix) {
    let g = Geometry::new(cfg).unwrap();
    let shape = GemmShape {
        m: a.rows as u32,
        k: a.cols as u32,
        n: b.cols as u32,
    };
    let prog = gemm(&g, shape).unwrap();
    let image = GemmImage::new(&g, shape, prog.instrs.len());
    let acc = matmul(a, b, g.acc_bits, g.signed);
    let (params, want) = match &cfg.postproc {
        Some(p) => {
            let params = column_params(p, b, bias, None).unwrap();
            let want = postprocess_matrix(p, &acc, &params);
            (params, want)
        }
        None => (Vec::new(), acc),
    };
    let (mut dram, regs) = image.write(&g, &prog, a, b, &params);
    let mut model = NpuModel::new(cfg).unwrap();
    let out = model.run(&mut dram, &regs);
    assert_eq!(
        out.error,
        ErrorCode::None,
        "{:?} at pc {}",
        out.error,
        out.pc
    );
    assert_eq!(out.pc as usize, prog.instrs.len() - 1, "ends at FINISH");
    let c = &out.counters;
    assert_eq!(c.instructions as usize, prog.instrs.len());
    assert_eq!(c.macs, macs(&g, shape));
    // What the instructions alone say the program moves, against what the model did.
    let st = prog.counts(&g);
    assert_eq!(
        (st.macs, st.dma_rd_bytes, st.dma_wr_bytes),
        (c.macs, c.dma_rd_bytes, c.dma_wr_bytes)
    );
    (image.result(&g, &dram), want)
}

/// MACs the array does for a GEMM: every kept row times C lanes times K.
fn macs(g: &Geometry, s: GemmShape) -> u64 {
    u64::from(s.m) * u64::from(s.k) * u64::from(s.n.div_ceil(g.cols) * g.cols)
}

#[test]
fn gemms_of_every_size_match_a_plain_product() {
    let seed = seed_from_env("NPUGEN_SEED");
    println!("seed {seed} (NPUGEN_SEED replays)");
    let mut rng = Rng::new(seed);
    let mut cases = 0;
    for df in [Dataflow::Os, Dataflow::Ws] {
        for post in [false, true] {
            for (rows, cols) in [(2, 2), (4, 3), (3, 5)] {
                let cfg = config(df, rows, cols, post, small());
                // Smaller than the array, equal, larger; K deeper than the buffers' halves
                // (OS) and than R (WS); M beyond half the accumulator rows (WS).
                for (m, k, n) in [
                    (1, 1, 1),
                    (rows, rows, cols),
                    (rows + 1, 2 * rows + 1, cols + 1),
                    (37, 70, 11),
                    (9, 300, 4),
                ] {
                    let a = random_matrix(&mut rng, m as usize, k as usize, 8, true);
                    let b = random_matrix(&mut rng, k as usize, n as usize, 8, true);
                    let bias: Vec<i128> =
                        (0..n).map(|_| i128::from(rng.range(-5000, 5000))).collect();
                    let (got, want) = run(&cfg, &a, &b, &bias);
                    assert_eq!(
                        got, want,
                        "{df:?} post={post} {rows}x{cols} gemm {m},{k},{n} seed {seed}"
                    );
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 60);
}

#[test]
fn most_negative_operands_and_accumulator_wrap() {
    for df in [Dataflow::Os, Dataflow::Ws] {
        let mut cfg = config(df, 2, 2, false, small());
        cfg.array.as_mut().unwrap().acc_bits = Some(16);
        // -128 * -128 summed twice wraps a 16-bit accumulator to -32768, as the array does.
        let (a, b) = (filled(3, 4, -128), filled(4, 3, -128));
        let (got, want) = run(&cfg, &a, &b, &[]);
        assert_eq!(got, want);
        assert_eq!(got.at(0, 0), 0, "4 * 16384 wraps to 0 at 16 bits");
        let (a, b) = (filled(3, 3, -128), filled(3, 3, -128));
        assert_eq!(run(&cfg, &a, &b, &[]).0.at(2, 2), -16384);
    }
}

#[test]
fn the_builder_refuses_gemms_the_buffers_cannot_hold() {
    let tiny = NpuConfig {
        acc_rows: 3,
        ..small()
    };
    let g = Geometry::new(&config(Dataflow::Os, 2, 2, false, tiny)).unwrap();
    let e = gemm(&g, GemmShape { m: 4, k: 4, n: 4 }).unwrap_err();
    assert!(
        e.to_string().contains("npu.acc_rows") && e.to_string().contains("2 * R = 4"),
        "{e}"
    );
    assert_eq!(e.exit_code(), 2);
    let g = Geometry::new(&config(Dataflow::Ws, 2, 2, true, small())).unwrap();
    let e = gemm(&g, GemmShape { m: 4, k: 4, n: 17 }).unwrap_err();
    assert!(e.to_string().contains("npu.param_rows"), "{e}");
    let e = gemm(&g, GemmShape { m: 0, k: 4, n: 4 }).unwrap_err();
    assert!(e.to_string().contains("gemm m"), "{e}");
    // A program beyond MAX_INSTRUCTIONS is refused before it is built.
    let g2 = Geometry::new(&config(Dataflow::Os, 2, 2, false, small())).unwrap();
    let e = gemm(
        &g2,
        GemmShape {
            m: 1 << 12,
            k: 1,
            n: 1 << 12,
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("4194304 instructions"), "{e}");
    assert_eq!(e.exit_code(), 2);
    // A stride beyond the 24-bit field.
    let e = gemm(
        &g,
        GemmShape {
            m: 1,
            k: 1 << 24,
            n: 1,
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("stride"), "{e}");
}

/// Runs a hand-written program on a 2x2 OS npu with post-processing.
fn run_program(instrs: Vec<Instr>, dram_len: usize) -> (ErrorCode, u32) {
    let cfg = config(Dataflow::Os, 2, 2, true, small());
    let prog = Program { instrs };
    let mut dram = Dram::new(dram_len);
    let code = prog.to_bytes();
    let fit = code.len().min(dram_len);
    dram.bytes[..fit].copy_from_slice(&code[..fit]);
    let regs = HostRegs {
        prog_addr: 0,
        prog_len: prog.instrs.len() as u32,
        bases: [1024, 2048, 0, 3072],
    };
    let out = NpuModel::new(&cfg).unwrap().run(&mut dram, &regs);
    (out.error, out.pc)
}

fn op(o: Opcode, deps: Deps, args: &[(&str, u64)]) -> Instr {
    Instr::new(o, deps, args).unwrap()
}

#[test]
fn every_error_stops_the_program_at_its_instruction() {
    let d = Deps::default();
    let fin = || op(Opcode::Finish, d, &[]);
    let load = |args: &[(&str, u64)]| op(Opcode::Load, d, args);
    // Each case: the program, the DRAM size, the code and the pc it must end with.
    let g = Geometry::new(&config(Dataflow::Os, 2, 2, true, small())).unwrap();
    let act = g.act_words as u64;
    let cases: Vec<(&str, Vec<Instr>, usize, ErrorCode, u32)> = vec![
        ("finish", vec![fin()], 4096, ErrorCode::None, 0),
        (
            "no finish",
            vec![load(&[("rows", 1), ("elems", 2)])],
            4096,
            ErrorCode::NoFinish,
            1,
        ),
        (
            "act word out of range",
            vec![load(&[("sram", act - 1), ("rows", 2), ("elems", 1)]), fin()],
            4096,
            ErrorCode::BufferRange,
            0,
        ),
        (
            "elems beyond R lanes",
            vec![load(&[("rows", 1), ("elems", 3)]), fin()],
            4096,
            ErrorCode::BadField,
            0,
        ),
        (
            "padded parameter rows",
            vec![
                load(&[("buf", 2), ("rows", 1), ("elems", 1), ("pad_top", 1)]),
                fin(),
            ],
            4096,
            ErrorCode::BadField,
            0,
        ),
        (
            "buf 3",
            vec![load(&[("buf", 3)]), fin()],
            4096,
            ErrorCode::Illegal,
            0,
        ),
        (
            "OS m > R",
            vec![op(Opcode::Matmul, d, &[("k", 1), ("m", 3)]), fin()],
            4096,
            ErrorCode::BadField,
            0,
        ),
        (
            "k = 0",
            vec![op(Opcode::Matmul, d, &[("m", 1)]), fin()],
            4096,
            ErrorCode::BadField,
            0,
        ),
        (
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
            4096,
            ErrorCode::Dependency,
            0,
        ),
        (
            "read beyond DRAM",
            vec![load(&[("dram", 4000), ("rows", 1), ("elems", 2)]), fin()],
            4096,
            ErrorCode::AxiRead,
            0,
        ),
        (
            "write beyond DRAM",
            vec![
                op(
                    Opcode::Store,
                    d,
                    &[
                        ("src", 1),
                        ("base", 3),
                        ("dram", 1020),
                        ("rows", 1),
                        ("elems", 2),
                    ],
                ),
                fin(),
            ],
            4096,
            ErrorCode::AxiWrite,
            0,
        ),
        (
            "fetch beyond DRAM",
            vec![load(&[("base", 2), ("rows", 1), ("elems", 1)]), fin()],
            20,
            ErrorCode::AxiRead,
            1,
        ),
    ];
    // The ALU: illegal codes before a bad shift, ranges after; an immediate has no src row.
    let acc = u64::from(g.acc_rows);
    let alu = |args: &[(&str, u64)]| vec![op(Opcode::Alu, d, args), fin()];
    let alu_cases: Vec<(&str, Vec<Instr>, ErrorCode)> = vec![
        (
            "alu func 5",
            alu(&[("func", 5), ("shift", 63)]),
            ErrorCode::Illegal,
        ),
        (
            "alu src_kind 3",
            alu(&[("src_kind", 3)]),
            ErrorCode::Illegal,
        ),
        (
            "alu shift = acc_bits",
            alu(&[("shift", u64::from(g.acc_bits)), ("dst", acc)]),
            ErrorCode::BadField,
        ),
        (
            "alu dst range",
            alu(&[("dst", acc - 1), ("rows", 2)]),
            ErrorCode::BufferRange,
        ),
        (
            "alu acc src range",
            alu(&[("src", acc), ("rows", 1)]),
            ErrorCode::BufferRange,
        ),
        (
            "alu act src range",
            alu(&[("src_kind", 1), ("src", act), ("rows", 1)]),
            ErrorCode::BufferRange,
        ),
        (
            "alu immediate",
            alu(&[("src_kind", 2), ("src", 0xffff), ("rows", acc)]),
            ErrorCode::None,
        ),
    ];
    for (what, prog, code) in alu_cases {
        let pc = if code == ErrorCode::None { 1 } else { 0 };
        assert_eq!(run_program(prog, 4096), (code, pc), "{what}");
    }
    for (what, prog, len, code, pc) in cases {
        let got = run_program(prog, len);
        assert_eq!(got, (code, pc), "{what}");
    }
    // An illegal word (a reserved bit) in the middle of a program.
    let cfg = config(Dataflow::Os, 2, 2, true, small());
    let mut dram = Dram::new(4096);
    dram.bytes[..16].copy_from_slice(&fin().to_bytes());
    dram.bytes[0] = 4; // POST ...
    dram.bytes[1] = 2; // ... with reserved bit 9 set
    let regs = HostRegs {
        prog_len: 1,
        ..HostRegs::default()
    };
    let out = NpuModel::new(&cfg).unwrap().run(&mut dram, &regs);
    assert_eq!((out.error, out.pc), (ErrorCode::Illegal, 0));
    // 256 pushes without pops overflow a channel.
    let push = op(
        Opcode::Load,
        Deps {
            push_next: true,
            ..d
        },
        &[("rows", 0)],
    );
    let mut prog = vec![push; 256];
    prog.push(fin());
    assert_eq!(run_program(prog, 8192), (ErrorCode::Dependency, 255));
    // An unaligned program address.
    let regs = HostRegs {
        prog_addr: 8,
        prog_len: 1,
        ..HostRegs::default()
    };
    let out = NpuModel::new(&cfg).unwrap().run(&mut Dram::new(64), &regs);
    assert_eq!(out.error, ErrorCode::BadField);
}

#[test]
fn loads_zero_pad_their_borders() {
    // LOAD with pad_top, pad_left and pad_bottom, then STORE of the accumulators after an
    // identity-like MATMUL shows where the zeros went.
    let cfg = config(Dataflow::Ws, 3, 3, false, small());
    let d = Deps::default();
    let mut dram = Dram::new(8192);
    // A rows at 1024: [5, 6] (one row), weights at 2048: identity 3x3.
    dram.bytes[1024] = 5;
    dram.bytes[1025] = 6;
    for t in 0..3 {
        dram.bytes[2048 + t * 3 + t] = 1;
    }
    let prog = Program {
        instrs: vec![
            op(
                Opcode::Load,
                d,
                &[
                    ("buf", 0),
                    ("rows", 1),
                    ("elems", 2),
                    ("pad_left", 1),
                    ("pad_top", 1),
                    ("pad_bottom", 1),
                    ("stride", 2),
                ],
            ),
            op(
                Opcode::Load,
                d,
                &[
                    ("buf", 1),
                    ("base", 1),
                    ("rows", 3),
                    ("elems", 3),
                    ("stride", 3),
                ],
            ),
            op(Opcode::Matmul, d, &[("k", 3), ("m", 3)]),
            op(
                Opcode::Store,
                d,
                &[
                    ("src", 1),
                    ("base", 3),
                    ("rows", 3),
                    ("elems", 3),
                    ("stride", 12),
                ],
            ),
            op(Opcode::Finish, d, &[]),
        ],
    };
    dram.bytes[..80].copy_from_slice(&prog.to_bytes());
    let regs = HostRegs {
        prog_addr: 0,
        prog_len: 5,
        bases: [1024, 2048, 0, 4096],
    };
    let out = NpuModel::new(&cfg).unwrap().run(&mut dram, &regs);
    assert_eq!(out.error, ErrorCode::None);
    let word =
        |i: usize| i32::from_le_bytes(dram.bytes[4096 + 4 * i..4100 + 4 * i].try_into().unwrap());
    let got: Vec<i32> = (0..9).map(word).collect();
    assert_eq!(got, vec![0, 0, 0, 0, 5, 6, 0, 0, 0]);
    assert_eq!(out.counters.dma_rd_bytes, 2 + 9);
    assert_eq!(out.counters.dma_wr_bytes, 36);
}

#[test]
fn records_reach_post_processing_per_column() {
    // Two column blocks with different parameters each: the POST of block 1 must read row 1.
    let cfg = config(Dataflow::Os, 2, 2, true, small());
    let p = cfg.postproc.clone().unwrap();
    let a = Matrix::from_rows(2, 1, vec![100, -100]);
    let b = Matrix::from_rows(1, 4, vec![1, 2, 3, 4]);
    let bias = [0, 1000, -1000, 5];
    let (got, want) = run(&cfg, &a, &b, &bias);
    assert_eq!(got, want);
    let params: Vec<ColumnParams> = column_params(&p, &b, &bias, None).unwrap();
    assert_ne!(params[1], params[2]);
}

#[test]
fn the_resident_schedule_reads_a_once_and_b_once_per_block_of_a() {
    // N spans several column blocks: A's blocks stay in the activation buffer while every
    // column block's B streams past them.
    for (df, post) in [(Dataflow::Os, true), (Dataflow::Ws, false)] {
        let cfg = config(df, 4, 3, post, small());
        let g = Geometry::new(&cfg).unwrap();
        let (m, k, n) = (37u64, 20u64, 11u64);
        let mut rng = Rng::new(7);
        let a = random_matrix(&mut rng, m as usize, k as usize, 8, true);
        let b = random_matrix(&mut rng, k as usize, n as usize, 8, true);
        let (got, want) = run(&cfg, &a, &b, &vec![0; n as usize]);
        assert_eq!(got, want);
        let shape = GemmShape {
            m: 37,
            k: 20,
            n: 11,
        };
        let prog = gemm(&g, shape).unwrap();
        let image = GemmImage::new(&g, shape, prog.instrs.len());
        let params = if post {
            column_params(cfg.postproc.as_ref().unwrap(), &b, &[0; 11], None).unwrap()
        } else {
            vec![]
        };
        let (mut dram, regs) = image.write(&g, &prog, &a, &b, &params);
        let c = NpuModel::new(&cfg).unwrap().run(&mut dram, &regs).counters;
        // Blocks of A held at once: OS groups of R rows (as many as half the buffer holds
        // with all of K); WS one block of up to half the accumulator rows.
        let a_blocks = match df {
            Dataflow::Os => m.div_ceil(4).div_ceil(u64::from(g.act_words) / (2 * k)),
            Dataflow::Ws => m.div_ceil(
                u64::from(g.acc_rows / 2).min(u64::from(g.act_words) / (2 * k.div_ceil(4))),
            ),
        };
        let params_bytes = if post { n.div_ceil(3) * 3 * 20 } else { 0 };
        assert_eq!(
            c.dma_rd_bytes,
            m * k + k * n * a_blocks + params_bytes,
            "{df:?}"
        );
        let out_bytes = if post { 1 } else { 4 };
        assert_eq!(c.dma_wr_bytes, m * n * out_bytes);
        assert!(
            a_blocks >= 2,
            "the case covers the double-buffered A blocks"
        );
    }
}
