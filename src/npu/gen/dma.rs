//! What the load and store units share: their queue and base-register ports, the first row's
//! address, and the burst rule (a row's beats up to the 4 KiB boundary, at most 256).

use super::{get, lit, u};
use crate::npu::isa::Opcode;
use crate::rtl::{Expr, ModuleBuilder, Ty};

/// The unit's inputs from the sequencer: start, its queue (valid, instruction, pc), halt and
/// the token from compute (`tok` names it); then the four base registers.
pub(super) fn unit_inputs(
    b: &mut ModuleBuilder,
    what: &str,
    tok: &str,
    aw: u32,
) -> ([Expr; 6], Vec<Expr>) {
    let queued = format!("a {what} is queued");
    let the = format!("the {what}");
    let ins = b.inputs([
        ("start", Ty::BIT, "a program starts (clears the error)"),
        ("q_valid", Ty::BIT, &queued),
        ("q_data", u(128), &the),
        ("q_pc", u(32), "its index in the program"),
        ("halt", Ty::BIT, "take no further instruction"),
        (tok, Ty::BIT, "compute has given a token"),
    ]);
    let bases = (0..4)
        .map(|i| b.input(&format!("base{i}"), u(aw), "base address register"))
        .collect();
    (ins, bases)
}

/// The DRAM address of the instruction's first row: its base register plus `dram`.
pub(super) fn first_row(q: &Expr, op: Opcode, bases: &[Expr], aw: u32) -> Expr {
    let sel = get(q, op, "base", 2);
    let mut base = bases[0].clone();
    for (i, bi) in bases.iter().enumerate().skip(1) {
        base = Expr::mux(sel.clone().eq(lit(i as u64, 2)), bi.clone(), base);
    }
    base.add(get(q, op, "dram", aw))
}

/// Beats of the next burst (13 bits): the row's beats `left`, at most to the 4 KiB boundary
/// after the aligned beat address `cur`, at most 256 (`lb`: log2 of the bus bytes).
pub(super) fn burst_beats(b: &mut ModuleBuilder, cur: &Expr, left: &Expr, lb: u32) -> Expr {
    let page = b.wire("cur_page", cur.slice(11, 0));
    let to_page = b.wire(
        "to_page",
        lit(4096, 13).sub(page.zext(13)).shr(lit(u64::from(lb), 4)),
    );
    let min = |x: Expr, y: Expr| Expr::mux(x.clone().lt(y.clone()), x, y);
    b.wire(
        "burst",
        min(min(left.clone().zext(13), to_page), lit(256, 13)),
    )
}

/// The unit's error flag (set by `bad`, an AXI error response; cleared by `start`) and the pc
/// of the instruction that raised it first, as the outputs `err` and `err_pc`.
pub(super) fn sticky_error(b: &mut ModuleBuilder, start: Expr, bad: Expr, pc: Expr) {
    let err = b.reg("err_q", Ty::BIT);
    let err_q = err.q();
    b.set_next(
        err,
        Expr::mux(start, Expr::bit_const(false), err_q.clone().or(bad.clone())),
        None,
    );
    let epc = b.reg("err_pc_q", u(32));
    let epc_q = epc.q();
    b.set_next(epc, pc, Some(bad.and(err_q.clone().not())));
    b.assign("err", err_q);
    b.assign("err_pc", epc_q);
}
