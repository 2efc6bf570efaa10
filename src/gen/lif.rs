//! The spiking core: `neurons` Loihi-compatible CUBA LIF neurons behind a signed synapse
//! crossbar, time-multiplexed over `parallel` update lanes (G = ceil(neurons / parallel)
//! neuron groups).
//!
//! ```text
//! after reset: w_* loads axons * G weight words (word (a, g), lane k = W[a][g*P + k]),
//!              nb_* loads G bias words when per_neuron_bias; then s_tready rises
//! s_* events:  {tick = 0, axon}: add W[axon] to every neuron's input current (G cycles)
//!              {tick = 1}:       update every neuron (G cycles), one n_* beat per group:
//!                                {spikes[P], v[P], u[P]}, n_tlast on the last group
//! one time step = (spiking axons + 1) * G cycles when events and n_tready keep up (+ 1 when
//!              G = 1: the two-stage update writes u and v back a cycle after the next read)
//! ```
//!
//! Input currents are summed exactly (weight_bits + log2(axons) bits) and saturated to 16
//! bits once, at the update. Memories are inferred as block RAM; a one-deep forwarding path
//! covers a read of the word written in the same cycle (possible when G is 1).

use super::pe::clock_conns;
use super::systolic::lane;
use crate::config::{LifConfig, BIAS_BITS, BIAS_MANT_BITS, STATE_BITS};
use crate::rtl::{
    bits_for, Conn, Const, Expr, MemWrite, Memory, Module, ModuleBuilder, RegHandle, Ty,
};

/// Output FIFO depth of the neuron-state stream.
pub const N_FIFO_DEPTH: u32 = 8;

/// Width of u and v.
const UV: u32 = STATE_BITS;

/// Module names of the spiking core.
pub struct LifNames {
    /// Top module.
    pub top: String,
    /// The per-lane neuron update (combinational).
    pub neuron: String,
    /// Output FIFO.
    pub fifo: String,
}

impl LifNames {
    /// Names derived from the design name.
    pub fn new(name: &str) -> LifNames {
        LifNames {
            top: format!("{name}_lif"),
            neuron: format!("{name}_lif_neuron"),
            fifo: format!("{name}_lif_nfifo"),
        }
    }
}

/// Width of the exact input-current sum.
pub(crate) fn current_bits(cfg: &LifConfig) -> u32 {
    cfg.weight_bits + bits_for(u64::from(cfg.axons))
}

/// Width of the axon index on `s_tdata` (the tick flag is the bit above it).
pub(crate) fn axon_bits(cfg: &LifConfig) -> u32 {
    bits_for(u64::from(cfg.axons - 1))
}

/// Width of one `n_tdata` beat: P spikes, P v values, P u values.
pub(crate) fn n_beat_bits(cfg: &LifConfig) -> u32 {
    cfg.parallel * (1 + 2 * UV)
}

/// The neuron update, one lane, in two stages: (u, v, summed input) in one cycle and the bias
/// in the next give (u', v', spike) in that next cycle. Stage 1 registers the decay products
/// and the saturated input; stage 2 rounds, adds, saturates and compares.
/// One function (about 100 lines): the two stages' signals are the Loihi update's
/// equations in order, each named as in the model.
pub fn neuron(module: &str, cfg: &LifConfig) -> Module {
    let aw = current_bits(cfg);
    let s24 = Ty::signed(UV);
    let mut b = ModuleBuilder::new(module);
    b.doc("One LIF neuron update (Loihi CUBA integer model), two pipeline stages:");
    b.doc("u' = wrap24(trunc0(u * (4095 - du) / 4096) + (sat16(a) << 6))");
    b.doc("v' = sat24(trunc0(v * (4096 - dv) / 4096) + u' + bias); spike = v' > vth << 6; v' = 0 on spike");
    b.doc("u, v and a are sampled in one cycle (the decay products and sat16(a) are registered);");
    b.doc("bias belongs to the next cycle, when u_next, v_next and spike hold the result.");
    b.clock_and_reset();
    let u = b.input("u", s24, "current");
    let v = b.input("v", s24, "voltage");
    let a = b.input(
        "a",
        Ty::signed(aw),
        "summed synaptic input of the step (exact)",
    );
    let bias = b.input(
        "bias",
        Ty::signed(BIAS_BITS),
        "bias_mant << bias_exp (one cycle after u, v, a)",
    );
    b.output(
        "u_next",
        s24,
        "current after the step (wraps at 24 bits), one cycle after u, v, a",
    );
    b.output(
        "v_next",
        s24,
        "voltage after the step (saturates, 0 after a spike)",
    );
    b.output("spike", Ty::BIT, "v' > vth << 6");

    // sat16 of the exact input sum, then << 6 as a 22-bit value.
    let a_sat = if aw <= 16 {
        a.ext(16)
    } else {
        let lo = -(1i128 << 15);
        let hi = (1i128 << 15) - 1;
        let low = a.slice_as(15, 0, true);
        b.wire(
            "a_sat",
            Expr::mux(
                a.clone().lt(Expr::lit(lo, Ty::signed(aw))),
                Expr::lit(lo, Ty::signed(16)),
                Expr::mux(
                    a.clone().gt(Expr::lit(hi, Ty::signed(aw))),
                    Expr::lit(hi, Ty::signed(16)),
                    low,
                ),
            ),
        )
    };
    let a_sat = b.wire("a16", a_sat);
    let a_in = b.wire(
        "a_in",
        Expr::concat(vec![a_sat, Expr::zero(Ty::unsigned(6))]).cast(true),
    );
    let a_in = b.delay("a_in_r", a_in);
    // Decays: x * k / 4096 truncated toward zero; |x * k| < 2^35, so 36 bits hold it and the
    // quotient is bits 35..12 of (x * k + (negative ? 4095 : 0)). The product is registered.
    let s36 = Ty::signed(36);
    let decay = |b: &mut ModuleBuilder, name: &str, x: &Expr, k: i128| {
        let p = b.wire(&format!("{name}_p"), x.ext(36).mul(Expr::lit(k, s36)));
        let p = b.delay(&format!("{name}_pr"), p);
        let neg = p.clone().lt(Expr::zero(s36));
        let up = Expr::mux(neg, Expr::lit(4095, s36), Expr::zero(s36));
        let q = b.wire(&format!("{name}_q"), p.add(up));
        b.keep(&q, 35, 12, true)
    };
    let du = decay(&mut b, "du", &u, 4095 - i128::from(cfg.du));
    let du = b.wire("du", du);
    let u_next = b.wire("u_sum", du.add(a_in.ext(UV)));
    let dv = decay(&mut b, "dv", &v, 4096 - i128::from(cfg.dv));
    let dv = b.wire("dv", dv);
    let s27 = Ty::signed(27);
    let sum = b.wire("v_sum", dv.ext(27).add(u_next.ext(27)).add(bias.ext(27)));
    let vmax = (1i128 << 23) - 1;
    // The comparisons read every bit of the sum; the value is its low 24 bits.
    let low = sum.slice_as(UV - 1, 0, true);
    let v_sat = b.wire(
        "v_sat",
        Expr::mux(
            sum.clone().gt(Expr::lit(vmax, s27)),
            Expr::lit(vmax, s24),
            Expr::mux(
                sum.clone().lt(Expr::lit(-vmax, s27)),
                Expr::lit(-vmax, s24),
                low,
            ),
        ),
    );
    let spike = b.wire(
        "fire",
        v_sat.clone().gt(Expr::lit(i128::from(cfg.vth) << 6, s24)),
    );
    b.assign("u_next", u_next);
    b.assign("v_next", Expr::mux(spike.clone(), Expr::zero(s24), v_sat));
    b.assign("spike", spike);
    b.finish()
}

/// A memory with a one-deep forwarding path: the value read in cycle r is the word written in
/// cycle r itself when the addresses match (the RAM would return the old word). Returns the
/// forwarded read value.
#[allow(clippy::too_many_arguments)]
fn forwarded_memory(
    b: &mut ModuleBuilder,
    name: &str,
    width: u32,
    depth: u32,
    read_enable: Expr,
    read_addr: Expr,
    write: MemWrite,
) -> Expr {
    let hit = b.delay(
        &format!("{name}_hit"),
        read_enable
            .clone()
            .and(write.enable.clone())
            .and(read_addr.clone().eq(write.addr.clone())),
    );
    let fwd = b.delay(&format!("{name}_fwd"), write.data.clone());
    let q = b.memory(Memory {
        name: format!("{name}_mem"),
        width,
        depth,
        write: Some(write),
        init: None,
        read_enable,
        read_addr,
        read_data: format!("{name}_q"),
        no_rw_check: false,
    });
    b.wire(&format!("{name}_rd"), Expr::mux(hit, fwd, q))
}

/// The spiking core's module comment: sizes, parameters and the port protocol.
fn lif_doc(b: &mut ModuleBuilder, cfg: &LifConfig) {
    let (a, p, g, wb) = (cfg.axons, cfg.parallel, cfg.groups(), cfg.weight_bits);
    b.doc(format!(
        "Spiking core: {} CUBA LIF neurons (Loihi integer model), {} axons, {}-bit signed synapses,",
        cfg.neurons, a, wb
    ));
    b.doc(format!(
        "{p} update lanes over {g} neuron groups. du = {}, dv = {}, vth = {}, bias = {}.",
        cfg.du,
        cfg.dv,
        cfg.vth,
        if cfg.per_neuron_bias {
            format!("per neuron << {}", cfg.bias_exp)
        } else {
            format!("{} << {}", cfg.bias_mant, cfg.bias_exp)
        }
    ));
    b.doc(String::new());
    b.doc(format!(
        "After reset, load {} weight words on w_* (word a*G + g, lane k = W[a][g*P + k])",
        a * g
    ));
    if cfg.per_neuron_bias {
        b.doc(format!(
            "and {g} bias words on nb_* (lane k = bias mantissa of neuron g*P + k);"
        ));
    }
    b.doc("then s_tready rises. Each s_* event is {tick, axon}: a spike (tick = 0) adds W[axon]");
    b.doc("to every neuron's input current in G cycles; a tick updates every neuron in G cycles");
    b.doc("and sends one n_* beat per group: {spikes[P], v[P] (24 bits), u[P] (24 bits)}, n_tlast");
    b.doc("on the last group. A step takes (spiking axons + 1) * G cycles at full speed");
    b.doc("(+ 1 when G = 1).");
}

/// The spiking core's stream inputs (its outputs are declared alongside and driven later).
struct LifPorts {
    w_tdata: Expr,
    w_tvalid: Expr,
    /// `nb_tdata`, `nb_tvalid` with per-neuron biases.
    nb: Option<(Expr, Expr)>,
    s_tdata: Expr,
    s_tvalid: Expr,
    n_tready: Expr,
}

/// Declares the spiking core's ports.
fn lif_ports(b: &mut ModuleBuilder, cfg: &LifConfig) -> LifPorts {
    let (p, wb, axw) = (cfg.parallel, cfg.weight_bits, axon_bits(cfg));
    let bit = Ty::BIT;
    let (w_tdata, w_tvalid) = b.sink(
        "w",
        Ty::unsigned(p * wb),
        [
            "weight word: P signed lanes",
            "weight word valid",
            "weight word accepted (until all are loaded)",
        ],
    );
    let nb = cfg.per_neuron_bias.then(|| {
        b.sink(
            "nb",
            Ty::unsigned(p * BIAS_MANT_BITS),
            [
                "bias word: P signed 13-bit mantissas",
                "bias word valid",
                "bias word accepted (until all are loaded)",
            ],
        )
    });
    let s_docs = ["event: {tick, axon index}", "event valid", "event accepted"];
    let (s_tdata, s_tvalid) = b.sink("s", Ty::unsigned(axw + 1), s_docs);
    let n_tready = b.source(
        "n",
        Ty::unsigned(n_beat_bits(cfg)),
        [
            "group state: {spikes, v lanes, u lanes}",
            "group state valid",
            "group state accepted",
        ],
    );
    b.output("n_tlast", bit, "last group of the step");

    LifPorts {
        w_tdata,
        w_tvalid,
        nb,
        s_tdata,
        s_tvalid,
        n_tready,
    }
}

/// What the load phase hands to the rest of the core.
struct Load {
    /// Every weight (and bias) word is in: events may start.
    loaded: Expr,
    /// The bias memory's write port, with per-neuron biases.
    nb_write: Option<MemWrite>,
    /// A weight word is taken this cycle, and its address.
    w_take: Expr,
    w_addr: Expr,
}

/// The load phase after reset: counts the weight words (and bias words) in.
fn load_phase(
    b: &mut ModuleBuilder,
    cfg: &LifConfig,
    w_tvalid: Expr,
    nb: Option<&(Expr, Expr)>,
) -> Load {
    let (a, g) = (cfg.axons, cfg.groups());
    let waw = bits_for(u64::from((a * g).max(2) - 1));
    let lit = |v: u64, w: u32| Expr::lit(i128::from(v), Ty::unsigned(w));
    let total = u64::from(a * g);
    let cw = bits_for(total);
    let w_cnt = b.reg("w_cnt", Ty::unsigned(cw));
    let w_cnt_q = w_cnt.q();
    let w_done = b.wire("w_done", w_cnt_q.clone().eq(lit(total, cw)));
    b.assign("w_tready", w_done.clone().not());
    let w_take = b.wire("w_take", w_tvalid.and(w_done.clone().not()));
    b.set_next(w_cnt, w_cnt_q.clone().add(lit(1, cw)), Some(w_take.clone()));
    let w_addr = b.keep(&w_cnt_q, waw - 1, 0, false);
    let (loaded, nb_write) = match &nb {
        Some((nb_tdata, nb_tvalid)) => {
            let nw = bits_for(u64::from(g));
            let nb_cnt = b.reg("nb_cnt", Ty::unsigned(nw));
            let q = nb_cnt.q();
            let nb_done = b.wire("nb_done", q.clone().eq(lit(u64::from(g), nw)));
            b.assign("nb_tready", nb_done.clone().not());
            let nb_take = b.wire("nb_take", nb_tvalid.clone().and(nb_done.clone().not()));
            b.set_next(nb_cnt, q.clone().add(lit(1, nw)), Some(nb_take.clone()));
            let sdepth = g.max(2);
            let saw = bits_for(u64::from(sdepth - 1));
            let addr = if nw > saw {
                b.keep(&q, saw - 1, 0, false)
            } else {
                q.ext(saw)
            };
            let write = MemWrite {
                enable: nb_take,
                addr,
                data: nb_tdata.clone(),
            };
            (b.wire("loaded", w_done.and(nb_done)), Some(write))
        }
        None => (w_done, None),
    };

    Load {
        loaded,
        nb_write,
        w_take,
        w_addr,
    }
}

/// The spiking core's top module: ports, load phase, event control, the two pipeline stages
/// (E: memory words arrive and the lanes compute; F: u, v and the group's state are written),
/// the memories, the lanes and the output FIFO, each built by its own function.
pub(crate) fn lif_top(cfg: &LifConfig, names: &LifNames) -> Module {
    let mut b = ModuleBuilder::new(&names.top);
    lif_doc(&mut b, cfg);
    b.clock_and_reset();
    let ports = lif_ports(&mut b, cfg);
    let load = load_phase(&mut b, cfg, ports.w_tvalid.clone(), ports.nb.as_ref());
    let ev = event_control(&mut b, cfg, load.loaded.clone(), &ports);
    let st = Stages::new(&mut b, &ev);
    let mem = memories(&mut b, cfg, &ev, &st, load, ports.w_tdata.clone());
    let spike_bus = lanes(&mut b, cfg, names, &mem, &st);
    output_fifo(&mut b, cfg, names, ev, st, spike_bus, ports.n_tready);
    b.finish()
}

/// Event control's signals that the pipeline uses.
struct Events {
    /// A group is issued this cycle (integrate or update).
    issue: Expr,
    integ_issue: Expr,
    upd_issue: Expr,
    /// The issued group is the last one.
    at_end: Expr,
    /// The event's axon is in range (integrates its weights).
    axon_ok: Expr,
    /// The issued group's state-memory address.
    grp: Expr,
    /// The weight memory's read address.
    waddr: Expr,
    /// Output FIFO credits: an update issues only with a free slot.
    cred: RegHandle,
    cred_q: Expr,
}

/// Event control: IDLE (0), INTEGRATE (1), UPDATE (2); `gcnt` walks the groups.
/// One function (about 100 lines): the state, group counter, weight address and credit
/// checks are one FSM whose next values read each other's signals.
fn event_control(b: &mut ModuleBuilder, cfg: &LifConfig, loaded: Expr, ports: &LifPorts) -> Events {
    let (a, g, axw) = (cfg.axons, cfg.groups(), axon_bits(cfg));
    let waw = bits_for(u64::from((a * g).max(2) - 1));
    let saw = bits_for(u64::from(g.max(2) - 1));
    let gw = bits_for(u64::from(g - 1));
    let bit = Ty::BIT;
    let lit = |v: u64, w: u32| Expr::lit(i128::from(v), Ty::unsigned(w));
    let state = b.reg("state", Ty::unsigned(2));
    let state_q = state.q();
    let gcnt = b.reg("gcnt", Ty::unsigned(gw));
    let gcnt_q = gcnt.q();
    let idle = b.wire("idle", state_q.clone().eq(lit(0, 2)));
    let in_integ = b.wire("in_integ", state_q.clone().eq(lit(1, 2)));
    let in_upd = b.wire("in_upd", state_q.clone().eq(lit(2, 2)));
    let crw = bits_for(u64::from(N_FIFO_DEPTH));
    let cred = b.reg_with_reset(
        "cred",
        Ty::unsigned(crw),
        Some(Const::from_u128(
            u128::from(N_FIFO_DEPTH),
            Ty::unsigned(crw),
        )),
    );
    let cred_q = cred.q();
    let cred_ok = b.wire("cred_ok", cred_q.clone().ne(lit(0, crw)));
    let issue = b.wire("issue", in_integ.clone().or(in_upd.clone().and(cred_ok)));
    let at_end = b.wire("at_end", gcnt_q.clone().eq(lit(u64::from(g - 1), gw)));
    let handover = b.wire("handover", issue.clone().and(at_end.clone()));
    // With one group, an update's write-back (stage F) lands a cycle after the next event's
    // first read, so the next event waits a cycle; with G >= 2 the read comes no earlier.
    let next_ok = if g == 1 {
        handover.clone().and(in_upd.clone().not())
    } else {
        handover.clone()
    };
    b.assign("s_tready", loaded.and(idle.or(next_ok)));
    let s_take = b.wire(
        "s_take",
        ports.s_tvalid.clone().and(Expr::sig("s_tready", bit)),
    );
    let tick = ports.s_tdata.bit(axw);
    let axon = b.wire("axon", ports.s_tdata.slice(axw - 1, 0));
    b.set_next(
        state,
        Expr::mux(
            s_take.clone(),
            Expr::mux(tick, lit(2, 2), lit(1, 2)),
            Expr::mux(handover.clone(), lit(0, 2), state_q),
        ),
        None,
    );
    b.set_next(
        gcnt,
        Expr::mux(
            s_take.clone().or(handover),
            lit(0, gw),
            Expr::mux(
                issue.clone(),
                gcnt_q.clone().add(lit(1, gw)),
                gcnt_q.clone(),
            ),
        ),
        None,
    );
    // W read address: axon * G, then + 1 per integrated group.
    let waddr = b.reg("waddr", Ty::unsigned(waw));
    let waddr_q = waddr.q();
    let base = b.wire("wbase", axon.ext(waw).mul(lit(u64::from(g), waw)));
    let integ_issue = b.wire("integ_issue", issue.clone().and(in_integ));
    b.set_next(
        waddr,
        Expr::mux(
            s_take.clone(),
            base,
            Expr::mux(
                integ_issue.clone(),
                waddr_q.clone().add(lit(1, waw)),
                waddr_q.clone(),
            ),
        ),
        None,
    );
    // Axon indexes >= axons integrate nothing.
    let axon_ok = if a == 1 << axw {
        Expr::bit_const(true)
    } else {
        let ok = b.reg("axon_ok", bit);
        let q = ok.q();
        let in_range = axon.ext(axw + 1).lt(lit(u64::from(a), axw + 1));
        b.set_next(ok, in_range, Some(s_take));
        q
    };
    let upd_issue = b.wire("upd_issue", issue.clone().and(in_upd));
    let grp = if saw > gw { gcnt_q.ext(saw) } else { gcnt_q };
    let grp = b.wire("grp", grp);
    Events {
        issue,
        integ_issue,
        upd_issue,
        at_end,
        axon_ok,
        grp,
        waddr: waddr_q,
        cred,
        cred_q,
    }
}

/// The pipeline's delayed control signals.
struct Stages {
    /// Stage E, the cycle after an issue, when the memories' words arrive.
    e_integ: Expr,
    e_upd: Expr,
    e_grp: Expr,
    e_ok: Expr,
    /// Stage F, the neuron's second stage, when u, v and the group's state are written.
    f_upd: Expr,
    f_grp: Expr,
    f_last: Expr,
}

impl Stages {
    fn new(b: &mut ModuleBuilder, ev: &Events) -> Stages {
        let e_integ = b.delay("e_integ", ev.integ_issue.clone());
        let e_upd = b.delay("e_upd", ev.upd_issue.clone());
        let e_grp = b.delay("e_grp", ev.grp.clone());
        let e_last = b.delay("e_last", ev.at_end.clone());
        let e_ok = b.delay("e_ok", ev.axon_ok.clone());
        let f_upd = b.delay("f_upd", e_upd.clone());
        let f_grp = b.delay("f_grp", e_grp.clone());
        let f_last = b.delay("f_last", e_last);
        Stages {
            e_integ,
            e_upd,
            e_grp,
            e_ok,
            f_upd,
            f_grp,
            f_last,
        }
    }
}

/// The memories' read data, in stage E (the bias words in stage F).
struct Mems {
    w_q: Expr,
    acc: Expr,
    u_rd: Expr,
    v_rd: Expr,
    nb_q: Option<Expr>,
}

/// The weight, current, u, v (and bias) memories. Their write data (`acc_wdata`, `u_wdata`,
/// `v_wdata`) is declared here and assigned by [`lanes`].
fn memories(
    b: &mut ModuleBuilder,
    cfg: &LifConfig,
    ev: &Events,
    st: &Stages,
    load: Load,
    w_tdata: Expr,
) -> Mems {
    let (p, g, wb, aw) = (
        cfg.parallel,
        cfg.groups(),
        cfg.weight_bits,
        current_bits(cfg),
    );
    let sdepth = g.max(2);
    let w_q = b.memory(Memory {
        name: "w_mem".into(),
        width: p * wb,
        depth: (cfg.axons * g).max(2),
        write: Some(MemWrite {
            enable: load.w_take,
            addr: load.w_addr,
            data: w_tdata,
        }),
        init: None,
        read_enable: ev.integ_issue.clone(),
        read_addr: ev.waddr.clone(),
        read_data: "w_q".into(),
        no_rw_check: false,
    });
    let acc_wdata = b.declare_wire("acc_wdata", Ty::unsigned(p * aw));
    let acc = forwarded_memory(
        b,
        "acc",
        p * aw,
        sdepth,
        ev.issue.clone(),
        ev.grp.clone(),
        MemWrite {
            enable: st.e_integ.clone().or(st.e_upd.clone()),
            addr: st.e_grp.clone(),
            data: acc_wdata,
        },
    );
    let u_wdata = b.declare_wire("u_wdata", Ty::unsigned(p * UV));
    let v_wdata = b.declare_wire("v_wdata", Ty::unsigned(p * UV));
    let uv_write = |data: Expr| MemWrite {
        enable: st.f_upd.clone(),
        addr: st.f_grp.clone(),
        data,
    };
    let uv = |b: &mut ModuleBuilder, name: &str, data: Expr| {
        let (enable, grp) = (ev.upd_issue.clone(), ev.grp.clone());
        forwarded_memory(b, name, p * UV, sdepth, enable, grp, uv_write(data))
    };
    let u_rd = uv(b, "u", u_wdata);
    let v_rd = uv(b, "v", v_wdata);
    let nb_q = load.nb_write.map(|write| {
        let q = b.memory(Memory {
            name: "nb_mem".into(),
            width: p * BIAS_MANT_BITS,
            depth: sdepth,
            write: Some(write),
            init: None,
            read_enable: ev.upd_issue.clone(),
            read_addr: ev.grp.clone(),
            read_data: "nb_q".into(),
            no_rw_check: false,
        });
        b.delay("nb_f", q)
    });
    Mems {
        w_q,
        acc,
        u_rd,
        v_rd,
        nb_q,
    }
}

/// Per lane, in stage E: integrate (acc + W) or update (a neuron instance). Assigns the
/// memories' write data and returns the spike bus.
fn lanes(
    b: &mut ModuleBuilder,
    cfg: &LifConfig,
    names: &LifNames,
    mem: &Mems,
    st: &Stages,
) -> Expr {
    let (wb, aw) = (cfg.weight_bits, current_bits(cfg));
    let s24 = Ty::signed(UV);
    let (mut acc_lanes, mut u_lanes, mut v_lanes, mut spikes) = (vec![], vec![], vec![], vec![]);
    for k in 0..cfg.parallel {
        let acc_k = b.wire(&format!("acc{k}"), lane(&mem.acc, k, Ty::signed(aw)));
        let w_k = b.wire(&format!("w{k}"), lane(&mem.w_q, k, Ty::signed(wb)));
        let add = Expr::mux(st.e_ok.clone(), w_k.ext(aw), Expr::zero(Ty::signed(aw)));
        let sum = acc_k.clone().add(add);
        acc_lanes.push(Expr::mux(
            st.e_integ.clone(),
            sum,
            Expr::zero(Ty::signed(aw)),
        ));
        let bias = match &mem.nb_q {
            Some(q) => {
                let mant = b.wire(&format!("mant{k}"), lane(q, k, Ty::signed(BIAS_MANT_BITS)));
                mant.ext(BIAS_BITS)
                    .shl(Expr::lit(i128::from(cfg.bias_exp), Ty::unsigned(3)))
            }
            None => Expr::lit(
                i128::from(cfg.bias_mant) << cfg.bias_exp,
                Ty::signed(BIAS_BITS),
            ),
        };
        for (name, ty) in [("u_next", s24), ("v_next", s24), ("spike", Ty::BIT)] {
            b.declare_wire(&format!("{name}{k}"), ty);
        }
        let mut conns = clock_conns();
        conns.extend([
            ("u", Conn::Input(lane(&mem.u_rd, k, s24))),
            ("v", Conn::Input(lane(&mem.v_rd, k, s24))),
            ("a", Conn::Input(acc_k)),
            ("bias", Conn::Input(bias)),
        ]);
        conns.extend([
            ("u_next", Conn::Output(format!("u_next{k}"))),
            ("v_next", Conn::Output(format!("v_next{k}"))),
            ("spike", Conn::Output(format!("spike{k}"))),
        ]);
        b.instance(&format!("neuron{k}"), &names.neuron, conns);
        u_lanes.push(Expr::sig(format!("u_next{k}"), s24).cast(false));
        v_lanes.push(Expr::sig(format!("v_next{k}"), s24).cast(false));
        spikes.push(Expr::sig(format!("spike{k}"), Ty::BIT));
    }
    let rev = |v: Vec<Expr>| Expr::concat(v.into_iter().rev().map(|e| e.cast(false)).collect());
    b.assign("acc_wdata", rev(acc_lanes));
    b.assign("u_wdata", rev(u_lanes));
    b.assign("v_wdata", rev(v_lanes));
    rev(spikes)
}

/// The output FIFO of group states `{last, spikes, v, u}`, and its credit counter.
fn output_fifo(
    b: &mut ModuleBuilder,
    cfg: &LifConfig,
    names: &LifNames,
    ev: Events,
    st: Stages,
    spike_bus: Expr,
    n_tready: Expr,
) {
    let (p, bit) = (cfg.parallel, Ty::BIT);
    let crw = bits_for(u64::from(N_FIFO_DEPTH));
    let lit = |v: u64| Expr::lit(i128::from(v), Ty::unsigned(crw));
    let nbits = n_beat_bits(cfg);
    let pop = b.wire(
        "n_pop",
        Expr::sig("n_fifo_valid", bit).and(n_tready.clone()),
    );
    let spent = Expr::mux(ev.upd_issue, lit(1), lit(0));
    let back = Expr::mux(pop, lit(1), lit(0));
    b.set_next(ev.cred, ev.cred_q.sub(spent).add(back), None);
    b.declare_wire("n_fifo_valid", bit);
    let n_data = b.declare_wire("n_fifo_data", Ty::unsigned(nbits + 1));
    let row = Expr::concat(vec![
        st.f_last,
        spike_bus,
        Expr::sig("v_wdata", Ty::unsigned(p * UV)),
        Expr::sig("u_wdata", Ty::unsigned(p * UV)),
    ]);
    let mut conns = clock_conns();
    conns.extend([
        ("wr_en", Conn::Input(st.f_upd)),
        ("wr_data", Conn::Input(row)),
        ("rd_ready", Conn::Input(n_tready)),
        ("rd_valid", Conn::Output("n_fifo_valid".into())),
        ("rd_data", Conn::Output("n_fifo_data".into())),
    ]);
    b.instance("nfifo", &names.fifo, conns);
    b.assign("n_tvalid", Expr::sig("n_fifo_valid", bit));
    b.assign("n_tdata", n_data.slice(nbits - 1, 0));
    b.assign("n_tlast", n_data.bit(nbits));
}

/// The modules of a spiking core: top, neuron lane and output FIFO.
pub(crate) fn lif_modules(cfg: &LifConfig, names: &LifNames) -> Vec<Module> {
    vec![
        lif_top(cfg, names),
        neuron(&names.neuron, cfg),
        super::fifo::fifo(&names.fifo, n_beat_bits(cfg) + 1, N_FIFO_DEPTH),
    ]
}
