//! The program builder: tiles an M x K by K x N GEMM for the configured buffers and emits the
//! instruction stream (tiling lives here, never in the RTL).
//!
//! DRAM layout the program expects, each operand at its own base register, row-major,
//! little-endian elements of the geometry's element sizes:
//! - BASE0: A. Output-stationary: A transposed (K x M), so that one DRAM row is one array beat
//!   of R activations; weight-stationary: A (M x K).
//! - BASE1: B (K x N).
//! - BASE2: the post-processing records, ceil(N / C) * C of 20 bytes (the rest zero).
//! - BASE3: the result (M x N): outputs with `[postproc]`, accumulators without.
//!
//! The schedule: output blocks (OS: R rows, WS: up to half the accumulator rows) by C columns,
//! each summed over K chunks (OS: as deep as half the buffers allow; WS: R), one job per
//! chunk: LOAD A, LOAD B, MATMUL; then POST into the output buffer (with post-processing) and
//! STORE. Inputs, accumulator rows and output words are double
//! buffered and guarded by tokens, so the loads of job n + 1 run while job n computes, and the
//! store of a block while the next computes.

use crate::config::Dataflow;
use crate::error::{Error, Result};
use crate::npu::geometry::RECORD_BYTES;
use crate::npu::isa::{Deps, Instr, Opcode};
use crate::npu::Geometry;

/// A GEMM's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GemmShape {
    /// Rows of A and C.
    pub m: u32,
    /// Columns of A, rows of B.
    pub k: u32,
    /// Columns of B and C.
    pub n: u32,
}

/// An instruction stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    /// The instructions, in program order.
    pub instrs: Vec<Instr>,
}

impl Program {
    /// The program as DRAM bytes (16 per instruction).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.instrs.iter().flat_map(|i| i.to_bytes()).collect()
    }

    /// The disassembled listing, one numbered line per instruction.
    pub fn listing(&self) -> String {
        self.instrs
            .iter()
            .enumerate()
            .map(|(pc, i)| format!("{pc:6}  {}\n", i.disassemble()))
            .collect()
    }
}

/// The block sizes a GEMM is tiled with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Tiling {
    /// Output rows per block.
    mb: u32,
    /// K per job.
    kb: u32,
    /// Activation words per input slot.
    in_words: u32,
    /// Activation words per output slot (0 without post-processing).
    out_words: u32,
    /// Weight words per slot.
    w_words: u32,
    /// Accumulator rows per slot.
    acc_slot: u32,
}

fn too_small(field: &str, have: u32, need: String) -> Error {
    Error::input(
        field,
        format!("{have} words hold no tile of this GEMM: it needs {need}"),
    )
}

fn tiling(g: &Geometry, s: GemmShape) -> Result<Tiling> {
    let post = g.out.is_some();
    // Output slots: two of `rows` output words each, when there is post-processing.
    let out_fits = |rows: u32| {
        if !post || g.out_words >= 2 * rows {
            Ok(())
        } else {
            Err(too_small(
                "npu.out_kib",
                g.out_words,
                format!("2 * {rows} output words"),
            ))
        }
    };
    match g.dataflow {
        Dataflow::Os => {
            let r = g.rows;
            if g.acc_rows < 2 * r {
                return Err(Error::input(
                    "npu.acc_rows",
                    format!(
                        "{} rows: output-stationary needs 2 * R = {}",
                        g.acc_rows,
                        2 * r
                    ),
                ));
            }
            out_fits(r)?;
            let kb = s.k.min(g.act_words / 2).min(g.weight_words / 2);
            if kb == 0 {
                let (field, have) = if g.act_words < 2 {
                    ("npu.act_kib", g.act_words)
                } else {
                    ("npu.weight_kib", g.weight_words)
                };
                return Err(too_small(field, have, "2 words".into()));
            }
            Ok(Tiling {
                mb: r,
                kb,
                in_words: kb,
                out_words: if post { r } else { 0 },
                w_words: kb,
                acc_slot: r,
            })
        }
        Dataflow::Ws => {
            let kb = s.k.min(g.rows);
            if g.weight_words < 2 * kb {
                return Err(too_small(
                    "npu.weight_kib",
                    g.weight_words,
                    format!("2 * {kb} weight words"),
                ));
            }
            let mut mb = s.m.min(g.acc_rows / 2).min(g.act_words / 2);
            if post {
                mb = mb.min(g.out_words / 2);
            }
            if mb == 0 {
                let (field, have) = if g.acc_rows < 2 {
                    ("npu.acc_rows", g.acc_rows)
                } else if g.act_words < 2 {
                    ("npu.act_kib", g.act_words)
                } else {
                    ("npu.out_kib", g.out_words)
                };
                return Err(too_small(field, have, "2 slots of one row".into()));
            }
            Ok(Tiling {
                mb,
                kb,
                in_words: mb,
                out_words: if post { mb } else { 0 },
                w_words: kb,
                acc_slot: mb,
            })
        }
    }
}

fn field_fits(name: &str, v: u64, bits: u32) -> Result<u64> {
    if v >> bits == 0 {
        Ok(v)
    } else {
        Err(Error::input(
            name,
            format!("{v} does not fit the instruction's {bits}-bit field: the GEMM is too large"),
        ))
    }
}

/// The program for `s` on `g`, in the DRAM layout of the module docs. Refuses (exit 2) a
/// GEMM whose tiles cannot fit the buffers, or whose offsets and strides do not fit the
/// instruction fields.
pub fn gemm(g: &Geometry, s: GemmShape) -> Result<Program> {
    for (name, v) in [("m", s.m), ("k", s.k), ("n", s.n)] {
        if v == 0 {
            return Err(Error::input(format!("gemm {name}"), "0: at least 1"));
        }
    }
    let t = tiling(g, s)?;
    let (c, post) = (g.cols, g.out.is_some());
    let n_blocks = s.n.div_ceil(c);
    if post && n_blocks > g.param_rows {
        return Err(Error::input(
            "npu.param_rows",
            format!(
                "{} rows: N = {} needs ceil(N / C) = {n_blocks}",
                g.param_rows, s.n
            ),
        ));
    }
    let (ab, wb) = (u64::from(g.act_bytes), u64::from(g.weight_bytes));
    let ob = u64::from(if post { g.out_bytes } else { g.acc_bytes });
    let (m, k, n) = (u64::from(s.m), u64::from(s.k), u64::from(s.n));
    // Strides fit 24 bits, offsets 32 (the largest offset is that of the last element).
    let a_stride = match g.dataflow {
        Dataflow::Os => m * ab,
        Dataflow::Ws => k * ab,
    };
    field_fits("A's row stride", a_stride, 24)?;
    field_fits("B's row stride", n * wb, 24)?;
    field_fits("C's row stride", n * ob, 24)?;
    field_fits("A's size", m * k * ab, 32)?;
    field_fits("B's size", k * n * wb, 32)?;
    field_fits("C's size", m * n * ob, 32)?;

    let mut p = Vec::new();
    let instr = |op, deps, args: &[(&str, u64)]| Instr::new(op, deps, args);
    let none = Deps::default();
    if post {
        p.push(instr(
            Opcode::Load,
            none,
            &[
                ("buf", 2),
                ("base", 2),
                ("rows", u64::from(n_blocks)),
                ("elems", u64::from(c)),
                ("stride", u64::from(c * RECORD_BYTES)),
            ],
        )?);
    }
    let in_slot = |j: u64| j % 2 * u64::from(t.in_words);
    let out_slot = |b: u64| b % 2 * u64::from(t.out_words);
    let w_slot = |j: u64| j % 2 * u64::from(t.w_words);
    let acc_slot = |b: u64| b % 2 * u64::from(t.acc_slot);
    let (mut job, mut block) = (0u64, 0u64);
    for i0 in (0..s.m).step_by(t.mb as usize) {
        let mt = u64::from(t.mb.min(s.m - i0));
        for j0 in (0..s.n).step_by(c as usize) {
            let nt = u64::from(c.min(s.n - j0));
            let (i0, j0) = (u64::from(i0), u64::from(j0));
            let k_chunks: Vec<u32> = (0..s.k).step_by(t.kb as usize).collect();
            for (ci, &k0) in k_chunks.iter().enumerate() {
                let k0 = u64::from(k0);
                let kt = u64::from(t.kb).min(k - k0);
                let last = ci + 1 == k_chunks.len();
                // A: OS kt rows of mt activations from A^T; WS mt rows of kt from A.
                let (a_off, a_rows, a_elems) = match g.dataflow {
                    Dataflow::Os => ((k0 * m + i0) * ab, kt, mt),
                    Dataflow::Ws => ((i0 * k + k0) * ab, mt, kt),
                };
                p.push(instr(
                    Opcode::Load,
                    Deps {
                        pop_next: job >= 2,
                        ..none
                    },
                    &[
                        ("buf", 0),
                        ("base", 0),
                        ("sram", in_slot(job)),
                        ("dram", a_off),
                        ("rows", a_rows),
                        ("elems", a_elems),
                        ("stride", a_stride),
                    ],
                )?);
                p.push(instr(
                    Opcode::Load,
                    Deps {
                        push_next: true,
                        ..none
                    },
                    &[
                        ("buf", 1),
                        ("base", 1),
                        ("sram", w_slot(job)),
                        ("dram", (k0 * n + j0) * wb),
                        ("rows", kt),
                        ("elems", nt),
                        ("stride", n * wb),
                    ],
                )?);
                p.push(instr(
                    Opcode::Matmul,
                    Deps {
                        pop_prev: true,
                        push_prev: true,
                        // Without post-processing the store reads the accumulator slot.
                        pop_next: !post && ci == 0 && block >= 2,
                        push_next: !post && last,
                    },
                    &[
                        ("accumulate", u64::from(ci > 0)),
                        ("act", in_slot(job)),
                        ("weight", w_slot(job)),
                        ("acc", acc_slot(block)),
                        ("k", kt),
                        ("m", mt),
                    ],
                )?);
                job += 1;
            }
            if post {
                p.push(instr(
                    Opcode::Post,
                    Deps {
                        pop_next: block >= 2,
                        push_next: true,
                        ..none
                    },
                    &[
                        ("dst", out_slot(block)),
                        ("acc", acc_slot(block)),
                        ("rows", mt),
                        ("param", j0 / u64::from(c)),
                    ],
                )?);
            }
            p.push(instr(
                Opcode::Store,
                Deps {
                    pop_prev: true,
                    push_prev: true,
                    ..none
                },
                &[
                    ("src", u64::from(!post)),
                    ("base", 3),
                    (
                        "sram",
                        if post {
                            out_slot(block)
                        } else {
                            acc_slot(block)
                        },
                    ),
                    ("dram", (i0 * n + j0) * ob),
                    ("rows", mt),
                    ("elems", nt),
                    ("stride", n * ob),
                ],
            )?);
            block += 1;
        }
    }
    p.push(instr(Opcode::Finish, none, &[])?);
    Ok(Program { instrs: p })
}
