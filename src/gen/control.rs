//! Input-side control of the array: which beats are accepted, and when.
//!
//! The array itself never stalls: a cycle without an accepted beat feeds a bubble. Flow control
//! happens only here, with two rules:
//! - **credits**: a beat is accepted only if the output FIFO has room reserved for the rows it
//!   will produce (OS: a tile's last beat produces `rows` rows; WS: every beat produces one), so
//!   `c_tready` never has to reach into the array;
//! - **spacing**: OS tile ends are at least `2*rows - 1` cycles apart (the drain chain must
//!   empty before the next tile's sums enter it); WS weight tiles shift in only after every PE
//!   has swapped to the previous one.

use crate::config::ArrayConfig;
use crate::rtl::{bits_for, Expr, ModuleBuilder, Ty};
use crate::timing;

/// Credit counter: `cred <= cred - (take ? cost : 0) + (pop ? 1 : 0)`, reset to `depth`.
/// Returns `cred >= cost`, held in a register computed from the next count, so the
/// acceptance logic reads a flip-flop rather than a wide comparison.
fn credits(b: &mut ModuleBuilder, depth: u32, cost: u32, take: &Expr, pop: Expr) -> Expr {
    let ty = Ty::unsigned(bits_for(u64::from(depth)));
    let cred = b.reg_with_reset(
        "cred",
        ty,
        Some(crate::rtl::Const::from_u128(u128::from(depth), ty)),
    );
    let q = cred.q();
    let cost_e = Expr::lit(i128::from(cost), ty);
    let spent = Expr::mux(take.clone(), cost_e.clone(), Expr::zero(ty));
    let back = Expr::mux(pop, Expr::lit(1, ty), Expr::zero(ty));
    let next = b.wire("cred_next", q.sub(spent).add(back));
    b.set_next(cred, next.clone(), None);
    let ok = b.reg_with_reset(
        "cred_ok",
        Ty::BIT,
        Some(crate::rtl::Const::from_u128(
            u128::from(depth >= cost),
            Ty::BIT,
        )),
    );
    let ok_q = ok.q();
    b.set_next(ok, next.ge(cost_e), None);
    ok_q
}

/// Saturating counter of cycles since `start`, reset to `max`; returns "count == max" (held
/// in a register computed from the next count; constant 1 when `max` is 0).
fn gap_timer(b: &mut ModuleBuilder, name: &str, max: u32, start: &Expr) -> Expr {
    if max == 0 {
        return Expr::bit_const(true);
    }
    let ty = Ty::unsigned(bits_for(u64::from(max)));
    let max_e = Expr::lit(i128::from(max), ty);
    let r = b.reg_with_reset(
        name,
        ty,
        Some(crate::rtl::Const::from_u128(u128::from(max), ty)),
    );
    let q = r.q();
    let done = b.reg_with_reset(
        &format!("{name}_done"),
        Ty::BIT,
        Some(crate::rtl::Const::from_u128(1, Ty::BIT)),
    );
    let done_q = done.q();
    let next = b.wire(
        &format!("{name}_next"),
        Expr::mux(
            start.clone(),
            Expr::zero(ty),
            Expr::mux(done_q.clone(), q.clone(), q.add(Expr::lit(1, ty))),
        ),
    );
    b.set_next(r, next.clone(), None);
    b.set_next(done, next.eq(max_e), None);
    done_q
}

/// Signals the OS datapath needs from the control.
pub struct OsControl {
    /// A beat (one A column and one B row) is accepted this cycle.
    pub take: Expr,
    /// The accepted beat is the tile's last (`a_tlast`).
    pub take_last: Expr,
}

/// OS acceptance: A and B beats are taken together; a tile's last beat also needs `rows`
/// credits and the drain spacing, and with post-processing (`bias_space` = room in the bias
/// queue) a bias beat, taken in the same cycle. Drives `a_tready`, `b_tready` (`param_tready`).
/// `fifo_depth` is the output FIFO's, in rows.
pub(crate) fn os_control(
    b: &mut ModuleBuilder,
    cfg: &ArrayConfig,
    fifo_depth: u32,
    pop: Expr,
    bias_space: Option<Expr>,
) -> OsControl {
    let a_tvalid = Expr::sig("a_tvalid", Ty::BIT);
    let a_tlast = Expr::sig("a_tlast", Ty::BIT);
    let b_tvalid = Expr::sig("b_tvalid", Ty::BIT);
    let both = a_tvalid.clone().and(b_tvalid.clone());
    // take_last is declared first so the counters can refer to it; it is assigned below.
    let take_last = b.declare_wire("take_last", Ty::BIT);
    let cred_ok = credits(b, fifo_depth, cfg.rows, &take_last, pop);
    let spaced = gap_timer(b, "gap", timing::os_min_last_gap(cfg) - 1, &take_last);
    let mut ready = cred_ok.and(spaced);
    if let Some(space) = bias_space {
        let room = b.wire("last_room", ready.and(space));
        b.assign(
            "param_tready",
            both.clone().and(a_tlast.clone()).and(room.clone()),
        );
        ready = room.and(Expr::sig("param_tvalid", Ty::BIT));
    }
    let last_ok = b.wire("last_ok", ready);
    let can = b.wire("can_take", a_tlast.clone().not().or(last_ok));
    b.assign("a_tready", b_tvalid.and(can.clone()));
    b.assign("b_tready", a_tvalid.and(can.clone()));
    let take = b.wire("take", both.and(can));
    b.assign("take_last", take.clone().and(a_tlast));
    OsControl { take, take_last }
}

/// Signals the WS datapath needs from the control.
pub struct WsControl {
    /// An A row is accepted this cycle.
    pub take: Expr,
    /// The accepted A row starts a new weight tile (swap flag).
    pub first: Expr,
    /// The accepted A row is the last for the current weights (`a_tlast`).
    pub take_last: Expr,
    /// The shadow weight chain shifts this cycle.
    pub w_shift: Expr,
    /// The shifted-in weight row is zero padding (after an early `w_tlast`).
    pub w_fill: Expr,
}

/// WS acceptance. Weights: `rows` rows shift into the shadow chain (`w_tlast` earlier pads the
/// rest with zeros), not before every PE has swapped to the previous tile. A rows: the first
/// after a tile switch (`a_tlast`) waits for a full shadow tile, and with post-processing
/// (`bias_space` = room in the bias queue) for a bias beat taken in the same cycle; every row
/// needs one credit. Drives `a_tready`, `w_tready` (`param_tready`).
/// About 90 lines: the weight-side and activation-side handshakes share the swap and
/// credit signals.
pub(crate) fn ws_control(
    b: &mut ModuleBuilder,
    cfg: &ArrayConfig,
    fifo_depth: u32,
    pop: Expr,
    bias_space: Option<Expr>,
) -> WsControl {
    let rows = cfg.rows;
    let a_tvalid = Expr::sig("a_tvalid", Ty::BIT);
    let a_tlast = Expr::sig("a_tlast", Ty::BIT);
    let w_tvalid = Expr::sig("w_tvalid", Ty::BIT);
    let w_tlast = Expr::sig("w_tlast", Ty::BIT);
    let cty = Ty::unsigned(bits_for(u64::from(rows)));
    let lit = |v: u32| Expr::lit(i128::from(v), cty);

    let first_tile = b.declare_wire("a_first", Ty::BIT);
    let take = b.declare_wire("take", Ty::BIT);
    let wcnt = b.reg("wcnt", cty);
    let wcnt_q = wcnt.q();
    let full = b.wire("w_full", wcnt_q.clone().eq(lit(rows)));
    let wfill = b.reg("w_fill", Ty::BIT);
    let wfill_q = wfill.q();
    let settled = gap_timer(
        b,
        "swap_gap",
        timing::ws_shadow_free_after(cfg) - 1,
        &first_tile,
    );
    let w_ok = b.wire(
        "w_ok",
        full.clone().not().and(wfill_q.clone().not()).and(settled),
    );
    b.assign("w_tready", w_ok.clone());
    let w_take = b.wire("w_take", w_tvalid.and(w_ok));
    let w_shift = b.wire("w_shift", w_take.clone().or(wfill_q.clone()));
    let more = b.wire("w_more", wcnt_q.clone().ne(lit(rows - 1)));
    b.set_next(
        wcnt,
        Expr::mux(
            first_tile.clone(),
            lit(0),
            Expr::mux(w_shift.clone(), wcnt_q.clone().add(lit(1)), wcnt_q),
        ),
        None,
    );
    b.set_next(
        wfill,
        w_take.and(w_tlast).or(wfill_q.clone()).and(more),
        None,
    );

    let cred_ok = credits(b, fifo_depth, 1, &take, pop);
    let first = b.reg_with_reset(
        "first",
        Ty::BIT,
        Some(crate::rtl::Const::from_u128(1, Ty::BIT)),
    );
    let first_q = first.q();
    let tile_ready = match bias_space {
        Some(space) => {
            let room = b.wire("tile_room", cred_ok.clone().and(full).and(space));
            b.assign(
                "param_tready",
                a_tvalid.clone().and(first_q.clone()).and(room.clone()),
            );
            room.and(Expr::sig("param_tvalid", Ty::BIT))
        }
        None => full,
    };
    let a_ok = b.wire("a_ok", cred_ok.and(first_q.clone().not().or(tile_ready)));
    b.assign("a_tready", a_ok.clone());
    b.assign("take", a_tvalid.and(a_ok));
    b.assign("a_first", take.clone().and(first_q.clone()));
    b.set_next(
        first,
        Expr::mux(take.clone(), a_tlast.clone(), first_q),
        None,
    );
    let take_last = b.wire("take_last", take.clone().and(a_tlast));
    WsControl {
        take,
        first: first_tile,
        take_last,
        w_shift,
        w_fill: wfill_q,
    }
}
