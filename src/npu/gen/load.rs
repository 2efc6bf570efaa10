//! The load unit: runs LOAD instructions from its queue, one at a time. A DRAM row becomes one
//! buffer word. The AR side walks the rows (address += stride) and requests each row's aligned
//! beats in bursts that never cross 4 KiB nor exceed 256 beats, one burst per cycle, up to
//! [`ROWS_AHEAD`] rows ahead (a queue of row descriptors: byte offset and beats), so that rows
//! of a beat each still keep the memory busy across its latency. The R side realigns each pair
//! of beats with one funnel shift by the row's byte offset into bus-wide chunks of the row,
//! masks the bytes past the row's end, shifts by `pad_left` lanes and writes the word in the
//! cycle of the row's last beat. `pad_top` and `pad_bottom` zero words come before and after.

use super::{get, lit, u};
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

/// Width of the row descriptor: byte offset and beats.
pub fn desc_bits(g: &Geometry) -> u32 {
    let (lb, nbw) = sizes(g);
    lb.max(1) + nbw
}

/// (log2 of the bus bytes, bits of a row's beat count).
fn sizes(g: &Geometry) -> (u32, u32) {
    let bb = g.axi_bytes;
    let wmax = *word_bytes(g).iter().max().expect("three buffers");
    let nb_max = (wmax + bb - 1).div_ceil(bb);
    (bb.trailing_zeros(), bits_for(u64::from(nb_max)))
}

/// The load unit `module` for `g`; `desc_queue` names the row descriptor queue's module
/// ([`desc_bits`] wide, [`ROWS_AHEAD`] deep).
pub fn load(module: &str, desc_queue: &str, g: &Geometry) -> Module {
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
    let empty = b.wire("empty_rows", t_bytes.clone().eq(lit(0, 24)));
    let start_addr = super::dma::first_row(&q_data, Opcode::Load, &bases, aw);

    // Counters: zero words before, rows to request, rows to receive, zero words after.
    let cnt = |b: &mut ModuleBuilder, name: &str, init: Expr, dec: &Expr| {
        let h = b.reg(name, u(16));
        let q = h.q();
        let next = Expr::mux(
            Expr::sig("take", Ty::BIT),
            init,
            Expr::mux(dec.clone(), q.clone().sub(lit(1, 16)), q.clone()),
        );
        b.set_next(h, next, None);
        q
    };
    let ptop_dec = b.declare_wire("ptop_dec", Ty::BIT);
    let row_issue = b.declare_wire("row_issue", Ty::BIT);
    let row_done = b.declare_wire("row_done", Ty::BIT);
    let pbot_dec = b.declare_wire("pbot_dec", Ty::BIT);
    let rows_ar_init = Expr::mux(f("elems", 16).eq(z16.clone()), z16.clone(), f("rows", 16));
    let ptop = cnt(&mut b, "ptop_q", f("pad_top", 16), &ptop_dec);
    let rows_ar = cnt(&mut b, "rows_ar_q", rows_ar_init, &row_issue);
    let rows_r = cnt(&mut b, "rows_r_q", f("rows", 16), &row_done);
    let pbot = cnt(&mut b, "pbot_q", f("pad_bottom", 16), &pbot_dec);
    let top_done = ptop.clone().eq(z16.clone());
    let in_top = b.wire("in_top", busy_q.clone().and(top_done.clone().not()));
    let in_rows = b.wire(
        "in_rows",
        busy_q
            .clone()
            .and(top_done.clone())
            .and(rows_r.clone().ne(z16.clone())),
    );
    let in_bot = b.wire(
        "in_bot",
        busy_q
            .clone()
            .and(top_done)
            .and(rows_r.clone().eq(z16.clone()))
            .and(pbot.clone().ne(z16.clone())),
    );
    b.assign("ptop_dec", in_top.clone());
    b.assign("pbot_dec", in_bot.clone());

    // AR side: a burst per cycle. A row's first burst is formed from its address directly
    // (in the cycle it starts), the rest from the beats of it not yet requested.
    let row_addr = b.reg("row_addr_q", u(aw));
    let ra = row_addr.q();
    let left = b.reg("beats_left_q", u(nbw));
    let left_q = left.q();
    let cur = b.reg("cur_q", u(aw));
    let cur_q = cur.q();
    let arv = b.reg("arvalid_q", Ty::BIT);
    let arv_q = arv.q();
    let dq_room = b.declare_wire("dq_in_ready", Ty::BIT);
    let fire = b.wire("ar_fire", arv_q.clone().and(arready));
    // The AR register is free for a new burst next cycle.
    let free = b.wire("ar_free", arv_q.clone().not().or(fire.clone()));
    let more = b.wire("row_more", left_q.clone().ne(lit(0, nbw)));
    let ar_idle = b.wire("ar_idle", more.clone().not().and(arv_q.clone().not()));
    b.assign(
        "row_issue",
        busy_q
            .clone()
            .and(rows_ar.clone().ne(z16.clone()))
            .and(more.clone().not())
            .and(free.clone())
            .and(dq_room),
    );
    let off = if lb == 0 {
        lit(0, 1)
    } else {
        b.wire("row_off", ra.slice(lb - 1, 0))
    };
    let span = b.wire(
        "span",
        off.clone()
            .zext(24)
            .add(t_bytes.clone())
            .add(lit(u64::from(bb - 1), 24)),
    );
    let nbeats = b.keep(&span, lb + nbw - 1, lb, false);
    let nbeats = b.wire("row_beats", nbeats);
    let aligned = if lb == 0 {
        ra.clone()
    } else {
        b.wire(
            "row_aligned",
            Expr::concat(vec![ra.slice(aw - 1, lb), lit(0, lb)]),
        )
    };
    b.set_next(
        row_addr,
        Expr::mux(
            take.clone(),
            start_addr,
            ra.clone().add(stride.clone().zext(aw)),
        ),
        Some(take.clone().or(row_issue.clone())),
    );
    // The next burst: from the current row's rest, or the new row's start; up to the 4 KiB
    // boundary, at most 256 beats.
    let src_addr = b.wire(
        "burst_addr",
        Expr::mux(more.clone(), cur_q.clone(), aligned),
    );
    let src_left = b.wire(
        "burst_left",
        Expr::mux(more.clone(), left_q.clone(), nbeats.clone()),
    );
    let burst = super::dma::burst_beats(&mut b, &src_addr, &src_left, lb);
    let issue = b.wire("burst_issue", free.clone().and(more.or(row_issue.clone())));
    b.set_next(
        arv,
        Expr::mux(
            issue.clone(),
            Expr::bit_const(true),
            arv_q.clone().and(fire.not()),
        ),
        None,
    );
    let len = b.truncate("burst_len", burst.clone().sub(lit(1, 13)), 8);
    let arlen = b.reg("arlen_q", u(8));
    let arlen_q = arlen.q();
    b.set_next(arlen, len, Some(issue.clone()));
    let araddr = b.reg("araddr_q", u(aw));
    let araddr_q = araddr.q();
    b.set_next(araddr, src_addr.clone(), Some(issue.clone()));
    let burst_n = b.truncate("burst_n", burst.clone(), nbw.min(13));
    let burst_n = burst_n.zext(nbw);
    b.set_next(left, src_left.sub(burst_n), Some(issue.clone()));
    b.set_next(
        cur,
        src_addr.add(burst.clone().zext(aw).shl(lit(u64::from(lb), 4))),
        Some(issue),
    );

    // Row descriptors.
    let desc_in = Expr::concat(vec![nbeats, off.zext(lbw)]);
    let row_fire = b.declare_wire("row_fire", Ty::BIT);
    for (n, ty) in [
        ("dq_valid", Ty::BIT),
        ("dq_data", u(lbw + nbw)),
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
    let dq_data = Expr::sig("dq_data", u(lbw + nbw));
    let d_off = b.wire("d_off", dq_data.slice(lbw - 1, 0));
    let d_nb = b.wire("d_nb", dq_data.slice(lbw + nbw - 1, lbw));

    // R side.
    let rready = b.wire(
        "rready_w",
        in_rows
            .clone()
            .and(empty.clone().not())
            .and(Expr::sig("dq_valid", Ty::BIT)),
    );
    let rfire = b.wire("r_fire", rready.clone().and(rvalid));
    let beat_i = b.reg("beat_q", u(nbw));
    let bi = beat_i.q();
    let last = b.wire("last_beat", bi.clone().eq(d_nb.clone().sub(lit(1, nbw))));
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
    for c in 0..chunks {
        let s = b.reg(&format!("chunk{c}_q"), u(8 * bb));
        let sq = s.q();
        let at_prev = bi
            .clone()
            .ne(lit(0, nbw))
            .and(bi.clone().eq(lit(u64::from(c + 1), nbw)));
        let at_tail = last.clone().and(bi.clone().eq(lit(u64::from(c), nbw)));
        let now = Expr::mux(
            at_prev.clone(),
            funnel.clone(),
            Expr::mux(at_tail.clone(), tail.clone(), sq.clone()),
        );
        let now = b.wire(&format!("chunk{c}_now"), now);
        // The next row starts from zero.
        b.set_next(
            s,
            Expr::mux(last.clone(), lit(0, 8 * bb), now.clone()),
            Some(rfire.clone().and(at_prev.or(at_tail).or(last.clone()))),
        );
        // Bytes past the row's end read zero.
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
        row_chunks.push(b.wire(&format!("chunk{c}_kept"), now.and(mask)));
    }
    let row_bytes = b.wire(
        "row_bytes",
        Expr::concat(row_chunks.into_iter().rev().collect()),
    );
    // Per buffer: the word's bytes, shifted by pad_left lanes, narrowed to the lanes.
    let word = |b: &mut ModuleBuilder, k: usize, lanes: u32, bits: u32, pad: bool| {
        let bytes = wb[k];
        let rb = b.wire(&format!("row_bytes{k}"), row_bytes.clone());
        let raw = b.keep(&rb, 8 * bytes - 1, 0, false);
        let raw = b.wire(&format!("raw{k}"), raw);
        let shifted = if pad {
            let amt = padl.clone().times_const(8 * eb[k], 16);
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
    // Words are written by the pads, by empty rows, or at a row's last beat.
    let pad_write = in_top.clone().or(in_bot.clone());
    let empty_write = in_rows.clone().and(empty);
    let row_write = rfire.clone().and(last);
    b.assign("row_done", empty_write.clone().or(row_write.clone()));
    let zero_word = pad_write.or(empty_write);
    let wr = b.wire("wr", zero_word.clone().or(row_write));
    let waddr = b.reg("waddr_q", u(16));
    let waddr_q = waddr.q();
    b.set_next(
        waddr,
        Expr::mux(take.clone(), f("sram", 16), waddr_q.clone().add(lit(1, 16))),
        Some(take.clone().or(wr.clone())),
    );
    let we = Expr::concat(
        (0..3)
            .rev()
            .map(|k| wr.clone().and(buf.clone().eq(lit(k, 2))))
            .collect(),
    );
    let zsel = |w: Expr| Expr::mux(zero_word.clone(), Expr::zero(w.ty()), w);
    b.assign("we", we);
    b.assign("waddr", waddr_q);
    b.assign("act_wdata", zsel(act_w));
    b.assign("weight_wdata", zsel(weight_w));
    b.assign("param_wdata", zsel(param_w));
    // Done: every row written, nothing outstanding.
    let done = b.wire(
        "done",
        busy_q
            .clone()
            .and(ptop.eq(z16.clone()))
            .and(rows_r.eq(z16.clone()))
            .and(pbot.eq(z16))
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
    b.assign(
        "rd_bytes",
        Expr::mux(Expr::sig("row_done", Ty::BIT), t_bytes.clone(), lit(0, 24)),
    );
    b.assign("q_ready", take.clone());
    b.assign("pop_c2l", take.and(q_data.bit(5)));
    b.assign("push_l2c", done.and(push));
    b.assign("ar_addr", araddr_q);
    b.assign("ar_len", arlen_q);
    b.assign("ar_valid", arv_q);
    b.assign("r_ready", rready);
    b.assign("idle", busy_q.not());
    b.finish()
}
