//! Running external tools (Verilator, Icarus Verilog, Yosys, nextpnr): discovery with version
//! checks, argv builders (never shell strings), report parsers, and netlist passes.

pub mod ecp5_bram;
pub mod ecp5_dsp;
pub mod endpoints;
pub mod nextpnr;
pub mod targets;
pub mod tools;
pub mod yosys;
