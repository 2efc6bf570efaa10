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
//! Two schedules (`schedule.rs`): A-resident blocking when N spans several column blocks and
//! a block of A fits half the activation buffer with all of K (A loaded once, B once per block
//! of A); otherwise one job per output tile and K chunk (LOAD A, LOAD B, MATMUL). Each tile then
//! gets POST (with post-processing) and STORE. Inputs, accumulator tiles and output tiles are
//! double buffered and guarded by tokens, so loads run ahead of compute and stores behind it.

use crate::config::Dataflow;
use crate::error::{Error, Result};
use crate::npu::geometry::RECORD_BYTES;
use crate::npu::isa::{Deps, Instr, Opcode};
use crate::npu::schedule::{resident, tiling, Emitter};
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

/// Most instructions a builder program may have (64 MiB of program): larger GEMMs are
/// refused, so that a mistyped shape cannot exhaust memory.
pub const MAX_INSTRUCTIONS: usize = 1 << 22;

/// What a program does, read from its instructions alone (the golden model's counters must
/// agree with these; `tests/npu_model.rs` checks it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StaticCounts {
    /// Multiply-accumulates of the MATMULs (m x k x C each).
    pub macs: u64,
    /// Bytes the LOADs read.
    pub dma_rd_bytes: u64,
    /// Bytes the STOREs write.
    pub dma_wr_bytes: u64,
}

impl Program {
    /// The counts of this program on `g`.
    pub fn counts(&self, g: &Geometry) -> StaticCounts {
        let mut c = StaticCounts::default();
        for i in &self.instrs {
            let v = |n: &str| i.get(n);
            match i.op {
                Opcode::Matmul => c.macs += v("m") * v("k") * u64::from(g.cols),
                Opcode::Load => {
                    let eb = match v("buf") {
                        0 => g.act_bytes,
                        1 => g.weight_bytes,
                        _ => RECORD_BYTES,
                    };
                    c.dma_rd_bytes += v("rows") * v("elems") * u64::from(eb);
                }
                Opcode::Store => {
                    let eb = if v("src") == 0 {
                        g.out_bytes
                    } else {
                        g.acc_bytes
                    };
                    c.dma_wr_bytes += v("rows") * v("elems") * u64::from(eb);
                }
                Opcode::Post | Opcode::Alu | Opcode::Finish => {}
            }
        }
        c
    }

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

    let mut program = Vec::new();
    for dry in [true, false] {
        let mut e = Emitter {
            p: Vec::new(),
            count: 0,
            dry,
            post,
            dims: (m, k, n),
            bytes: (ab, wb, ob),
            a_stride,
            b_loads: 0,
            tiles: 0,
            tile_rows: u64::from(t.acc_slot),
            out_rows: u64::from(t.out_words),
            b_words: u64::from(t.w_words),
        };
        if post {
            e.push(
                Opcode::Load,
                Deps::default(),
                &[
                    ("buf", 2),
                    ("base", 2),
                    ("rows", u64::from(n_blocks)),
                    ("elems", u64::from(c)),
                    ("stride", u64::from(c * RECORD_BYTES)),
                ],
            )?;
        }
        match resident(g, s) {
            Some(r) => e.resident(g, s, r)?,
            None => e.per_tile(g, s, t)?,
        }
        e.push(Opcode::Finish, Deps::default(), &[])?;
        program = e.p;
    }
    Ok(Program { instrs: program })
}
