//! The host side of a GEMM on the npu: lays A, B, the parameter records and the program out in
//! DRAM as [`super::program`] expects them, fills the registers, and reads the result back.

use crate::config::Dataflow;
use crate::model::npu::{Dram, HostRegs};
use crate::model::params::ColumnParams;
use crate::model::Matrix;
use crate::npu::geometry::RECORD_BYTES;
use crate::npu::program::{GemmShape, Program};
use crate::npu::Geometry;

/// Where a GEMM's pieces sit in DRAM (byte addresses), each 4 KiB aligned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GemmImage {
    /// The shape.
    pub shape: GemmShape,
    /// The program.
    pub prog: u64,
    /// A (transposed for output-stationary).
    pub a: u64,
    /// B.
    pub b: u64,
    /// The parameter records.
    pub params: u64,
    /// The result.
    pub c: u64,
    /// The DRAM size: everything above, plus nothing.
    pub size: u64,
}

fn page(v: u64) -> u64 {
    v.div_ceil(4096) * 4096
}

fn put(dram: &mut Dram, addr: u64, v: i128, bytes: u32) {
    let at = addr as usize;
    dram.bytes[at..at + bytes as usize].copy_from_slice(&v.to_le_bytes()[..bytes as usize]);
}

impl GemmImage {
    /// The layout for `shape` and a program of `prog_len` instructions.
    pub fn new(g: &Geometry, shape: GemmShape, prog_len: usize) -> GemmImage {
        let (m, k, n) = (u64::from(shape.m), u64::from(shape.k), u64::from(shape.n));
        let out_bytes = if g.out.is_some() {
            g.out_bytes
        } else {
            g.acc_bytes
        };
        let prog = 0;
        let a = page(prog + 16 * prog_len as u64);
        let b = page(a + m * k * u64::from(g.act_bytes));
        let params = page(b + k * n * u64::from(g.weight_bytes));
        let recs = n.div_ceil(u64::from(g.cols)) * u64::from(g.cols);
        let c = page(params + recs * u64::from(RECORD_BYTES));
        let size = page(c + m * n * u64::from(out_bytes));
        GemmImage {
            shape,
            prog,
            a,
            b,
            params,
            c,
            size,
        }
    }

    /// The DRAM holding the program, A, B and the records (the result area zero), and the
    /// registers that run it.
    pub fn write(
        &self,
        g: &Geometry,
        program: &Program,
        a: &Matrix,
        b: &Matrix,
        params: &[ColumnParams],
    ) -> (Dram, HostRegs) {
        let mut dram = Dram::new(self.size as usize);
        let code = program.to_bytes();
        dram.bytes[self.prog as usize..self.prog as usize + code.len()].copy_from_slice(&code);
        let (ab, wb) = (u64::from(g.act_bytes), u64::from(g.weight_bytes));
        for i in 0..a.rows {
            for t in 0..a.cols {
                let at = match g.dataflow {
                    Dataflow::Os => t * a.rows + i,
                    Dataflow::Ws => i * a.cols + t,
                } as u64;
                put(&mut dram, self.a + at * ab, a.at(i, t), g.act_bytes);
            }
        }
        for t in 0..b.rows {
            for j in 0..b.cols {
                let at = (t * b.cols + j) as u64;
                put(&mut dram, self.b + at * wb, b.at(t, j), g.weight_bytes);
            }
        }
        for (j, p) in params.iter().enumerate() {
            for (w, word) in p.words().iter().enumerate() {
                let at = self.params + j as u64 * u64::from(RECORD_BYTES) + 4 * w as u64;
                put(&mut dram, at, i128::from(*word), 4);
            }
        }
        let regs = HostRegs {
            prog_addr: self.prog,
            prog_len: program.instrs.len() as u32,
            bases: [self.a, self.b, self.params, self.c],
        };
        (dram, regs)
    }

    /// The result matrix (M x N) read back: outputs with post-processing (the output type),
    /// accumulators without (wrapped to `acc_bits`).
    pub fn result(&self, g: &Geometry, dram: &Dram) -> Matrix {
        let (m, n) = (self.shape.m as usize, self.shape.n as usize);
        let (bytes, bits, signed) = match g.out {
            Some((ob, os)) => (g.out_bytes, ob, os),
            None => (g.acc_bytes, g.acc_bits, g.signed),
        };
        let mut c = Matrix::zeros(m, n);
        for i in 0..m {
            for j in 0..n {
                let at = (self.c + ((i * n + j) as u64) * u64::from(bytes)) as usize;
                let raw = dram.bytes[at..at + bytes as usize]
                    .iter()
                    .rev()
                    .fold(0i128, |v, &x| (v << 8) | i128::from(x));
                *c.at_mut(i, j) = crate::model::io::wrap(raw, bits, signed);
            }
        }
        c
    }
}
