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
use crate::rtl::{Conn, Design, Expr, Module, ModuleBuilder, Ty};

/// An unsigned type of `w` bits.
pub(super) fn u(w: u32) -> Ty {
    Ty::unsigned(w)
}

/// The next value of the counter `count`: one more on `up` alone, one less on `down` alone,
/// else the same.
pub(super) fn up_down(count: &Expr, up: &Expr, down: &Expr) -> Expr {
    let one = Expr::lit(1, count.ty());
    Expr::mux(
        up.clone().and(down.clone().not()),
        count.clone().add(one.clone()),
        Expr::mux(
            down.clone().and(up.clone().not()),
            count.clone().sub(one),
            count.clone(),
        ),
    )
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
    let (q, flags) = counter_flags(b, name, w, load, init, dec, &[0]);
    (q, flags[0].clone())
}

/// The next value of a pipeline stage's valid flag `valid`: cleared by `start`, else set when
/// the stage fills, else held while it does not empty (`leave`).
pub(super) fn valid_next(start: &Expr, fill: Expr, valid: &Expr, leave: &Expr) -> Expr {
    Expr::mux(
        start.clone(),
        Expr::bit_const(false),
        Expr::mux(
            fill,
            Expr::bit_const(true),
            valid.clone().and(leave.clone().not()),
        ),
    )
}

/// Whether the current step of a run (a row's beats, a tile's rows) is the run's last, from
/// registers (for the clock: no compare of the step's index before what the run's end
/// drives). At a run's first step it is `single` (the run's descriptor says it has one step);
/// at a later one, `{name}_mid_q`, set as the step before it is taken (`index + 1 == last`,
/// the descriptor unchanged until the run ends). `step` takes a step; `index` counts them
/// from 0. Returns (last, first), `last` the wire `name`, `first` the register
/// `{name}_first_q` (set at reset and after each run's last step).
pub(super) fn last_of_run(
    b: &mut ModuleBuilder,
    name: &str,
    step: &Expr,
    single: Expr,
    index: &Expr,
    last_index: Expr,
) -> (Expr, Expr) {
    let first = b.reg_with_reset(
        &format!("{name}_first_q"),
        Ty::BIT,
        Some(crate::rtl::Const::from_u128(1, Ty::BIT)),
    );
    let first_q = first.q();
    let w = index.ty().width;
    let mid = b.delay_when(
        &format!("{name}_mid_q"),
        index.clone().add(lit(1, w)).eq(last_index),
        step.clone(),
    );
    let last = b.wire(name, Expr::mux(first_q.clone(), single, mid));
    b.set_next(first, last.clone(), Some(step.clone()));
    (last, first_q)
}

/// A unit queue (`width` bits an entry): [`top::UNIT_QUEUE_DEPTH`] entries of room, and
/// [`top::UNIT_QUEUE_PUSH_STAGES`] more for the pushes still in their register stages.
fn unit_queue(module: &str, width: u32) -> Module {
    let extra = top::UNIT_QUEUE_PUSH_STAGES;
    queue::queue_with_reserve(module, width, top::UNIT_QUEUE_DEPTH + extra, extra)
}

/// As [`countdown`], also with "one left" as a register (`{name}_one`): (value, zero, one).
pub(super) fn countdown_to_one(
    b: &mut ModuleBuilder,
    name: &str,
    w: u32,
    load: &Expr,
    init: Expr,
    dec: &Expr,
) -> (Expr, Expr, Expr) {
    let (q, flags) = counter_flags(b, name, w, load, init, dec, &[0, 1]);
    (q, flags[0].clone(), flags[1].clone())
}

/// The down-counter of [`countdown`] with a flag register per value of `at` (0 `_zero`, 1
/// `_one`): each flag's next value is muxed from a compare of the initial value and one of
/// the count against `v + 1`, made beside `dec`, so `dec` only selects.
fn counter_flags(
    b: &mut ModuleBuilder,
    name: &str,
    w: u32,
    load: &Expr,
    init: Expr,
    dec: &Expr,
    at: &[u64],
) -> (Expr, Vec<Expr>) {
    let h = b.reg(name, u(w));
    let q = h.q();
    let init = b.wire(&format!("{name}_init"), init);
    let flags = at
        .iter()
        .map(|&v| {
            let suffix = ["zero", "one"][v as usize];
            let f = b.reg(&format!("{name}_{suffix}"), Ty::BIT);
            let fq = f.q();
            b.set_next(
                f,
                Expr::mux(
                    load.clone(),
                    init.clone().eq(lit(v, w)),
                    Expr::mux(dec.clone(), q.clone().eq(lit(v + 1, w)), fq.clone()),
                ),
                None,
            );
            fq
        })
        .collect();
    let next = Expr::mux(
        load.clone(),
        init,
        Expr::mux(dec.clone(), q.clone().sub(lit(1, w)), q.clone()),
    );
    b.set_next(h, next, None);
    (q, flags)
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
    Ok(Design {
        top: n.clone(),
        header: crate::gen::header(cfg),
        modules: load::load_modules(&n, &g),
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
pub fn queue_design(width: u32, depth: u32, reserve: u32) -> Design {
    let n = format!("npu_queue_{width}x{depth}r{reserve}");
    Design {
        top: n.clone(),
        header: vec![format!(
            "{n}: the npu's queue, {depth} x {width} bits, {reserve} kept free"
        )],
        modules: vec![queue::queue_with_reserve(&n, width, depth, reserve)],
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
        unit_queue(&names.queue_pc, 160),
        unit_queue(&names.queue, 128),
        queue::queue(&names.ar_skid, g.axi_addr_bits + 8, 2),
        queue::queue_with_reserve(
            &names.r_skid,
            8 * g.axi_bytes + 3,
            2 + top::R_SKID_RESERVE,
            top::R_SKID_RESERVE,
        ),
        store::store(&names.store, &g),
    ];
    modules.extend(load::load_modules(&names.load, &g));
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
