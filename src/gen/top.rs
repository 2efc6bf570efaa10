//! The array's top module: AXI-Stream ports, input control, skew, PE grid, deskew, the
//! result-row valid/last tracking and the output FIFO.

use super::control::{os_control, ws_control};
use super::pe::{clock_conns, PeTypes};
use super::port_doc;
use super::systolic::{delay_line, deskew, lane, os_grid, skew, ws_grid};
use crate::config::{ArrayConfig, Dataflow};
use crate::rtl::{Conn, Expr, Module, ModuleBuilder, Ty};
use crate::timing;

/// Names of the modules a design is made of.
pub struct Names {
    /// Top module.
    pub top: String,
    /// Processing element.
    pub pe: String,
    /// Output FIFO.
    pub fifo: String,
}

impl Names {
    /// Module names derived from the design name.
    pub fn new(name: &str) -> Names {
        Names {
            top: name.to_string(),
            pe: format!("{name}_pe"),
            fifo: format!("{name}_ofifo"),
        }
    }
}

/// Declares the result stream ports, drives them from the FIFO's read side and returns the
/// output handshake `pop` (a row leaves this cycle).
fn output_stage(b: &mut ModuleBuilder, cfg: &ArrayConfig) -> Expr {
    let t = PeTypes::of(cfg);
    let data_w = cfg.cols * t.acc.width;
    b.output("c_tdata", Ty::unsigned(data_w), port_doc::C_TDATA);
    b.output("c_tvalid", Ty::BIT, port_doc::C_TVALID);
    let c_tready = b.input("c_tready", Ty::BIT, port_doc::C_TREADY);
    let last_doc = match cfg.dataflow {
        Dataflow::Os => port_doc::OS_C_TLAST,
        Dataflow::Ws => port_doc::WS_C_TLAST,
    };
    b.output("c_tlast", Ty::BIT, last_doc);
    let valid = b.declare_wire("ofifo_valid", Ty::BIT);
    let data = b.declare_wire("ofifo_data", Ty::unsigned(data_w + 1));
    b.assign("c_tvalid", valid.clone());
    b.assign("c_tdata", data.slice(data_w - 1, 0));
    b.assign("c_tlast", data.bit(data_w));
    b.wire("pop", valid.and(c_tready))
}

/// Connects the FIFO's write side: `wr_en`, and a row made of `last` and the result columns.
fn fifo_instance(b: &mut ModuleBuilder, fifo: &str, wr_en: Expr, last: Expr, cols: Vec<Expr>) {
    let mut parts = vec![last];
    parts.extend(cols.into_iter().rev().map(|c| c.cast(false)));
    let mut conns = clock_conns();
    conns.extend([
        ("wr_en", Conn::Input(wr_en)),
        ("wr_data", Conn::Input(Expr::concat(parts))),
        ("rd_ready", Conn::Input(Expr::sig("c_tready", Ty::BIT))),
        ("rd_valid", Conn::Output("ofifo_valid".into())),
        ("rd_data", Conn::Output("ofifo_data".into())),
    ]);
    b.instance("ofifo", fifo, conns);
}

/// Output-stationary top module.
pub fn os_top(cfg: &ArrayConfig, names: &Names) -> Module {
    let t = PeTypes::of(cfg);
    let (rows, cols) = (cfg.rows, cfg.cols);
    let mut b = ModuleBuilder::new(&names.top);
    for line in port_doc::os_waveform(cfg) {
        b.doc(line);
    }
    b.clock_and_reset();
    let a_tdata = b.input(
        "a_tdata",
        Ty::unsigned(rows * t.a.width),
        port_doc::OS_A_TDATA,
    );
    b.input("a_tvalid", Ty::BIT, "A beat valid");
    b.output("a_tready", Ty::BIT, "A beat accepted (together with B)");
    b.input("a_tlast", Ty::BIT, port_doc::OS_A_TLAST);
    let b_tdata = b.input(
        "b_tdata",
        Ty::unsigned(cols * t.b.width),
        port_doc::OS_B_TDATA,
    );
    b.input("b_tvalid", Ty::BIT, "B beat valid");
    b.output("b_tready", Ty::BIT, "B beat accepted (together with A)");
    let pop = output_stage(&mut b, cfg);

    let ctl = os_control(&mut b, cfg, pop);
    // Bubbles carry A = 0, so a PE accumulates nothing in a cycle without an accepted beat.
    let a_beat = b.wire(
        "a_beat",
        Expr::mux(
            ctl.take,
            a_tdata,
            Expr::zero(Ty::unsigned(rows * t.a.width)),
        ),
    );
    let a_lanes = (0..rows).map(|i| lane(&a_beat, i, t.a)).collect();
    let b_lanes = (0..cols).map(|j| lane(&b_tdata, j, t.b)).collect();
    let a_rows = skew(&mut b, "a_skew_r", a_lanes);
    let b_cols = skew(&mut b, "b_skew_c", b_lanes);
    // One delay line of the tile-last flag: tap i feeds row i (the row skew); tap cols+1+i is
    // when PE (i, cols-1) captures its finished sum, which the row-valid chain mirrors.
    let last_taps = delay_line(&mut b, "last_d", ctl.take_last, cols + rows);
    let l_rows: Vec<Expr> = last_taps[..rows as usize].to_vec();
    let col_out = os_grid(&mut b, cfg, &names.pe, &a_rows, &l_rows, &b_cols);
    let aligned = deskew(&mut b, "c_dsk_c", col_out);

    // Row-valid chain: a copy of the last column's drain chain carrying (valid, last) flags.
    let mut above_v = Expr::bit_const(false);
    let mut above_l = Expr::bit_const(false);
    for i in (0..rows).rev() {
        let cap = last_taps[(cols + 1 + i) as usize].clone();
        let is_last = Expr::bit_const(i + 1 == rows);
        let v = b.delay(
            &format!("row_v{i}"),
            Expr::mux(cap.clone(), Expr::bit_const(true), above_v),
        );
        let l = b.delay(&format!("row_l{i}"), Expr::mux(cap, is_last, above_l));
        above_v = v;
        above_l = l;
    }
    fifo_instance(&mut b, &names.fifo, above_v, above_l, aligned);
    b.finish()
}

/// Weight-stationary top module.
pub fn ws_top(cfg: &ArrayConfig, names: &Names) -> Module {
    let t = PeTypes::of(cfg);
    let (rows, cols) = (cfg.rows, cfg.cols);
    let mut b = ModuleBuilder::new(&names.top);
    for line in port_doc::ws_waveform(cfg) {
        b.doc(line);
    }
    b.clock_and_reset();
    let w_tdata = b.input(
        "w_tdata",
        Ty::unsigned(cols * t.b.width),
        port_doc::WS_W_TDATA,
    );
    b.input("w_tvalid", Ty::BIT, "weight row valid");
    b.output("w_tready", Ty::BIT, "weight row accepted");
    b.input("w_tlast", Ty::BIT, port_doc::WS_W_TLAST);
    let a_tdata = b.input(
        "a_tdata",
        Ty::unsigned(rows * t.a.width),
        port_doc::WS_A_TDATA,
    );
    b.input("a_tvalid", Ty::BIT, "A row valid");
    b.output("a_tready", Ty::BIT, "A row accepted");
    b.input("a_tlast", Ty::BIT, port_doc::WS_A_TLAST);
    let pop = output_stage(&mut b, cfg);

    let ctl = ws_control(&mut b, cfg, pop);
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
        &names.pe,
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
    fifo_instance(&mut b, &names.fifo, valid, last, aligned);
    b.finish()
}

/// The top module for the configured dataflow.
pub fn top(cfg: &ArrayConfig, names: &Names) -> Module {
    match cfg.dataflow {
        Dataflow::Os => os_top(cfg, names),
        Dataflow::Ws => ws_top(cfg, names),
    }
}
