//! The compute unit: runs MATMUL and POST from its queue.
//!
//! MATMUL: a feeder reads the activation and weight words (two-cycle reads; a beat waits in a
//! four-beat queue in registers while the array's `tready` is low) into the plain array (OS:
//! A and B beats together, `a_tlast` on beat k - 1; WS: k weight rows with `w_tlast`, then m activation rows with `a_tlast`). Each
//! MATMUL leaves a descriptor for the write-back, so the next tile streams while this one
//! drains: result row r (of R in OS, m in WS) is kept if r < m and written to accumulator row
//! acc + r, added to what is there when accumulating (read, then write four cycles later: the
//! accumulator memory's read port registers its request, `buffers::ACC_READ_LATENCY`).
//! The rows of one tile go to different rows, but one tile's last row and the next tile's first
//! can arrive one to three cycles apart (an OS tile of small k drains right behind the one
//! before): when the row read is one of the three still to be written, its base is that row's
//! sum (a bypass from each stage) and what the memory returned is not used.
//! POST runs on its own engine beside the feeder, so the next MATMUL streams while a tile is
//! post-processed: POST waits until every MATMUL taken before it is written back, reads its
//! parameter row once, streams the accumulator rows (the read port is the write-back's first:
//! a POST row waits while an accumulating tile reads) through the post-processing module and
//! writes the output buffer. A MATMUL is not taken while the running POST reads any of the
//! accumulator rows it writes, or while the POST is to push a token on a channel the MATMUL
//! pushes on (so every token is given in program order).

use super::{buffers, get, lit, u};
use crate::npu::isa::Opcode;
use crate::npu::Geometry;
use crate::rtl::{Conn, Expr, Module, ModuleBuilder, Ty};

/// Width of a write-back descriptor: acc row, last row kept, last row arriving, accumulate and
/// push.
pub const DESC_BITS: u32 = 16 + 16 + 16 + 1 + 1 + 1;
/// MATMULs whose results may be in flight at once.
pub const TILES_AHEAD: u32 = 4;

fn i(e: Expr) -> Conn {
    Conn::Input(e)
}

fn o(name: &str) -> Conn {
    Conn::Output(name.to_string())
}

/// Module names the compute unit instantiates.
pub struct ComputeNames<'a> {
    /// The plain array's top.
    pub array: &'a str,
    /// The write-back descriptor queue.
    pub desc_queue: &'a str,
    /// The post-processing pipeline (with `[postproc]`).
    pub post: &'a str,
    /// The vector ALU.
    pub alu: &'a str,
}

/// Beats read for the array and not yet taken, at most: the feed queue's depth. Three keep
/// the array fed every cycle (a beat is read two cycles before the array can take it and
/// the room flag is a cycle late); the fourth absorbs the cycle the flag lags a stall.
const FEED_DEPTH: u32 = 4;

/// The feed queue: the beat in the memories' output registers (`valid`, `last`, the words)
/// goes to the array while the queue is empty, else waits in it (FEED_DEPTH entries in
/// registers, each written as its beat arrives whether or not the array takes it, so that no
/// write enable waits for the array's ready). Returns the head's valid, last and words and
/// whether the array takes the head this cycle (`ready` the array's ready for it).
fn feed_queue(
    b: &mut ModuleBuilder,
    valid: &Expr,
    last: &Expr,
    act: &Expr,
    w: &Expr,
    ready: &Expr,
) -> (Expr, Expr, Expr, Expr, Expr) {
    let pw = crate::rtl::bits_for(u64::from(FEED_DEPTH - 1));
    let cw = crate::rtl::bits_for(u64::from(FEED_DEPTH));
    let count = b.reg("feed_count_q", u(cw));
    let count_q = count.q();
    // "The queue is empty" as a register of its own (for the clock: the head's select).
    let empty = b.reg_with_reset(
        "feed_empty_q",
        Ty::BIT,
        Some(crate::rtl::Const::from_u128(1, Ty::BIT)),
    );
    let empty_q = empty.q();
    let (wp, rp) = (b.reg("feed_wptr_q", u(pw)), b.reg("feed_rptr_q", u(pw)));
    let (wp_q, rp_q) = (wp.q(), rp.q());
    let entry = Expr::concat(vec![last.clone(), w.clone(), act.clone()]);
    let ew = entry.ty().width;
    let entries: Vec<(u64, Expr)> = (0..FEED_DEPTH)
        .map(|k| {
            let k = u64::from(k);
            let en = valid.clone().and(wp_q.clone().eq(lit(k, pw)));
            (
                k,
                b.data_reg(&format!("feed{k}_q"), entry.clone(), Some(en)),
            )
        })
        .collect();
    let queued = b.wire(
        "feed_head_queued",
        Expr::select(&rp_q, &entries, entry.ty()),
    );
    let head = b.wire("feed_head", Expr::mux(empty_q.clone(), entry, queued));
    let head_valid = b.wire("feed_valid", valid.clone().or(empty_q.clone().not()));
    let taken = b.wire("feed_taken", head_valid.clone().and(ready.clone()));
    // The arriving beat is queued unless it went straight to the array.
    let push = b.wire(
        "feed_push",
        valid.clone().and(empty_q.clone().and(taken.clone()).not()),
    );
    let pop = b.wire("feed_pop", empty_q.clone().not().and(taken.clone()));
    let next = b.wire("feed_count_next", super::up_down(&count_q, &push, &pop));
    b.set_next(count, next.clone(), None);
    b.set_next(empty, next.eq(lit(0, cw)), None);
    b.set_next(wp, wp_q.clone().add(lit(1, pw)), Some(push));
    b.set_next(rp, rp_q.clone().add(lit(1, pw)), Some(pop));
    let aw = act.ty().width;
    let ww = w.ty().width;
    let head_last = b.wire("feed_last", head.bit(ew - 1));
    let head_w = b.wire("feed_w", head.slice(aw + ww - 1, aw));
    let head_act = b.wire("feed_act", head.slice(aw - 1, 0));
    (head_valid, head_last, head_act, head_w, taken)
}

/// Beats read and not yet taken by the array (`feed_credit_q`), and the registered flag
/// `feed_room` that a word may be read: fewer than FEED_DEPTH after this cycle's `issue` and
/// `taken`, so it is never more than FEED_DEPTH.
fn feed_credit(b: &mut ModuleBuilder, issue: &Expr, taken: &Expr) {
    let cw = crate::rtl::bits_for(u64::from(FEED_DEPTH));
    let cred = b.reg("feed_credit_q", u(cw));
    let cred_q = cred.q();
    let next = b.wire("feed_credit_next", super::up_down(&cred_q, issue, taken));
    b.set_next(cred, next.clone(), None);
    let room = b.reg_with_reset(
        "feed_room_q",
        Ty::BIT,
        Some(crate::rtl::Const::from_u128(1, Ty::BIT)),
    );
    let room_q = room.q();
    b.set_next(room, next.lt(lit(u64::from(FEED_DEPTH), cw)), None);
    b.assign("feed_room", room_q);
}

/// The compute unit `module` for `g`.
pub fn compute(module: &str, g: &Geometry, n: &ComputeNames) -> Module {
    let (rows, cols) = (g.rows, g.cols);
    let ws = g.dataflow == crate::config::Dataflow::Ws;
    let post = g.out.is_some();
    let ab = cols * g.acc_bits;
    let mut b = ModuleBuilder::new(module);
    b.doc("Compute unit: MATMUL through the array into the accumulator memory; POST.");
    b.clock_and_reset();
    let clk = Expr::sig("clk", Ty::BIT);
    let rst = Expr::sig("rst", Ty::BIT);
    let [q_valid, q_data, halt, tok_l, tok_s] = b.inputs([
        ("q_valid", Ty::BIT, "an instruction is queued"),
        ("q_data", u(128), "the MATMUL or POST"),
        ("halt", Ty::BIT, "take no further instruction"),
        ("tok_l2c", Ty::BIT, "load has given a token"),
        ("tok_s2c", Ty::BIT, "store has given a token"),
    ]);
    let [act_rdata, w_rdata, acc_rdata] = b.inputs([
        (
            "act_rdata",
            u(rows * g.in_bits),
            "activation word read two cycles before",
        ),
        (
            "w_rdata",
            u(cols * g.w_bits),
            "weight word read two cycles before",
        ),
        (
            "acc_rdata",
            u(ab),
            "accumulator row read three cycles before",
        ),
    ]);
    let p_rdata = b.input(
        "p_rdata",
        u(cols * 160),
        "parameter row read two cycles before",
    );
    b.outputs([
        ("q_ready", Ty::BIT, "the queued instruction is taken"),
        ("pop_l2c", Ty::BIT, "a token from load is used"),
        ("pop_s2c", Ty::BIT, "a token from store is used"),
        ("push_c2l", Ty::BIT, "a token for load"),
        ("push_c2s", Ty::BIT, "a token for store"),
        ("act_re", Ty::BIT, "read an activation word"),
        ("act_raddr", u(16), "its address"),
        ("w_re", Ty::BIT, "read a weight word"),
        ("w_raddr", u(16), "its address"),
        ("acc_re", Ty::BIT, "read an accumulator row"),
        ("acc_raddr", u(16), "its address"),
        ("acc_we", Ty::BIT, "write an accumulator row"),
        ("acc_waddr", u(16), "its address"),
        ("acc_wdata", u(ab), "the row"),
        ("p_re", Ty::BIT, "read a parameter row"),
        ("p_raddr", u(16), "its address"),
        ("out_we", Ty::BIT, "write an output word"),
        ("out_waddr", u(16), "its address"),
        (
            "out_wdata",
            u(cols * g.out.map_or(8, |(b, _)| b)),
            "the word",
        ),
        ("idle", Ty::BIT, "nothing in progress or in flight"),
        (
            "stall_dep",
            Ty::BIT,
            "an instruction waits for a token (the counter)",
        ),
        ("beat", Ty::BIT, "the array accepts a beat (the counter)"),
    ]);
    let one16 = lit(1, 16);
    // Feeder states: 0 idle, 1 OS beats, 2 WS weights, 3 WS activations.
    let st = b.reg("state_q", u(2));
    let st_q = st.q();
    let is = |v: u64| st_q.clone().eq(lit(v, 2));
    // POST engine states: 0 idle, 1 waiting for earlier MATMULs, 2 parameters, 3 rows.
    let pst = b.reg("post_state_q", u(2));
    let pst_q = pst.q();
    let p_is = |v: u64| pst_q.clone().eq(lit(v, 2));
    let op = b.wire("op", q_data.slice(3, 0));
    let is_mm = op.clone().eq(lit(Opcode::Matmul as u64, 4));
    let is_alu = op.clone().eq(lit(Opcode::Alu as u64, 4));
    // Declared with the ALU's instance below.
    let alu_busy = Expr::sig("alu_busy", Ty::BIT);
    let alu_idle = alu_busy.clone().not();
    let wb_room = b.declare_wire("wbq_in_ready", Ty::BIT);
    let wb_empty = b.declare_wire("wb_empty", Ty::BIT);
    let flags_ok = q_data
        .bit(4)
        .not()
        .or(tok_l)
        .and(q_data.bit(5).not().or(tok_s));
    let f = |o: Opcode, n: &str| get(&q_data, o, n, 16);
    let mm = Opcode::Matmul;
    let pp = Opcode::Post;
    // The running POST's fields.
    let latch_post = |b: &mut ModuleBuilder, name: &str, v: Expr| {
        b.delay_when(name, v, Expr::sig("take_post", Ty::BIT))
    };
    let p_acc = latch_post(&mut b, "p_acc_q", f(pp, "acc"));
    let p_dst = latch_post(&mut b, "p_dst_q", f(pp, "dst"));
    let p_rows = latch_post(&mut b, "p_rows_q", f(pp, "rows"));
    let prm = latch_post(&mut b, "param_q", f(pp, "param"));
    let p_push_prev = latch_post(&mut b, "p_push_prev_q", q_data.bit(6));
    let p_push_next = latch_post(&mut b, "p_push_next_q", q_data.bit(7));
    // A MATMUL waits while the running POST reads its rows or is to push on its channels.
    // The rows overlap when acc < p_acc + p_rows and p_acc < acc + m; the sums and the first
    // compare are registered (`p_end_q` with the POST, the others every cycle from the head),
    // the second compare made from them a cycle later (for the clock: no adder before a
    // compare).
    let w17 = |e: Expr| e.zext(17);
    let p_end = latch_post(&mut b, "p_end_q", w17(f(pp, "acc")).add(w17(f(pp, "rows"))));
    let below_end = b.delay("mm_below_post_end_q", w17(f(mm, "acc")).lt(p_end));
    let mm_end = b.delay("mm_end_q", w17(f(mm, "acc")).add(w17(f(mm, "m"))));
    let overlap = below_end.and(w17(p_acc.clone()).lt(mm_end));
    let same_channel = q_data
        .bit(6)
        .and(p_push_prev.clone())
        .or(q_data.bit(7).and(p_push_next.clone()));
    // Registered (for the clock): the check holds while the head has not changed since its
    // registered parts were formed, two cycles before, which `head_seen_q` and
    // `head_seen2_q` tell (a MATMUL that has just reached the head waits two cycles for it,
    // while the MATMUL before it streams). A POST ending meanwhile only makes it stale on the
    // safe side; none starts while a MATMUL is at the head.
    let hazard = b.delay("post_hazard_q", p_is(0).not().and(overlap.or(same_channel)));
    b.declare_wire("head_seen", Ty::BIT);
    let seen2 = b.declare_wire("head_seen2", Ty::BIT);
    // An ALU instruction runs alone: taken when nothing else is in flight, and nothing is
    // taken while it runs.
    let can = Expr::mux(
        is_mm.clone(),
        is(0).and(wb_room).and(hazard.not()).and(seen2),
        Expr::mux(
            is_alu.clone(),
            is(0).and(wb_empty.clone()).and(p_is(0)),
            p_is(0),
        ),
    )
    .and(alu_idle.clone());
    // Registered (for the clock: the take, whose enables reach every latched field, starts
    // from flip-flops): the check of the cycle before holds while the head is the same and
    // nothing was taken since (`head_seen_q`), since only a take makes any of its terms less
    // permissive (tokens, too, are only used up by a take). So an instruction is taken a
    // cycle after it reaches the head at the earliest. One register per kind of take, so
    // each take is a single LUT of four flip-flops.
    let live = q_valid
        .clone()
        .and(halt.not())
        .and(Expr::sig("head_seen", Ty::BIT));
    let ready_now = can.and(flags_ok.clone());
    // `can_q` is the OR of the three kinds' registers, kept as a replica of its own (for the
    // clock: the queue pop and `head_seen_q` read one flip-flop, not an OR of three).
    let can_q = b.delay("can_q", ready_now.clone());
    let kind_q = |b: &mut ModuleBuilder, name: &str, kind: Expr| {
        let q = b.delay(&format!("can_{name}_q"), ready_now.clone().and(kind));
        b.wire(&format!("take_{name}"), q.and(live.clone()))
    };
    let take_mm = kind_q(&mut b, "mm", is_mm.clone());
    let take_post = kind_q(
        &mut b,
        "post",
        is_mm.clone().not().and(is_alu.clone().not()),
    );
    let take_alu = kind_q(&mut b, "alu", is_alu);
    let take = b.wire("take", can_q.and(live.clone()));
    // Waiting for a token: the head could go but for its flags (the counter).
    let blocked = b.delay("blocked_q", flags_ok.not());
    b.assign("stall_dep", live.and(blocked));
    let seen_q = b.delay("head_seen_q", q_valid.and(take.clone().not()));
    b.assign("head_seen", seen_q.clone());
    let seen_before = b.delay("head_seen_before_q", seen_q.clone());
    b.assign("head_seen2", seen_q.and(seen_before));
    let latch = |b: &mut ModuleBuilder, name: &str, v: Expr| {
        b.delay_when(name, v, Expr::sig("take_mm", Ty::BIT))
    };
    let m = latch(&mut b, "m_q", f(mm, "m"));
    let push_prev = latch(&mut b, "push_prev_q", q_data.bit(6));

    // Feeding: the read addresses count from the MATMUL's fields (registers, for the clock:
    // no adder before the memories' address pins). A word is in the memories' read registers the cycle after
    // its read (`read_valid_q`) and in their output registers the cycle after that
    // (`beat_valid_q`); they never hold (for the clock: the array's ready reaches no block
    // RAM's clock enable). The beat goes to the array from there, or, while the array has
    // not taken the beats before it, waits in a queue of FEED_DEPTH beats in registers; a
    // word is read only while fewer than FEED_DEPTH beats are read and not taken (a registered
    // flag), so the queue never overflows.
    let rv = b.reg("read_valid_q", Ty::BIT);
    let rv_q = rv.q();
    let rl = b.reg("read_last_q", Ty::BIT);
    let rl_q = rl.q();
    let bv = b.reg("beat_valid_q", Ty::BIT);
    let bv_q = bv.q();
    let bl = b.reg("beat_last_q", Ty::BIT);
    let bl_q = bl.q();
    let ready = b.declare_wire("arr_ready", Ty::BIT);
    let (head_valid, head_last, head_act, head_w, accepted) =
        feed_queue(&mut b, &bv_q, &bl_q, &act_rdata, &w_rdata, &ready);
    b.assign("beat", accepted.clone());
    let room = b.declare_wire("feed_room", Ty::BIT);
    let feeding = is(1).or(is(2)).or(is(3));
    // Words left to read in this phase (OS and WS weights k, WS activations m), counted down
    // with "none left" and "one left" as registers (for the clock: no compare of the count
    // before the read enables).
    let phase_end_w = b.declare_wire("phase_end", Ty::BIT);
    let load_left = take_mm.clone().or(phase_end_w.clone());
    let left_init = Expr::mux(
        take_mm.clone(),
        f(mm, "k"),
        Expr::mux(is(2), m.clone(), lit(0, 16)),
    );
    let issue_w = b.declare_wire("issue", Ty::BIT);
    let (_, none_q, one_q) =
        super::countdown_to_one(&mut b, "words_left_q", 16, &load_left, left_init, &issue_w);
    b.assign("issue", feeding.clone().and(none_q.not()).and(room));
    let issue = issue_w;
    let last_word = one_q;
    b.set_next(rv, issue.clone(), None);
    b.set_next(rl, last_word, Some(issue.clone()));
    b.set_next(bv, rv_q, None);
    b.set_next(bl, rl_q, None);
    feed_credit(&mut b, &issue, &accepted);
    b.assign("phase_end", accepted.clone().and(head_last.clone()));
    let phase_end = phase_end_w;
    // OS reads both words in state 1; WS weights in state 2, activations in state 3.
    let addr = |b: &mut ModuleBuilder, name: &str, field: &str, reads: Expr| {
        let r = b.reg(name, u(16));
        let q = r.q();
        b.set_next(
            r,
            Expr::mux(take_mm.clone(), f(mm, field), q.clone().add(one16.clone())),
            Some(take_mm.clone().or(issue.clone().and(reads))),
        );
        q
    };
    let a_addr = addr(&mut b, "act_addr_q", "act", is(1).or(is(3)));
    let w_addr = addr(&mut b, "w_addr_q", "weight", is(1).or(is(2)));
    let first_state = if ws { 2 } else { 1 };
    let next = Expr::mux(
        take_mm.clone(),
        lit(first_state, 2),
        Expr::mux(
            phase_end.clone().and(is(2)),
            lit(3, 2),
            Expr::mux(phase_end.clone(), lit(0, 2), st_q.clone()),
        ),
    );
    b.set_next(st, next, None);

    // MATMULs taken whose tiles are not yet written back (a tile is written L + 1 cycles
    // after its last row arrives, L the accumulator memory's read latency; its rows read
    // back one cycle after that).
    let tile_end = b.declare_wire("tile_end", Ty::BIT);
    let tile_done = b.delayed(
        |k| format!("tile_end{k}"),
        tile_end.clone(),
        buffers::ACC_READ_LATENCY + 1,
    );
    let ow = crate::rtl::bits_for(u64::from(TILES_AHEAD) + 2);
    let outstanding = b.reg("mm_outstanding_q", u(ow));
    let out_q = outstanding.q();
    let one_o = lit(1, ow);
    b.set_next(
        outstanding,
        super::up_down(&out_q, &take_mm, &tile_done),
        None,
    );
    // POST: the MATMULs it waits for, rows left to read (p_left_q), rows written (pw).
    let p_wait = b.reg("p_wait_q", u(ow));
    let pw_q = p_wait.q();
    let dec = |v: Expr| Expr::mux(tile_done.clone(), v.clone().sub(one_o.clone()), v);
    b.set_next(
        p_wait,
        Expr::mux(take_post.clone(), dec(out_q.clone()), dec(pw_q.clone())),
        Some(take_post.clone().or(p_is(1))),
    );
    let wb_rd = b.declare_wire("wb_rd", Ty::BIT);
    // Rows left to read, with "none left" as a register (for the clock: no compare before the
    // read port's select).
    let post_rows_w = Expr::sig("post_rows", Ty::BIT);
    let (_, none_left) = super::countdown(
        &mut b,
        "p_left_q",
        16,
        &take_post,
        f(pp, "rows"),
        &post_rows_w,
    );
    let post_rows = b.wire(
        "post_rows",
        p_is(3).and(none_left.not()).and(wb_rd.clone().not()),
    );
    // The accumulator row POST reads next, counted in a register (for the clock: no adder
    // before the memory's address).
    let p_row = b.reg("p_row_q", u(16));
    let p_row_q = p_row.q();
    b.set_next(
        p_row,
        Expr::mux(
            take_post.clone(),
            f(pp, "acc"),
            p_row_q.clone().add(one16.clone()),
        ),
        Some(take_post.clone().or(post_rows.clone())),
    );
    let wcount = b.reg("pw_q", u(16));
    let wc_q = wcount.q();
    let out_valid = b.declare_wire("pp_out_valid", Ty::BIT);
    let post_done = b.wire("post_done", p_is(3).and(wc_q.clone().eq(p_rows.clone())));
    b.set_next(
        wcount,
        Expr::mux(
            take_post.clone(),
            lit(0, 16),
            wc_q.clone().add(one16.clone()),
        ),
        Some(take_post.clone().or(out_valid.clone())),
    );
    let p_next = Expr::mux(
        take_post.clone(),
        lit(1, 2),
        Expr::mux(
            p_is(1).and(pw_q.clone().eq(lit(0, ow))),
            lit(2, 2),
            Expr::mux(
                p_is(2),
                lit(3, 2),
                Expr::mux(post_done.clone(), lit(0, 2), pst_q.clone()),
            ),
        ),
    );
    b.set_next(pst, p_next, None);
    let mm_end = phase_end.clone().and(is(1).or(is(3)));
    // The ALU.
    super::block(
        &mut b,
        "alu",
        n.alu,
        "alu",
        vec![
            ("start", take_alu.clone()),
            ("instr", q_data.clone()),
            ("act_rdata", act_rdata.clone()),
            ("acc_rdata", acc_rdata.clone()),
        ],
        &[
            ("busy", Ty::BIT),
            ("done", Ty::BIT),
            ("act_re", Ty::BIT),
            ("act_raddr", u(16)),
            ("acc_re", Ty::BIT),
            ("acc_raddr", u(16)),
            ("acc_we", Ty::BIT),
            ("acc_waddr", u(16)),
            ("acc_wdata", u(ab)),
        ],
    );
    let alu_sig = |nm: &str, ty: Ty| Expr::sig(format!("alu_{nm}"), ty);
    let alu_done = alu_sig("done", Ty::BIT);
    let alu_push_prev = b.delay_when("alu_push_prev_q", q_data.bit(6), take_alu.clone());
    let alu_push_next = b.delay_when("alu_push_next_q", q_data.bit(7), take_alu.clone());
    b.assign(
        "act_re",
        issue
            .clone()
            .and(is(1).or(is(3)))
            .or(alu_sig("act_re", Ty::BIT)),
    );
    b.assign(
        "act_raddr",
        Expr::mux(alu_busy.clone(), alu_sig("act_raddr", u(16)), a_addr),
    );
    b.assign("w_re", issue.clone().and(is(1).or(is(2))));
    b.assign("w_raddr", w_addr);

    // The array.
    for (nm, ty) in [
        ("arr_a_tready", Ty::BIT),
        ("arr_b_tready", Ty::BIT),
        ("c_tdata", u(ab)),
        ("c_tvalid", Ty::BIT),
        ("c_tlast", Ty::BIT),
    ] {
        b.declare_wire(nm, ty);
    }
    // A phase's beats all belong to the state it began in: the state changes as its last
    // beat is taken.
    let a_valid = if ws {
        head_valid.clone().and(is(3))
    } else {
        head_valid.clone().and(is(1))
    };
    let mut conns = vec![
        ("clk", i(clk.clone())),
        ("rst", i(rst.clone())),
        ("a_tdata", i(head_act)),
        ("a_tvalid", i(a_valid)),
        ("a_tlast", i(head_last.clone())),
        ("a_tready", o("arr_a_tready")),
        ("c_tready", i(Expr::bit_const(true))),
        ("c_tdata", o("c_tdata")),
        ("c_tvalid", o("c_tvalid")),
        ("c_tlast", o("c_tlast")),
    ];
    if ws {
        conns.extend([
            ("w_tdata", i(head_w.clone())),
            ("w_tvalid", i(head_valid.clone().and(is(2)))),
            ("w_tlast", i(head_last.clone())),
            ("w_tready", o("arr_b_tready")),
        ]);
        b.assign(
            "arr_ready",
            Expr::mux(
                is(2),
                Expr::sig("arr_b_tready", Ty::BIT),
                Expr::sig("arr_a_tready", Ty::BIT),
            ),
        );
    } else {
        conns.extend([
            ("b_tdata", i(head_w)),
            ("b_tvalid", i(head_valid.clone().and(is(1)))),
            ("b_tready", o("arr_b_tready")),
        ]);
        b.assign(
            "arr_ready",
            Expr::sig("arr_a_tready", Ty::BIT).and(Expr::sig("arr_b_tready", Ty::BIT)),
        );
    }
    b.instance("array", n.array, conns);
    b.wire("c_tlast_unused", Expr::sig("c_tlast", Ty::BIT));

    // Write-back descriptors.
    // The index of the tile's last row to arrive (m >= 1: the sequencer checked it).
    let arriving = if ws {
        f(mm, "m").sub(one16.clone())
    } else {
        lit(u64::from(rows - 1), 16)
    };
    // Whether the tile has one row (its first row to arrive is its last).
    let single = if ws {
        f(mm, "m").eq(one16.clone())
    } else {
        Expr::bit_const(rows == 1)
    };
    let desc = Expr::concat(vec![
        single,
        q_data.bit(7),
        q_data.bit(8),
        arriving,
        f(mm, "m").sub(one16.clone()),
        f(mm, "acc"),
    ]);
    for (nm, ty) in [
        ("wbq_valid", Ty::BIT),
        ("wbq_data", u(DESC_BITS)),
        (
            "wbq_count_unused",
            u(crate::rtl::bits_for(u64::from(TILES_AHEAD))),
        ),
    ] {
        b.declare_wire(nm, ty);
    }
    b.instance(
        "tiles",
        n.desc_queue,
        vec![
            ("clk", i(clk.clone())),
            ("rst", i(rst.clone())),
            ("in_valid", i(take_mm.clone())),
            ("in_data", i(desc)),
            ("out_ready", i(tile_end.clone())),
            ("in_ready", o("wbq_in_ready")),
            ("out_valid", o("wbq_valid")),
            ("out_data", o("wbq_data")),
            ("count", o("wbq_count_unused")),
        ],
    );
    let d = Expr::sig("wbq_data", u(DESC_BITS));
    let d_acc = b.wire("d_acc", d.slice(15, 0));
    let d_m_last = b.wire("d_m_last", d.slice(31, 16));
    let d_last = b.wire("d_last", d.slice(47, 32));
    let d_accum = b.wire("d_accum", d.bit(48));
    let d_push = b.wire("d_push", d.bit(49));
    let d_single = b.wire("d_single", d.bit(50));
    let c_valid = Expr::sig("c_tvalid", Ty::BIT);
    let r = b.reg("row_q", u(16));
    let r_q = r.q();
    // Whether this row is the tile's last, from registers (no compare before the tile's end,
    // which pops the descriptor queue): the descriptor's one-row flag at a tile's first row,
    // else set as the row before arrives.
    let (row_last, first_q) =
        super::last_of_run(&mut b, "row_last", &c_valid, d_single, &r_q, d_last);
    b.assign("tile_end", c_valid.clone().and(row_last.clone()));
    b.set_next(
        r,
        Expr::mux(row_last.clone(), lit(0, 16), r_q.clone().add(one16.clone())),
        Some(c_valid.clone()),
    );
    // Rows r < m are kept: a flag set at each tile's first row and cleared after row m - 1
    // (a register, for the clock).
    let past = b.delay_when(
        "row_past_m_q",
        row_last
            .clone()
            .not()
            .and(Expr::sig("row_past_m_q", Ty::BIT).or(r_q.clone().eq(d_m_last))),
        c_valid.clone(),
    );
    let keep = b.wire("keep", c_valid.clone().and(past.not()));
    b.assign("wb_rd", keep.clone().and(d_accum.clone()));
    // The row's address, acc + r, from a register that counts along the tile (for the clock:
    // no adder between the descriptor and the memory's address); `row_last_first_q` is r == 0.
    let next_row = b.reg("row_addr_q", u(16));
    let next_row_q = next_row.q();
    let addr = b.wire(
        "wb_addr",
        Expr::mux(first_q.clone(), d_acc.clone(), next_row_q),
    );
    b.set_next(
        next_row,
        addr.clone().add(one16.clone()),
        Some(c_valid.clone()),
    );
    // A row read is in the memory's output register `L` cycles later (stage L), added to;
    // stage L + 1: the sum, registered, written.
    const L: usize = buffers::ACC_READ_LATENCY as usize;
    let (l, wr) = (L as u32, L as u32 + 1);
    let sv = b.delays(|k| format!("s{k}_valid"), keep.clone(), wr);
    let sa = b.delays(|k| format!("s{k}_addr"), addr.clone(), wr);
    let sacc = b.delays(|k| format!("s{k}_accum"), d_accum.clone(), l - 1);
    let srow = b.delays(|k| format!("s{k}_row"), Expr::sig("c_tdata", u(ab)), l);
    // A row read while one of the three rows before it is still to be written (the last row
    // of one tile and the first of the next, accumulating into it, one to three cycles apart)
    // is not what the memory returns: its base is that row's sum, registered one, two or three
    // times since, the nearest first. (The memory reads L - 2 cycles after the request and
    // the row before is written L + 1 cycles after its own: three rows at any L.) What the
    // memory returns when a row is read in the cycle it is written is never used. The
    // compares are made as the row is requested and carried to stage L - 1, where the base
    // is chosen as far as it can be a cycle ahead (for the clock: one small select before the
    // add): the sum one row back (`sum1_q` at stage L), else an older sum or zero (a tile
    // that overwrites), registered from `sum1_q` and `sum2_q` (`wb_older_q`), else the
    // memory's row.
    let hit = |b: &mut ModuleBuilder, n: usize| {
        let h = sv[n].clone().and(sa[n].clone().eq(addr.clone()));
        b.delayed(|k| format!("s{k}_hit{n}"), h, l - 1)
    };
    let hit1 = hit(&mut b, 1);
    let hit2 = hit(&mut b, 2);
    let hit3 = hit(&mut b, 3);
    let sum1 = b.reg_with_reset("sum1_q", u(ab), None);
    let sum1_q = sum1.q();
    let sum2_q = b.data_reg("sum2_q", sum1_q.clone(), None);
    let accum = sacc[L - 1].clone();
    let near = b.delay("wb_near_q", accum.clone().and(hit1));
    let use_older = b.delay(
        "wb_use_older_q",
        accum.clone().not().or(hit2.clone()).or(hit3),
    );
    let older = b.data_reg(
        "wb_older_q",
        Expr::mux(accum, Expr::mux(hit2, sum1_q.clone(), sum2_q), lit(0, ab)),
        None,
    );
    let base = Expr::mux(
        near,
        sum1_q.clone(),
        Expr::mux(use_older, older, acc_rdata.clone()),
    );
    let base = b.wire("wb_base", base);
    let lanes: Vec<Expr> = (0..cols)
        .rev()
        .map(|j| {
            let lo = j * g.acc_bits;
            let hi = lo + g.acc_bits - 1;
            base.slice(hi, lo).add(srow[L].slice(hi, lo))
        })
        .collect();
    let sum = b.wire("wb_sum", Expr::concat(lanes));
    b.set_next(sum1, sum, None);
    // The tile's push, L + 1 cycles after its last row arrived (as it is written).
    let pushes = b.delays(
        |k| format!("push_tile{k}"),
        tile_end.clone().and(d_push),
        wr,
    );
    let push_tile = pushes[L + 1].clone();
    let mut wb_empty_now = Expr::sig("wbq_valid", Ty::BIT).not();
    for (v, p) in sv.iter().zip(&pushes).skip(1) {
        wb_empty_now = wb_empty_now.and(v.clone().not()).and(p.clone().not());
    }
    b.assign("wb_empty", wb_empty_now.and(out_q.clone().eq(lit(0, ow))));

    // POST: a row read reaches the post-processing L cycles later.
    let pp_in = b.delayed(|k| format!("pp_in{k}"), post_rows.clone(), l);
    if post {
        let ob = g.out.map_or(8, |(b, _)| b);
        b.declare_wire("pp_out_data", u(cols * ob));
        b.declare_wire("pp_out_last_unused", Ty::BIT);
        b.instance(
            "post",
            n.post,
            vec![
                ("clk", i(clk.clone())),
                ("rst", i(rst.clone())),
                ("in_valid", i(pp_in.clone())),
                ("in_last", i(Expr::bit_const(false))),
                ("in_data", i(acc_rdata.clone())),
                ("params", i(p_rdata.clone())),
                ("out_valid", o("pp_out_valid")),
                ("out_last", o("pp_out_last_unused")),
                ("out_data", o("pp_out_data")),
            ],
        );
        b.assign("out_wdata", Expr::sig("pp_out_data", u(cols * ob)));
    } else {
        b.assign("pp_out_valid", Expr::bit_const(false));
        b.assign("out_wdata", lit(0, cols * 8));
        b.wire("p_rdata_unused", p_rdata);
        b.wire("pp_in_unused", pp_in);
    }
    b.assign("out_we", out_valid.clone());
    b.assign("out_waddr", p_dst.add(wc_q));
    b.assign("p_re", p_is(2));
    b.assign("p_raddr", prm);
    // The accumulator read port: the write-back's reads first, then POST's.
    // (The ALU has them alone: it runs only when the rest is idle.)
    b.assign(
        "acc_re",
        wb_rd
            .clone()
            .or(post_rows.clone())
            .or(alu_sig("acc_re", Ty::BIT)),
    );
    b.assign(
        "acc_raddr",
        Expr::mux(
            alu_busy.clone(),
            alu_sig("acc_raddr", u(16)),
            Expr::mux(wb_rd, addr, p_row_q),
        ),
    );
    let alu_we = alu_sig("acc_we", Ty::BIT);
    b.assign("acc_we", sv[L + 1].clone().or(alu_we.clone()));
    b.assign(
        "acc_waddr",
        Expr::mux(
            alu_we.clone(),
            alu_sig("acc_waddr", u(16)),
            sa[L + 1].clone(),
        ),
    );
    b.assign(
        "acc_wdata",
        Expr::mux(alu_we, alu_sig("acc_wdata", u(ab)), sum1_q),
    );
    // Tokens.
    b.assign("q_ready", take.clone());
    b.assign("pop_l2c", take.clone().and(q_data.bit(4)));
    b.assign("pop_s2c", take.and(q_data.bit(5)));
    b.assign(
        "push_c2l",
        mm_end
            .clone()
            .and(push_prev)
            .or(post_done.clone().and(p_push_prev))
            .or(alu_done.clone().and(alu_push_prev)),
    );
    b.assign(
        "push_c2s",
        push_tile
            .or(post_done.clone().and(p_push_next))
            .or(alu_done.and(alu_push_next)),
    );
    b.assign("idle", is(0).and(wb_empty).and(p_is(0)).and(alu_idle));
    b.finish()
}
