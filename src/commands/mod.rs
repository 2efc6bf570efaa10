//! What each resolved [`crate::cli::Command`] does.

mod lif;
mod operands;
pub mod program;
mod simulate;
mod simulate_npu;
pub mod synth;
mod testbench;

use crate::cli::Command;
use crate::config::Config;
use crate::config::DEFAULT_TOML;
use crate::emit::{design_files, write_files, OutputFile};
use crate::error::{Error, Result};
use crate::gen::{build_part, check, parts};
use crate::rtl::Design;

/// Builds, checks and emits every design of a config (the array or npu_core, and the spiking
/// core): the files `generate` writes. Check and emit are independent reads of a design, so
/// they run on two threads; an error means no files.
pub fn generate_files(config: &Config, split: bool) -> Result<(Vec<Design>, Vec<OutputFile>)> {
    let mut designs = Vec::new();
    let mut files = Vec::new();
    for part in parts(config) {
        let design = build_part(config, part)?;
        let (checked, emitted) = std::thread::scope(|s| {
            let checker = s.spawn(|| check(&design));
            let emitted = design_files(config, part, &design, split);
            (checker.join(), emitted)
        });
        checked.map_err(|_| Error::Internal("design check panicked".into()))??;
        files.extend(emitted?);
        designs.push(design);
    }
    Ok((designs, files))
}

/// One line describing a generated design.
fn summary(config: &Config, d: &Design) -> String {
    match (
        &config.lif,
        d.top == crate::gen::lif::LifNames::new(&config.name).top,
    ) {
        (Some(l), true) => format!(
            "{}: spiking core, {} LIF neurons x {} axons, {} lanes ({} groups), {} modules",
            d.top,
            l.neurons,
            l.axons,
            l.parallel,
            l.groups(),
            d.modules.len()
        ),
        _ if config.npu.is_some() => {
            let a = config.array();
            let post = if config.postproc.is_some() {
                " with post-processing"
            } else {
                ""
            };
            format!(
                "{}: npu, {} x {} {} array{post}, {}-bit AXI4 master, registers in {}_regs.h, {} modules",
                d.top,
                a.rows,
                a.cols,
                a.dataflow.as_str().to_uppercase(),
                config.npu.as_ref().map_or(0, |n| n.axi_data_bits),
                config.name,
                d.modules.len()
            )
        }
        _ => {
            let a = config.array();
            let kind = if config.postproc.is_some() {
                "npu_core"
            } else {
                "array"
            };
            format!(
                "{}: {} x {} {} {kind} ({} PEs), {} modules",
                d.top,
                a.rows,
                a.cols,
                a.dataflow.as_str().to_uppercase(),
                a.pe_count(),
                d.modules.len()
            )
        }
    }
}

/// Runs a resolved command, printing its report on stdout; returns the exit code.
pub fn run(cmd: Command) -> Result<i32> {
    match cmd {
        Command::Generate { config, out, split } => {
            let (designs, files) = generate_files(&config, split)?;
            write_files(&out, &files)?;
            for d in &designs {
                println!("{}", summary(&config, d));
            }
            for f in &files {
                println!(
                    "  wrote {} ({} bytes)",
                    out.join(&f.name).display(),
                    f.contents.len()
                );
            }
        }
        Command::Simulate(args) => return simulate::simulate(args),
        Command::Program(args) => program::program(&args)?,
        Command::Lif(args) => return lif::lif(args),
        Command::Synth(args) => return synth::synth(args),
        Command::Testbench { gemm, out } => testbench::testbench(&gemm, &out)?,
        Command::ConfigDefault => print!("{DEFAULT_TOML}"),
        Command::ConfigResolved(config) => print!("{}", config.to_toml()),
    }
    Ok(0)
}
