//! Bit-exact golden models, in plain Rust. They never import the RTL IR: a bug shows up as a
//! disagreement between two independently written things, the model and the simulated Verilog.
//!
//! - [`gemm`]: the plain matrix product (the model's own reference);
//! - [`systolic`]: the array's ports cycle by cycle, from its published timing contract.

pub mod alu;
pub mod gemm;
mod gemmlowp;
pub mod io;
pub mod lif;
pub mod lif_cycle;
pub mod npu;
mod out_queue;
pub mod params;
pub mod postproc;
pub mod requant;
pub mod systolic;

pub use gemm::{matmul, Matrix};
pub use io::{Beat, CycleIn, CycleOut};
pub use systolic::ArrayModel;
