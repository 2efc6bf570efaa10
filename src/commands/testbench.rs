//! `npugen testbench`: a self-checking Verilog testbench with vectors from the golden model.

use std::path::Path;

use crate::cli::GemmArgs;
use crate::emit::{testbench::testbench as emit_testbench, write_files};
use crate::error::{Error, Result};
use crate::sim::vectors::vectors;

/// Writes the testbench for `config`, the operands and the bias (npu_core) into `out`.
pub fn testbench(args: &GemmArgs, out: &Path) -> Result<()> {
    let (config, seed) = (&args.config, args.seed);
    if config.npu.is_some() {
        return Err(Error::input(
            "[npu]",
            "testbench writes stream vectors for the array's ports, which the npu does not \
             have; `npugen simulate` runs a GEMM program on the npu (remove [npu] for the \
             array's testbench)",
        ));
    }
    let cfg = config.array();
    let post = config.postproc.as_ref();
    let (a, b, params) = super::operands::gemm_inputs(args)?;
    let design = crate::gen::generate(config)?;
    let v = vectors(cfg, post, &a, &b, params.as_deref())
        .map_err(|e| Error::Internal(e.to_string()))?;
    let files = emit_testbench(config, &design, &v, seed);
    write_files(out, &files)?;
    println!(
        "{}: testbench for a {} x {} x {} GEMM ({} A beats, {} B beats, {} result rows, seed {seed})",
        config.name,
        a.rows,
        a.cols,
        b.cols,
        v.a.len(),
        v.b.len(),
        v.c.len()
    );
    for f in &files {
        println!("  wrote {}", out.join(&f.name).display());
    }
    println!(
        "run: cd {} && iverilog -g2005 -o tb.vvp -c {}_tb.f && vvp tb.vvp",
        out.display(),
        design.top
    );
    Ok(())
}
