//! The npu's RTL: register block, instruction fetch, sequencer, the load, compute and store
//! units, and the top with its AXI4 master and AXI4-Lite slave ports.
//!
//! Each unit can also be built as its own top (`*_unit_design`), for unit tests.

mod alu;
mod axil;
pub mod buffers;
pub mod compute;
mod dma;
mod fetch;
pub mod load;
mod queue;
mod rd_arb;
mod seq;
pub mod store;
mod top;

pub use axil::AXIL_ADDR_BITS;

use crate::config::Config;
use crate::error::Result;
use crate::rtl::{Conn, Design, Expr, ModuleBuilder, Ty};

/// An unsigned type of `w` bits.
pub(super) fn u(w: u32) -> Ty {
    Ty::unsigned(w)
}

/// The unsigned constant `v` of `w` bits.
pub(super) fn lit(v: u64, w: u32) -> Expr {
    Expr::lit(i128::from(v), u(w))
}

use super::Geometry;

/// A `w`-bit down-counter `name`: loaded with `init` when `load`, else decremented when `dec`.
/// Returns its value and whether it is zero, the latter a register of its own (`{name}_zero`)
/// so that what tests it reads a flip-flop rather than a compare.
pub(super) fn countdown(
    b: &mut ModuleBuilder,
    name: &str,
    w: u32,
    load: &Expr,
    init: Expr,
    dec: &Expr,
) -> (Expr, Expr) {
    let h = b.reg(name, u(w));
    let q = h.q();
    let z = b.reg(&format!("{name}_zero"), Ty::BIT);
    let zq = z.q();
    let init = b.wire(&format!("{name}_init"), init);
    b.set_next(
        z,
        Expr::mux(
            load.clone(),
            init.clone().eq(lit(0, w)),
            Expr::mux(dec.clone(), q.clone().eq(lit(1, w)), zq.clone()),
        ),
        None,
    );
    let next = Expr::mux(
        load.clone(),
        init,
        Expr::mux(dec.clone(), q.clone().sub(lit(1, w)), q.clone()),
    );
    b.set_next(h, next, None);
    (q, zq)
}

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

/// Instantiates `module` as `inst`: `inputs` as given, every output `p` of `outputs` onto a
/// new wire `{prefix}_{p}`.
pub(super) fn block(
    b: &mut ModuleBuilder,
    inst: &str,
    module: &str,
    prefix: &str,
    inputs: Vec<(&str, Expr)>,
    outputs: &[(&str, Ty)],
) {
    let names: Vec<String> = outputs
        .iter()
        .map(|(p, ty)| {
            let w = format!("{prefix}_{p}");
            b.declare_wire(&w, *ty);
            w
        })
        .collect();
    let mut conns: Vec<(&str, Conn)> = vec![
        ("clk", Conn::Input(Expr::sig("clk", Ty::BIT))),
        ("rst", Conn::Input(Expr::sig("rst", Ty::BIT))),
    ];
    conns.extend(inputs.into_iter().map(|(p, e)| (p, Conn::Input(e))));
    for ((p, _), w) in outputs.iter().zip(&names) {
        conns.push((p, Conn::Output(w.clone())));
    }
    b.instance(inst, module, conns);
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

/// The compute unit `n` of `cfg` and every module it instantiates: its write-back queue, the
/// post-processing pipeline (with `[postproc]`) and the plain array.
fn compute_modules(n: &str, cfg: &Config, g: &Geometry) -> Result<Vec<crate::rtl::Module>> {
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
    let alu = format!("{n}_alu");
    let names = compute::ComputeNames {
        array: &array.top,
        desc_queue: &dq,
        post: &post,
        alu: &alu,
    };
    let mut modules = vec![
        compute::compute(n, g, &names),
        queue::queue(&dq, compute::DESC_BITS, compute::TILES_AHEAD),
        alu::alu(&alu, g),
    ];
    if let (Some(p), Some(a)) = (&cfg.postproc, &cfg.array) {
        modules.push(crate::gen::postproc::postproc(&post, a, p));
    }
    modules.extend(array.modules);
    Ok(modules)
}

/// A design whose top is the compute unit of `cfg`'s npu, with the plain array and the
/// post-processing module it instantiates (for unit tests).
pub fn compute_unit_design(cfg: &Config) -> Result<Design> {
    cfg.validate()?;
    let g = Geometry::new(cfg)?;
    let n = format!("{}_compute", cfg.name);
    Ok(Design {
        top: n.clone(),
        header: crate::gen::header(cfg),
        modules: compute_modules(&n, cfg, &g)?,
    })
}

/// A design whose top is the npu's register queue, `depth` entries of `width` bits (for its
/// unit test).
pub fn queue_design(width: u32, depth: u32) -> Design {
    let n = format!("npu_queue_{width}x{depth}");
    Design {
        top: n.clone(),
        header: vec![format!("{n}: the npu's queue, {depth} x {width} bits")],
        modules: vec![queue::queue(&n, width, depth)],
    }
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

/// The buffers of `cfg`'s npu alone, top `<name>_buffers` (for synthesis reports).
pub fn buffers_design(cfg: &Config) -> Result<Design> {
    cfg.validate()?;
    let g = Geometry::new(cfg)?;
    let n = format!("{}_buffers", cfg.name);
    Ok(Design {
        top: n.clone(),
        header: crate::gen::header(cfg),
        modules: vec![buffers::buffers_only(&n, &g)],
    })
}

/// The npu design of `cfg` (which has `[npu]`).
pub fn npu_design(cfg: &Config) -> Result<Design> {
    cfg.validate()?;
    let g = Geometry::new(cfg)?;
    let n = &cfg.name;
    let rounding = cfg.postproc.as_ref().map_or(0, |p| p.rounding as u32);
    let m = |s: &str| format!("{n}_{s}");
    let names = top::Names {
        fetch: m("fetch"),
        rd_arb: m("rd_arb"),
        seq: m("seq"),
        queue_pc: m("uq160"),
        queue: m("uq128"),
        load: m("load"),
        compute: m("compute"),
        store: m("store"),
        ar_skid: m("ar_skid"),
        r_skid: m("r_skid"),
    };
    let mut modules = vec![
        top::top(n, &g, &names),
        axil::axil(&m("regs"), &g, rounding),
        fetch::fetch(&names.fetch, &m("fetch_q"), g.axi_bytes, g.axi_addr_bits),
        queue::queue(&m("fetch_q"), 129, fetch::FETCH_DEPTH),
        rd_arb::rd_arb(&names.rd_arb, &m("rd_order"), g.axi_addr_bits, g.axi_bytes),
        queue::queue(&m("rd_order"), 1, rd_arb::BURSTS_AHEAD),
        seq::seq(&names.seq, &g),
        queue::queue_with_reserve(&names.queue_pc, 160, top::UNIT_QUEUE_DEPTH + 1, 1),
        queue::queue_with_reserve(&names.queue, 128, top::UNIT_QUEUE_DEPTH + 1, 1),
        load::load(&names.load, &m("load_rows"), &g),
        queue::queue(&m("load_rows"), load::desc_bits(&g), load::ROWS_AHEAD),
        queue::queue(&names.ar_skid, g.axi_addr_bits + 8, 2),
        queue::queue(&names.r_skid, 8 * g.axi_bytes + 3, 2),
        store::store(&names.store, &g),
    ];
    modules.extend(compute_modules(&names.compute, cfg, &g)?);
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
                ("buffers", buffers_design(&cfg).unwrap()),
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
