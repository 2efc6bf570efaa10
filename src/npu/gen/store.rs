//! The store unit: runs STORE instructions from its queue, one row at a time. It reads the
//! row's word from the output buffer or the accumulator memory (a read port it may have to
//! wait for: `rd_grant`), widens each lane to its DRAM element (sign- or zero-extended), shifts
//! the row to its byte offset in the bus, and writes it in bursts split at 4 KiB with byte
//! strobes for its first and last beats; every burst's response is checked.

use super::{buffers, get, lit, u};
use crate::npu::isa::Opcode;
use crate::npu::Geometry;
use crate::rtl::{bits_for, Expr, Module, ModuleBuilder, Ty};

/// `v` (unsigned, a named signal) widened from `from` to `to` bits: sign-extended if `signed`.
fn widen(b: &mut ModuleBuilder, name: &str, v: Expr, from: u32, to: u32, signed: bool) -> Expr {
    let v = b.wire(name, v);
    if to == from {
        return v;
    }
    let fill = if signed {
        Expr::concat(vec![v.bit(from - 1); (to - from) as usize])
    } else {
        lit(0, to - from)
    };
    Expr::concat(vec![fill, v])
}

// The store unit waits one cycle more for an accumulator row than for an output word
// (`acc_read_q`), which is what the accumulator memory's three-cycle reads need.
const _: () = assert!(buffers::ACC_READ_LATENCY == 3);

/// The store unit `module` for `g`.
pub fn store(module: &str, g: &Geometry) -> Module {
    let bb = g.axi_bytes;
    let lb = bb.trailing_zeros();
    let aw = g.axi_addr_bits;
    let (out_bits, out_signed) = g.out.unwrap_or((8, true));
    let post = g.out.is_some();
    let ob = if post { g.out_bytes } else { 1 };
    let ab = g.acc_bytes;
    let wmax = g.cols * ab.max(ob);
    let nb_max = (wmax + bb - 1).div_ceil(bb);
    let nbw = bits_for(u64::from(nb_max));
    let mut b = ModuleBuilder::new(module);
    b.doc(
        "Store unit: STORE rows of the output buffer or the accumulator memory to DRAM over AXI4.",
    );
    b.clock_and_reset();
    let ([start, q_valid, q_data, q_pc, halt, tok], bases) =
        super::dma::unit_inputs(&mut b, "STORE", "tok_c2s", aw);
    let [rd_grant, out_data, acc_data] = b.inputs([
        ("rd_grant", Ty::BIT, "the read port is ours this cycle"),
        (
            "rd_out_data",
            u(g.cols * out_bits),
            "output buffer word read two cycles before",
        ),
        (
            "rd_acc_data",
            u(g.cols * g.acc_bits),
            "accumulator row read three cycles before",
        ),
    ]);
    let [awready, wready, bresp, bvalid] = b.inputs([
        ("aw_ready", Ty::BIT, "AXI AWREADY"),
        ("w_ready", Ty::BIT, "AXI WREADY"),
        ("b_resp", u(2), "AXI BRESP"),
        ("b_valid", Ty::BIT, "AXI BVALID"),
    ]);
    b.outputs([
        ("q_ready", Ty::BIT, "the queued STORE is taken"),
        ("pop_c2s", Ty::BIT, "a token from compute is used"),
        ("push_s2c", Ty::BIT, "a token for compute"),
        ("rd_en", Ty::BIT, "read a word (when granted)"),
        ("rd_src", Ty::BIT, "0 output buffer, 1 accumulator memory"),
        ("rd_addr", u(16), "word or row read"),
        ("aw_addr", u(aw), "AXI AWADDR"),
        ("aw_len", u(8), "AXI AWLEN"),
        ("aw_valid", Ty::BIT, "AXI AWVALID"),
        ("w_data", u(8 * bb), "AXI WDATA"),
        ("w_strb", u(bb), "AXI WSTRB"),
        ("w_last", Ty::BIT, "AXI WLAST"),
        ("w_valid", Ty::BIT, "AXI WVALID"),
        ("b_ready", Ty::BIT, "AXI BREADY"),
        ("idle", Ty::BIT, "no STORE in progress"),
        ("err", Ty::BIT, "an AXI write error since start"),
        ("err_pc", u(32), "the STORE that saw the first one"),
        (
            "stall_dep",
            Ty::BIT,
            "a STORE waits for a token (the counter)",
        ),
        (
            "wr_bytes",
            u(24),
            "bytes of the row finished this cycle (the counter)",
        ),
    ]);
    let z16 = lit(0, 16);
    // States: 0 idle, 1 read (an accumulator row, whose read takes a cycle more,
    // `buffers::ACC_READ_LATENCY`, stays a cycle after its read is granted: `acc_read_q`),
    // 2 the word is in the memory's read register, 6 in its output register: the row's
    // lanes registered, 7 shift the row and its strobes, 3 address, 4 data, 5 responses.
    let st = b.reg("state_q", u(3));
    let st_q = st.q();
    let is = |v: u64| st_q.clone().eq(lit(v, 3));
    let take = b.wire(
        "take",
        is(0)
            .and(q_valid.clone())
            .and(halt.clone().not())
            .and(q_data.bit(4).not().or(tok.clone())),
    );
    let f = |n: &str, w: u32| get(&q_data, Opcode::Store, n, w);
    let latch = |b: &mut ModuleBuilder, name: &str, v: Expr| {
        b.delay_when(name, v, Expr::sig("take", Ty::BIT))
    };
    let src = latch(&mut b, "src_q", q_data.bit(8));
    let push = latch(&mut b, "push_q", q_data.bit(6));
    let stride = latch(&mut b, "stride_q", f("stride", 24));
    // Which lanes the row keeps (lane j when j < elems), latched as one register.
    let keep_now = Expr::concat(
        (0..g.cols)
            .rev()
            .map(|j| f("elems", 16).gt(lit(u64::from(j), 16)))
            .collect(),
    );
    let kept = latch(&mut b, "lanes_kept_q", keep_now);
    let pc = latch(&mut b, "pc_q", q_pc);
    // The first row's address is added up at the take and registered, and the row address
    // loads it a cycle later (for the clock: no base select and adder from the queue's head
    // into the row address; it is first used in state 7, four cycles after the take).
    let first = super::dma::first_row(&q_data, Opcode::Store, &bases, aw);
    let first = latch(&mut b, "first_row_q", first);
    let took = b.delay("took_q", take.clone());
    let row_addr = b.reg("row_addr_q", u(aw));
    let ra = row_addr.q();
    let rows = b.reg("rows_q", u(16));
    let rows_q = rows.q();
    let word = b.reg("word_q", u(16));
    let word_q = word.q();
    let row_end = b.declare_wire("row_end", Ty::BIT);
    b.set_next(
        row_addr,
        Expr::mux(took.clone(), first, ra.clone().add(stride.clone().zext(aw))),
        Some(took.or(row_end.clone())),
    );
    b.set_next(
        rows,
        Expr::mux(take.clone(), f("rows", 16), rows_q.clone().sub(lit(1, 16))),
        Some(take.clone().or(row_end.clone())),
    );
    b.set_next(
        word,
        Expr::mux(take.clone(), f("sram", 16), word_q.clone().add(lit(1, 16))),
        Some(take.clone().or(row_end.clone())),
    );
    // The row's bytes: lanes widened to their DRAM elements, zero past `elems`.
    let lanes =
        |b: &mut ModuleBuilder, tag: &str, data: &Expr, bits: u32, bytes: u32, signed: bool| {
            let d = b.wire(&format!("{tag}_word"), data.clone());
            let v: Vec<Expr> = (0..g.cols)
                .rev()
                .map(|j| {
                    let lane = d.slice(j * bits + bits - 1, j * bits);
                    let wide = widen(b, &format!("{tag}_lane{j}"), lane, bits, 8 * bytes, signed);
                    Expr::mux(kept.bit(j), wide, lit(0, 8 * bytes))
                })
                .collect();
            let all = Expr::concat(v);
            all.zext(8 * wmax)
        };
    // The word read in state 1 is in the memory's output register in state 6.
    let out_row = if post {
        lanes(&mut b, "out", &out_data, out_bits, ob, out_signed)
    } else {
        b.wire("rd_out_unused", out_data);
        lit(0, 8 * wmax)
    };
    let acc_row = lanes(&mut b, "acc", &acc_data, g.acc_bits, ab, g.signed);
    let row_bytes = Expr::mux(src.clone(), acc_row, out_row);
    // The row's bytes, latched with the instruction (a row of none when elems is zero).
    let elems_now = f("elems", 16);
    let t_bytes = latch(
        &mut b,
        "t_bytes_q",
        Expr::mux(
            q_data.bit(8),
            elems_now.clone().times_const(ab, 24),
            elems_now.clone().times_const(ob, 24),
        ),
    );
    let no_bytes = latch(&mut b, "no_bytes_q", elems_now.eq(lit(0, 16)));
    let off = if lb == 0 {
        lit(0, 1)
    } else {
        b.wire("off", ra.slice(lb - 1, 0))
    };
    let ow = off.ty().width;
    let img_bits = 8 * nb_max * bb;
    let sh = off.clone().zext(16).shl(lit(3, 2));
    // The row's lanes registered before the byte shift (for the clock: the memory's output
    // does not reach the image register through the shift).
    let row_bytes = b.data_reg("row_bytes_q", row_bytes, Some(is(6)));
    let img_now = b.wire("img_now", row_bytes.zext(img_bits).shl(sh));
    // Strobes: T bytes from the offset.
    // Registered a cycle after the take; first used two cycles after it (state 2).
    let ones = b.delay(
        "t_mask_q",
        Expr::concat(
            (0..nb_max * bb)
                .rev()
                .map(|k| t_bytes.clone().gt(lit(u64::from(k), 24)))
                .collect(),
        ),
    );
    let strb_now = b.wire("strb_now", ones.shl(off.clone().zext(ow)));
    let img = b.reg("img_q", u(img_bits));
    let img_q = img.q();
    let strb = b.reg("strb_q", u(nb_max * bb));
    let strb_q = strb.q();
    let captured = is(7);
    b.set_next(img, img_now, Some(captured.clone()));
    b.set_next(strb, strb_now, Some(captured.clone()));
    // Beats of the row, its next beat address, beats left, the current burst's beats left.
    let span = b.wire(
        "span",
        off.clone()
            .zext(24)
            .add(t_bytes.clone())
            .add(lit(u64::from(bb - 1), 24)),
    );
    let nbeats = b.keep(&span, lb + nbw - 1, lb, false);
    let nbeats = b.wire("row_beats", nbeats);
    let cur = b.reg("cur_q", u(aw));
    let cur_q = cur.q();
    let left = b.reg("left_q", u(nbw));
    let left_q = left.q();
    let beat = b.reg("beat_q", u(nbw));
    let beat_q = beat.q();
    let in_burst = b.reg("in_burst_q", u(9));
    let ib_q = in_burst.q();
    // The burst's beats from registers (for the clock: AWLEN is a flip-flop), good once a
    // cycle has passed since the row's position last moved (`burst_fresh_q`); AWVALID waits
    // for it, so a burst is requested a cycle after its state begins.
    let burst = super::dma::burst_beats(&mut b, &cur_q, &left_q, lb);
    let burst = b.delay("burst_q", burst);
    let aligned = if lb == 0 {
        ra.clone()
    } else {
        b.wire(
            "aligned",
            Expr::concat(vec![ra.slice(aw - 1, lb), lit(0, lb)]),
        )
    };
    let w_fire = b.wire("w_fire", is(4).and(wready));
    let fresh = b.delay("burst_fresh_q", captured.clone().or(w_fire.clone()).not());
    let aw_valid = b.wire("aw_offer", is(3).and(fresh));
    let aw_fire = b.wire("aw_fire", aw_valid.clone().and(awready));
    let burst_last = ib_q.clone().eq(lit(1, 9));
    let row_last = b.wire(
        "row_last",
        w_fire.clone().and(left_q.clone().eq(lit(1, nbw))),
    );
    b.assign("row_end", row_last.clone().or(is(7).and(no_bytes.clone())));
    b.set_next(
        cur,
        Expr::mux(
            captured.clone(),
            aligned,
            cur_q.clone().add(lit(u64::from(bb), aw)),
        ),
        Some(captured.clone().or(w_fire.clone())),
    );
    b.set_next(
        left,
        Expr::mux(captured.clone(), nbeats, left_q.clone().sub(lit(1, nbw))),
        Some(captured.clone().or(w_fire.clone())),
    );
    b.set_next(
        beat,
        Expr::mux(
            captured.clone(),
            lit(0, nbw),
            beat_q.clone().add(lit(1, nbw)),
        ),
        Some(captured.clone().or(w_fire.clone())),
    );
    let burst9 = b.truncate("len9", burst.clone(), 9);
    b.set_next(
        in_burst,
        Expr::mux(aw_fire.clone(), burst9.clone(), ib_q.clone().sub(lit(1, 9))),
        Some(aw_fire.clone().or(w_fire.clone())),
    );
    let len8 = b.truncate("len8_full", burst9.clone().sub(lit(1, 9)), 8);
    // Outstanding responses.
    let outst = b.reg("outstanding_q", u(8));
    let out_q = outst.q();
    let b_fire = bvalid.clone();
    b.set_next(outst, super::up_down(&out_q, &aw_fire, &b_fire), None);
    // Next state.
    let rows_left = rows_q.clone().ne(z16);
    // An accumulator row's read was granted last cycle (the state moves on from a register,
    // for the clock: the grant depends on compute's reads); an output word's moves on with
    // its grant (which the npu always gives).
    let acc_read = b.reg("acc_read_q", Ty::BIT);
    let acc_read_q = acc_read.q();
    let read_now = b.wire(
        "read_now",
        is(1).and(rows_left.clone()).and(acc_read_q.clone().not()),
    );
    b.set_next(
        acc_read,
        read_now.clone().and(src.clone()).and(rd_grant.clone()),
        None,
    );
    let row_read = b.wire(
        "row_read",
        Expr::mux(src.clone(), acc_read_q, rd_grant.clone()),
    );
    let next = Expr::mux(
        take.clone(),
        lit(1, 3),
        Expr::mux(
            is(1).and(rows_left.clone().not()),
            lit(5, 3),
            Expr::mux(
                is(1).and(row_read),
                lit(2, 3),
                Expr::mux(
                    is(2),
                    lit(6, 3),
                    Expr::mux(
                        is(6),
                        lit(7, 3),
                        Expr::mux(
                            is(7),
                            Expr::mux(no_bytes, lit(1, 3), lit(3, 3)),
                            Expr::mux(
                                aw_fire.clone(),
                                lit(4, 3),
                                Expr::mux(
                                    w_fire.clone().and(burst_last.clone()),
                                    Expr::mux(row_last.clone(), lit(1, 3), lit(3, 3)),
                                    Expr::mux(
                                        is(5).and(out_q.clone().eq(lit(0, 8))),
                                        lit(0, 3),
                                        st_q.clone(),
                                    ),
                                ),
                            ),
                        ),
                    ),
                ),
            ),
        ),
    );
    b.set_next(st, next, None);
    let done = b.wire("done", is(5).and(out_q.eq(lit(0, 8))));
    // Beat data and strobes: beat `beat` of the image.
    let mut data = lit(0, 8 * bb);
    let mut stb = lit(0, bb);
    for k in 0..nb_max {
        let sel = beat_q.clone().eq(lit(u64::from(k), nbw));
        data = Expr::mux(
            sel.clone(),
            img_q.slice(8 * bb * (k + 1) - 1, 8 * bb * k),
            data,
        );
        stb = Expr::mux(sel, strb_q.slice(bb * (k + 1) - 1, bb * k), stb);
    }
    let bad = b.wire("bad_resp", b_fire.and(bresp.ne(lit(0, 2))));
    super::dma::sticky_error(&mut b, start, bad, pc);
    b.wire(
        "q_data_unused",
        Expr::concat(vec![
            q_data.slice(127, 120),
            q_data.slice(15, 12),
            q_data.bit(9),
            q_data.bit(7),
            q_data.bit(5),
            q_data.slice(3, 0),
        ]),
    );
    b.assign(
        "stall_dep",
        is(0)
            .and(q_valid.clone())
            .and(halt.clone().not())
            .and(q_data.bit(4))
            .and(tok.clone().not()),
    );
    b.assign(
        "wr_bytes",
        Expr::mux(row_end.clone(), t_bytes.clone(), lit(0, 24)),
    );
    b.assign("q_ready", take.clone());
    b.assign("pop_c2s", take.and(q_data.bit(4)));
    b.assign("push_s2c", done.and(push));
    b.assign("rd_en", read_now);
    b.assign("rd_src", src);
    b.assign("rd_addr", word_q);
    b.assign("aw_addr", cur_q);
    b.assign("aw_len", len8);
    b.assign("aw_valid", aw_valid);
    b.assign("w_data", data);
    b.assign("w_strb", stb);
    b.assign("w_last", burst_last);
    b.assign("w_valid", is(4));
    b.assign("b_ready", Expr::bit_const(true));
    b.assign("idle", is(0));
    b.finish()
}
