//! Running external tools (Verilator, Icarus Verilog, Yosys, nextpnr): discovery with version
//! checks, argv builders (never shell strings) and report parsers.

pub mod tools;
