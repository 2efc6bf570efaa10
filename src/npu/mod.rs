//! The npu: a programmable accelerator around the systolic array. On-chip activation, weight
//! and parameter buffers, an accumulator memory, a DMA engine on an AXI4 master, an instruction
//! sequencer and AXI4-Lite registers.
//!
//! One source of truth per interface: [`isa`] is the instruction encoding (the golden model,
//! the program builder, the assembler listing and the RTL decoder all read it), [`regs`] the
//! register map (the RTL, the C header and the docs table come from it). [`program`] tiles a
//! GEMM into a program for the configured buffers.

pub mod c_header;
pub mod doc_tables;
pub mod gen;
pub(crate) mod geometry;
pub mod host;
pub mod isa;
pub mod program;
pub mod regs;
mod schedule;

pub use geometry::Geometry;
