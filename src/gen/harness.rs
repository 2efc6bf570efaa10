//! The QoR harness used to place and route a core on a real package: the core's wide buses do
//! not fit any package's pins, so a four-pin wrapper (`clk`, `rst`, `si`, `so`) drives every
//! core input from a serial shift chain and folds every output bit into `so` through a
//! registered XOR tree. Nothing is constant, so nothing is optimised away, and every path the
//! harness adds is one LUT between flip-flops: the core's own paths set Fmax. The clock and
//! reset are real inputs, so the clock gets a global buffer.

use super::pe::clock_conns;
use crate::rtl::{Conn, Dir, Expr, Module, ModuleBuilder, Ty};

/// Name of the harness module around `core`.
pub(crate) fn harness_name(core: &str) -> String {
    format!("{core}_qor")
}

/// The harness around `core` (the top module of a design).
pub fn harness(core: &Module) -> Module {
    let mut b = ModuleBuilder::new(harness_name(&core.name));
    b.doc(format!(
        "QoR harness for place and route: {} inputs from a shift chain on si, outputs XOR-folded to so.",
        core.name
    ));
    b.clock_and_reset();
    let si = b.input("si", Ty::BIT, "serial input of the input shift chain");
    b.output("so", Ty::BIT, "XOR of every core output (registered tree)");
    let rst1 = b.delay("rst_s1", Expr::sig("rst", Ty::BIT));
    let core_rst = b.delay("rst_s2", rst1);

    let ins: Vec<_> = core
        .ports
        .iter()
        .filter(|p| p.dir == Dir::Input && p.name != "clk" && p.name != "rst")
        .collect();
    let n_in: u32 = ins.iter().map(|p| p.ty.width).sum();
    let chain = if n_in > 1 {
        let r = b.reg("chain", Ty::unsigned(n_in));
        let q = r.q();
        b.set_next(r, Expr::concat(vec![q.slice(n_in - 2, 0), si]), None);
        q
    } else {
        b.delay("chain", si)
    };
    let mut conns = clock_conns();
    conns[1] = ("rst", Conn::Input(core_rst));
    let mut lo = 0;
    for p in &ins {
        let e = if n_in == 1 {
            chain.clone()
        } else {
            chain.slice_as(lo + p.ty.width - 1, lo, p.ty.signed)
        };
        conns.push((p.name.as_str(), Conn::Input(e)));
        lo += p.ty.width;
    }
    let mut bits = Vec::new();
    for p in core.ports.iter().filter(|p| p.dir == Dir::Output) {
        let w = format!("core_{}", p.name);
        let sig = b.declare_wire(&w, p.ty);
        conns.push((p.name.as_str(), Conn::Output(w)));
        bits.extend((0..p.ty.width).map(|i| sig.bit(i)));
    }
    b.instance("core", &core.name, conns);
    // XOR tree: four bits per LUT, a register after every level.
    let mut level = 0;
    while bits.len() > 1 {
        let mut next = Vec::new();
        for (i, group) in bits.chunks(4).enumerate() {
            let x = group
                .iter()
                .skip(1)
                .fold(group[0].clone(), |acc, bit| acc.xor(bit.clone()));
            next.push(b.delay(&format!("x{level}_{i}"), x));
        }
        bits = next;
        level += 1;
    }
    let out = bits.pop().unwrap_or_else(|| Expr::bit_const(false));
    let so = b.delay("so_q", out);
    b.assign("so", so);
    b.finish()
}
