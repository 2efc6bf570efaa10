//! The load unit: runs LOAD instructions from its queue, one at a time. A DRAM row becomes one
//! buffer word. The AR side walks the rows (address += stride) and requests each row's aligned
//! beats in bursts that never cross 4 KiB nor exceed 256 beats, one burst per cycle, up to
//! [`ROWS_AHEAD`] rows ahead (a queue of row descriptors: byte offset and beats), so that rows
//! of a beat each still keep the memory busy across its latency. The R side realigns each pair
//! of beats with one funnel shift by the row's byte offset into bus-wide chunks of the row,
//! masks the bytes past the row's end, shifts by `pad_left` lanes and writes the word (through
//! three register stages, three cycles after the row's last beat). `pad_top` and `pad_bottom` zero
//! words come before and after.

use super::{countdown, get, lit, u};
use crate::npu::geometry::RECORD_BYTES;
use crate::npu::isa::Opcode;
use crate::npu::Geometry;
use crate::rtl::{bits_for, Conn, Expr, Module, ModuleBuilder, Ty};

/// Rows whose bursts may be outstanding at once.
pub const ROWS_AHEAD: u32 = 16;

/// Bytes of one word of each buffer: activation, weight, parameter.
pub fn word_bytes(g: &Geometry) -> [u32; 3] {
    [
        g.rows * g.act_bytes,
        g.cols * g.weight_bytes,
        g.cols * RECORD_BYTES,
    ]
}

/// Width of the row descriptor: byte offset, last beat's index, and whether that is 0.
pub fn desc_bits(g: &Geometry) -> u32 {
    let (lb, nbw) = sizes(g);
    lb.max(1) + nbw + 1
}

/// (log2 of the bus bytes, bits of a row's beat count).
fn sizes(g: &Geometry) -> (u32, u32) {
    let bb = g.axi_bytes;
    let wmax = *word_bytes(g).iter().max().expect("three buffers");
    let nb_max = (wmax + bb - 1).div_ceil(bb);
    (bb.trailing_zeros(), bits_for(u64::from(nb_max)))
}

/// Rows whose first burst stage 1 holds (a queue, so that its room is a register).
const STAGE1_DEPTH: u32 = 2;

/// The width of a stage-1 entry: the row's aligned address, beats, beats to its page end and
/// byte offset.
fn stage1_bits(g: &Geometry) -> u32 {
    let (lb, nbw) = sizes(g);
    g.axi_addr_bits + nbw + 13 + lb
}

/// The load unit `module` for `g` and the modules it instantiates: its row descriptor queue
/// `<module>_rows` ([`desc_bits`] wide, [`ROWS_AHEAD`] deep) and its stage-1 queue
/// `<module>_p1`.
pub fn load_modules(module: &str, g: &Geometry) -> Vec<Module> {
    let rows = format!("{module}_rows");
    let p1 = format!("{module}_p1");
    vec![
        load(module, &rows, &p1, g),
        crate::npu::gen::queue::queue(&rows, desc_bits(g), ROWS_AHEAD),
        crate::npu::gen::queue::queue(&p1, stage1_bits(g), STAGE1_DEPTH),
    ]
}

/// The load unit `module` for `g`; `desc_queue` and `p1_queue` name its queues' modules (see
/// [`load_modules`]).
fn load(module: &str, desc_queue: &str, p1_queue: &str, g: &Geometry) -> Module {
    let bb = g.axi_bytes;
    let (lb, nbw) = sizes(g);
    let lbw = lb.max(1);
    let aw = g.axi_addr_bits;
    let wb = word_bytes(g);
    let wmax = *wb.iter().max().expect("three buffers");
    let chunks = wmax.div_ceil(bb);
    let mut b = ModuleBuilder::new(module);
    b.doc("Load unit: LOAD rows from DRAM over AXI4 into the activation, weight and parameter buffers.");
    b.clock_and_reset();
    let ([start, q_valid, q_data, q_pc, halt, tok], bases) =
        super::dma::unit_inputs(&mut b, "LOAD", "tok_c2l", aw);
    let [arready, rdata, rresp, rlast, rvalid] = b.inputs([
        ("ar_ready", Ty::BIT, "AXI ARREADY"),
        ("r_data", u(8 * bb), "AXI RDATA"),
        ("r_resp", u(2), "AXI RRESP"),
        ("r_last", Ty::BIT, "AXI RLAST (beats are counted instead)"),
        ("r_valid", Ty::BIT, "AXI RVALID"),
    ]);
    b.outputs([
        ("q_ready", Ty::BIT, "the queued LOAD is taken"),
        ("pop_c2l", Ty::BIT, "a token from compute is used"),
        ("push_l2c", Ty::BIT, "a token for compute"),
        ("ar_addr", u(aw), "AXI ARADDR"),
        ("ar_len", u(8), "AXI ARLEN"),
        ("ar_valid", Ty::BIT, "AXI ARVALID"),
        ("r_ready", Ty::BIT, "AXI RREADY"),
        (
            "we",
            u(3),
            "write enable: bit 0 activation, 1 weight, 2 parameter buffer",
        ),
        ("waddr", u(16), "buffer word written"),
        ("act_wdata", u(g.rows * g.in_bits), "activation word"),
        ("weight_wdata", u(g.cols * g.w_bits), "weight word"),
        ("param_wdata", u(8 * wb[2]), "parameter row"),
        ("idle", Ty::BIT, "no LOAD in progress"),
        ("err", Ty::BIT, "an AXI read error since start"),
        ("err_pc", u(32), "the LOAD that saw the first one"),
        (
            "stall_dep",
            Ty::BIT,
            "a LOAD waits for a token (the counter)",
        ),
        (
            "rd_bytes",
            u(24),
            "bytes of the row finished this cycle (the counter)",
        ),
    ]);
    let z16 = lit(0, 16);

    // Taking an instruction; its fields latched.
    let busy = b.reg("busy_q", Ty::BIT);
    let busy_q = busy.q();
    let take = b.wire(
        "take",
        busy_q
            .clone()
            .not()
            .and(q_valid.clone())
            .and(halt.clone().not())
            .and(q_data.bit(5).not().or(tok.clone())),
    );
    let f = |n: &str, w: u32| get(&q_data, Opcode::Load, n, w);
    let latch = |b: &mut ModuleBuilder, name: &str, v: Expr| {
        b.delay_when(name, v, Expr::sig("take", Ty::BIT))
    };
    let buf = latch(&mut b, "buf_q", f("buf", 2));
    let push = latch(&mut b, "push_q", q_data.bit(7));
    let padl = latch(&mut b, "padl_q", f("pad_left", 4));
    let stride = latch(&mut b, "stride_q", f("stride", 24));
    // Row bytes T = elems * the buffer's element bytes (latched at take).
    let eb = [g.act_bytes, g.weight_bytes, RECORD_BYTES];
    let elems24 = f("elems", 24);
    let t_now = Expr::mux(
        f("buf", 2).eq(lit(0, 2)),
        elems24.clone().times_const(eb[0], 24),
        Expr::mux(
            f("buf", 2).eq(lit(1, 2)),
            elems24.clone().times_const(eb[1], 24),
            elems24.clone().times_const(eb[2], 24),
        ),
    );
    let t_bytes = latch(&mut b, "t_q", t_now);
    // Rows of no bytes (a register: elems is zero exactly when the row bytes are).
    let empty = latch(&mut b, "empty_rows_q", elems24.clone().eq(lit(0, 24)));
    let start_addr = super::dma::first_row(&q_data, Opcode::Load, &bases, aw);

    // Counters: zero words before, rows to request, rows to receive, zero words after.
    let take_s = Expr::sig("take", Ty::BIT);
    let ptop_dec = b.declare_wire("ptop_dec", Ty::BIT);
    let row_prep = b.declare_wire("row_prep", Ty::BIT);
    let row_issue = b.declare_wire("row_issue", Ty::BIT);
    b.declare_wire("row_done", Ty::BIT);
    let pbot_dec = b.declare_wire("pbot_dec", Ty::BIT);
    let rows_ar_init = Expr::mux(f("elems", 16).eq(z16.clone()), z16.clone(), f("rows", 16));
    let cnt = |b: &mut ModuleBuilder, name: &str, init: Expr, dec: &Expr| {
        countdown(b, name, 16, &take_s, init, dec).1
    };
    let top_done = cnt(&mut b, "ptop_q", f("pad_top", 16), &ptop_dec);
    let rows_ar_z = cnt(&mut b, "rows_ar_q", rows_ar_init, &row_prep);
    // Rows received count down a cycle after a row's write is decided, two after its last
    // beat (for the clock: that beat's handshake is decided deep in the R side, the
    // counter's enable is far from it); the word is written a cycle after that, so done
    // waits for the write regardless.
    let rows_r_dec = b.declare_wire("rows_r_dec", Ty::BIT);
    let rows_r_z = cnt(&mut b, "rows_r_q", f("rows", 16), &rows_r_dec);
    let pbot_z = cnt(&mut b, "pbot_q", f("pad_bottom", 16), &pbot_dec);
    let in_top = b.wire("in_top", busy_q.clone().and(top_done.clone().not()));
    let in_rows = b.wire(
        "in_rows",
        busy_q
            .clone()
            .and(top_done.clone())
            .and(rows_r_z.clone().not()),
    );
    let in_bot = b.wire(
        "in_bot",
        busy_q
            .clone()
            .and(top_done.clone())
            .and(rows_r_z.clone())
            .and(pbot_z.clone().not()),
    );
    b.assign("ptop_dec", in_top.clone());
    b.assign("pbot_dec", in_bot.clone());

    // AR side, in register steps (for the clock): the row address; the row's aligned
    // address, beats and beats to its 4 KiB page end (stage 1); the next burst with what
    // remains of the row after it (stage 2), offered on AR from there (the npu's two-entry
    // queue after the unit is the AR register). Rows move one per cycle. A row
    // that needs a second burst (crossing a page, or over 256 beats) holds stage 2 for a
    // cycle per further burst while its rest is formed there.
    assert!(lb >= 1, "the bus is at least 64 bits");
    let full = 4096u64 >> lb; // beats in a page
    let cap = 256u64;
    let row_addr = b.reg("row_addr_q", u(aw));
    let ra = row_addr.q();
    let dq_room = b.declare_wire("dq_in_ready", Ty::BIT);
    b.set_next(
        row_addr,
        Expr::mux(
            take.clone(),
            start_addr,
            ra.clone().add(stride.clone().zext(aw)),
        ),
        Some(take.clone().or(row_prep.clone())),
    );
    // Stage 1, a two-entry queue (for the clock: a row enters on the queue's registered
    // room, so the AR handshake's decision ends in the queue instead of running on through
    // the row counter and address). beats = (off + T + B - 1) / B
    // = T / B + (off + T mod B + B - 1) / B.
    let s1_move = b.declare_wire("p1_move", Ty::BIT);
    let off = b.wire("row_off", ra.slice(lb - 1, 0));
    let small = b.wire(
        "row_small",
        off.clone()
            .zext(lb + 2)
            .add(t_bytes.slice(lb - 1, 0).zext(lb + 2))
            .add(lit(u64::from(bb - 1), lb + 2)),
    );
    let carry = b.keep(&small, lb + 1, lb, false);
    let nbeats = t_bytes.slice(lb + nbw - 1, lb).add(carry.zext(nbw));
    let aligned = Expr::concat(vec![ra.slice(aw - 1, lb), lit(0, lb)]);
    let topage = lit(full, 13).sub(ra.slice(11, lb).zext(13));
    let s1_bits = stage1_bits(g);
    for (n, ty) in [
        ("p1_in_ready", Ty::BIT),
        ("p1_valid", Ty::BIT),
        ("p1_data", u(s1_bits)),
        ("p1_count_unused", u(bits_for(u64::from(STAGE1_DEPTH)))),
    ] {
        b.declare_wire(n, ty);
    }
    b.instance(
        "p1",
        p1_queue,
        vec![
            ("clk", Conn::Input(Expr::sig("clk", Ty::BIT))),
            ("rst", Conn::Input(Expr::sig("rst", Ty::BIT))),
            ("in_valid", Conn::Input(row_prep.clone())),
            (
                "in_data",
                Conn::Input(Expr::concat(vec![off, topage, nbeats, aligned])),
            ),
            ("out_ready", Conn::Input(s1_move.clone())),
            ("in_ready", Conn::Output("p1_in_ready".into())),
            ("out_valid", Conn::Output("p1_valid".into())),
            ("out_data", Conn::Output("p1_data".into())),
            ("count", Conn::Output("p1_count_unused".into())),
        ],
    );
    let p1_data = Expr::sig("p1_data", u(s1_bits));
    let p1_addr = b.wire("p1_addr", p1_data.slice(aw - 1, 0));
    let p1_beats = b.wire("p1_beats", p1_data.slice(aw + nbw - 1, aw));
    let p1_page = b.wire("p1_topage", p1_data.slice(aw + nbw + 12, aw + nbw));
    let p1_off = b.wire("p1_off", p1_data.slice(s1_bits - 1, aw + nbw + 13));
    let s1v_q = Expr::sig("p1_valid", Ty::BIT);
    // Stage 2: the burst to issue (address and length), whether the row goes on after it,
    // and where and how far; `p2_ready` once formed (a row's later bursts take a cycle).
    let s2v = b.reg("p2_valid_q", Ty::BIT);
    let s2r = b.reg("p2_ready_q", Ty::BIT);
    let (s2v_q, s2r_q) = (s2v.q(), s2r.q());
    let refill = b.wire("p2_refill", s2v_q.clone().and(s2r_q.clone().not()));
    let rest_addr = b.reg("p2_rest_addr_q", u(aw));
    let rest_left = b.reg("p2_rest_left_q", u(nbw));
    let rest_page = b.reg("p2_rest_topage_q", u(13));
    let (ra2, rl2, rp2) = (rest_addr.q(), rest_left.q(), rest_page.q());
    let src_addr = b.wire("src_addr", Expr::mux(refill.clone(), ra2, p1_addr));
    let src_left = b.wire(
        "src_left",
        Expr::mux(refill.clone(), rl2.clone(), p1_beats.clone()).zext(13),
    );
    let src_page = b.wire(
        "src_topage",
        Expr::mux(refill.clone(), rp2.clone(), p1_page.clone()),
    );
    let c13 = |v: u64| lit(v, 13);
    // Whether the burst ends the row (it fits before the page end and in 256 beats) and
    // whether it ends at the page end, for each source from its registers, then selected
    // (for the clock: the compares' carry chains do not wait for the source select).
    let ends = |b: &mut ModuleBuilder, tag: &str, left: Expr, page: Expr| {
        let left = left.zext(13);
        let fits = left.clone().le(page.clone()).and(left.le(c13(cap)));
        let fits = b.wire(&format!("{tag}_fits"), fits);
        (fits, b.wire(&format!("{tag}_to_page"), page.le(c13(cap))))
    };
    let (fits1, to_page1) = ends(&mut b, "p1", p1_beats.clone(), p1_page.clone());
    let (fits2, to_page2) = ends(&mut b, "rest", rl2.clone(), rp2.clone());
    let fits = b.wire("src_fits", Expr::mux(refill.clone(), fits2, fits1));
    let to_page = b.wire("src_to_page", Expr::mux(refill.clone(), to_page2, to_page1));
    let len = Expr::mux(
        fits.clone(),
        src_left.clone().sub(c13(1)),
        Expr::mux(to_page.clone(), src_page.clone().sub(c13(1)), c13(cap - 1)),
    );
    let next_page = Expr::concat(vec![
        src_addr.slice(aw - 1, 12).add(lit(1, aw - 12)),
        lit(0, 12),
    ]);
    let next_addr = Expr::mux(
        to_page.clone(),
        next_page,
        src_addr.clone().add(lit(cap << lb, aw)),
    );
    let rest = Expr::mux(
        to_page.clone(),
        src_left.clone().sub(src_page.clone()),
        src_left.clone().sub(c13(cap)),
    );
    let rest_pg = Expr::mux(to_page.clone(), c13(full), src_page.clone().sub(c13(cap)));
    let p2_issue = b.declare_wire("p2_issue", Ty::BIT);
    let form = b.wire("p2_form", s1_move.clone().or(refill.clone()));
    let p2 = |b: &mut ModuleBuilder, n: &str, v: Expr| b.delay_when(n, v, form.clone());
    let p2_addr = p2(&mut b, "p2_addr_q", src_addr);
    let len = b.truncate("p2_len", len, 8);
    let p2_len = p2(&mut b, "p2_len_q", len);
    let p2_more = p2(&mut b, "p2_more_q", fits.not());
    let rest = b.truncate("p2_rest", rest, nbw);
    b.set_next(rest_addr, next_addr, Some(form.clone()));
    b.set_next(rest_left, rest, Some(form.clone()));
    b.set_next(rest_page, rest_pg, Some(form.clone()));
    // The row's descriptor rides with its first burst.
    let p2_first = p2(&mut b, "p2_first_q", refill.clone().not());
    // The descriptor holds the row's beats less one (its last beat's index).
    let p2_beats = b.delay_when(
        "p2_last_q",
        p1_beats.clone().sub(lit(1, nbw)),
        s1_move.clone(),
    );
    let p2_off = b.delay_when("p2_off_q", p1_off, s1_move.clone());
    // A row of one beat (its first beat is its last), for the R side's registered last flag.
    let p2_single = b.delay_when(
        "p2_single_q",
        p1_beats.clone().eq(lit(1, nbw)),
        s1_move.clone(),
    );
    // The burst is offered straight from stage 2's registers (the queue after the unit holds
    // it), and issues on the queue's room.
    let ar_valid = b.wire(
        "ar_offer",
        s2v_q
            .clone()
            .and(s2r_q.clone())
            .and(p2_first.clone().not().or(dq_room)),
    );
    let p2_ok = b.wire("p2_ok", ar_valid.clone().and(arready));
    b.assign("p2_issue", p2_ok.clone());
    b.assign("row_issue", p2_ok.clone().and(p2_first));
    // Stage 2 empties when its row's last burst issues.
    let p2_done = b.wire("p2_done", p2_issue.clone().and(p2_more.clone().not()));
    let p2_free = b.wire("p2_free", s2v_q.clone().not().or(p2_done.clone()));
    b.assign("p1_move", s1v_q.clone().and(p2_free));
    b.set_next(
        s2v,
        s1_move
            .clone()
            .or(s2v_q.clone().and(p2_done.not()))
            .and(take.clone().not()),
        None,
    );
    b.set_next(
        s2r,
        form.clone().or(s2r_q.clone().and(p2_issue.clone().not())),
        None,
    );
    b.assign(
        "row_prep",
        busy_q
            .clone()
            .and(rows_ar_z.not())
            .and(Expr::sig("p1_in_ready", Ty::BIT)),
    );
    let ar_idle = b.wire("ar_idle", s1v_q.not().and(s2v_q.not()));

    // Row descriptors.
    let desc_in = Expr::concat(vec![p2_single, p2_beats, p2_off.zext(lbw)]);
    let row_fire = b.declare_wire("row_fire", Ty::BIT);
    for (n, ty) in [
        ("dq_valid", Ty::BIT),
        ("dq_data", u(lbw + nbw + 1)),
        ("dq_count_unused", u(bits_for(u64::from(ROWS_AHEAD)))),
    ] {
        b.declare_wire(n, ty);
    }
    b.instance(
        "rows",
        desc_queue,
        vec![
            ("clk", Conn::Input(Expr::sig("clk", Ty::BIT))),
            ("rst", Conn::Input(Expr::sig("rst", Ty::BIT))),
            ("in_valid", Conn::Input(row_issue.clone())),
            ("in_data", Conn::Input(desc_in)),
            ("out_ready", Conn::Input(row_fire.clone())),
            ("in_ready", Conn::Output("dq_in_ready".into())),
            ("out_valid", Conn::Output("dq_valid".into())),
            ("out_data", Conn::Output("dq_data".into())),
            ("count", Conn::Output("dq_count_unused".into())),
        ],
    );
    let dq_data = Expr::sig("dq_data", u(lbw + nbw + 1));
    let d_off = b.wire("d_off", dq_data.slice(lbw - 1, 0));
    let d_last = b.wire("d_last", dq_data.slice(lbw + nbw - 1, lbw));
    let d_single = b.wire("d_single", dq_data.bit(lbw + nbw));

    // R side. Beats are taken once the top padding is written: every beat belongs to a row
    // whose descriptor is queued (rows of no bytes request nothing), and none comes after the
    // LOAD's last row (for the clock: two flip-flops, not the LOAD's row counts).
    let rready = b.wire(
        "rready_w",
        top_done.clone().and(Expr::sig("dq_valid", Ty::BIT)),
    );
    let rfire = b.wire("r_fire", rready.clone().and(rvalid));
    let beat_i = b.reg("beat_q", u(nbw));
    let bi = beat_i.q();
    // Whether this beat is its row's last, from registers: the descriptor's one-beat flag at
    // a row's first beat, else set as the beat before is taken.
    let (last, _) = super::last_of_run(&mut b, "last_beat", &rfire, d_single, &bi, d_last);
    b.assign("row_fire", rfire.clone().and(last.clone()));
    b.set_next(
        beat_i,
        Expr::mux(last.clone(), lit(0, nbw), bi.clone().add(lit(1, nbw))),
        Some(rfire.clone()),
    );
    let prev = b.reg("prev_q", u(8 * bb));
    let prev_q = prev.q();
    b.set_next(prev, rdata.clone(), Some(rfire.clone()));
    let sh = d_off.clone().zext(16).shl(lit(3, 2));
    let pair = b.wire("pair", Expr::concat(vec![rdata.clone(), prev_q]));
    let funnel = b.wire("funnel_full", pair.clone().shr(sh.clone()));
    let funnel = b.keep(&funnel, 8 * bb - 1, 0, false);
    let funnel = b.wire("funnel", funnel);
    let tail_pair = b.wire(
        "tail_pair",
        Expr::concat(vec![lit(0, 8 * bb), rdata.clone()]),
    );
    let tail = b.wire("tail_full", tail_pair.shr(sh));
    let tail = b.keep(&tail, 8 * bb - 1, 0, false);
    let tail = b.wire("tail", tail);
    // The funnel's outputs, the beat's position and its last flag end in registers (stage
    // R1, for the clock: the shift and the chunk selects are a cycle apart); the row's chunks
    // are updated from there.
    let funnel = b.data_reg("funnel_q", funnel, None);
    let tail = b.data_reg("tail_q", tail, None);
    let r1 = b.delay("r1_valid_q", rfire.clone());
    let last1 = b.data_reg("r1_last_q", last.clone(), None);
    // Chunks of the row so far; cleared after each row.
    let mut row_chunks = Vec::new();
    let t_chunks = b.keep(&t_bytes, 23, lb, false);
    let t_chunks = b.wire("t_chunks", t_chunks);
    let t_rem = if lb == 0 {
        lit(0, 1)
    } else {
        b.wire("t_rem", t_bytes.slice(lb - 1, 0))
    };
    let cw = 24 - lb;
    // The beat's position in its row as one flag per position that a chunk uses, 0 to
    // `chunks` (a one-hot register beside beat_q, for the clock: no compare of the count
    // before the chunk muxes); a later beat shifts the flag out, so no position is flagged.
    let nb_max = (1u32 << nbw).min(chunks + 1);
    let pos = b.reg_with_reset(
        "beat_pos_q",
        u(nb_max),
        Some(crate::rtl::Const::from_u128(1, u(nb_max))),
    );
    let pos_q = pos.q();
    let shifted = Expr::concat(vec![pos_q.slice(nb_max - 2, 0), lit(0, 1)]);
    b.set_next(
        pos,
        Expr::mux(last.clone(), lit(1, nb_max), shifted),
        Some(rfire.clone()),
    );
    let pos1 = b.data_reg("r1_pos_q", pos_q.clone(), None);
    let at = |i: u32| {
        if i < nb_max {
            pos1.bit(i)
        } else {
            Expr::bit_const(false)
        }
    };
    for c in 0..chunks {
        let s = b.reg(&format!("chunk{c}_q"), u(8 * bb));
        let sq = s.q();
        let at_prev = at(c + 1);
        let at_tail = last1.clone().and(at(c));
        let now = Expr::mux(
            at_prev.clone(),
            funnel.clone(),
            Expr::mux(at_tail.clone(), tail.clone(), sq.clone()),
        );
        let now = b.wire(&format!("chunk{c}_now"), now);
        // The next row starts from zero.
        b.set_next(
            s,
            Expr::mux(last1.clone(), lit(0, 8 * bb), now.clone()),
            Some(r1.clone().and(at_prev.or(at_tail).or(last1.clone()))),
        );
        // Bytes past the row's end read zero (the mask registered from the LOAD's length,
        // which is latched with it: ready long before its first beat).
        let full = t_chunks.clone().gt(lit(u64::from(c), cw));
        let part = t_chunks.clone().eq(lit(u64::from(c), cw));
        let mask = Expr::concat(
            (0..bb)
                .rev()
                .map(|k| {
                    // Byte k of the partial chunk is kept when k < T mod B (never the last).
                    let on = if k + 1 < bb {
                        let below = t_rem.clone().gt(lit(u64::from(k), lbw));
                        full.clone().or(part.clone().and(below))
                    } else {
                        full.clone()
                    };
                    Expr::concat(vec![on; 8])
                })
                .collect(),
        );
        let mask = b.delay(&format!("chunk{c}_mask_q"), mask);
        row_chunks.push(b.wire(&format!("chunk{c}_kept"), now.and(mask)));
    }
    let row_bytes = b.wire(
        "row_bytes",
        Expr::concat(row_chunks.into_iter().rev().collect()),
    );
    // Words are written by the pads, by empty rows, or at a row's last beat. The row's bytes
    // are registered with the write (stage 1); the word is shaped from them (the pad shift,
    // the lanes, zero for a pad) into the output registers (stage 2), and written from there:
    // for the clock, the funnel, the masks and the pad shift end in flip-flops. A LOAD is
    // done a cycle after its last write is formed at the earliest, and its token is given a
    // cycle after that, so the write lands before compute can read the word.
    let pad_write = in_top.clone().or(in_bot.clone());
    let empty_write = in_rows.clone().and(empty);
    let row_write = b.wire("row_write", r1.clone().and(last1.clone()));
    b.assign("row_done", empty_write.clone().or(row_write.clone()));
    // A LOAD's rows are all empty or none is: the two never meet.
    let row_write_q = b.delay("row_write_q", row_write.clone());
    b.assign("rows_r_dec", empty_write.clone().or(row_write_q));
    let zero_word = pad_write.or(empty_write);
    let wr = b.wire("wr", zero_word.clone().or(row_write));
    // Stage 1 loads every cycle (for the clock: the write, decided at the end of the R
    // handshake, enables nothing wide); only `wr1_q` says it holds a word.
    let row_q = b.data_reg("row_q", row_bytes, None);
    let wr1 = b.delay("wr1_q", wr.clone());
    let zero1 = b.delay("zero1_q", zero_word);
    let buf1 = b.delay("buf1_q", buf.clone());
    let padl1 = b.delay("padl1_q", padl.clone());
    // Per buffer: the word's bytes, shifted by pad_left lanes, narrowed to the lanes.
    let word = |b: &mut ModuleBuilder, k: usize, lanes: u32, bits: u32, pad: bool| {
        let bytes = wb[k];
        let rb = b.wire(&format!("row_bytes{k}"), row_q.clone());
        let raw = b.keep(&rb, 8 * bytes - 1, 0, false);
        let raw = b.wire(&format!("raw{k}"), raw);
        let shifted = if pad {
            let amt = padl1.clone().times_const(8 * eb[k], 16);
            b.wire(&format!("padded{k}"), raw.shl(amt))
        } else {
            raw
        };
        let e = 8 * eb[k];
        let lanes_v: Vec<Expr> = (0..lanes)
            .rev()
            .map(|i| shifted.slice(i * e + bits - 1, i * e))
            .collect();
        if bits < e {
            let dropped: Vec<Expr> = (0..lanes)
                .rev()
                .map(|i| shifted.slice(i * e + e - 1, i * e + bits))
                .collect();
            b.wire(&format!("lane_msbs{k}_unused"), Expr::concat(dropped));
        }
        Expr::concat(lanes_v)
    };
    let act_w = word(&mut b, 0, g.rows, g.in_bits, true);
    let weight_w = word(&mut b, 1, g.cols, g.w_bits, true);
    let param_w = word(&mut b, 2, g.cols, 8 * RECORD_BYTES, false);
    let waddr = b.reg("waddr_q", u(16));
    let waddr_q = waddr.q();
    b.set_next(
        waddr,
        Expr::mux(take.clone(), f("sram", 16), waddr_q.clone().add(lit(1, 16))),
        Some(take.clone().or(wr.clone())),
    );
    let waddr1 = b.delay("waddr1_q", waddr_q);
    let we = Expr::concat(
        (0..3)
            .rev()
            .map(|k| wr1.clone().and(buf1.clone().eq(lit(k, 2))))
            .collect(),
    );
    let zsel = |w: Expr| Expr::mux(zero1.clone(), Expr::zero(w.ty()), w);
    let we_q = b.delay("we_q", we);
    b.assign("we", we_q.clone());
    let waddr_out = b.data_reg("waddr_out_q", waddr1, None);
    b.assign("waddr", waddr_out);
    for (port, w) in [
        ("act_wdata", act_w),
        ("weight_wdata", weight_w),
        ("param_wdata", param_w),
    ] {
        let q = b.data_reg(&format!("{port}_q"), zsel(w), None);
        b.assign(port, q);
    }
    // Done: every row written, nothing outstanding.
    let done = b.wire(
        "done",
        busy_q
            .clone()
            .and(top_done)
            .and(rows_r_z)
            .and(pbot_z)
            .and(ar_idle),
    );
    b.set_next(
        busy,
        Expr::mux(
            take.clone(),
            Expr::bit_const(true),
            busy_q.clone().and(done.clone().not()),
        ),
        None,
    );
    let pc = latch(&mut b, "pc_q", q_pc);
    let bad = b.wire("bad_beat", rfire.and(rresp.ne(lit(0, 2))));
    super::dma::sticky_error(&mut b, start, bad, pc);
    b.wire("rlast_unused", rlast);
    // The opcode and the flags a load cannot have (the sequencer checked them).
    b.wire(
        "q_data_unused",
        Expr::concat(vec![q_data.bit(6), q_data.slice(4, 0)]),
    );
    b.assign(
        "stall_dep",
        busy_q
            .clone()
            .not()
            .and(q_valid.clone())
            .and(halt.clone().not())
            .and(q_data.bit(5))
            .and(tok.clone().not()),
    );
    // A row's bytes for the counter, from a register (a cycle late: the row's end is decided
    // deep in the R handshake).
    let rd_bytes = b.delay(
        "rd_bytes_q",
        Expr::mux(Expr::sig("row_done", Ty::BIT), t_bytes.clone(), lit(0, 24)),
    );
    b.assign("rd_bytes", rd_bytes);
    b.assign("q_ready", take.clone());
    b.assign("pop_c2l", take.and(q_data.bit(5)));
    // The token a cycle after done (its last write has landed by then).
    let push_q = b.delay("push_l2c_q", done.clone().and(push));
    b.assign("push_l2c", push_q);
    b.assign("ar_addr", p2_addr);
    b.assign("ar_len", p2_len);
    b.assign("ar_valid", ar_valid);
    b.assign("r_ready", rready);
    // Idle once its last write has landed too.
    b.assign(
        "idle",
        busy_q.not().and(wr1.not()).and(we_q.ne(lit(0, 3)).not()),
    );
    b.finish()
}
