//! Command-line definitions (clap) and their resolution into validated commands. No work is
//! done here: raw arguments become a [`Command`] (with a loaded, validated config) first.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::error::{Error, Result};

/// npugen: systolic-array and neuron-core generator for FPGAs.
#[derive(Debug, Parser)]
#[command(name = "npugen", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: CliCommand,
}

/// Subcommands as typed on the command line.
#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Generate Verilog, a manifest and a file list from a config (default: the built-in 8x8).
    Generate {
        /// TOML config file; omitted: the built-in default (`npugen config --default`).
        config: Option<PathBuf>,
        /// Output folder.
        #[arg(long, default_value = "rtl-out")]
        out: PathBuf,
        /// One file per module (`<module>.v`) instead of one `<name>.v` with all modules.
        #[arg(long)]
        split: bool,
    },
    /// Print the default config (fully commented), or a config file with defaults filled in.
    Config {
        /// Print the built-in default config as commented TOML.
        #[arg(long, conflicts_with = "file")]
        default: bool,
        /// Config file to validate and print resolved.
        #[arg(required_unless_present = "default")]
        file: Option<PathBuf>,
    },
}

/// A resolved command, ready to run.
#[derive(Debug)]
pub enum Command {
    /// Generate a design into `out`.
    Generate {
        /// The validated config.
        config: Config,
        /// Output folder.
        out: PathBuf,
        /// One file per module.
        split: bool,
    },
    /// Print the commented default config.
    ConfigDefault,
    /// Print a validated config with defaults filled in.
    ConfigResolved(Config),
}

/// Reads and validates a config file (`None`: the built-in default).
pub fn load_config(path: Option<&PathBuf>) -> Result<Config> {
    match path {
        None => Ok(Config::default()),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|source| Error::Read {
                path: p.clone(),
                source,
            })?;
            Config::load(&text, &p.display().to_string())
        }
    }
}

impl Cli {
    /// Resolves the parsed arguments into a command, loading and validating any config.
    pub fn resolve(self) -> Result<Command> {
        Ok(match self.command {
            CliCommand::Generate { config, out, split } => Command::Generate {
                config: load_config(config.as_ref())?,
                out,
                split,
            },
            CliCommand::Config { default: true, .. } => Command::ConfigDefault,
            CliCommand::Config { file, .. } => Command::ConfigResolved(load_config(file.as_ref())?),
        })
    }
}
