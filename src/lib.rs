//! # npugen
//!
//! Generates AI-processor hardware for FPGAs: a systolic MAC array (output- or
//! weight-stationary, any size and operand width) as clean Verilog-2005, with a manifest that
//! documents its ports and timing.
//!
//! The pipeline: a [`config::Config`] (TOML or Rust) is validated, [`gen`] builds it as an
//! [`rtl::Design`] (a small typed netlist IR, checked by [`rtl::check`]), and [`emit`] prints
//! Verilog, the manifest and a file list.
//!
//! ```
//! use npugen::config::{ArrayConfig, Config, Dataflow};
//! let cfg = Config {
//!     name: "tiny".into(),
//!     array: Some(ArrayConfig { rows: 2, cols: 3, dataflow: Dataflow::Ws, ..Default::default() }),
//!     postproc: None,
//!     lif: None,
//!     npu: None,
//! };
//! let design = npugen::gen::generate(&cfg).unwrap();
//! let verilog = npugen::emit::verilog::design_to_verilog(&design);
//! assert!(verilog.contains("module tiny ("));
//! ```

#![warn(missing_docs)]

/// The command-line front end (argument parsing); used by the binary, not a library API.
#[doc(hidden)]
pub mod cli;
/// The subcommands behind the CLI; used by the binary, not a library API.
#[doc(hidden)]
pub mod commands;
pub mod config;
pub mod emit;
pub mod error;
pub mod flow;
pub mod gen;
pub(crate) mod mem;
pub mod model;
pub mod npu;
pub mod npy;
pub(crate) mod progress;
pub mod rng;
pub mod rtl;
pub mod sim;
pub mod timing;

pub use config::{ArrayConfig, Config, Dataflow};
pub use error::{Error, Result};
pub use gen::generate;
