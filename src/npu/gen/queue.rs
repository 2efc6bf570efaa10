//! A small valid/ready queue in registers (instruction queues: a few entries of 128 bits),
//! with a count. `in_ready` and `out_valid` are registers (count < depth, count > 0, set from
//! the next count); the head is a register of its own (the rest a
//! circular buffer behind it), so what reads the head starts from a flip-flop, not a read mux.

use crate::rtl::{bits_for, Expr, Module, ModuleBuilder, Ty};

/// The queue module `module`: `depth` (>= 1) entries of `width` bits.
pub fn queue(module: &str, width: u32, depth: u32) -> Module {
    queue_with_reserve(module, width, depth, 0)
}

/// As [`queue`], but `in_ready` falls while `reserve` entries are still free, and a push is
/// taken while any entry is: for a producer whose pushes arrive through `reserve` register
/// stages after it saw `in_ready` (the npu's unit queues, pushed from a register after the
/// sequencer dispatched; the AXI R beats, registered as they arrive).
pub fn queue_with_reserve(module: &str, width: u32, depth: u32, reserve: u32) -> Module {
    assert!(reserve < depth, "a queue keeps room for at least one entry");
    let mut b = ModuleBuilder::new(module);
    b.doc(format!(
        "Queue of {depth} x {width} bits in registers, valid/ready on both sides{}.",
        if reserve > 0 {
            format!(" (in_ready while more than {reserve} entries are free)")
        } else {
            String::new()
        }
    ));
    b.clock_and_reset();
    let [in_valid, in_data, out_ready] = b.inputs([
        ("in_valid", Ty::BIT, "an entry is offered"),
        ("in_data", Ty::unsigned(width), "the entry"),
        ("out_ready", Ty::BIT, "the head is taken when out_valid"),
    ]);
    let cw = bits_for(u64::from(depth));
    b.outputs([
        ("in_ready", Ty::BIT, "room for an entry"),
        ("out_valid", Ty::BIT, "the queue holds an entry"),
        ("out_data", Ty::unsigned(width), "the oldest entry"),
        ("count", Ty::unsigned(cw), "entries held"),
    ]);
    let ct = Ty::unsigned(cw);
    let count = b.reg("count_q", ct);
    let count_q = count.q();
    // Room and 'holds one' are registers of their own, set for the next count (for the
    // clock: both sides' handshakes start from a flip-flop, not from a compare of the count).
    let full = b.reg("full_q", Ty::BIT);
    let some = b.reg("some_q", Ty::BIT);
    let ready = b.wire("ready", full.q().not());
    let valid = b.wire("valid", some.q());
    // With a reserve, a push is taken while any entry is free (its producer saw in_ready
    // `reserve` cycles before, which kept room for it): "full" as a register of its own.
    let hard_full = (reserve > 0).then(|| b.reg("all_full_q", Ty::BIT));
    let room = match &hard_full {
        Some(r) => r.q().not(),
        None => ready.clone(),
    };
    let push = b.wire("push", in_valid.and(room));
    let pop = b.wire("pop", out_ready.and(valid.clone()));
    let next = b.wire("count_next", super::up_down(&count_q, &push, &pop));
    b.set_next(count, next, None);
    // A flag "count >= k" of the next count, as compares of the register with k - 1, k and
    // k + 1 selected by the handshakes (for the clock: no adder between the handshakes and
    // the flag's flip-flop).
    let (inc, dec) = (
        b.wire("inc", push.clone().and(pop.clone().not())),
        b.wire("dec", pop.clone().and(push.clone().not())),
    );
    let wide = Ty::unsigned(cw + 1);
    let at_least = |k: u32| {
        let ge = |k: u32| match k {
            0 => Expr::bit_const(true),
            k => count_q
                .clone()
                .zext(cw + 1)
                .ge(Expr::lit(i128::from(k), wide)),
        };
        let below = ge(k.saturating_sub(1));
        Expr::mux(inc.clone(), below, Expr::mux(dec.clone(), ge(k + 1), ge(k)))
    };
    b.set_next(full, at_least(depth - reserve), None);
    if let Some(r) = hard_full {
        b.set_next(r, at_least(depth), None);
    }
    b.set_next(some, at_least(1), None);
    // The head is a register; the other depth - 1 entries a circular buffer behind it. The
    // head is (re)filled whenever it is empty or taken: from the buffer if it holds an entry,
    // else straight from in_data. So the head is valid exactly when count is not zero.
    // The head and the entries are data: no reset (only the count, flags and pointers are
    // reset or flushed), so a flush does not reach every bit of them.
    let head = b.reg_with_reset("head_q", Ty::unsigned(width), None);
    let head_q = head.q();
    let load = valid.clone().not().or(pop.clone());
    // "Holds more than the head" as a register too (for the clock: the head's wide enable
    // starts from flip-flops).
    let ge2 = if depth >= 2 {
        let many = b.reg("many_q", Ty::BIT);
        let many_q = many.q();
        b.set_next(many, at_least(2), None);
        many_q
    } else {
        Expr::bit_const(false)
    };
    let bypass = b.wire(
        "bypass",
        load.clone().and(ge2.clone().not()).and(push.clone()),
    );
    let rest = depth - 1;
    let from_buf = if rest > 0 {
        let pw = bits_for(u64::from(rest.max(2) - 1));
        let pt = Ty::unsigned(pw);
        let wptr = b.reg("wptr", pt);
        let rptr = b.reg("rptr", pt);
        let (wq, rq) = (wptr.q(), rptr.q());
        let buf_push = b.wire("buf_push", push.clone().and(bypass.clone().not()));
        let buf_pop = b.wire("buf_pop", load.clone().and(ge2.clone()));
        let step = |p: Expr| {
            let last = p.clone().eq(Expr::lit(i128::from(rest - 1), pt));
            Expr::mux(last, Expr::zero(pt), p.add(Expr::lit(1, pt)))
        };
        b.set_next(wptr, step(wq.clone()), Some(buf_push.clone()));
        b.set_next(rptr, step(rq.clone()), Some(buf_pop.clone()));
        let mut entries = Vec::new();
        for i in 0..rest {
            let e = b.reg_with_reset(&format!("entry{i}"), Ty::unsigned(width), None);
            let eq = e.q();
            let here = |p: &Expr| p.clone().eq(Expr::lit(i128::from(i), pt));
            // Written on every push to the write pointer's entry, even one that goes to the
            // head (the pointer then stays, and the entry is written again): for the clock,
            // the wide enable does not wait for whether the head is taken this cycle.
            b.set_next(e, in_data.clone(), Some(push.clone().and(here(&wq))));
            entries.push((u64::from(i), eq));
        }
        // The read pointer picks the oldest through a balanced mux tree on its bits (for the
        // clock: not a chain of compares, one per entry).
        let oldest = Expr::select(&rq, &entries, Ty::unsigned(width));
        Some((buf_pop, oldest))
    } else {
        None
    };
    // The head's data is chosen by `many_q` alone and only its enable waits for the
    // handshakes (for the clock: a pop or push arriving late reaches the wide head through
    // one gate, its clock enable): when the head loads, it loads the buffer's oldest entry
    // if the buffer holds one (that is `buf_pop`), else the entry pushed (`bypass`).
    let (next_head, enable) = match from_buf {
        Some((buf_pop, oldest)) => (Expr::mux(ge2, oldest, in_data.clone()), buf_pop.or(bypass)),
        None => (in_data.clone(), bypass),
    };
    b.set_next(head, next_head, Some(enable));
    b.assign("in_ready", ready);
    b.assign("out_valid", valid);
    b.assign("out_data", head_q);
    b.assign("count", count_q);
    b.finish()
}
