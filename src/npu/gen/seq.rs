//! The sequencer: takes fetched instructions in program order, decodes them with the ISA
//! table, makes every dispatch-time check the golden model makes (in the same order: fetch
//! error, illegal, bad field, buffer range, dependency), keeps the dispatched token counts, and
//! hands each instruction to its unit's queue. FINISH waits until every unit is idle. An error
//! stops dispatch; the program ends (done) once the fetch and the units are idle.
//!
//! Four steps, each from registers (for the clock): stage 0 holds the fetched instruction,
//! stage 1a what each class of check on its fields alone found (illegal, bad field, buffer
//! range), stage 1 the decoded instruction with its one error code, its unit and its token
//! channels; dispatch adds the token check and the queue's room. A stage moves on when the
//! one after it is empty or moving on (decided from the valid flags alone), so one
//! instruction dispatches every two cycles.

use super::{countdown_to_one, get, lit, u, valid_next};
use crate::config::Dataflow;
use crate::npu::isa::{covered, AluFunc, AluSrc, Field, Opcode, Unit, COMMON, MAX_TOKENS, OPS};
use crate::npu::regs::ErrorCode;
use crate::npu::Geometry;
use crate::rtl::{Expr, Module, ModuleBuilder, Ty};

/// Bits no field of `s` (or the common ones) covers, as four 32-bit masks.
fn reserved(fields: &[Field]) -> [u32; 4] {
    covered(COMMON.iter().chain(fields)).map(|m| !m)
}

/// Width of the sums the range checks compare (fields are at most 16 bits, four of them).
const W: u32 = 20;

/// Who gets a copy of the sequencer's halt (output `halt_<user>`, each its own register
/// beside its user; units take no further instruction after ABORTED): the three unit
/// queues' flushes and the three units.
pub const HALT_USERS: [&str; 6] = ["lq", "cq", "sq", "load", "compute", "store"];

/// The sequencer module `module` for `g`.
pub fn seq(module: &str, g: &Geometry) -> Module {
    let mut b = ModuleBuilder::new(module);
    b.doc("Sequencer: decode, dispatch-time checks, token accounting, dispatch, FINISH.");
    b.clock_and_reset();
    let [start, aligned, stop_req, prog_len, i_valid, i_data, fetch_idle, units_idle] = b.inputs([
        ("start", Ty::BIT, "CTRL.START"),
        ("aligned", Ty::BIT, "PROG_ADDR is 16-byte aligned"),
        (
            "stop_req",
            Ty::BIT,
            "CTRL.SOFT_RESET: end the program (ABORTED)",
        ),
        ("prog_len", u(32), "PROG_LEN"),
        ("i_valid", Ty::BIT, "a fetched instruction is available"),
        ("i_data", u(129), "bit 128: fetch error; the instruction"),
        ("fetch_idle", Ty::BIT, "no fetch burst outstanding"),
        (
            "units_idle",
            Ty::BIT,
            "every unit idle and every unit queue empty, in the cycle before",
        ),
    ]);
    let [lq_ready, cq_ready, sq_ready, unit_err] = b.inputs([
        ("lq_ready", Ty::BIT, "the load queue has room"),
        ("cq_ready", Ty::BIT, "the compute queue has room"),
        ("sq_ready", Ty::BIT, "the store queue has room"),
        (
            "unit_err",
            Ty::BIT,
            "a unit saw an AXI error response since start",
        ),
    ]);
    b.outputs([
        ("i_ready", Ty::BIT, "the head instruction is taken"),
        ("fetch_start", Ty::BIT, "start fetching"),
        ("fetch_stop", Ty::BIT, "fetch no more"),
        ("lq_valid", Ty::BIT, "dispatch to the load queue"),
        ("cq_valid", Ty::BIT, "dispatch to the compute queue"),
        ("sq_valid", Ty::BIT, "dispatch to the store queue"),
        ("q_data", u(128), "the instruction dispatched"),
        ("q_pc", u(32), "its index in the program"),
        ("busy", Ty::BIT, "a program is running"),
        ("done_event", Ty::BIT, "the program ended (one cycle)"),
        (
            "error",
            u(8),
            "its own error (the top merges the units' into STATUS.ERROR)",
        ),
        (
            "error_pc",
            u(32),
            "the instruction it stopped at (for ERROR_PC)",
        ),
        ("instructions", u(64), "instructions executed (the counter)"),
    ]);
    for user in HALT_USERS {
        b.output(
            &format!("halt_{user}"),
            Ty::BIT,
            "take no further instruction (after ABORTED): this user's copy",
        );
    }
    // Stage 0: the fetched instruction, registered. Stages 1a and 1: decoded and checked
    // against everything that depends on its fields alone. Dispatch (tokens, queue room) then
    // works on registers only. Stage 1 is refilled when empty, not when it is dispatching (for
    // the clock: the wide registers of every stage load on flags that do not wait for the
    // dispatch decision), so at most one instruction dispatches every two cycles.
    let s0 = b.reg("s0_valid_q", Ty::BIT);
    let s0v = s0.q();
    let s0d = b.reg_with_reset("s0_data_q", u(129), None);
    let ins0 = s0d.q();
    let s1a = b.reg("s1a_valid_q", Ty::BIT);
    let s1av = s1a.q();
    let s1 = b.reg("s1_valid_q", Ty::BIT);
    let s1v = s1.q();
    let take1 = b.declare_wire("take", Ty::BIT);
    // Each stage moves on when the one after it is empty or moving on itself, decided from
    // the valid flags alone (registers), never from the dispatch.
    let move_a = b.wire("move_a", s1av.clone().and(s1v.clone().not()));
    let move0 = b.wire(
        "move0",
        s0v.clone().and(s1av.clone().and(s1v.clone()).not()),
    );
    let active_w = b.declare_wire("active", Ty::BIT);
    // Fetched instructions are taken whenever stage 0 has room, running or not (for the
    // clock: neither START nor the run state reaches the fetch queue's head enable). What is
    // taken after the program ended (a burst fetched past FINISH) waits in the stages, never
    // dispatched; START empties the fetch queue and every stage at once.
    let pop = b.wire(
        "pop",
        i_valid.and(s0v.clone().and(s1av.clone()).and(s1v.clone()).not()),
    );
    b.set_next(s0d, i_data.clone(), Some(pop.clone()));
    b.set_next(s0, valid_next(&start, pop.clone(), &s0v, &move0), None);
    b.set_next(s1a, valid_next(&start, move0.clone(), &s1av, &move_a), None);
    b.set_next(s1, valid_next(&start, move_a.clone(), &s1v, &take1), None);
    // Stage 1a: what the checks found, each class of check on its own (a register each),
    // combined into one error code in stage 1 (for the clock: no path from the instruction
    // through the compares and the code's priority at once).
    let mid = |b: &mut ModuleBuilder, name: &str, v: Expr| b.data_reg(name, v, Some(move0.clone()));
    let ins = b.wire("ins", ins0.slice(127, 0));
    let fetch_err = mid(&mut b, "s1a_fetch_err_q", ins0.bit(128));
    let op = b.wire("op", ins.slice(3, 0));
    let is = |o: Opcode| op.clone().eq(lit(o as u64, 4));
    // Legal: a known opcode, no reserved bit set, only the flags its unit has.
    let flags = [ins.bit(4), ins.bit(5), ins.bit(6), ins.bit(7)]; // pop_prev, pop_next, push_prev, push_next
    let mut legal = Expr::bit_const(false);
    for s in OPS {
        let res = reserved(s.fields);
        let name = format!("{:?}", s.opcode).to_lowercase();
        let mut ok = is(s.opcode);
        // Each word's reserved bits in a register of its own (for the clock: no 128-bit
        // reduction and the opcode's flags in one stage), combined in stage 1.
        let mut clear = Expr::bit_const(true);
        for (i, m) in res.iter().enumerate() {
            if *m != 0 {
                let w = ins.slice(32 * i as u32 + 31, 32 * i as u32);
                let zero = w.and(lit(u64::from(*m), 32)).eq(lit(0, 32));
                clear = clear.and(mid(&mut b, &format!("s1a_clear_{name}_w{i}_q"), zero));
            }
        }
        let (prev, next) = match s.unit {
            Unit::Load => (false, true),
            Unit::Compute => (true, true),
            Unit::Store => (true, false),
            Unit::Control => (false, false),
        };
        if !prev {
            ok = ok.and(flags[0].clone().not()).and(flags[2].clone().not());
        }
        if !next {
            ok = ok.and(flags[1].clone().not()).and(flags[3].clone().not());
        }
        let ok = mid(&mut b, &format!("s1a_ok_{name}_q"), ok);
        legal = legal.or(ok.and(clear));
    }
    // buf / src 3 are illegal too (checked with the fields, as the model does).
    let legal = b.wire("legal", legal);
    let post = g.out.is_some();
    let c = |v: u32| lit(u64::from(v), W);
    let f = |o: Opcode, n: &str| get(&ins, o, n, W);
    // The range checks' sums (start + length of each field pair the checks use) are formed
    // from the fetched instruction into registers beside stage 0 (for the clock: stage 1
    // then only compares).
    let fi = |o: Opcode, n: &str| get(&i_data, o, n, W);
    let sum = |b: &mut ModuleBuilder, name: &str, parts: [(Opcode, &str); 2]| {
        let [(o0, n0), (o1, n1)] = parts;
        let e = b.wire(&format!("{name}_sum"), fi(o0, n0).add(fi(o1, n1)));
        b.delay_when(&format!("s0_{name}_q"), e, pop.clone())
    };
    let over = |sum: Expr, depth: u32| sum.gt(c(depth));
    // LOAD
    let ld = Opcode::Load;
    let (lb, pl) = (f(ld, "buf"), f(ld, "pad_left"));
    let l_head = b.wire("load_head_sum", fi(ld, "sram").add(fi(ld, "pad_top")));
    let l_tail = b.wire("load_tail_sum", fi(ld, "rows").add(fi(ld, "pad_bottom")));
    let load_end = b.delay_when("s0_load_end_q", l_head.add(l_tail), pop.clone());
    let load_lanes = sum(&mut b, "load_lanes", [(ld, "pad_left"), (ld, "elems")]);
    let buf_is = |v: u32| lb.clone().eq(c(v));
    let load_illegal = buf_is(3);
    let lanes = Expr::mux(buf_is(0), c(g.rows), c(g.cols));
    // Any padding at all (a sum of counts is zero exactly when each is).
    let padded = pl.or(f(ld, "pad_top")).or(f(ld, "pad_bottom")).ne(c(0));
    let load_bad = buf_is(2)
        .and(Expr::bit_const(!post).or(padded))
        .or(load_lanes.gt(lanes));
    // Each range is compared with each depth it may have and the field then selects (for the
    // clock: the compares' carry chains start from the sums' registers alone).
    let load_range = Expr::mux(
        buf_is(0),
        over(load_end.clone(), g.act_words),
        Expr::mux(
            buf_is(1),
            over(load_end.clone(), g.weight_words),
            over(load_end, g.param_rows),
        ),
    );
    // STORE
    let src = f(Opcode::Store, "src");
    let store_illegal = src.clone().ge(c(2));
    let store_bad = src
        .clone()
        .eq(c(0))
        .and(Expr::bit_const(!post))
        .or(f(Opcode::Store, "elems").gt(c(g.cols)));
    let st = Opcode::Store;
    let store_end = sum(&mut b, "store_end", [(st, "sram"), (st, "rows")]);
    let store_range = Expr::mux(
        src.eq(c(0)),
        over(store_end.clone(), g.out_words),
        over(store_end, g.acc_rows),
    );
    // MATMUL
    let (k, m) = (f(Opcode::Matmul, "k"), f(Opcode::Matmul, "m"));
    let zero = k.clone().eq(c(0)).or(m.clone().eq(c(0)));
    let (mm_bad, act_len) = match g.dataflow {
        Dataflow::Os => (zero.or(m.clone().gt(c(g.rows))), "k"),
        Dataflow::Ws => (zero.or(k.clone().gt(c(g.rows))), "m"),
    };
    let mm = Opcode::Matmul;
    let mm_range = over(
        sum(&mut b, "mm_act", [(mm, "act"), (mm, act_len)]),
        g.act_words,
    )
    .or(over(
        sum(&mut b, "mm_weight", [(mm, "weight"), (mm, "k")]),
        g.weight_words,
    ))
    .or(over(
        sum(&mut b, "mm_acc", [(mm, "acc"), (mm, "m")]),
        g.acc_rows,
    ));
    // POST
    let post_bad = Expr::bit_const(!post);
    // Without post-processing POST is a bad field whatever its ranges (and `param >= 0`
    // would be a constant compare).
    let post_range = if post {
        let pp = Opcode::Post;
        over(
            sum(&mut b, "post_acc", [(pp, "acc"), (pp, "rows")]),
            g.acc_rows,
        )
        .or(over(
            sum(&mut b, "post_dst", [(pp, "dst"), (pp, "rows")]),
            g.out_words,
        ))
        .or(f(Opcode::Post, "param").ge(c(g.param_rows)))
    } else {
        Expr::bit_const(false)
    };
    // ALU
    let al = |n: &str| f(Opcode::Alu, n);
    let kind = al("src_kind");
    let alu_illegal = al("func")
        .gt(c(AluFunc::Shr as u32))
        .or(kind.clone().eq(c(3)));
    let alu_bad = al("shift").ge(c(g.acc_bits));
    let alu = Opcode::Alu;
    let alu_dst = sum(&mut b, "alu_dst", [(alu, "dst"), (alu, "rows")]);
    let alu_src = sum(&mut b, "alu_src", [(alu, "src"), (alu, "rows")]);
    let src_over = Expr::mux(
        kind.clone().eq(c(AluSrc::Acc as u32)),
        over(alu_src.clone(), g.acc_rows),
        over(alu_src, g.act_words),
    );
    let alu_range =
        over(alu_dst, g.acc_rows).or(kind.eq(c(AluSrc::Imm as u32)).not().and(src_over));
    let illegal_field = mid(
        &mut b,
        "s1a_illegal_q",
        is(Opcode::Load)
            .and(load_illegal)
            .or(is(Opcode::Store).and(store_illegal))
            .or(is(Opcode::Alu).and(alu_illegal)),
    );
    let illegal = b.wire("illegal", legal.not().or(illegal_field));
    let bad = mid(
        &mut b,
        "s1a_bad_q",
        is(Opcode::Load)
            .and(load_bad)
            .or(is(Opcode::Store).and(store_bad))
            .or(is(Opcode::Matmul).and(mm_bad))
            .or(is(Opcode::Post).and(post_bad))
            .or(is(Opcode::Alu).and(alu_bad)),
    );
    let range = mid(
        &mut b,
        "s1a_range_q",
        is(Opcode::Load)
            .and(load_range)
            .or(is(Opcode::Store).and(store_range))
            .or(is(Opcode::Matmul).and(mm_range))
            .or(is(Opcode::Post).and(post_range))
            .or(is(Opcode::Alu).and(alu_range)),
    );
    // Tokens: l2c, c2l, c2s, s2c (dispatched pushes minus pops).
    let tw = 9;
    let names = ["l2c", "c2l", "c2s", "s2c"];
    let toks: Vec<_> = names
        .iter()
        .map(|n| b.reg(&format!("tok_{n}"), u(tw)))
        .collect();
    let tq: Vec<Expr> = toks.iter().map(|t| t.q()).collect();
    // The opcodes of each unit, from the ISA table.
    let on_unit = |u: Unit| {
        OPS.iter()
            .filter(|s| s.unit == u)
            .map(|s| is(s.opcode))
            .reduce(Expr::or)
            .expect("every unit has an opcode")
    };
    let (is_load, is_comp, is_store) = (
        on_unit(Unit::Load),
        on_unit(Unit::Compute),
        on_unit(Unit::Store),
    );
    // Per channel: popped by, pushed by (unit flag).
    let popped = [
        is_comp.clone().and(flags[0].clone()),  // l2c: compute pop_prev
        is_load.clone().and(flags[1].clone()),  // c2l: load pop_next
        is_store.clone().and(flags[0].clone()), // c2s: store pop_prev
        is_comp.clone().and(flags[1].clone()),  // s2c: compute pop_next
    ];
    let pushed = [
        is_load.clone().and(flags[3].clone()),  // l2c: load push_next
        is_comp.clone().and(flags[2].clone()),  // c2l: compute push_prev
        is_comp.clone().and(flags[3].clone()),  // c2s: compute push_next
        is_store.clone().and(flags[2].clone()), // s2c: store push_prev
    ];
    let code = |e: ErrorCode| lit(e as u64, 8);
    // What stage 1 holds: the instruction, its error from its fields alone (by priority; 0:
    // none), its unit, FINISH, and the token channels it pops and pushes.
    let static_err = Expr::mux(
        fetch_err,
        code(ErrorCode::AxiRead),
        Expr::mux(
            illegal,
            code(ErrorCode::Illegal),
            Expr::mux(
                bad,
                code(ErrorCode::BadField),
                Expr::mux(range, code(ErrorCode::BufferRange), code(ErrorCode::None)),
            ),
        ),
    );
    let stage =
        |b: &mut ModuleBuilder, name: &str, v: Expr| b.data_reg(name, v, Some(move_a.clone()));
    // Through both stages.
    let both = |b: &mut ModuleBuilder, name: &str, v: Expr| {
        let a = mid(b, &format!("s1a_{name}_q"), v);
        stage(b, &format!("s1_{name}_q"), a)
    };
    let ins = both(&mut b, "ins", ins);
    let has_err = stage(
        &mut b,
        "s1_has_err_q",
        static_err.clone().ne(code(ErrorCode::None)),
    );
    let static_err = stage(&mut b, "s1_err_q", static_err);
    let is_load = both(&mut b, "load", is_load);
    let is_comp = both(&mut b, "comp", is_comp);
    let is_store = both(&mut b, "store", is_store);
    let is_finish = both(&mut b, "finish", is(Opcode::Finish));
    let popped = both(
        &mut b,
        "pops",
        Expr::concat(popped.into_iter().rev().collect()),
    );
    let pushed = both(
        &mut b,
        "pushes",
        Expr::concat(pushed.into_iter().rev().collect()),
    );
    let popped: Vec<Expr> = (0..4).map(|ch| popped.bit(ch)).collect();
    let pushed: Vec<Expr> = (0..4).map(|ch| pushed.bit(ch)).collect();

    // Dispatch. Each channel's "no token" and "full" flags are registers kept beside its
    // count (for the clock: the dependency check reads flip-flops, not compares).
    let flag = |b: &mut ModuleBuilder, name: &str| {
        let r = b.reg(name, Ty::BIT);
        let q = r.q();
        (r, q)
    };
    let tz: Vec<_> = names
        .iter()
        .map(|n| flag(&mut b, &format!("tok_{n}_none_q")))
        .collect();
    let tf: Vec<_> = names
        .iter()
        .map(|n| flag(&mut b, &format!("tok_{n}_full_q")))
        .collect();
    let mut dep = Expr::bit_const(false);
    for ch in 0..4 {
        dep = dep
            .or(popped[ch].clone().and(tz[ch].1.clone()))
            .or(pushed[ch].clone().and(tf[ch].1.clone()));
    }
    let dep = b.wire("dep", dep);

    // Control state.
    let running = b.reg("running_q", Ty::BIT);
    let ending = b.reg("ending_q", Ty::BIT);
    let pc = b.reg("pc_q", u(32));
    let err = b.reg("err_q", u(8));
    let epc = b.reg("epc_q", u(32));
    let count = b.reg("instr_q", u(64));
    let (run_q, end_q, pc_q, err_q, epc_q, cnt_q) =
        (running.q(), ending.q(), pc.q(), err.q(), epc.q(), count.q());
    b.assign(
        "active",
        run_q
            .clone()
            .and(end_q.clone().not())
            .and(start.clone().not()),
    );
    let active = active_w;
    // The pc and the count of instructions not yet dispatched move a cycle after each
    // dispatch, from `dispatched_q` (for the clock: the dispatch decision reaches no wide
    // enable); what they are now is the registers corrected by it: the pc one more, the count
    // one less, "none left" the count's "one left" flag.
    let dispatched_q = b.delay("dispatched_q", Expr::sig("dispatch", Ty::BIT));
    let (_, rem_zero, rem_one) =
        countdown_to_one(&mut b, "rem_q", 32, &start, prog_len, &dispatched_q);
    let at_end = b.wire("at_end", Expr::mux(dispatched_q.clone(), rem_one, rem_zero));
    let pc_now = b.wire("pc_now", pc_q.clone().add(dispatched_q.clone().zext(32)));
    let head = b.wire("head", active.clone().and(at_end.clone().not()).and(s1v));
    // The error at the head: its own, else a token it cannot have.
    let head_err = Expr::mux(
        static_err.clone().ne(code(ErrorCode::None)),
        static_err,
        Expr::mux(
            dep.clone(),
            code(ErrorCode::Dependency),
            code(ErrorCode::None),
        ),
    );
    let head_err = b.wire("head_err", head_err);
    let head_bad = b.wire("head_bad", has_err.or(dep));
    let ok = b.wire("ok", head.clone().and(head_bad.clone().not()));
    let room = Expr::mux(
        is_load.clone(),
        lq_ready,
        Expr::mux(is_comp.clone(), cq_ready, sq_ready),
    );
    // The units' idle flag is a cycle old (a register, for the clock): it holds now too
    // unless an instruction was dispatched in the cycle before.
    let units_idle = b.wire("idle_now", units_idle.and(dispatched_q.clone().not()));
    let finish = b.wire(
        "finish",
        ok.clone().and(is_finish.clone()).and(units_idle.clone()),
    );
    let dispatch = b.wire("dispatch", ok.clone().and(is_finish.not()).and(room));
    // An unaligned program ends at once (BAD_FIELD at pc 0), before anything is fetched.
    let misaligned = b.reg("misaligned_q", Ty::BIT);
    let mis_q = misaligned.q();
    b.set_next(misaligned, start.clone().and(aligned.clone().not()), None);
    let no_finish = active.clone().and(at_end.clone()).and(mis_q.clone().not());
    let fail = b.wire("fail", head.clone().and(head_bad));
    let bad_start = active.clone().and(mis_q);
    let aborting = run_q.clone().and(end_q.clone().not()).and(stop_req);
    let halt = b.reg("halt_q", Ty::BIT);
    let halt_q = halt.q();
    let halt_next = b.wire(
        "halt_next",
        Expr::mux(
            start.clone(),
            Expr::bit_const(false),
            halt_q.clone().or(aborting.clone()),
        ),
    );
    b.set_next(halt, halt_next.clone(), None);
    // A copy of halt_q for each of its users (for the clock: they lie across the chip).
    for user in HALT_USERS {
        let q = b.replica(&format!("halt_{user}_q"), halt_next.clone());
        b.assign(&format!("halt_{user}"), q);
    }
    // A unit's AXI error stops dispatch; what was dispatched drains (every pop is covered).
    let unit_stop = active.clone().and(unit_err.clone());
    let stop_now = b.wire(
        "stop_now",
        finish
            .clone()
            .or(fail.clone())
            .or(unit_stop)
            .or(no_finish.clone())
            .or(aborting.clone())
            .or(bad_start.clone()),
    );
    let new_err = Expr::mux(
        aborting,
        code(ErrorCode::Aborted),
        Expr::mux(
            bad_start,
            code(ErrorCode::BadField),
            Expr::mux(
                fail,
                head_err,
                Expr::mux(no_finish, code(ErrorCode::NoFinish), code(ErrorCode::None)),
            ),
        ),
    );
    // The code and pc are recorded a cycle after the stop, from registers (for the clock: the
    // stop decision does not reach their enables); done waits that cycle too.
    let stop_q = b.delay("stop_q", stop_now.clone());
    let new_err_q = b.data_reg("stop_err_q", new_err, None);
    let stop_pc_q = b.data_reg("stop_pc_q", pc_now.clone(), None);
    b.set_next(
        err,
        Expr::mux(start.clone(), code(ErrorCode::None), new_err_q),
        Some(start.clone().or(stop_q.clone())),
    );
    b.set_next(
        epc,
        Expr::mux(start.clone(), lit(0, 32), stop_pc_q),
        Some(start.clone().or(stop_q.clone())),
    );
    let drained = fetch_idle.and(units_idle);
    let done = b.wire(
        "done",
        run_q
            .clone()
            .and(end_q.clone())
            .and(drained)
            .and(stop_q.not())
            .and(start.clone().not()),
    );
    b.set_next(
        running,
        Expr::mux(
            start.clone(),
            Expr::bit_const(true),
            run_q.clone().and(done.clone().not()),
        ),
        None,
    );
    b.set_next(
        ending,
        Expr::mux(
            start.clone(),
            Expr::bit_const(false),
            end_q.clone().or(stop_now),
        ),
        None,
    );
    b.set_next(
        pc,
        Expr::mux(start.clone(), lit(0, 32), pc_q.add(lit(1, 32))),
        Some(start.clone().or(dispatched_q.clone())),
    );
    // Counted a cycle late, from a register (for the clock).
    let counted = b.delay("counted_q", dispatch.clone().or(finish));
    b.set_next(
        count,
        Expr::mux(start.clone(), lit(0, 64), cnt_q.clone().add(lit(1, 64))),
        Some(start.clone().or(counted)),
    );
    let flags = toks.into_iter().zip(tz).zip(tf);
    for (ch, ((t, (zr, zq)), (fr, fq))) in flags.enumerate() {
        let q = tq[ch].clone();
        // Counted the cycle after the dispatch, as the pc is (for the clock: the dispatch
        // decision reaches no counter): the next dispatch is two cycles later at the earliest
        // and sees the counts updated (`dep` reads them only at a valid head).
        let was = |b: &mut ModuleBuilder, tag: &str, v: &Expr| {
            b.delay(&format!("tok_{}_{tag}_q", names[ch]), v.clone())
        };
        let inc = dispatched_q.clone().and(was(&mut b, "pushed", &pushed[ch]));
        let dec = dispatched_q.clone().and(was(&mut b, "popped", &popped[ch]));
        // A unit never pops and pushes the same channel.
        let next = Expr::mux(
            inc.clone(),
            q.clone().add(lit(1, tw)),
            Expr::mux(dec.clone(), q.clone().sub(lit(1, tw)), q.clone()),
        );
        b.set_next(t, Expr::mux(start.clone(), lit(0, tw), next), None);
        let none_next = Expr::mux(
            inc.clone(),
            Expr::bit_const(false),
            Expr::mux(dec.clone(), q.clone().eq(lit(1, tw)), zq),
        );
        b.set_next(zr, start.clone().or(none_next), None);
        let full_next = Expr::mux(
            inc,
            q.eq(lit(u64::from(MAX_TOKENS - 1), tw)),
            Expr::mux(dec, Expr::bit_const(false), fq),
        );
        b.set_next(
            fr,
            Expr::mux(start.clone(), Expr::bit_const(false), full_next),
            None,
        );
    }
    b.assign("take", dispatch.clone().or(Expr::sig("finish", Ty::BIT)));
    b.assign("i_ready", pop);
    b.assign("fetch_start", start.and(aligned));
    b.assign("fetch_stop", end_q.clone());
    b.assign("lq_valid", dispatch.clone().and(is_load));
    b.assign("cq_valid", dispatch.clone().and(is_comp));
    b.assign("sq_valid", dispatch.and(is_store));
    b.assign("q_data", ins);
    b.assign("q_pc", pc_now);
    b.assign("busy", run_q);
    b.assign("done_event", done);
    // The sequencer's own error; the top merges the units' into it (`npu::gen::top`).
    b.assign("error", err_q);
    b.assign("error_pc", epc_q);
    b.assign("instructions", cnt_q);
    b.finish()
}
