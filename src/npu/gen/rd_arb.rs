//! The AXI4 read-channel arbiter between instruction fetch (port `f`) and the load unit (port
//! `l`). Both use one ID, so the memory answers bursts in the order it accepted them: an order
//! queue remembers whose each accepted burst is and routes the R beats to it until RLAST.
//! The side shown on AR is chosen a cycle ahead: the load unit unless the fetch asks, the one
//! not granted last when both ask; a request shown on ARVALID stays granted until ARREADY
//! (AXI forbids withdrawing it), and no burst is shown while the order queue is full.

use super::{lit, u};
use crate::rtl::{Conn, Expr, Module, ModuleBuilder, Ty};

/// Bursts that may be outstanding at once (the order queue's depth).
pub const BURSTS_AHEAD: u32 = 32;

/// The arbiter `module` (address `aw` bits; the load unit's beats are `bus_bytes` wide);
/// `order_queue` names the 1-bit queue module ([`BURSTS_AHEAD`] deep) it instantiates.
pub fn rd_arb(module: &str, order_queue: &str, aw: u32, bus_bytes: u32) -> Module {
    let mut b = ModuleBuilder::new(module);
    b.doc("AXI4 read arbiter: instruction fetch and the load unit share AR and R (one ID).");
    b.clock_and_reset();
    let [f_addr, f_len, f_size, f_valid, f_rready] = b.inputs([
        ("f_ar_addr", u(aw), "fetch ARADDR"),
        ("f_ar_len", u(8), "fetch ARLEN"),
        ("f_ar_size", u(3), "fetch ARSIZE"),
        ("f_ar_valid", Ty::BIT, "fetch ARVALID"),
        ("f_r_ready", Ty::BIT, "fetch RREADY"),
    ]);
    let [l_addr, l_len, l_valid, l_rready] = b.inputs([
        ("l_ar_addr", u(aw), "load ARADDR"),
        ("l_ar_len", u(8), "load ARLEN"),
        ("l_ar_valid", Ty::BIT, "load ARVALID"),
        ("l_r_ready", Ty::BIT, "load RREADY"),
    ]);
    let [arready, rvalid, rlast] = b.inputs([
        ("m_arready", Ty::BIT, "AXI ARREADY"),
        ("m_rvalid", Ty::BIT, "AXI RVALID"),
        ("m_rlast", Ty::BIT, "AXI RLAST"),
    ]);
    b.outputs([
        ("m_araddr", u(aw), "AXI ARADDR"),
        ("m_arlen", u(8), "AXI ARLEN"),
        ("m_arsize", u(3), "AXI ARSIZE"),
        ("m_arvalid", Ty::BIT, "AXI ARVALID"),
        ("m_rready", Ty::BIT, "AXI RREADY"),
        ("f_ar_ready", Ty::BIT, "fetch ARREADY"),
        ("f_r_valid", Ty::BIT, "fetch RVALID (its beats only)"),
        ("l_ar_ready", Ty::BIT, "load ARREADY"),
        ("l_r_valid", Ty::BIT, "load RVALID (its beats only)"),
        (
            "stall",
            Ty::BIT,
            "a burst waits for the AR channel (the counter)",
        ),
    ]);
    // Who is shown on AR is a register, chosen a cycle ahead (for the clock: neither side's
    // request reaches the other's ready, nor the AR outputs' select). 1: the load unit, which
    // is chosen when the fetch does not ask; when both ask, the one not granted last.
    let owner = b.reg_with_reset(
        "owner_q",
        Ty::BIT,
        Some(crate::rtl::Const::from_u128(1, Ty::BIT)),
    );
    let last = b.reg("last_q", Ty::BIT);
    let (owner_q, last_q) = (owner.q(), last.q());
    let sel = b.wire("sel", owner_q);
    let room = b.declare_wire("oq_in_ready", Ty::BIT);
    let req = Expr::mux(sel.clone(), l_valid.clone(), f_valid.clone());
    let arvalid = b.wire("arvalid", req.and(room.clone()));
    let fire = b.wire("fire", arvalid.clone().and(arready.clone()));
    // A request shown stays until taken (AXI); otherwise choose for the next cycle.
    let hold = arvalid.clone().and(arready.clone().not());
    let last_now = Expr::mux(fire.clone(), sel.clone(), last_q);
    let pick_load = Expr::mux(
        f_valid.clone(),
        l_valid.clone().and(last_now.not()),
        Expr::bit_const(true),
    );
    b.set_next(owner, Expr::mux(hold, sel.clone(), pick_load), None);
    b.set_next(last, sel.clone(), Some(fire.clone()));
    // The order queue: whose the accepted bursts are.
    for (n, ty) in [
        ("oq_valid", Ty::BIT),
        ("oq_head", Ty::BIT),
        (
            "oq_count_unused",
            u(crate::rtl::bits_for(u64::from(BURSTS_AHEAD))),
        ),
    ] {
        b.declare_wire(n, ty);
    }
    let (hv, head) = (
        Expr::sig("oq_valid", Ty::BIT),
        Expr::sig("oq_head", Ty::BIT),
    );
    let rready = b.wire(
        "rready",
        hv.clone().and(Expr::mux(head.clone(), l_rready, f_rready)),
    );
    let pop = rvalid.clone().and(rready.clone()).and(rlast);
    b.instance(
        "order",
        order_queue,
        vec![
            ("clk", Conn::Input(Expr::sig("clk", Ty::BIT))),
            ("rst", Conn::Input(Expr::sig("rst", Ty::BIT))),
            ("in_valid", Conn::Input(fire.clone())),
            ("in_data", Conn::Input(sel.clone())),
            ("out_ready", Conn::Input(pop)),
            ("in_ready", Conn::Output("oq_in_ready".into())),
            ("out_valid", Conn::Output("oq_valid".into())),
            ("out_data", Conn::Output("oq_head".into())),
            ("count", Conn::Output("oq_count_unused".into())),
        ],
    );
    let load_size = lit(u64::from(bus_bytes.trailing_zeros()), 3);
    b.assign("m_araddr", Expr::mux(sel.clone(), l_addr, f_addr));
    b.assign("m_arlen", Expr::mux(sel.clone(), l_len, f_len));
    b.assign("m_arsize", Expr::mux(sel.clone(), load_size, f_size));
    b.assign("m_arvalid", arvalid);
    b.assign("m_rready", rready);
    let ready = arready.and(room);
    b.assign("f_ar_ready", ready.clone().and(sel.clone().not()));
    b.assign("l_ar_ready", ready.and(sel.clone()));
    b.assign(
        "f_r_valid",
        rvalid.clone().and(hv.clone()).and(head.clone().not()),
    );
    b.assign("l_r_valid", rvalid.and(hv).and(head));
    let f_fire = fire.clone().and(sel.clone().not());
    let l_fire = fire.and(sel);
    b.assign(
        "stall",
        f_valid.and(f_fire.not()).or(l_valid.and(l_fire.not())),
    );
    b.finish()
}
