//! Simulation: a cocotb-style testbench in Rust (sources, device under test, golden model,
//! checker) and the Verilator harness that puts the generated RTL under test.
//!
//! - [`tiling`]: a GEMM of any shape as fold streams, and C reassembled from result rows;
//! - [`stream`]: AXI-Stream sources and back-pressure patterns;
//! - [`compare`]: cycle-by-cycle comparison with the golden model;
//! - [`run`]: the loop.

pub mod array_dut;
pub mod cache;
pub mod compare;
pub mod gemm;
pub mod iverilog;
pub mod lif;
pub mod npu;
pub mod operands;
pub mod ports;
pub mod run;
pub mod shim;
pub mod stream;
pub mod tiling;
pub mod vectors;
pub mod verilator;
