//! The array's top module: AXI-Stream ports, input control, skew, PE grid, deskew, the
//! result-row valid/last tracking, the optional post-processing (an npu_core) and the output
//! FIFO.

use super::control::{os_control, ws_control};
use super::pe::{clock_conns, PeTypes};
use super::port_doc;
use super::systolic::{delay_line, deskew, lane, os_grid, skew, ws_grid};
use crate::config::{ArrayConfig, Dataflow, PostprocConfig};
use crate::model::params::PARAM_WORDS;
use crate::rtl::{bits_for, Conn, Expr, Module, ModuleBuilder, Ty};
use crate::timing::{self, BIAS_QUEUE_DEPTH};

pub use super::names::Names;

/// Width of one result lane on `c_tdata`: the accumulator, or the post-processed output.
pub(crate) fn result_lane_bits(cfg: &ArrayConfig, post: Option<&PostprocConfig>) -> u32 {
    post.map_or(cfg.acc_bits(), |p| p.out_bits)
}

/// Declares the result stream ports, drives them from the FIFO's read side and returns the
/// output handshake `pop` (a row leaves this cycle).
fn output_stage(b: &mut ModuleBuilder, cfg: &ArrayConfig, post: Option<&PostprocConfig>) -> Expr {
    let data_w = cfg.cols * result_lane_bits(cfg, post);
    let data_doc = if post.is_some() {
        port_doc::Y_TDATA
    } else {
        port_doc::C_TDATA
    };
    let last_doc = match cfg.dataflow {
        Dataflow::Os => port_doc::OS_C_TLAST,
        Dataflow::Ws => port_doc::WS_C_TLAST,
    };
    b.output("c_tdata", Ty::unsigned(data_w), data_doc);
    b.output("c_tvalid", Ty::BIT, port_doc::C_TVALID);
    let c_tready = b.input("c_tready", Ty::BIT, port_doc::C_TREADY);
    b.output("c_tlast", Ty::BIT, last_doc);
    let valid = b.declare_wire("ofifo_valid", Ty::BIT);
    let data = b.declare_wire("ofifo_data", Ty::unsigned(data_w + 1));
    b.assign("c_tvalid", valid.clone());
    b.assign("c_tdata", data.slice(data_w - 1, 0));
    b.assign("c_tlast", data.bit(data_w));
    b.wire("pop", valid.and(c_tready))
}

/// The bias stream, its queue and occupancy counter (npu_core only). Returns the queue's room
/// flag for the control; the control's committing beat drives the wire `param_take`, the result
/// path drives `param_pop`.
fn bias_queue(b: &mut ModuleBuilder, cfg: &ArrayConfig, names: &Names) -> Expr {
    let w = cfg.cols * 32 * PARAM_WORDS as u32;
    let param_tdata = b.input("param_tdata", Ty::unsigned(w), port_doc::PARAM_TDATA);
    b.input("param_tvalid", Ty::BIT, "parameter beat valid");
    b.output("param_tready", Ty::BIT, port_doc::PARAM_TREADY);
    let take = b.declare_wire("param_take", Ty::BIT);
    let pop = b.declare_wire("param_pop", Ty::BIT);
    let ty = Ty::unsigned(bits_for(u64::from(BIAS_QUEUE_DEPTH)));
    let cnt = b.reg("param_count", ty);
    let q = cnt.q();
    let inc = Expr::mux(take.clone(), Expr::lit(1, ty), Expr::zero(ty));
    let dec = Expr::mux(pop.clone(), Expr::lit(1, ty), Expr::zero(ty));
    b.set_next(cnt, q.clone().add(inc).sub(dec), None);
    b.declare_wire("paramq_valid_unused", Ty::BIT);
    b.declare_wire("paramq_data", Ty::unsigned(w));
    let mut conns = clock_conns();
    conns.extend([
        ("wr_en", Conn::Input(take)),
        ("wr_data", Conn::Input(param_tdata)),
        ("rd_ready", Conn::Input(pop)),
        ("rd_valid", Conn::Output("paramq_valid_unused".into())),
        ("rd_data", Conn::Output("paramq_data".into())),
    ]);
    b.instance("paramq", &names.paramq, conns);
    b.wire(
        "param_room",
        q.ne(Expr::lit(i128::from(BIAS_QUEUE_DEPTH), ty)),
    )
}

/// Rows (valid, last, lanes) to the FIFO, through the post-processing pipeline if any.
fn result_path(
    b: &mut ModuleBuilder,
    cfg: &ArrayConfig,
    names: &Names,
    post: Option<&PostprocConfig>,
    valid: Expr,
    last: Expr,
    cols: Vec<Expr>,
) {
    let data = Expr::concat(cols.into_iter().rev().map(|c| c.cast(false)).collect());
    let Some(p) = post else {
        fifo_instance(b, &names.fifo, valid, last, data);
        return;
    };
    // A tile's bias leaves the queue as its last row enters the pipeline.
    b.assign("param_pop", valid.clone().and(last.clone()));
    let out_valid = b.declare_wire("post_valid", Ty::BIT);
    let out_last = b.declare_wire("post_last", Ty::BIT);
    let out_data = b.declare_wire("post_data", Ty::unsigned(cfg.cols * p.out_bits));
    let mut conns = clock_conns();
    conns.extend([
        ("in_valid", Conn::Input(valid)),
        ("in_last", Conn::Input(last)),
        ("in_data", Conn::Input(data)),
        (
            "params",
            Conn::Input(Expr::sig(
                "paramq_data",
                Ty::unsigned(cfg.cols * 32 * PARAM_WORDS as u32),
            )),
        ),
        ("out_valid", Conn::Output("post_valid".into())),
        ("out_last", Conn::Output("post_last".into())),
        ("out_data", Conn::Output("post_data".into())),
    ]);
    b.instance("post", &names.post, conns);
    fifo_instance(b, &names.fifo, out_valid, out_last, out_data);
}

/// Connects the FIFO's write side: `wr_en`, and a row made of `last` and `data`.
fn fifo_instance(b: &mut ModuleBuilder, fifo: &str, wr_en: Expr, last: Expr, data: Expr) {
    let mut conns = clock_conns();
    conns.extend([
        ("wr_en", Conn::Input(wr_en)),
        ("wr_data", Conn::Input(Expr::concat(vec![last, data]))),
        ("rd_ready", Conn::Input(Expr::sig("c_tready", Ty::BIT))),
        ("rd_valid", Conn::Output("ofifo_valid".into())),
        ("rd_data", Conn::Output("ofifo_data".into())),
    ]);
    b.instance("ofifo", fifo, conns);
}

/// Output-stationary top module (an npu_core when `post` is given).
pub(crate) fn os_top(cfg: &ArrayConfig, post: Option<&PostprocConfig>, names: &Names) -> Module {
    let t = PeTypes::of(cfg);
    let (rows, cols) = (cfg.rows, cfg.cols);
    let mut b = ModuleBuilder::new(&names.top);
    for line in port_doc::os_waveform(cfg, post) {
        b.doc(line);
    }
    b.clock_and_reset();
    let a_docs = [
        port_doc::OS_A_TDATA,
        "A beat valid",
        "A beat accepted (together with B)",
    ];
    let (a_tdata, _) = b.sink("a", Ty::unsigned(rows * t.a.width), a_docs);
    b.input("a_tlast", Ty::BIT, port_doc::OS_A_TLAST);
    let b_docs = [
        port_doc::OS_B_TDATA,
        "B beat valid",
        "B beat accepted (together with A)",
    ];
    let (b_tdata, _) = b.sink("b", Ty::unsigned(cols * t.b.width), b_docs);
    let param_room = post.map(|_| bias_queue(&mut b, cfg, names));
    let pop = output_stage(&mut b, cfg, post);

    let depth = cfg.fifo_depth(timing::post_latency(post));
    let ctl = os_control(&mut b, cfg, depth, pop, param_room);
    if post.is_some() {
        b.assign("param_take", ctl.take_last.clone());
    }
    // Input stage: the beat and its flags are registered as they arrive, so the gating below
    // (and its fan-out to every skew register) starts at flip-flops, not at the handshake.
    // Bubbles carry A = 0, so a PE accumulates nothing in a cycle without an accepted beat.
    let a_in = b.delay("a_in", a_tdata);
    let b_in = b.delay("b_in", b_tdata);
    let take_q = b.delay("take_q", ctl.take);
    let last_q = b.delay("last_q", ctl.take_last);
    let a_beat = b.wire(
        "a_beat",
        Expr::mux(take_q, a_in, Expr::zero(Ty::unsigned(rows * t.a.width))),
    );
    let a_lanes = (0..rows).map(|i| lane(&a_beat, i, t.a)).collect();
    let b_lanes = (0..cols).map(|j| lane(&b_in, j, t.b)).collect();
    let a_rows = skew(&mut b, "a_skew_r", a_lanes);
    let b_cols = skew(&mut b, "b_skew_c", b_lanes);
    // One delay line of the tile-last flag: tap i feeds row i (the row skew); tap cols+1+i is
    // when PE (i, cols-1) captures its finished sum, which the row-valid chain mirrors.
    let pipe = cfg.pipeline;
    let last_taps = delay_line(&mut b, "last_d", last_q, cols + rows + pipe);
    let l_rows: Vec<Expr> = last_taps[..rows as usize].to_vec();
    let col_out = os_grid(&mut b, cfg, names, &a_rows, &l_rows, &b_cols);
    let aligned = deskew(&mut b, "c_dsk_c", col_out);

    // Row-valid chain: a copy of the last column's drain chain carrying (valid, last) flags.
    let mut above_v = Expr::bit_const(false);
    let mut above_l = Expr::bit_const(false);
    for i in (0..rows).rev() {
        let cap = last_taps[(cols + 1 + i + pipe) as usize].clone();
        let is_last = Expr::bit_const(i + 1 == rows);
        let v = b.delay(
            &format!("row_v{i}"),
            Expr::mux(cap.clone(), Expr::bit_const(true), above_v),
        );
        let l = b.delay(&format!("row_l{i}"), Expr::mux(cap, is_last, above_l));
        above_v = v;
        above_l = l;
    }
    result_path(&mut b, cfg, names, post, above_v, above_l, aligned);
    b.finish()
}

/// Weight-stationary top module (an npu_core when `post` is given).
pub(crate) fn ws_top(cfg: &ArrayConfig, post: Option<&PostprocConfig>, names: &Names) -> Module {
    let t = PeTypes::of(cfg);
    let (rows, cols) = (cfg.rows, cfg.cols);
    let mut b = ModuleBuilder::new(&names.top);
    for line in port_doc::ws_waveform(cfg, post) {
        b.doc(line);
    }
    b.clock_and_reset();
    let w_docs = [
        port_doc::WS_W_TDATA,
        "weight row valid",
        "weight row accepted",
    ];
    let (w_tdata, _) = b.sink("w", Ty::unsigned(cols * t.b.width), w_docs);
    b.input("w_tlast", Ty::BIT, port_doc::WS_W_TLAST);
    let a_docs = [port_doc::WS_A_TDATA, "A row valid", "A row accepted"];
    let (a_tdata, _) = b.sink("a", Ty::unsigned(rows * t.a.width), a_docs);
    b.input("a_tlast", Ty::BIT, port_doc::WS_A_TLAST);
    let param_room = post.map(|_| bias_queue(&mut b, cfg, names));
    let pop = output_stage(&mut b, cfg, post);

    let depth = cfg.fifo_depth(timing::post_latency(post));
    let ctl = ws_control(&mut b, cfg, depth, pop, param_room);
    if post.is_some() {
        b.assign("param_take", ctl.first.clone());
    }
    let w_width = cols * t.b.width;
    let w_beat = b.wire(
        "w_beat",
        Expr::mux(ctl.w_fill, Expr::zero(Ty::unsigned(w_width)), w_tdata),
    );
    let w_lanes: Vec<Expr> = (0..cols).map(|j| lane(&w_beat, j, t.b)).collect();
    let a_lanes = (0..rows).map(|i| lane(&a_tdata, i, t.a)).collect();
    let a_rows = skew(&mut b, "a_skew_r", a_lanes);
    let first_taps = delay_line(&mut b, "first_d", ctl.first, rows - 1);
    let col_out = ws_grid(
        &mut b,
        cfg,
        names,
        &a_rows,
        &first_taps,
        &w_lanes,
        &ctl.w_shift,
    );
    let aligned = deskew(&mut b, "c_dsk_c", col_out);
    let delay = timing::write_delay(cfg);
    let valid = delay_line(&mut b, "row_v", ctl.take, delay)
        .pop()
        .expect("taps");
    let last = delay_line(&mut b, "row_l", ctl.take_last, delay)
        .pop()
        .expect("taps");
    result_path(&mut b, cfg, names, post, valid, last, aligned);
    b.finish()
}

/// The top module for the configured dataflow (an npu_core when `post` is given).
pub fn top(cfg: &ArrayConfig, post: Option<&PostprocConfig>, names: &Names) -> Module {
    match cfg.dataflow {
        Dataflow::Os => os_top(cfg, post, names),
        Dataflow::Ws => ws_top(cfg, post, names),
    }
}
