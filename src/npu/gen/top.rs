//! The npu top: the AXI4 master (`m_axi_*`) and AXI4-Lite slave (`s_axi_*`) ports, `irq`, and
//! the register block, fetch and sequencer wired together.

use super::{lit, u};
use crate::npu::regs::COUNTERS;
use crate::npu::Geometry;
use crate::rtl::{Conn, Expr, Module, ModuleBuilder, Ty};

use super::AXIL_ADDR_BITS;

fn i(e: Expr) -> Conn {
    Conn::Input(e)
}

fn o(name: &str) -> Conn {
    Conn::Output(name.to_string())
}

/// The top module `name`.
pub fn top(name: &str, g: &Geometry) -> Module {
    let aw = g.axi_addr_bits;
    let dw = 8 * g.axi_bytes;
    let mut b = ModuleBuilder::new(name);
    b.doc(format!(
        "npu: {}x{} {} array, AXI4 master ({dw}-bit data, {aw}-bit address), AXI4-Lite registers.",
        g.rows,
        g.cols,
        g.dataflow.as_str().to_uppercase()
    ));
    b.doc("Register map, instruction set and DRAM layout: docs/npu.md and <name>_regs.h.");
    b.clock_and_reset();
    let clk = Expr::sig("clk", Ty::BIT);
    let rst = Expr::sig("rst", Ty::BIT);
    // AXI4 master.
    b.outputs([
        ("m_axi_araddr", u(aw), "read address"),
        ("m_axi_arlen", u(8), "read burst length - 1"),
        ("m_axi_arsize", u(3), "read beat size, log2 bytes"),
        ("m_axi_arburst", u(2), "read burst type (INCR)"),
        ("m_axi_arvalid", Ty::BIT, "read address valid"),
        ("m_axi_rready", Ty::BIT, "read data ready"),
        ("m_axi_awaddr", u(aw), "write address"),
        ("m_axi_awlen", u(8), "write burst length - 1"),
        ("m_axi_awsize", u(3), "write beat size, log2 bytes"),
        ("m_axi_awburst", u(2), "write burst type (INCR)"),
        ("m_axi_awvalid", Ty::BIT, "write address valid"),
        ("m_axi_wdata", u(dw), "write data"),
        ("m_axi_wstrb", u(dw / 8), "write byte strobes"),
        ("m_axi_wlast", Ty::BIT, "last beat of a write burst"),
        ("m_axi_wvalid", Ty::BIT, "write data valid"),
        ("m_axi_bready", Ty::BIT, "write response ready"),
    ]);
    let [arready, rdata, rresp, rlast, rvalid, awready, wready, bresp, bvalid] = b.inputs([
        ("m_axi_arready", Ty::BIT, "read address ready"),
        ("m_axi_rdata", u(dw), "read data"),
        ("m_axi_rresp", u(2), "read response"),
        ("m_axi_rlast", Ty::BIT, "last beat of a read burst"),
        ("m_axi_rvalid", Ty::BIT, "read data valid"),
        ("m_axi_awready", Ty::BIT, "write address ready"),
        ("m_axi_wready", Ty::BIT, "write data ready"),
        ("m_axi_bresp", u(2), "write response"),
        ("m_axi_bvalid", Ty::BIT, "write response valid"),
    ]);
    // AXI4-Lite slave.
    let a12 = u(AXIL_ADDR_BITS);
    let lite_in = b.inputs([
        ("s_axi_awaddr", a12, "register write address"),
        ("s_axi_awvalid", Ty::BIT, "register write address valid"),
        ("s_axi_wdata", u(32), "register write data"),
        ("s_axi_wstrb", u(4), "register write strobes"),
        ("s_axi_wvalid", Ty::BIT, "register write data valid"),
        ("s_axi_bready", Ty::BIT, "register write response ready"),
        ("s_axi_araddr", a12, "register read address"),
        ("s_axi_arvalid", Ty::BIT, "register read address valid"),
        ("s_axi_rready", Ty::BIT, "register read data ready"),
    ]);
    let lite_out = [
        ("s_axi_awready", Ty::BIT, "register write address ready"),
        ("s_axi_wready", Ty::BIT, "register write data ready"),
        ("s_axi_bresp", u(2), "register write response"),
        ("s_axi_bvalid", Ty::BIT, "register write response valid"),
        ("s_axi_arready", Ty::BIT, "register read address ready"),
        ("s_axi_rdata", u(32), "register read data"),
        ("s_axi_rresp", u(2), "register read response"),
        ("s_axi_rvalid", Ty::BIT, "register read data valid"),
    ];
    b.outputs(lite_out);
    b.output("irq", Ty::BIT, "interrupt: done, when enabled (IRQ_ENABLE)");

    // Wires between the blocks.
    for (n, ty) in [
        ("start", Ty::BIT),
        ("soft_reset", Ty::BIT),
        ("prog_addr", u(aw)),
        ("prog_len", u(32)),
        ("base0", u(aw)),
        ("base1", u(aw)),
        ("base2", u(aw)),
        ("base3", u(aw)),
        ("busy", Ty::BIT),
        ("done_event", Ty::BIT),
        ("error", u(8)),
        ("error_pc", u(32)),
        ("instructions", u(64)),
        ("fetch_start", Ty::BIT),
        ("fetch_stop", Ty::BIT),
        ("fetch_idle", Ty::BIT),
        ("i_valid", Ty::BIT),
        ("i_data", u(129)),
        ("i_ready", Ty::BIT),
        ("lq_valid_unused", Ty::BIT),
        ("cq_valid_unused", Ty::BIT),
        ("sq_valid_unused", Ty::BIT),
        ("q_data_unused", u(128)),
    ] {
        b.declare_wire(n, ty);
    }
    let sig = |n: &str, ty: Ty| Expr::sig(n, ty);
    // Cycles from start to done.
    let cycles = b.reg("cycles_q", u(64));
    let cq = cycles.q();
    let start = sig("start", Ty::BIT);
    b.set_next(
        cycles,
        Expr::mux(start.clone(), lit(0, 64), cq.clone().add(lit(1, 64))),
        Some(start.clone().or(sig("busy", Ty::BIT))),
    );
    let mut regs_conns = vec![("clk", i(clk.clone())), ("rst", i(rst.clone()))];
    let lite_names = [
        "s_axi_awaddr",
        "s_axi_awvalid",
        "s_axi_wdata",
        "s_axi_wstrb",
        "s_axi_wvalid",
        "s_axi_bready",
        "s_axi_araddr",
        "s_axi_arvalid",
        "s_axi_rready",
    ];
    for (n, e) in lite_names.iter().zip(lite_in) {
        regs_conns.push((n, i(e)));
    }
    for (n, _, _) in lite_out {
        regs_conns.push((n, o(n)));
    }
    regs_conns.extend([
        ("busy", i(sig("busy", Ty::BIT))),
        ("done_event", i(sig("done_event", Ty::BIT))),
        ("error", i(sig("error", u(8)))),
        ("error_pc", i(sig("error_pc", u(32)))),
    ]);
    let cnt_names: Vec<String> = COUNTERS
        .iter()
        .map(|(n, _)| format!("cnt_{}", n.to_lowercase()))
        .collect();
    for (k, (n, _)) in COUNTERS.iter().enumerate() {
        let v = match *n {
            "CYCLES" => cq.clone(),
            "INSTRUCTIONS" => sig("instructions", u(64)),
            // The units that count the rest are not built yet.
            _ => lit(0, 64),
        };
        regs_conns.push((cnt_names[k].as_str(), i(v)));
    }
    regs_conns.extend([
        ("start", o("start")),
        ("soft_reset", o("soft_reset")),
        ("prog_addr", o("prog_addr")),
        ("prog_len", o("prog_len")),
        ("base0", o("base0")),
        ("base1", o("base1")),
        ("base2", o("base2")),
        ("base3", o("base3")),
        ("irq", o("irq")),
    ]);
    b.instance("regs", &format!("{name}_regs"), regs_conns);
    b.wire(
        "bases_unused",
        Expr::concat(vec![
            sig("base0", u(aw)),
            sig("base1", u(aw)),
            sig("base2", u(aw)),
            sig("base3", u(aw)),
        ]),
    );

    let prog_addr = sig("prog_addr", u(aw));
    b.instance(
        "fetch",
        &format!("{name}_fetch"),
        vec![
            ("clk", i(clk.clone())),
            ("rst", i(rst.clone())),
            ("start", i(sig("fetch_start", Ty::BIT))),
            ("stop", i(sig("fetch_stop", Ty::BIT))),
            ("prog_addr", i(prog_addr.clone())),
            ("prog_len", i(sig("prog_len", u(32)))),
            ("ar_ready", i(arready)),
            ("r_data", i(rdata)),
            ("r_resp", i(rresp)),
            ("r_last", i(rlast)),
            ("r_valid", i(rvalid)),
            ("i_ready", i(sig("i_ready", Ty::BIT))),
            ("ar_addr", o("m_axi_araddr")),
            ("ar_len", o("m_axi_arlen")),
            ("ar_size", o("m_axi_arsize")),
            ("ar_valid", o("m_axi_arvalid")),
            ("r_ready", o("m_axi_rready")),
            ("i_valid", o("i_valid")),
            ("i_data", o("i_data")),
            ("idle", o("fetch_idle")),
        ],
    );
    b.assign("m_axi_arburst", lit(1, 2));
    let aligned = prog_addr.slice(3, 0).eq(lit(0, 4));
    b.instance(
        "seq",
        &format!("{name}_seq"),
        vec![
            ("clk", i(clk)),
            ("rst", i(rst)),
            ("start", i(start)),
            ("aligned", i(aligned)),
            ("stop_req", i(sig("soft_reset", Ty::BIT))),
            ("prog_len", i(sig("prog_len", u(32)))),
            ("i_valid", i(sig("i_valid", Ty::BIT))),
            ("i_data", i(sig("i_data", u(129)))),
            ("fetch_idle", i(sig("fetch_idle", Ty::BIT))),
            ("units_idle", i(Expr::bit_const(true))),
            ("lq_ready", i(Expr::bit_const(false))),
            ("cq_ready", i(Expr::bit_const(false))),
            ("sq_ready", i(Expr::bit_const(false))),
            ("i_ready", o("i_ready")),
            ("fetch_start", o("fetch_start")),
            ("fetch_stop", o("fetch_stop")),
            ("lq_valid", o("lq_valid_unused")),
            ("cq_valid", o("cq_valid_unused")),
            ("sq_valid", o("sq_valid_unused")),
            ("q_data", o("q_data_unused")),
            ("busy", o("busy")),
            ("done_event", o("done_event")),
            ("error", o("error")),
            ("error_pc", o("error_pc")),
            ("instructions", o("instructions")),
        ],
    );
    // The write channels: idle until the store unit exists.
    b.assign("m_axi_awaddr", lit(0, aw));
    b.assign("m_axi_awlen", lit(0, 8));
    b.assign(
        "m_axi_awsize",
        lit(u64::from(g.axi_bytes.trailing_zeros()), 3),
    );
    b.assign("m_axi_awburst", lit(1, 2));
    b.assign("m_axi_awvalid", Expr::bit_const(false));
    b.assign("m_axi_wdata", lit(0, dw));
    b.assign("m_axi_wstrb", lit(0, dw / 8));
    b.assign("m_axi_wlast", Expr::bit_const(false));
    b.assign("m_axi_wvalid", Expr::bit_const(false));
    b.assign("m_axi_bready", Expr::bit_const(true));
    b.wire(
        "wr_unused",
        Expr::concat(vec![awready, wready, bresp, bvalid]),
    );
    b.finish()
}
