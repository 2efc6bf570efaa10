//! What each resolved [`Command`] does.

mod operands;
mod simulate;
mod testbench;

use crate::cli::Command;
use crate::config::Config;
use crate::config::DEFAULT_TOML;
use crate::emit::{design_files, write_files, OutputFile};
use crate::error::{Error, Result};
use crate::gen::{build, check};
use crate::rtl::Design;

/// Builds, checks and emits a design: the files `generate` writes. Check and emit are
/// independent reads of the design, so they run on two threads; an error means no files.
pub fn generate_files(config: &Config, split: bool) -> Result<(Design, Vec<OutputFile>)> {
    let design = build(config)?;
    let (checked, files) = std::thread::scope(|s| {
        let checker = s.spawn(|| check(&design));
        let files = design_files(config, &design, split);
        (checker.join(), files)
    });
    checked.map_err(|_| Error::Internal("design check panicked".into()))??;
    Ok((design, files))
}

/// Runs a resolved command, printing its report on stdout; returns the exit code.
pub fn run(cmd: Command) -> Result<i32> {
    match cmd {
        Command::Generate { config, out, split } => {
            let (design, files) = generate_files(&config, split)?;
            write_files(&out, &files)?;
            let a = config.array();
            println!(
                "{}: {} x {} {} array ({} PEs), {} modules",
                config.name,
                a.rows,
                a.cols,
                a.dataflow.as_str().to_uppercase(),
                a.pe_count(),
                design.modules.len()
            );
            for f in &files {
                println!(
                    "  wrote {} ({} bytes)",
                    out.join(&f.name).display(),
                    f.contents.len()
                );
            }
        }
        Command::Simulate(args) => return simulate::simulate(args),
        Command::Testbench {
            config,
            operands,
            seed,
            bias,
            out,
        } => testbench::testbench(&config, &operands, seed, bias.as_deref(), &out)?,
        Command::ConfigDefault => print!("{DEFAULT_TOML}"),
        Command::ConfigResolved(config) => print!("{}", config.to_toml()),
    }
    Ok(0)
}
