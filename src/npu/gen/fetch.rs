//! Instruction fetch: reads `PROG_LEN` instructions from `PROG_ADDR` over the AXI4 read
//! channels, one burst at a time, into a queue the sequencer pops.
//!
//! Beats are narrow when the bus is wider than an instruction (ARSIZE = 16 bytes, the
//! instruction on the byte lanes of its address); on a 64-bit bus two beats make one. A burst
//! is issued only when the queue has room for all of it, never crosses a 4 KiB boundary and
//! has at most 256 beats. A beat answered SLVERR or DECERR marks its instruction, so the
//! sequencer raises the error in program order.

use super::{lit, u, valid_next};
use crate::npu::isa::INSTR_BYTES;
use crate::rtl::{bits_for, Expr, Module, ModuleBuilder, Ty};

/// Instructions the fetch queue holds.
pub const FETCH_DEPTH: u32 = 8;

/// The fetch module `module`; `queue` is the name of the queue module (129 bits: the error
/// flag above the instruction), `bus_bytes` the AXI data bytes and `addr_bits` its address width.
pub fn fetch(module: &str, queue: &str, bus_bytes: u32, addr_bits: u32) -> Module {
    let mut b = ModuleBuilder::new(module);
    b.doc("Instruction fetch over the AXI4 read channels into a queue.");
    b.clock_and_reset();
    let aw = addr_bits;
    let beat = bus_bytes.min(INSTR_BYTES); // bytes per beat
    let per_instr = INSTR_BYTES / beat; // beats per instruction: 1 or 2
    let [start, stop, prog_addr, prog_len] = b.inputs([
        ("start", Ty::BIT, "begin fetching at prog_addr"),
        (
            "stop",
            Ty::BIT,
            "issue no more bursts (the outstanding one completes)",
        ),
        ("prog_addr", u(aw), "program byte address, 16-byte aligned"),
        ("prog_len", u(32), "instructions"),
    ]);
    let [arready, rdata, rresp, rlast, rvalid, i_ready] = b.inputs([
        ("ar_ready", Ty::BIT, "AXI ARREADY"),
        ("r_data", u(8 * bus_bytes), "AXI RDATA"),
        ("r_resp", u(2), "AXI RRESP"),
        ("r_last", Ty::BIT, "AXI RLAST"),
        ("r_valid", Ty::BIT, "AXI RVALID"),
        (
            "i_ready",
            Ty::BIT,
            "the sequencer takes the head instruction",
        ),
    ]);
    b.outputs([
        ("ar_addr", u(aw), "AXI ARADDR"),
        ("ar_len", u(8), "AXI ARLEN (beats - 1)"),
        ("ar_size", u(3), "AXI ARSIZE"),
        ("ar_valid", Ty::BIT, "AXI ARVALID"),
        ("r_ready", Ty::BIT, "AXI RREADY"),
        ("i_valid", Ty::BIT, "an instruction is available"),
        (
            "i_data",
            u(129),
            "bit 128: the fetch had an AXI error; 127:0 the instruction",
        ),
        ("idle", Ty::BIT, "no burst outstanding"),
    ]);
    let cw = bits_for(u64::from(FETCH_DEPTH));
    // Next instruction address and instructions still to request.
    let addr = b.reg("addr_q", u(aw));
    let left = b.reg("left_q", u(32));
    let (addr_q, left_q) = (addr.q(), left.q());
    // The outstanding burst: instructions requested and not yet queued.
    let inflight = b.reg("inflight_q", u(cw));
    let inflight_q = inflight.q();
    let arv = b.reg("arvalid_q", Ty::BIT);
    let arv_q = arv.q();
    let arlen = b.reg("arlen_q", u(8));
    let arlen_q = arlen.q();
    let count = b.declare_wire("q_count", u(cw));
    let busy_burst = inflight_q.clone().ne(lit(0, cw));
    // Room: the queue's free entries less those the outstanding burst will fill.
    // (Registered: a cycle old, and room only grows meanwhile.)
    let room = b.wire(
        "room",
        lit(u64::from(FETCH_DEPTH), cw)
            .sub(count)
            .sub(inflight_q.clone()),
    );
    let room = b.delay("room_q", room);
    // Instructions to the 4 KiB boundary.
    let to_page = b.wire("to_page", lit(256, 9).sub(addr_q.slice(11, 4).zext(9)));
    let left_small = b.wire(
        "left_small",
        left_q.clone().lt(lit(u64::from(FETCH_DEPTH) + 1, 32)),
    );
    let n_left = b.delay(
        "n_left_q",
        Expr::mux(
            left_small,
            left_q.slice(cw - 1, 0),
            lit(u64::from(FETCH_DEPTH), cw),
        ),
    );
    let min = |x: Expr, y: Expr| Expr::mux(x.clone().lt(y.clone()), x, y);
    // to_page >= 1 always; n = 0 when the queue is full or nothing is left.
    let page_big = b.wire(
        "page_big",
        to_page.clone().gt(lit(u64::from(FETCH_DEPTH), 9)),
    );
    let page_n = b.delay(
        "page_n_q",
        Expr::mux(
            page_big,
            lit(u64::from(FETCH_DEPTH), cw),
            to_page.slice(cw - 1, 0),
        ),
    );
    // The next burst's size is formed in two register steps from the state (for the clock),
    // and is good once two cycles have passed since the state last changed: room only grows
    // meanwhile (instructions arriving were already counted against it).
    let z = lit(0, cw);
    // The minimum is zero exactly when one of the three is (each compared on its own).
    let nz_now = n_left
        .clone()
        .ne(z.clone())
        .and(room.clone().ne(z.clone()))
        .and(page_n.clone().ne(z));
    let n_now = b.wire("n_now", min(min(n_left, room), page_n));
    let n = b.reg("n_q", u(cw));
    let nz = b.reg("n_nonzero_q", Ty::BIT);
    let fresh = b.reg("n_fresh_q", Ty::BIT);
    let (n_q, nz_q, fresh_q) = (n.q(), nz.q(), fresh.q());
    b.set_next(nz, nz_now, None);
    b.set_next(n, n_now, None);
    let n = n_q;
    let issue = b.wire(
        "issue",
        arv_q
            .clone()
            .not()
            .and(busy_burst.clone().not())
            .and(stop.clone().not())
            .and(fresh_q)
            .and(nz_q),
    );
    let changed = start.clone().or(issue.clone());
    let settling = b.delay("n_settling_q", changed.clone().not());
    b.set_next(fresh, settling.and(changed.not()), None);
    let fire = b.wire("ar_fire", arv_q.clone().and(arready));
    b.set_next(arv, valid_next(&start, issue.clone(), &arv_q, &fire), None);
    let beats = n.clone().times_const(per_instr, 8).sub(lit(1, 8));
    b.set_next(arlen, beats, Some(issue.clone()));
    let ar_addr = b.reg("araddr_q", u(aw));
    let ar_addr_q = ar_addr.q();
    b.set_next(ar_addr, addr_q.clone(), Some(issue.clone()));
    let n_aw = n.clone().zext(aw);
    b.set_next(
        addr,
        Expr::mux(
            start.clone(),
            prog_addr,
            addr_q.clone().add(n_aw.shl(lit(4, 3))),
        ),
        Some(start.clone().or(issue.clone())),
    );
    b.set_next(
        left,
        Expr::mux(
            start.clone(),
            prog_len,
            left_q.clone().sub(n.clone().zext(32)),
        ),
        Some(start.clone().or(issue.clone())),
    );
    // Receiving: one instruction per `per_instr` beats, on the byte lanes of its address.
    let rfire = b.wire("r_fire", rvalid.clone());
    let lane_bits = bits_for(u64::from(bus_bytes / beat - 1));
    let rx = b.reg("rx_lane_q", u(lane_bits));
    let rx_q = rx.q();
    let done_instr;
    let data;
    let err_now = rresp.clone().ne(lit(0, 2));
    if per_instr == 2 {
        // 64-bit bus: the low half first.
        let half = b.reg("half_q", Ty::BIT);
        let half_q = half.q();
        let low = b.reg("low_q", u(64));
        let low_q = low.q();
        let lerr = b.reg("low_err_q", Ty::BIT);
        let lerr_q = lerr.q();
        b.set_next(
            low,
            rdata.clone(),
            Some(rfire.clone().and(half_q.clone().not())),
        );
        b.set_next(
            lerr,
            err_now.clone(),
            Some(rfire.clone().and(half_q.clone().not())),
        );
        b.set_next(
            half,
            Expr::mux(
                start.clone(),
                Expr::bit_const(false),
                half_q.clone().xor(rfire.clone()),
            ),
            None,
        );
        done_instr = rfire.clone().and(half_q);
        data = Expr::concat(vec![err_now.or(lerr_q), rdata.clone(), low_q]);
        b.set_next(rx, lit(0, lane_bits), None);
        b.wire("rx_lane_unused", rx_q);
    } else {
        let lanes = bus_bytes / INSTR_BYTES;
        let mut pick = rdata.slice(127, 0);
        for l in 1..lanes {
            pick = Expr::mux(
                rx_q.clone().eq(lit(u64::from(l), lane_bits)),
                rdata.slice(128 * l + 127, 128 * l),
                pick,
            );
        }
        done_instr = rfire.clone();
        data = Expr::concat(vec![err_now, pick]);
        let start_lane = if lanes > 1 {
            prog_addr_lane(&Expr::sig("prog_addr", u(aw)), lanes)
        } else {
            lit(0, lane_bits)
        };
        let next = if lanes > 1 {
            rx_q.clone().add(lit(1, lane_bits))
        } else {
            rx_q.clone()
        };
        b.set_next(
            rx,
            Expr::mux(start.clone(), start_lane, next),
            Some(start.clone().or(rfire.clone())),
        );
    }
    let done_instr = b.wire("got", done_instr);
    let one = lit(1, cw);
    b.set_next(
        inflight,
        Expr::mux(
            start.clone(),
            lit(0, cw),
            Expr::mux(
                issue.clone(),
                n.clone(),
                Expr::mux(
                    done_instr.clone(),
                    inflight_q.clone().sub(one),
                    inflight_q.clone(),
                ),
            ),
        ),
        None,
    );
    b.wire("rlast_unused", rlast);
    b.instance(
        "q",
        queue,
        vec![
            ("clk", crate::rtl::Conn::Input(Expr::sig("clk", Ty::BIT))),
            (
                "rst",
                crate::rtl::Conn::Input(Expr::sig("rst", Ty::BIT).or(start)),
            ),
            ("in_valid", crate::rtl::Conn::Input(done_instr)),
            ("in_data", crate::rtl::Conn::Input(data)),
            ("out_ready", crate::rtl::Conn::Input(i_ready)),
            (
                "in_ready",
                crate::rtl::Conn::Output("q_in_ready_unused".into()),
            ),
            ("out_valid", crate::rtl::Conn::Output("i_valid".into())),
            ("out_data", crate::rtl::Conn::Output("i_data".into())),
            ("count", crate::rtl::Conn::Output("q_count".into())),
        ],
    );
    b.declare_wire("q_in_ready_unused", Ty::BIT);
    b.assign("ar_addr", ar_addr_q);
    b.assign("ar_len", arlen_q);
    b.assign("ar_size", lit(u64::from(beat.trailing_zeros()), 3));
    b.assign("ar_valid", arv_q.clone());
    b.assign("r_ready", Expr::bit_const(true));
    b.assign("idle", busy_burst.not().and(arv_q.not()));
    b.finish()
}

/// The byte-lane group (of 16 bytes) of `addr` on a bus of `lanes` groups.
fn prog_addr_lane(addr: &Expr, lanes: u32) -> Expr {
    let bits = lanes.trailing_zeros();
    addr.slice(3 + bits, 4)
}
