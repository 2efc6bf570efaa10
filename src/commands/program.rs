//! `npugen program`: the npu program of a GEMM, its listing and binary, and the golden
//! model's counters for it (random operands, seed 1).

use std::path::PathBuf;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::npu::NpuModel;
use crate::model::params::ColumnParams;
use crate::npu::host::GemmImage;
use crate::npu::program::{gemm, GemmShape};
use crate::npu::regs::ErrorCode;
use crate::npu::Geometry;
use crate::rng::Rng;
use crate::sim::operands::random_matrix;

/// `program`'s resolved arguments.
#[derive(Debug)]
pub struct ProgramArgs {
    /// The config (with `[npu]`).
    pub config: Config,
    /// The GEMM.
    pub shape: GemmShape,
    /// Print the listing.
    pub listing: bool,
    /// Write the binary here.
    pub out: Option<PathBuf>,
}

/// Largest GEMM (in MACs) `program` also runs on the golden model (under a second).
const MODEL_MACS: u64 = 1 << 27;

/// Builds the program, prints its summary (and listing), and for GEMMs up to [`MODEL_MACS`]
/// runs it on the golden model with random operands, which must give the same counts.
pub fn program(args: &ProgramArgs) -> Result<()> {
    let g = Geometry::new(&args.config)?;
    let prog = gemm(&g, args.shape)?;
    let s = args.shape;
    let counts = prog.counts(&g);
    let ran = if counts.macs <= MODEL_MACS {
        let image = GemmImage::new(&g, s, prog.instrs.len());
        let mut rng = Rng::new(1);
        let a = random_matrix(&mut rng, s.m as usize, s.k as usize, g.in_bits, g.signed);
        let b = random_matrix(&mut rng, s.k as usize, s.n as usize, g.w_bits, g.signed);
        let params = vec![ColumnParams::default(); s.n as usize];
        let (mut dram, regs) = image.write(&g, &prog, &a, &b, &params);
        let out = NpuModel::new(&args.config)?.run(&mut dram, &regs);
        let c = out.counters;
        let same = (c.macs, c.dma_rd_bytes, c.dma_wr_bytes)
            == (counts.macs, counts.dma_rd_bytes, counts.dma_wr_bytes);
        if out.error != ErrorCode::None || !same {
            return Err(Error::Internal(format!(
                "the builder's program ends with {:?} at instruction {} on the golden model, \
                 counters {c:?} against {counts:?}",
                out.error, out.pc
            )));
        }
        true
    } else {
        false
    };
    if let Some(path) = &args.out {
        std::fs::write(path, prog.to_bytes()).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
    }
    println!(
        "{}: gemm {}x{}x{} on {}x{} {}: {} instructions ({} bytes)",
        args.config.name,
        s.m,
        s.k,
        s.n,
        g.rows,
        g.cols,
        g.dataflow.as_str().to_uppercase(),
        prog.instrs.len(),
        16 * prog.instrs.len()
    );
    println!(
        "  {} MACs, DMA read {} bytes, write {} bytes; {}",
        counts.macs,
        counts.dma_rd_bytes,
        counts.dma_wr_bytes,
        if ran {
            "the golden model ran it (random operands) with these counts"
        } else {
            "the golden model was not run (more than 2^27 MACs)"
        }
    );
    if args.listing {
        print!("{}", prog.listing());
    }
    Ok(())
}
