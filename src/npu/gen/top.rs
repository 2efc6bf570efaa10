//! The npu top: the AXI4 master (`m_axi_*`) and AXI4-Lite slave (`s_axi_*`) ports, `irq`;
//! the register block, instruction fetch, the read arbiter, the sequencer, the three unit
//! queues, the token counters, the five buffers, the load, compute and store units and the
//! performance counters wired together.

use super::{block, buffers, lit, u};
use crate::npu::geometry::RECORD_BYTES;
use crate::npu::isa::INSTR_BYTES;
use crate::npu::regs::{ErrorCode, COUNTERS};
use crate::npu::Geometry;
use crate::rtl::{bits_for, Conn, Expr, Module, ModuleBuilder, Ty};

use super::AXIL_ADDR_BITS;

/// Instructions each unit queue offers room for.
pub const UNIT_QUEUE_DEPTH: u32 = 4;
/// Register stages between the sequencer's dispatch and the unit queues' push (one, in
/// `unit_queues`): each queue holds that many entries more than it offers room for.
pub const UNIT_QUEUE_PUSH_STAGES: u32 = 1;
/// Width of the run-time token counters: the sequencer keeps dispatched tokens at most
/// 255, and a unit runs at most its queue and one instruction behind it.
const TOKEN_BITS: u32 = 10;
const BASE_PORTS: [&str; 4] = ["base0", "base1", "base2", "base3"];

/// Module names the top instantiates.
pub struct Names {
    /// Instruction fetch.
    pub fetch: String,
    /// The AXI read arbiter.
    pub rd_arb: String,
    /// The sequencer.
    pub seq: String,
    /// A unit queue of 160 bits (instruction and pc): load and store.
    pub queue_pc: String,
    /// A unit queue of 128 bits: compute.
    pub queue: String,
    /// The load unit.
    pub load: String,
    /// The compute unit.
    pub compute: String,
    /// The store unit.
    pub store: String,
    /// A two-entry queue of read requests (address and length) between the load unit and the
    /// read arbiter.
    pub ar_skid: String,
    /// A two-entry queue of read beats (data, response, last) between the read arbiter and the
    /// load unit.
    pub r_skid: String,
}

fn i(e: Expr) -> Conn {
    Conn::Input(e)
}

fn o(name: &str) -> Conn {
    Conn::Output(name.to_string())
}

/// The top module `name`.
pub fn top(name: &str, g: &Geometry, n: &Names) -> Module {
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
    // AXI4 master.
    b.outputs([
        (
            "m_axi_arid",
            u(1),
            "read ID (always 0: one ID, bursts answered in order)",
        ),
        ("m_axi_araddr", u(aw), "read address"),
        ("m_axi_arlen", u(8), "read burst length - 1"),
        ("m_axi_arsize", u(3), "read beat size, log2 bytes"),
        ("m_axi_arburst", u(2), "read burst type (INCR)"),
        ("m_axi_arvalid", Ty::BIT, "read address valid"),
        ("m_axi_rready", Ty::BIT, "read data ready"),
        ("m_axi_awid", u(1), "write ID (always 0)"),
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
    let ids = b.inputs([
        ("m_axi_rid", u(1), "read ID (one ID: not used)"),
        ("m_axi_bid", u(1), "write response ID (one ID: not used)"),
    ]);
    b.wire("m_axi_ids_unused", Expr::concat(ids.to_vec()));
    // AXI4-Lite slave.
    let a12 = u(AXIL_ADDR_BITS);
    let lite_ports = [
        ("s_axi_awaddr", a12, "register write address"),
        ("s_axi_awvalid", Ty::BIT, "register write address valid"),
        ("s_axi_wdata", u(32), "register write data"),
        ("s_axi_wstrb", u(4), "register write strobes"),
        ("s_axi_wvalid", Ty::BIT, "register write data valid"),
        ("s_axi_bready", Ty::BIT, "register write response ready"),
        ("s_axi_araddr", a12, "register read address"),
        ("s_axi_arvalid", Ty::BIT, "register read address valid"),
        ("s_axi_rready", Ty::BIT, "register read data ready"),
    ];
    let lite_in = b.inputs(lite_ports);
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

    let ins = Ins {
        arready,
        rdata,
        rresp,
        rlast,
        rvalid,
        awready,
        wready,
        bresp,
        bvalid,
    };
    let busy = sig("busy", Ty::BIT);
    regs_block(
        &mut b,
        name,
        g,
        lite_ports.map(|(n, _, _)| n).into_iter().zip(lite_in),
        &lite_out,
    );
    // START reaches hundreds of flip-flops across the chip: each user group gets its own
    // copy of the register (for the clock), all in the cycle the register file's is.
    for user in START_USERS {
        b.replica(&format!("start_{user}_q"), bit("start_next"));
    }
    control(&mut b, n, g, &ins);
    let bases: Vec<Expr> = (0..4).map(|k| sig(&format!("base{k}"), u(aw))).collect();
    unit_queues(&mut b, n);
    tokens(&mut b, &start_of("tok"));
    buffers(&mut b, g);
    units(&mut b, n, g, &ins, &bases);
    counters(&mut b, g, &start_of("cnt"), &busy, &ins);
    b.assign("m_axi_arburst", lit(1, 2));
    b.assign("m_axi_awburst", lit(1, 2));
    b.assign("m_axi_arid", lit(0, 1));
    b.assign("m_axi_awid", lit(0, 1));
    b.assign(
        "m_axi_awsize",
        lit(u64::from(g.axi_bytes.trailing_zeros()), 3),
    );
    b.finish()
}

/// The AXI4 master's inputs.
struct Ins {
    arready: Expr,
    rdata: Expr,
    rresp: Expr,
    rlast: Expr,
    rvalid: Expr,
    awready: Expr,
    wready: Expr,
    bresp: Expr,
    bvalid: Expr,
}

/// The AXI4 master port of a unit's port `p` (`aw_addr` -> `m_axi_awaddr`).
fn axi_port(p: &str) -> String {
    format!("m_axi_{}", p.replace('_', ""))
}

fn sig(n: &str, ty: Ty) -> Expr {
    Expr::sig(n, ty)
}

fn bit(n: &str) -> Expr {
    Expr::sig(n, Ty::BIT)
}

/// The status the registers show: busy, done, the error and its pc, with the units' AXI errors
/// merged into the sequencer's (the earliest instruction's in program order, a unit's unless
/// the host aborted). For the clock the merge takes three register stages (the inputs; the
/// earlier unit error; the unit's or the sequencer's), and every field passes through all
/// three, so the registers show one cycle's state, three cycles late.
fn status(b: &mut ModuleBuilder) -> [Expr; 4] {
    let mut d = |n: &str, e: Expr| b.delay(&format!("status_{n}_q"), e);
    let (le, se) = (d("le", bit("ld_err")), d("se", bit("st_err")));
    let lpc = d("lpc", sig("ld_err_pc", u(32)));
    let spc = d("spc", sig("st_err_pc", u(32)));
    let own = d("own1", sig("seq_error", u(8)));
    let own_pc = d("own_pc1", sig("seq_error_pc", u(32)));
    let busy = d("busy1", bit("seq_busy"));
    let done = d("done1", bit("seq_done_event"));
    let code = |e: ErrorCode| lit(e as u64, 8);
    let store_first = se
        .clone()
        .and(le.clone().not().or(spc.clone().lt(lpc.clone())));
    let unit = d("unit2", le.or(se));
    let unit_code = d(
        "unit_code2",
        Expr::mux(
            store_first.clone(),
            code(ErrorCode::AxiWrite),
            code(ErrorCode::AxiRead),
        ),
    );
    let unit_pc = d("unit_pc2", Expr::mux(store_first, spc, lpc));
    let (own, own_pc) = (d("own2", own), d("own_pc2", own_pc));
    let (busy, done) = (d("busy2", busy), d("done2", done));
    let wins = unit.and(own.clone().ne(code(ErrorCode::Aborted))).and(
        own.clone()
            .eq(code(ErrorCode::None))
            .or(unit_pc.clone().lt(own_pc.clone())),
    );
    [
        d("busy3", busy),
        d("done3", done),
        d("error3", Expr::mux(wins.clone(), unit_code, own)),
        d("error_pc3", Expr::mux(wins, unit_pc, own_pc)),
    ]
}

/// The register block, its wires to the rest and the counters' inputs.
fn regs_block(
    b: &mut ModuleBuilder,
    name: &str,
    g: &Geometry,
    lite_in: impl Iterator<Item = (&'static str, Expr)>,
    lite_out: &[(&str, Ty, &str); 8],
) {
    let aw = g.axi_addr_bits;
    for (n, ty) in [
        ("start_next", Ty::BIT),
        ("soft_reset", Ty::BIT),
        ("prog_addr", u(aw)),
        ("prog_len", u(32)),
        ("base0", u(aw)),
        ("base1", u(aw)),
        ("base2", u(aw)),
        ("base3", u(aw)),
    ] {
        b.declare_wire(n, ty);
    }
    let mut conns = vec![("clk", i(bit("clk"))), ("rst", i(bit("rst")))];
    for (n, e) in lite_in {
        conns.push((n, i(e)));
    }
    for (n, _, _) in lite_out {
        conns.push((n, o(n)));
    }
    for (p, e) in ["busy", "done_event", "error", "error_pc"]
        .into_iter()
        .zip(status(b))
    {
        conns.push((p, i(e)));
    }
    let cnt: Vec<String> = COUNTERS
        .iter()
        .map(|(n, _)| format!("cnt_{}", n.to_lowercase()))
        .collect();
    for c in &cnt {
        b.declare_wire(&format!("{c}_v"), u(64));
    }
    let cnt_v: Vec<String> = cnt.iter().map(|c| format!("{c}_v")).collect();
    for (k, c) in cnt.iter().enumerate() {
        conns.push((c.as_str(), i(sig(&cnt_v[k], u(64)))));
    }
    for p in [
        "start_next",
        "soft_reset",
        "prog_addr",
        "prog_len",
        "base0",
        "base1",
        "base2",
        "base3",
        "irq",
    ] {
        conns.push((p, o(p)));
    }
    b.instance("regs", &format!("{name}_regs"), conns);
    b.wire("busy", bit("seq_busy"));
}

/// Entries the read beats' queues keep free while RREADY is low: the beat in the register
/// before them.
pub const R_SKID_RESERVE: u32 = 1;

/// A small queue `name` (module `module`) between a producer and a consumer: its wires
/// `<name>_ready` (room, a register compare), `<name>_valid` and `<name>_data` (registers).
/// Only reset empties it. For the clock: neither side's handshake reaches through it.
fn skid(
    b: &mut ModuleBuilder,
    name: &str,
    module: &str,
    in_valid: Expr,
    in_data: Expr,
    out_ready: Expr,
) {
    let w = in_data.ty().width;
    for (p, ty) in [
        ("ready", Ty::BIT),
        ("valid", Ty::BIT),
        ("data", u(w)),
        ("count_unused", u(2)),
    ] {
        b.declare_wire(&format!("{name}_{p}"), ty);
    }
    let out = |p: &str| o(&format!("{name}_{p}"));
    b.instance(
        name,
        module,
        vec![
            ("clk", i(bit("clk"))),
            ("rst", i(bit("rst"))),
            ("in_valid", i(in_valid)),
            ("in_data", i(in_data)),
            ("out_ready", i(out_ready)),
            ("in_ready", out("ready")),
            ("out_valid", out("valid")),
            ("out_data", out("data")),
            ("count", out("count_unused")),
        ],
    );
}

/// Fetch, the read arbiter and the sequencer.
fn control(b: &mut ModuleBuilder, n: &Names, g: &Geometry, x: &Ins) {
    let aw = g.axi_addr_bits;
    // The load unit's read requests wait before the arbiter (its AR stages move on the
    // queue's room, not on the arbiter's and the memory's ready); its read beats wait after
    // it (no path from the unit through the arbiter and back). A request in the queue is one
    // the unit counts on, so only reset empties them.
    let ar = Expr::concat(vec![sig("ld_ar_len", u(8)), sig("ld_ar_addr", u(aw))]);
    skid(
        b,
        "ar_skid",
        &n.ar_skid,
        bit("ld_ar_valid"),
        ar,
        bit("arb_l_ar_ready"),
    );
    // A read beat is registered as it arrives, with whose it is (for the clock: RVALID from
    // the interconnect reaches flip-flops, not the queues' write enables), then queued. RREADY
    // is given only while the unit's queue has room for two beats, so the registered beat
    // always finds room (the queues keep that reserve, `R_SKID_RESERVE`).
    let r = Expr::concat(vec![x.rlast.clone(), x.rresp.clone(), x.rdata.clone()]);
    let r = b.data_reg("r_in_q", r, None);
    let to_load = bit("arb_l_r_valid").and(bit("r_skid_ready"));
    let to_load = b.delay("r_in_load_q", to_load);
    let to_fetch = bit("arb_f_r_valid").and(bit("fr_skid_ready"));
    let to_fetch = b.delay("r_in_fetch_q", to_fetch);
    skid(
        b,
        "r_skid",
        &n.r_skid,
        to_load,
        r.clone(),
        bit("ld_r_ready"),
    );
    // Instruction fetch's beats wait after the arbiter too (its queue's count no longer
    // follows the order queue's head and RVALID in the same cycle).
    skid(b, "fr_skid", &n.r_skid, to_fetch, r, bit("fe_r_ready"));
    let dw = 8 * g.axi_bytes;
    let fr = sig("fr_skid_data", u(dw + 3));
    block(
        b,
        "fetch",
        &n.fetch,
        "fe",
        vec![
            ("start", bit("seq_fetch_start")),
            ("stop", bit("seq_fetch_stop")),
            ("prog_addr", sig("prog_addr", u(aw))),
            ("prog_len", sig("prog_len", u(32))),
            ("ar_ready", bit("arb_f_ar_ready")),
            ("r_data", fr.slice(dw - 1, 0)),
            ("r_resp", fr.slice(dw + 1, dw)),
            ("r_last", fr.bit(dw + 2)),
            ("r_valid", bit("fr_skid_valid")),
            ("i_ready", bit("seq_i_ready")),
        ],
        &[
            ("ar_addr", u(aw)),
            ("ar_len", u(8)),
            ("ar_size", u(3)),
            ("ar_valid", Ty::BIT),
            ("r_ready", Ty::BIT),
            ("i_valid", Ty::BIT),
            ("i_data", u(129)),
            ("idle", Ty::BIT),
        ],
    );
    block(
        b,
        "rd_arb",
        &n.rd_arb,
        "arb",
        vec![
            ("f_ar_addr", sig("fe_ar_addr", u(aw))),
            ("f_ar_len", sig("fe_ar_len", u(8))),
            ("f_ar_size", sig("fe_ar_size", u(3))),
            ("f_ar_valid", bit("fe_ar_valid")),
            ("f_r_ready", bit("fr_skid_ready")),
            ("l_ar_addr", sig("ar_skid_data", u(aw + 8)).slice(aw - 1, 0)),
            ("l_ar_len", sig("ar_skid_data", u(aw + 8)).slice(aw + 7, aw)),
            ("l_ar_valid", bit("ar_skid_valid")),
            ("l_r_ready", bit("r_skid_ready")),
            ("m_arready", x.arready.clone()),
            ("m_rvalid", x.rvalid.clone()),
            ("m_rlast", x.rlast.clone()),
        ],
        &[
            ("m_araddr", u(aw)),
            ("m_arlen", u(8)),
            ("m_arsize", u(3)),
            ("m_arvalid", Ty::BIT),
            ("m_rready", Ty::BIT),
            ("f_ar_ready", Ty::BIT),
            ("f_r_valid", Ty::BIT),
            ("l_ar_ready", Ty::BIT),
            ("l_r_valid", Ty::BIT),
            ("stall", Ty::BIT),
        ],
    );
    for (p, ty) in [
        ("ar_addr", u(aw)),
        ("ar_len", u(8)),
        ("ar_size", u(3)),
        ("ar_valid", Ty::BIT),
        ("r_ready", Ty::BIT),
    ] {
        b.assign(
            &axi_port(p),
            sig(&format!("arb_m_{}", p.replace('_', "")), ty),
        );
    }
    let (le, se) = (bit("ld_err"), bit("st_err"));
    let aligned = sig("prog_addr", u(aw)).slice(3, 0).eq(lit(0, 4));
    let idle = bit("ld_idle")
        .and(bit("cp_idle"))
        .and(bit("st_idle"))
        .and(bit("lq_out_valid").not())
        .and(bit("cq_out_valid").not())
        .and(bit("sq_out_valid").not())
        .and(bit("lq_push_q").not())
        .and(bit("cq_push_q").not())
        .and(bit("sq_push_q").not());
    let idle = b.delay("units_idle_q", idle);
    let halts: Vec<String> = super::seq::HALT_USERS
        .iter()
        .map(|u| format!("halt_{u}"))
        .collect();
    let mut outs: Vec<(&str, Ty)> = vec![
        ("i_ready", Ty::BIT),
        ("fetch_start", Ty::BIT),
        ("fetch_stop", Ty::BIT),
        ("lq_valid", Ty::BIT),
        ("cq_valid", Ty::BIT),
        ("sq_valid", Ty::BIT),
        ("q_data", u(128)),
        ("q_pc", u(32)),
        ("busy", Ty::BIT),
        ("done_event", Ty::BIT),
        ("error", u(8)),
        ("error_pc", u(32)),
        ("instructions", u(64)),
    ];
    outs.extend(halts.iter().map(|h| (h.as_str(), Ty::BIT)));
    block(
        b,
        "seq",
        &n.seq,
        "seq",
        vec![
            ("start", start_of("seq")),
            ("aligned", aligned),
            ("stop_req", bit("soft_reset")),
            ("prog_len", sig("prog_len", u(32))),
            ("i_valid", bit("fe_i_valid")),
            ("i_data", sig("fe_i_data", u(129))),
            ("fetch_idle", bit("fe_idle")),
            ("units_idle", idle),
            ("lq_ready", bit("lq_in_ready")),
            ("cq_ready", bit("cq_in_ready")),
            ("sq_ready", bit("sq_in_ready")),
            ("unit_err", le.or(se)),
        ],
        &outs,
    );
}

/// The three unit queues (load and store entries carry the pc); emptied when the units halt.
/// A dispatched instruction is pushed from a register a cycle later (for the clock: the
/// sequencer's dispatch decision does not reach the queues' wide entry enables), so each
/// queue's room falls while one entry is still free, and it holds one entry more.
fn unit_queues(b: &mut ModuleBuilder, n: &Names) {
    let cw = bits_for(u64::from(UNIT_QUEUE_DEPTH + UNIT_QUEUE_PUSH_STAGES));
    let pc_q = b.data_reg("uq_pc_q", sig("seq_q_pc", u(32)), None);
    let data_q = b.data_reg("uq_data_q", sig("seq_q_data", u(128)), None);
    for (q, unit, with_pc) in [("lq", "ld", true), ("cq", "cp", false), ("sq", "st", true)] {
        let w = if with_pc { 160 } else { 128 };
        let data = if with_pc {
            Expr::concat(vec![pc_q.clone(), data_q.clone()])
        } else {
            data_q.clone()
        };
        let flush = b.wire(
            &format!("{q}_flush"),
            bit("rst").or(bit(&format!("seq_halt_{q}"))),
        );
        let push = b.delay(
            &format!("{q}_push_q"),
            bit(&format!("seq_{q}_valid")).and(flush.clone().not()),
        );
        let outs = [
            ("in_ready", Ty::BIT),
            ("out_valid", Ty::BIT),
            ("out_data", u(w)),
            ("count", u(cw)),
        ];
        let names: Vec<String> = outs.iter().map(|(p, _)| format!("{q}_{p}")).collect();
        for ((_, ty), w) in outs.iter().zip(&names) {
            b.declare_wire(w, *ty);
        }
        let module = if with_pc { &n.queue_pc } else { &n.queue };
        let mut conns = vec![
            ("clk", i(bit("clk"))),
            ("rst", i(flush.clone())),
            ("in_valid", i(push)),
            ("in_data", i(data)),
            ("out_ready", i(bit(&format!("{unit}_q_ready")))),
        ];
        for ((p, _), w) in outs.iter().zip(&names) {
            conns.push((p, o(w)));
        }
        b.instance(q, module, conns);
        b.wire(&format!("{q}_count_unused"), sig(&names[3], u(cw)));
    }
}

/// The groups with their own copy of START: sequencer, load and store units, token counters,
/// performance counters.
const START_USERS: [&str; 5] = ["seq", "load", "store", "tok", "cnt"];

/// START as `user`'s copy sees it (one of [`START_USERS`]).
fn start_of(user: &str) -> Expr {
    debug_assert!(START_USERS.contains(&user));
    bit(&format!("start_{user}_q"))
}

/// The four token counters between the units (given minus used, cleared at start).
fn tokens(b: &mut ModuleBuilder, start: &Expr) {
    for (ch, pusher, popper) in [
        ("l2c", "ld_push_l2c", "cp_pop_l2c"),
        ("c2l", "cp_push_c2l", "ld_pop_c2l"),
        ("c2s", "cp_push_c2s", "st_pop_c2s"),
        ("s2c", "st_push_s2c", "cp_pop_s2c"),
    ] {
        let r = b.reg(&format!("tok_{ch}_q"), u(TOKEN_BITS));
        let q = r.q();
        let one = lit(1, TOKEN_BITS);
        // A give is registered first (for the clock: the giving unit's finish decision
        // reaches one flip-flop, not the count's enable), so the token is seen a cycle
        // later; a use counts at once (the unit may check its next instruction in the
        // cycle after the take).
        let push = b.delay(&format!("tok_{ch}_push_q"), bit(pusher));
        let pop = bit(popper);
        let (inc, dec) = (
            push.clone().and(pop.clone().not()),
            pop.clone().and(push.clone().not()),
        );
        let next = super::up_down(&q, &push, &pop);
        b.set_next(r, Expr::mux(start.clone(), lit(0, TOKEN_BITS), next), None);
        // "Some token" as a register beside the count (for the clock: the unit's take reads
        // a flip-flop, not a compare of the count).
        let some = b.reg(&format!("tok_{ch}_some_q"), Ty::BIT);
        let some_q = some.q();
        let some_next = Expr::mux(
            inc,
            Expr::bit_const(true),
            Expr::mux(dec, q.ne(one), some_q.clone()),
        );
        b.set_next(
            some,
            Expr::mux(start.clone(), Expr::bit_const(false), some_next),
            None,
        );
        b.wire(&format!("tok_{ch}"), some_q);
    }
}

/// The five buffers; the accumulator memory's read port is compute's when it reads, the
/// store unit's otherwise (`st_grant`).
fn buffers(b: &mut ModuleBuilder, g: &Geometry) {
    let a16 = |n: &str| sig(n, u(16));
    let we = sig("ld_we", u(3));
    let sh = |n: &str| buffers::shape(g, n);
    let ports = |we: Expr, waddr: &str, wdata: Expr, re: Expr, raddr: Expr| buffers::Ports {
        we,
        waddr: a16(waddr),
        wdata,
        re,
        raddr,
        hold: None,
        delayed_read: false,
    };
    let act = sh("act");
    let wdata = sig("ld_act_wdata", u(act.width));
    let p = ports(
        we.bit(0),
        "ld_waddr",
        wdata,
        bit("cp_act_re"),
        a16("cp_act_raddr"),
    );
    buffers::buffer(b, act, p);
    let weight = sh("weight");
    let wdata = sig("ld_weight_wdata", u(weight.width));
    let p = ports(
        we.bit(1),
        "ld_waddr",
        wdata,
        bit("cp_w_re"),
        a16("cp_w_raddr"),
    );
    buffers::buffer(b, weight, p);
    let (src, rd_en, cp_re) = (bit("st_rd_src"), bit("st_rd_en"), bit("cp_acc_re"));
    let grant = b.wire(
        "st_grant",
        Expr::mux(src.clone(), cp_re.clone().not(), Expr::bit_const(true)),
    );
    let st_acc = rd_en.clone().and(src.clone()).and(grant);
    let acc = sh("acc");
    let acc_raddr = Expr::mux(cp_re.clone(), a16("cp_acc_raddr"), a16("st_rd_addr"));
    let wdata = sig("cp_acc_wdata", u(acc.width));
    let p = ports(
        bit("cp_acc_we"),
        "cp_acc_waddr",
        wdata,
        cp_re.or(st_acc),
        acc_raddr,
    );
    // Four users share its read port: the request is registered before the memory (for the
    // clock: the users' select does not reach the block RAM's address pins).
    let p = buffers::Ports {
        delayed_read: buffers::ACC_DELAYED_READ,
        ..p
    };
    buffers::buffer(b, acc, p);
    if g.out.is_some() {
        let param = sh("param");
        let wdata = sig("ld_param_wdata", u(param.width));
        let p = ports(
            we.bit(2),
            "ld_waddr",
            wdata,
            bit("cp_p_re"),
            a16("cp_p_raddr"),
        );
        buffers::buffer(b, param, p);
        let out = sh("out");
        let wdata = sig("cp_out_wdata", u(out.width));
        let re = rd_en.and(src.not());
        let p = ports(
            bit("cp_out_we"),
            "cp_out_waddr",
            wdata,
            re,
            a16("st_rd_addr"),
        );
        buffers::buffer(b, out, p);
    } else {
        // Without post-processing no LOAD reaches the parameter buffer and no STORE the output
        // buffer (BAD_FIELD at dispatch): neither exists.
        let c = g.cols;
        b.wire(
            "no_post_unused",
            Expr::concat(vec![
                we.bit(2),
                sig("ld_param_wdata", u(c * 8 * RECORD_BYTES)),
                bit("cp_p_re"),
                a16("cp_p_raddr"),
                bit("cp_out_we"),
                a16("cp_out_waddr"),
                sig("cp_out_wdata", u(c * 8)),
            ]),
        );
    }
}

/// The load, compute and store units.
fn units(b: &mut ModuleBuilder, n: &Names, g: &Geometry, x: &Ins, bases: &[Expr]) {
    let aw = g.axi_addr_bits;
    let dw = 8 * g.axi_bytes;
    let (r, c) = (g.rows, g.cols);
    let ab = c * g.acc_bits;
    let ob = g.out.map_or(8, |(b, _)| b);
    let post = g.out.is_some();
    let dma_in = |unit: &str, q: &str, tok: &'static str| -> Vec<(&'static str, Expr)> {
        let d = sig(&format!("{q}_out_data"), u(160));
        let mut v = vec![
            ("start", start_of(unit)),
            ("q_valid", bit(&format!("{q}_out_valid"))),
            ("q_data", d.slice(127, 0)),
            ("q_pc", d.slice(159, 128)),
            ("halt", bit(&format!("seq_halt_{unit}"))),
            (tok, bit(&format!("tok_{}", &tok[4..]))),
        ];
        for (k, base) in bases.iter().enumerate() {
            v.push((BASE_PORTS[k], base.clone()));
        }
        v
    };
    let mut load_in = dma_in("load", "lq", "tok_c2l");
    load_in.extend([
        ("ar_ready", bit("ar_skid_ready")),
        ("r_data", sig("r_skid_data", u(dw + 3)).slice(dw - 1, 0)),
        ("r_resp", sig("r_skid_data", u(dw + 3)).slice(dw + 1, dw)),
        ("r_last", sig("r_skid_data", u(dw + 3)).bit(dw + 2)),
        ("r_valid", bit("r_skid_valid")),
    ]);
    block(
        b,
        "load",
        &n.load,
        "ld",
        load_in,
        &[
            ("q_ready", Ty::BIT),
            ("pop_c2l", Ty::BIT),
            ("push_l2c", Ty::BIT),
            ("ar_addr", u(aw)),
            ("ar_len", u(8)),
            ("ar_valid", Ty::BIT),
            ("r_ready", Ty::BIT),
            ("we", u(3)),
            ("waddr", u(16)),
            ("act_wdata", u(r * g.in_bits)),
            ("weight_wdata", u(c * g.w_bits)),
            ("param_wdata", u(c * 8 * RECORD_BYTES)),
            ("idle", Ty::BIT),
            ("err", Ty::BIT),
            ("err_pc", u(32)),
            ("stall_dep", Ty::BIT),
            ("rd_bytes", u(24)),
        ],
    );
    let (p_data, out_data) = if post {
        (
            sig("param_rdata", u(c * 8 * RECORD_BYTES)),
            sig("out_rdata", u(c * ob)),
        )
    } else {
        (lit(0, c * 8 * RECORD_BYTES), lit(0, c * ob))
    };
    block(
        b,
        "compute",
        &n.compute,
        "cp",
        vec![
            ("q_valid", bit("cq_out_valid")),
            ("q_data", sig("cq_out_data", u(128))),
            ("halt", bit("seq_halt_compute")),
            ("tok_l2c", bit("tok_l2c")),
            ("tok_s2c", bit("tok_s2c")),
            ("act_rdata", sig("act_rdata", u(r * g.in_bits))),
            ("w_rdata", sig("weight_rdata", u(c * g.w_bits))),
            ("acc_rdata", sig("acc_rdata", u(ab))),
            ("p_rdata", p_data),
        ],
        &[
            ("q_ready", Ty::BIT),
            ("pop_l2c", Ty::BIT),
            ("pop_s2c", Ty::BIT),
            ("push_c2l", Ty::BIT),
            ("push_c2s", Ty::BIT),
            ("act_re", Ty::BIT),
            ("act_raddr", u(16)),
            ("w_re", Ty::BIT),
            ("w_raddr", u(16)),
            ("acc_re", Ty::BIT),
            ("acc_raddr", u(16)),
            ("acc_we", Ty::BIT),
            ("acc_waddr", u(16)),
            ("acc_wdata", u(ab)),
            ("p_re", Ty::BIT),
            ("p_raddr", u(16)),
            ("out_we", Ty::BIT),
            ("out_waddr", u(16)),
            ("out_wdata", u(c * ob)),
            ("idle", Ty::BIT),
            ("stall_dep", Ty::BIT),
            ("beat", Ty::BIT),
        ],
    );
    let mut store_in = dma_in("store", "sq", "tok_c2s");
    store_in.extend([
        ("rd_grant", bit("st_grant")),
        ("rd_out_data", out_data),
        ("rd_acc_data", sig("acc_rdata", u(ab))),
        ("aw_ready", x.awready.clone()),
        ("w_ready", x.wready.clone()),
        ("b_resp", x.bresp.clone()),
        ("b_valid", x.bvalid.clone()),
    ]);
    // The store unit's AXI4 write ports, each driving its master port.
    let st_axi = [
        ("aw_addr", u(aw)),
        ("aw_len", u(8)),
        ("aw_valid", Ty::BIT),
        ("w_data", u(dw)),
        ("w_strb", u(dw / 8)),
        ("w_last", Ty::BIT),
        ("w_valid", Ty::BIT),
        ("b_ready", Ty::BIT),
    ];
    let mut st_out = vec![
        ("q_ready", Ty::BIT),
        ("pop_c2s", Ty::BIT),
        ("push_s2c", Ty::BIT),
        ("rd_en", Ty::BIT),
        ("rd_src", Ty::BIT),
        ("rd_addr", u(16)),
    ];
    st_out.extend(st_axi);
    st_out.extend([
        ("idle", Ty::BIT),
        ("err", Ty::BIT),
        ("err_pc", u(32)),
        ("stall_dep", Ty::BIT),
        ("wr_bytes", u(24)),
    ]);
    block(b, "store", &n.store, "st", store_in, &st_out);
    for (p, ty) in st_axi {
        b.assign(&axi_port(p), sig(&format!("st_{p}"), ty));
    }
}

/// The performance counters (cleared at start, counting while busy), in [`COUNTERS`] order.
/// Each counts its event one cycle late, from a register (an event of the last busy cycle is
/// still added): the events come from deep in the units, and the 64-bit adds stay off their
/// paths.
fn counters(b: &mut ModuleBuilder, g: &Geometry, start: &Expr, busy: &Expr, x: &Ins) {
    // `start` (the shared copy) only gates the events; each counter clears at its own.
    let fetch_beat = u64::from(g.axi_bytes.min(INSTR_BYTES));
    let aw_stall = bit("st_aw_valid").and(x.awready.clone().not());
    let w_stall = bit("st_w_valid").and(x.wready.clone().not());
    for (n, _) in COUNTERS {
        let lower = n.to_lowercase();
        // The event (a flag, or a byte count) and what one of it adds.
        let (event, scale) = match *n {
            "CYCLES" => (Expr::bit_const(true), 1),
            "ARRAY_BUSY" => (bit("cp_beat"), 1),
            "DMA_RD_BYTES" => (sig("ld_rd_bytes", u(24)), 1),
            "DMA_WR_BYTES" => (sig("st_wr_bytes", u(24)), 1),
            "FETCH_BYTES" => (bit("arb_f_r_valid").and(bit("fe_r_ready")), fetch_beat),
            "INSTRUCTIONS" => {
                b.assign(&format!("cnt_{lower}_v"), sig("seq_instructions", u(64)));
                continue;
            }
            "STALL_LOAD_DEP" => (bit("ld_stall_dep"), 1),
            "STALL_COMPUTE_DEP" => (bit("cp_stall_dep"), 1),
            "STALL_STORE_DEP" => (bit("st_stall_dep"), 1),
            "STALL_AXI_READ" => (bit("arb_stall"), 1),
            "STALL_AXI_WRITE" => (aw_stall.clone().or(w_stall.clone()), 1),
            other => unreachable!("counter {other} has no source"),
        };
        let counting = if *n == "CYCLES" {
            busy.clone()
        } else {
            busy.clone().and(start.clone().not())
        };
        let ew = event.ty().width;
        let gated = Expr::mux(counting, event, lit(0, ew));
        let ev = b.delay(&format!("cnt_{lower}_ev"), gated);
        let inc = if scale == 1 {
            ev.zext(33)
        } else {
            Expr::mux(ev, lit(scale, 33), lit(0, 33))
        };
        // Each counter clears at its own copy of START, and counts in two halves, the upper
        // one a cycle behind the lower's carry (for the clock: no 64-bit carry chain, and no
        // START net reaching every counter). The upper half is never read within a cycle of
        // a carry: counting ends with the program, long before a host reads.
        let start = b.replica(&format!("cnt_{lower}_start_q"), bit("start_next"));
        let lo = b.reg(&format!("cnt_{lower}_lo_q"), u(32));
        let hi = b.reg(&format!("cnt_{lower}_hi_q"), u(32));
        let (lo_q, hi_q) = (lo.q(), hi.q());
        let sum = b.wire(&format!("cnt_{lower}_sum"), lo_q.clone().zext(33).add(inc));
        let carry = b.delay(
            &format!("cnt_{lower}_carry_q"),
            start.clone().not().and(sum.bit(32)),
        );
        b.set_next(
            lo,
            Expr::mux(start.clone(), lit(0, 32), sum.slice(31, 0)),
            None,
        );
        b.set_next(
            hi,
            Expr::mux(start, lit(0, 32), hi_q.clone().add(carry.zext(32))),
            None,
        );
        b.assign(&format!("cnt_{lower}_v"), Expr::concat(vec![hi_q, lo_q]));
    }
}
