//! The npu's RTL: register block, instruction fetch, sequencer, the load, compute and store
//! units, and the top with its AXI4 master and AXI4-Lite slave ports.
//!
//! Work in progress (issue 12): the units are not yet wired into the top, so the sequencer's
//! unit queues have no consumer there and only programs of FINISH (and the error paths) run
//! on the whole npu; each unit is tested as its own top. `npugen generate` refuses `[npu]`
//! until the npu is whole; tests build these designs directly.

mod axil;
pub mod compute;
mod dma;
mod fetch;
pub mod load;
mod queue;
mod seq;
pub mod store;
mod top;

pub use axil::AXIL_ADDR_BITS;

use crate::config::Config;
use crate::error::Result;
use crate::rtl::{Design, Expr, Ty};

/// An unsigned type of `w` bits.
pub(super) fn u(w: u32) -> Ty {
    Ty::unsigned(w)
}

/// The unsigned constant `v` of `w` bits.
pub(super) fn lit(v: u64, w: u32) -> Expr {
    Expr::lit(i128::from(v), u(w))
}

use super::Geometry;

/// Field `f` of the instruction `ins` (a 128-bit signal), zero-extended to `w` bits.
pub(super) fn field(ins: &Expr, f: &crate::npu::isa::Field, w: u32) -> Expr {
    let lo = 32 * f.word + f.lsb;
    ins.slice(lo + f.width - 1, lo).zext(w)
}

/// Field `name` of opcode `op` in the instruction `ins`, zero-extended to `w` bits.
pub(super) fn get(ins: &Expr, op: crate::npu::isa::Opcode, name: &str, w: u32) -> Expr {
    let f = crate::npu::isa::spec(op)
        .fields
        .iter()
        .find(|f| f.name == name)
        .expect("field of the opcode");
    field(ins, f, w)
}

/// A design whose top is the load unit of `cfg`'s npu (for unit tests of the DMA).
pub fn load_unit_design(cfg: &Config) -> Result<Design> {
    cfg.validate()?;
    let g = Geometry::new(cfg)?;
    let n = format!("{}_load", cfg.name);
    let dq = format!("{n}_rows");
    Ok(Design {
        top: n.clone(),
        header: crate::gen::header(cfg),
        modules: vec![
            load::load(&n, &dq, &g),
            queue::queue(&dq, load::desc_bits(&g), load::ROWS_AHEAD),
        ],
    })
}

/// A design whose top is the compute unit of `cfg`'s npu, with the plain array and the
/// post-processing module it instantiates (for unit tests).
pub fn compute_unit_design(cfg: &Config) -> Result<Design> {
    cfg.validate()?;
    let g = Geometry::new(cfg)?;
    let n = format!("{}_compute", cfg.name);
    let array_cfg = Config {
        name: format!("{}_array", cfg.name),
        array: cfg.array.clone().map(|mut a| {
            a.out_fifo_depth = None;
            a
        }),
        postproc: None,
        lif: None,
        npu: None,
    };
    let array = crate::gen::build(&array_cfg)?;
    let dq = format!("{n}_tiles");
    let post = format!("{n}_post");
    let names = compute::ComputeNames {
        array: &array.top,
        desc_queue: &dq,
        post: &post,
    };
    let mut modules = vec![
        compute::compute(&n, &g, &names),
        queue::queue(&dq, compute::DESC_BITS, compute::TILES_AHEAD),
    ];
    if let (Some(p), Some(a)) = (&cfg.postproc, &cfg.array) {
        modules.push(crate::gen::postproc::postproc(&post, a, p));
    }
    modules.extend(array.modules);
    Ok(Design {
        top: n,
        header: crate::gen::header(cfg),
        modules,
    })
}

/// A design whose top is the store unit of `cfg`'s npu (for unit tests of the DMA).
pub fn store_unit_design(cfg: &Config) -> Result<Design> {
    cfg.validate()?;
    let g = Geometry::new(cfg)?;
    let n = format!("{}_store", cfg.name);
    Ok(Design {
        top: n.clone(),
        header: crate::gen::header(cfg),
        modules: vec![store::store(&n, &g)],
    })
}

/// The npu design of `cfg` (which has `[npu]`).
pub fn npu_design(cfg: &Config) -> Result<Design> {
    cfg.validate()?;
    let g = Geometry::new(cfg)?;
    let n = &cfg.name;
    let rounding = cfg.postproc.as_ref().map_or(0, |p| p.rounding as u32);
    let modules = vec![
        top::top(n, &g),
        axil::axil(&format!("{n}_regs"), &g, rounding),
        fetch::fetch(
            &format!("{n}_fetch"),
            &format!("{n}_fetch_q"),
            g.axi_bytes,
            g.axi_addr_bits,
        ),
        queue::queue(&format!("{n}_fetch_q"), 129, fetch::FETCH_DEPTH),
        seq::seq(&format!("{n}_seq"), &g),
    ];
    Ok(Design {
        top: n.clone(),
        header: crate::gen::header(cfg),
        modules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ArrayConfig, NpuConfig, PostprocConfig};

    #[test]
    fn every_bus_width_builds_a_checked_design() {
        for (bits, addr) in [(64, 32), (128, 64), (256, 32)] {
            let cfg = Config {
                name: "n".into(),
                array: Some(ArrayConfig::default()),
                postproc: Some(PostprocConfig::default()),
                lif: None,
                npu: Some(NpuConfig {
                    axi_data_bits: bits,
                    axi_addr_bits: addr,
                    ..NpuConfig::default()
                }),
            };
            for (what, d) in [
                ("npu", npu_design(&cfg).unwrap()),
                ("load", load_unit_design(&cfg).unwrap()),
                ("store", store_unit_design(&cfg).unwrap()),
                ("compute", compute_unit_design(&cfg).unwrap()),
            ] {
                crate::gen::check(&d).unwrap();
                if std::env::var("NPUGEN_DUMP_NPU").is_ok() {
                    let v = crate::emit::verilog::design_to_verilog(&d);
                    std::fs::write(format!("/tmp/{what}_{bits}_{addr}.v"), v).unwrap();
                }
            }
        }
    }
}
