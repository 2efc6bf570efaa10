//! A small valid/ready queue in registers (instruction queues: a few entries of 128 bits),
//! a circular buffer with a count. `in_ready` is `count < depth`; the head shows combinationally.

use crate::rtl::{bits_for, Expr, Module, ModuleBuilder, Ty};

/// The queue module `module`: `depth` (>= 1) entries of `width` bits.
pub fn queue(module: &str, width: u32, depth: u32) -> Module {
    let mut b = ModuleBuilder::new(module);
    b.doc(format!(
        "Queue of {depth} x {width} bits in registers, valid/ready on both sides."
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
    let pw = bits_for(u64::from(depth.max(2) - 1));
    let ct = Ty::unsigned(cw);
    let count = b.reg("count_q", ct);
    let count_q = count.q();
    let wptr = b.reg("wptr", Ty::unsigned(pw));
    let rptr = b.reg("rptr", Ty::unsigned(pw));
    let (wq, rq) = (wptr.q(), rptr.q());
    let ready = b.wire(
        "ready",
        count_q.clone().lt(Expr::lit(i128::from(depth), ct)),
    );
    let valid = b.wire("valid", count_q.clone().ne(Expr::zero(ct)));
    let push = b.wire("push", in_valid.and(ready.clone()));
    let pop = b.wire("pop", out_ready.and(valid.clone()));
    let step = |p: Expr| {
        let last = p
            .clone()
            .eq(Expr::lit(i128::from(depth - 1), Ty::unsigned(pw)));
        Expr::mux(
            last,
            Expr::zero(Ty::unsigned(pw)),
            p.add(Expr::lit(1, Ty::unsigned(pw))),
        )
    };
    b.set_next(wptr, step(wq.clone()), Some(push.clone()));
    b.set_next(rptr, step(rq.clone()), Some(pop.clone()));
    let one = Expr::lit(1, ct);
    let next = Expr::mux(
        push.clone().and(pop.clone().not()),
        count_q.clone().add(one.clone()),
        Expr::mux(
            pop.clone().and(push.clone().not()),
            count_q.clone().sub(one),
            count_q.clone(),
        ),
    );
    b.set_next(count, next, None);
    let mut head = Expr::zero(Ty::unsigned(width));
    for i in 0..depth {
        let e = b.reg(&format!("entry{i}"), Ty::unsigned(width));
        let eq = e.q();
        let at = push
            .clone()
            .and(wq.clone().eq(Expr::lit(i128::from(i), Ty::unsigned(pw))));
        b.set_next(e, in_data.clone(), Some(at));
        head = Expr::mux(
            rq.clone().eq(Expr::lit(i128::from(i), Ty::unsigned(pw))),
            eq,
            head,
        );
    }
    b.assign("in_ready", ready);
    b.assign("out_valid", valid);
    b.assign("out_data", head);
    b.assign("count", count_q);
    b.finish()
}
