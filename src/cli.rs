//! Command-line definitions (clap) and their resolution into validated commands. No work is
//! done here: raw arguments become a `Command` (with a loaded, validated config) first.

// The clap doc comments are --help text, where `[lif]` and `[postproc]` name config sections.
#![allow(rustdoc::broken_intra_doc_links)]

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::flow::targets::{Family, Target};
use crate::gen::Part;

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
    /// Run a GEMM through the Verilated RTL, checked cycle by cycle against the golden model.
    Simulate {
        /// TOML config file; omitted: the built-in default.
        config: Option<PathBuf>,
        /// Where A and B come from.
        #[command(flatten)]
        operands: OperandArgs,
        /// Write C (M x N, int32 or int64) to this .npy file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write the run report (cycles, utilization, SCALE-Sim cycles, ...) as JSON.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Write a VCD waveform of the whole run (otherwise one is written only on a mismatch).
        #[arg(long)]
        vcd: Option<PathBuf>,
        /// Write an FST waveform of the whole run (compressed: for long runs; its model is
        /// built once and cached beside the VCD one).
        #[arg(long, conflicts_with = "vcd")]
        fst: Option<PathBuf>,
        /// Random input gaps and output back-pressure: OFFER,READY percentages, e.g. 60,40.
        #[arg(long, value_name = "OFFER,READY")]
        stalls: Option<String>,
        /// Bias for an npu_core ([postproc]): N int32 values as .npy (default: zeros; random
        /// with --random).
        #[arg(long)]
        bias: Option<PathBuf>,
        /// Per-column scales for an npu_core: N float32 or float64 values as .npy, replacing
        /// the config's weight_scale (with the three scales) or scale.
        #[arg(long)]
        scale: Option<PathBuf>,
        /// With [npu]: the AXI memory model's bytes per cycle, reads and writes together
        /// (1..=1024; default: one bus beat per cycle).
        #[arg(long, value_name = "BYTES")]
        mem_bandwidth: Option<u32>,
    },
    /// Write a self-checking Verilog testbench with $readmemh vectors from the golden model.
    Testbench {
        /// TOML config file; omitted: the built-in default.
        config: Option<PathBuf>,
        /// Where A and B come from.
        #[command(flatten)]
        operands: OperandArgs,
        /// Bias for an npu_core, as for `simulate`.
        #[arg(long)]
        bias: Option<PathBuf>,
        /// Per-column scales for an npu_core, as for `simulate`.
        #[arg(long)]
        scale: Option<PathBuf>,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Synthesise for an FPGA target (and place and route on ECP5 / iCE40): constraints,
    /// scripts, vendor project files and a QoR report.
    Synth {
        /// TOML config file; omitted: the built-in default.
        config: Option<PathBuf>,
        /// xc7, xcup, cyclonev, max10, ice40-up5k, ice40-hx8k, ecp5-25k, ecp5-45k, ecp5-85k.
        #[arg(long)]
        target: String,
        /// Clock frequency to constrain, MHz (1..=1000).
        #[arg(long, default_value_t = 100.0)]
        freq: f64,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Which design of the config: "array" (default when present), "lif", or "buffers"
        /// (with [npu]: the npu's buffers alone, to see which block RAM they take).
        #[arg(long)]
        part: Option<String>,
        /// Synthesis only, even where place and route is available.
        #[arg(long)]
        no_pnr: bool,
        /// When the part has too few DSP blocks: "refuse" (default) or "lut" (the remaining
        /// PEs get logic multipliers).
        #[arg(long, default_value = "refuse")]
        dsp_fallback: String,
        /// nextpnr placement seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// ECP5 speed grade to place and route for: 6 (the default, the target's part), 7
        /// or 8 (the part number's grade digit, e.g. LFE5U-45F-8BG381C).
        #[arg(long)]
        speed: Option<u8>,
    },
    /// Build the npu program ([npu]) of a GEMM: a summary, the disassembled listing, the
    /// binary, and the counters of the golden model running it on random operands.
    Program {
        /// TOML config file with an [npu] section.
        config: PathBuf,
        /// The GEMM's M,K,N.
        #[arg(long, value_name = "M,K,N")]
        gemm: String,
        /// Print every instruction, disassembled.
        #[arg(long)]
        listing: bool,
        /// Write the program (16 bytes per instruction, little-endian) to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run spike trains through the spiking core ([lif]) in Verilator, checked against the model.
    Lif {
        /// TOML config file with a [lif] section.
        config: PathBuf,
        /// Spikes, T x axons, 0/1 (any integer dtype).
        #[arg(long)]
        spikes: PathBuf,
        /// Synapse weights, axons x neurons, signed values of lif.weight_bits.
        #[arg(long)]
        weights: PathBuf,
        /// Per-neuron bias mantissas (neurons values, -4096..=4095); needs per_neuron_bias.
        #[arg(long)]
        bias: Option<PathBuf>,
        /// Output folder for u.npy, v.npy, spikes.npy and report.json.
        #[arg(long)]
        out: PathBuf,
        /// Only run the golden model (no Verilator).
        #[arg(long)]
        model_only: bool,
        /// Random input gaps and output back-pressure: OFFER,READY percentages.
        #[arg(long, value_name = "OFFER,READY")]
        stalls: Option<String>,
        /// Seed for --stalls.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write a VCD waveform of the whole run.
        #[arg(long)]
        vcd: Option<PathBuf>,
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

/// Where the GEMM operands come from.
#[derive(Debug, clap::Args)]
pub struct OperandArgs {
    /// A (M x K) as .npy, any integer dtype whose values fit the configured width.
    #[arg(long, requires = "b", conflicts_with = "random")]
    pub a: Option<PathBuf>,
    /// B (K x N) as .npy.
    #[arg(long, requires = "a", conflicts_with = "random")]
    pub b: Option<PathBuf>,
    /// Random operands of shape M,K,N (corner values always included).
    #[arg(long, value_name = "M,K,N", required_unless_present = "a")]
    pub random: Option<String>,
    /// Seed for random operands and stalls (default: from the clock, printed).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Resolved operand source.
#[derive(Debug, Clone)]
pub enum Operands {
    /// From .npy files.
    Files {
        /// A.
        a: PathBuf,
        /// B.
        b: PathBuf,
    },
    /// Random, of this shape.
    Random {
        /// M, K, N.
        shape: (usize, usize, usize),
    },
}

/// A resolved `simulate` command.
#[derive(Debug)]
pub struct SimulateArgs {
    /// Config, operands, seed and bias.
    pub gemm: GemmArgs,
    /// C output file.
    pub out: Option<PathBuf>,
    /// Report file.
    pub report: Option<PathBuf>,
    /// VCD waveform of the whole run.
    pub vcd: Option<PathBuf>,
    /// FST waveform of the whole run.
    pub fst: Option<PathBuf>,
    /// (offer, ready) percentages.
    pub stalls: Option<(u8, u8)>,
    /// The npu's memory bandwidth, bytes per cycle (with [npu] only).
    pub mem_bandwidth: Option<u32>,
}

/// What `simulate` and `testbench` share: a GEMM on an array config.
#[derive(Debug)]
pub struct GemmArgs {
    /// The validated config.
    pub config: Config,
    /// Operands.
    pub operands: Operands,
    /// Seed (always set: from `--seed` or the clock).
    pub seed: u64,
    /// Bias file (npu_core).
    pub bias: Option<PathBuf>,
    /// Per-column scale file (npu_core).
    pub scale: Option<PathBuf>,
}

impl GemmArgs {
    /// Loads the config and checks the bias and operand flags against it.
    fn resolve(
        config: Option<&PathBuf>,
        operands: OperandArgs,
        bias: Option<PathBuf>,
        scale: Option<PathBuf>,
    ) -> Result<GemmArgs> {
        let config = load_config(config)?;
        check_post_flag(&config, "--bias", bias.as_ref())?;
        check_post_flag(&config, "--scale", scale.as_ref())?;
        let (operands, seed) = operands.resolve()?;
        Ok(GemmArgs {
            config,
            operands,
            seed,
            bias,
            scale,
        })
    }
}

/// A resolved `lif` command.
#[derive(Debug)]
pub struct LifArgs {
    /// The validated config (with [lif]).
    pub config: Config,
    /// Spike trains file.
    pub spikes: PathBuf,
    /// Weights file.
    pub weights: PathBuf,
    /// Per-neuron bias file.
    pub bias: Option<PathBuf>,
    /// Output folder.
    pub out: PathBuf,
    /// Skip the RTL.
    pub model_only: bool,
    /// (offer, ready) percentages and seed.
    pub stalls: Option<(u8, u8, u64)>,
    /// Waveform file.
    pub vcd: Option<PathBuf>,
}

fn parse_stalls(text: Option<String>) -> Result<Option<(u8, u8)>> {
    let Some(t) = text else { return Ok(None) };
    let v = parse_list("--stalls", &t, 2)?;
    if v.iter().any(|&p| p == 0 || p > 100) {
        return Err(Error::input(
            "--stalls",
            format!("{t:?}: percentages must be in 1..=100"),
        ));
    }
    Ok(Some((v[0] as u8, v[1] as u8)))
}

/// Largest M, K or N accepted by `--random`.
pub const MAX_RANDOM_DIM: usize = 65536;

fn parse_list(what: &str, text: &str, n: usize) -> Result<Vec<u64>> {
    let bad = || {
        Error::input(
            what,
            format!("{text:?} is not {n} comma-separated non-negative integers"),
        )
    };
    let v: Vec<u64> = text
        .split(',')
        .map(|s| s.trim().parse().map_err(|_| bad()))
        .collect::<Result<_>>()?;
    if v.len() == n {
        Ok(v)
    } else {
        Err(bad())
    }
}

/// `program --gemm M,K,N`: three dimensions of 1..=u32::MAX (the builder refuses what does
/// not fit the buffers or the instruction fields).
fn parse_gemm(text: &str) -> Result<crate::npu::program::GemmShape> {
    let v = parse_list("--gemm", text, 3)?;
    if let Some(bad) = v.iter().find(|&&d| d == 0 || d > u64::from(u32::MAX)) {
        return Err(Error::input(
            "--gemm",
            format!("dimension {bad} is out of range: allowed 1..={}", u32::MAX),
        ));
    }
    Ok(crate::npu::program::GemmShape {
        m: v[0] as u32,
        k: v[1] as u32,
        n: v[2] as u32,
    })
}

impl OperandArgs {
    /// Resolves into an operand source and a seed.
    pub fn resolve(self) -> Result<(Operands, u64)> {
        let seed = self
            .seed
            .unwrap_or_else(|| crate::rng::seed_from_env("NPUGEN_SEED"));
        let ops = match (self.a, self.b, self.random) {
            (Some(a), Some(b), None) => Operands::Files { a, b },
            (None, None, Some(r)) => {
                let v = parse_list("--random", &r, 3)?;
                if let Some(bad) = v.iter().find(|&&d| d == 0 || d as usize > MAX_RANDOM_DIM) {
                    return Err(Error::input(
                        "--random",
                        format!("dimension {bad} is out of range: allowed 1..={MAX_RANDOM_DIM}"),
                    ));
                }
                Operands::Random {
                    shape: (v[0] as usize, v[1] as usize, v[2] as usize),
                }
            }
            _ => {
                return Err(Error::input(
                    "operands",
                    "give --a and --b, or --random M,K,N",
                ))
            }
        };
        Ok((ops, seed))
    }
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
    /// Co-simulate a GEMM.
    Simulate(SimulateArgs),
    /// Write a testbench.
    Testbench {
        /// Config, operands, seed and bias.
        gemm: GemmArgs,
        /// Output folder.
        out: PathBuf,
    },
    /// Build an npu program.
    Program(crate::commands::program::ProgramArgs),
    /// Run the spiking core.
    Lif(LifArgs),
    /// Synthesise for an FPGA target.
    Synth(crate::commands::synth::SynthArgs),
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

/// `--bias` and `--scale` of `simulate` / `testbench` need an npu_core.
fn check_post_flag(config: &Config, flag: &str, path: Option<&PathBuf>) -> Result<()> {
    if path.is_some() && config.postproc.is_none() {
        return Err(Error::input(
            flag,
            "needs a [postproc] section in the config",
        ));
    }
    Ok(())
}

/// Largest `--mem-bandwidth`, bytes per cycle.
pub const MAX_MEM_BANDWIDTH: u32 = 1024;

/// `simulate --mem-bandwidth` needs `[npu]`, and a rate in 1..=[`MAX_MEM_BANDWIDTH`].
fn check_mem_bandwidth(config: &Config, bw: Option<u32>) -> Result<()> {
    match bw {
        Some(_) if config.npu.is_none() => Err(Error::input(
            "--mem-bandwidth",
            "needs an [npu] section in the config (the array's streams have no memory)",
        )),
        Some(b) if b == 0 || b > MAX_MEM_BANDWIDTH => Err(Error::input(
            "--mem-bandwidth",
            format!("{b}: allowed 1..={MAX_MEM_BANDWIDTH} bytes per cycle"),
        )),
        _ => Ok(()),
    }
}

/// `npugen lif` needs a `[lif]` section, and `--bias` exactly when it has per-neuron biases.
fn check_lif_bias(config: &Config, bias: Option<&PathBuf>) -> Result<()> {
    let Some(l) = &config.lif else {
        return Err(Error::input(
            "config",
            "has no [lif] section: `npugen lif` runs the spiking core, which a \
             [lif] section describes (see `npugen config --default`)",
        ));
    };
    match (bias.is_some(), l.per_neuron_bias) {
        (true, false) => Err(Error::input("--bias", "needs lif.per_neuron_bias = true")),
        (false, true) => Err(Error::input(
            "--bias",
            "required: lif.per_neuron_bias = true",
        )),
        _ => Ok(()),
    }
}

/// `synth --part`: a design the config has (default: the array, else the spiking core).
fn parse_part(config: &Config, part: Option<&str>) -> Result<Part> {
    match part {
        None if config.array.is_some() => Ok(Part::Array),
        None => Ok(Part::Lif),
        Some("array") if config.array.is_some() => Ok(Part::Array),
        Some("lif") if config.lif.is_some() => Ok(Part::Lif),
        Some("buffers") if config.npu.is_some() => Ok(Part::Buffers),
        Some(p) => {
            let has: Vec<&str> = [
                config.array.as_ref().map(|_| "\"array\""),
                config.lif.as_ref().map(|_| "\"lif\""),
                config.npu.as_ref().map(|_| "\"buffers\""),
            ]
            .into_iter()
            .flatten()
            .collect();
            let sections: Vec<&str> = [
                config.array.as_ref().map(|_| "[array]"),
                config.postproc.as_ref().map(|_| "[postproc]"),
                config.lif.as_ref().map(|_| "[lif]"),
                config.npu.as_ref().map(|_| "[npu]"),
            ]
            .into_iter()
            .flatten()
            .collect();
            Err(Error::input(
                "--part",
                format!(
                    "{p:?} is not a design of this config: it has {}, so allowed: {}",
                    sections.join(" and "),
                    has.join(" or ")
                ),
            ))
        }
    }
}

/// `synth --freq`: 1..=1000 MHz.
/// The ECP5 speed grade, when given: 6, 7 or 8, and only for an ECP5 target.
fn check_speed(speed: Option<u8>, target: Target) -> Result<Option<u8>> {
    match speed {
        None => Ok(None),
        Some(s) if target.family() != Family::Ecp5 => Err(Error::input(
            "--speed",
            format!("{s}: only the ECP5 targets take a speed grade, not {target}"),
        )),
        Some(s) if (6..=8).contains(&s) => Ok(Some(s)),
        Some(s) => Err(Error::input(
            "--speed",
            format!("{s} is not an ECP5 speed grade: allowed 6, 7 or 8"),
        )),
    }
}

fn check_freq(freq: f64) -> Result<f64> {
    if (1.0..=1000.0).contains(&freq) {
        Ok(freq)
    } else {
        Err(Error::input(
            "--freq",
            format!("{freq} is out of range: allowed 1..=1000 MHz"),
        ))
    }
}

impl Cli {
    /// Resolves the parsed arguments into a command, loading and validating any config.
    /// About 100 lines: one arm per subcommand, each moving its fields into the command's
    /// arguments after the shared checks.
    pub fn resolve(self) -> Result<Command> {
        Ok(match self.command {
            CliCommand::Generate { config, out, split } => Command::Generate {
                config: load_config(config.as_ref())?,
                out,
                split,
            },
            CliCommand::Simulate {
                config,
                operands,
                out,
                report,
                vcd,
                fst,
                stalls,
                bias,
                scale,
                mem_bandwidth,
            } => {
                let gemm = GemmArgs::resolve(config.as_ref(), operands, bias, scale)?;
                check_mem_bandwidth(&gemm.config, mem_bandwidth)?;
                Command::Simulate(SimulateArgs {
                    gemm,
                    out,
                    report,
                    vcd,
                    fst,
                    stalls: parse_stalls(stalls)?,
                    mem_bandwidth,
                })
            }
            CliCommand::Testbench {
                config,
                operands,
                bias,
                scale,
                out,
            } => Command::Testbench {
                gemm: GemmArgs::resolve(config.as_ref(), operands, bias, scale)?,
                out,
            },
            CliCommand::Lif {
                config,
                spikes,
                weights,
                bias,
                out,
                model_only,
                stalls,
                seed,
                vcd,
            } => {
                let config = load_config(Some(&config))?;
                check_lif_bias(&config, bias.as_ref())?;
                Command::Lif(LifArgs {
                    config,
                    spikes,
                    weights,
                    bias,
                    out,
                    model_only,
                    stalls: parse_stalls(stalls)?.map(|(o, r)| (o, r, seed)),
                    vcd,
                })
            }
            CliCommand::Synth {
                config,
                target,
                freq,
                out,
                part,
                no_pnr,
                dsp_fallback,
                seed,
                speed,
            } => {
                let config = load_config(config.as_ref())?;
                let target: Target = target
                    .parse()
                    .map_err(|e: String| Error::input("--target", e))?;
                Command::Synth(crate::commands::synth::SynthArgs {
                    part: parse_part(&config, part.as_deref())?,
                    config,
                    target,
                    freq_mhz: check_freq(freq)?,
                    out,
                    no_pnr,
                    dsp_fallback: dsp_fallback
                        .parse()
                        .map_err(|e: String| Error::input("--dsp-fallback", e))?,
                    seed,
                    speed: check_speed(speed, target)?,
                })
            }
            CliCommand::Program {
                config,
                gemm,
                listing,
                out,
            } => {
                let config = load_config(Some(&config))?;
                if config.npu.is_none() {
                    return Err(Error::input(
                        "config",
                        "has no [npu] section: `npugen program` builds programs for the npu, \
                         which an [npu] section describes (see `npugen config --default`)",
                    ));
                }
                Command::Program(crate::commands::program::ProgramArgs {
                    config,
                    shape: parse_gemm(&gemm)?,
                    listing,
                    out,
                })
            }
            CliCommand::Config { default: true, .. } => Command::ConfigDefault,
            CliCommand::Config { file, .. } => Command::ConfigResolved(load_config(file.as_ref())?),
        })
    }
}
