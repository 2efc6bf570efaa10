//! The AXI4-Lite register block, built from the register map ([`crate::npu::regs`]): every
//! register's offset, access and reset value come from that table and this config's geometry.
//!
//! Writes take AW and W together (both ready when both are valid and no response is pending),
//! reads answer the cycle after AR; every response is OKAY (unmapped reads return 0).

use super::{lit, u};
use crate::npu::regs::{COUNTERS, COUNTERS_BASE, MAGIC, REGS, VERSION};
use crate::npu::Geometry;
use crate::rtl::{Expr, Module, ModuleBuilder, Ty};

/// Address bits of the register port (offsets below 0x200).
pub const AXIL_ADDR_BITS: u32 = 12;

/// The constant value a read-only identification register reads.
fn id_value(name: &str, g: &Geometry, rounding: u32) -> Option<u64> {
    let (out_bits, out_signed) = g.out.unwrap_or((0, false));
    let v = match name {
        "ID" => u64::from(MAGIC),
        "VERSION" => u64::from(VERSION),
        "ARRAY" => u64::from(g.rows) | u64::from(g.cols) << 16,
        "WIDTHS" => {
            u64::from(g.in_bits)
                | u64::from(g.w_bits) << 8
                | u64::from(g.acc_bits) << 16
                | u64::from(out_bits) << 24
        }
        "FEATURES" => {
            u64::from(g.dataflow == crate::config::Dataflow::Ws)
                | u64::from(g.signed) << 1
                | u64::from(g.out.is_some()) << 2
                | u64::from(out_signed) << 3
                | u64::from(rounding) << 4
                | u64::from(g.axi_bytes) << 8
                | u64::from(g.axi_addr_bits) << 16
        }
        "ACT_WORDS" => u64::from(g.act_words),
        "WEIGHT_WORDS" => u64::from(g.weight_words),
        "PARAM_ROWS" => u64::from(g.param_rows),
        "ACC_ROWS" => u64::from(g.acc_rows),
        "OUT_WORDS" => u64::from(g.out_words),
        _ => return None,
    };
    Some(v)
}

/// The register block `module` for `g` (`rounding`: the FEATURES code of the post-processing
/// mode, 0 without).
pub fn axil(module: &str, g: &Geometry, rounding: u32) -> Module {
    let aw = g.axi_addr_bits;
    let mut b = ModuleBuilder::new(module);
    b.doc("AXI4-Lite register block of the npu (register map: docs/npu.md).");
    b.clock_and_reset();
    let a12 = u(AXIL_ADDR_BITS);
    let [awaddr, awvalid, wdata, wstrb, wvalid, bready, araddr, arvalid, rready] = b.inputs([
        ("s_axi_awaddr", a12, "write address (byte)"),
        ("s_axi_awvalid", Ty::BIT, "write address valid"),
        ("s_axi_wdata", u(32), "write data"),
        ("s_axi_wstrb", u(4), "write byte strobes"),
        ("s_axi_wvalid", Ty::BIT, "write data valid"),
        ("s_axi_bready", Ty::BIT, "write response ready"),
        ("s_axi_araddr", a12, "read address (byte)"),
        ("s_axi_arvalid", Ty::BIT, "read address valid"),
        ("s_axi_rready", Ty::BIT, "read data ready"),
    ]);
    b.outputs([
        ("s_axi_awready", Ty::BIT, "write address ready"),
        ("s_axi_wready", Ty::BIT, "write data ready"),
        ("s_axi_bresp", u(2), "write response (always OKAY)"),
        ("s_axi_bvalid", Ty::BIT, "write response valid"),
        ("s_axi_arready", Ty::BIT, "read address ready"),
        ("s_axi_rdata", u(32), "read data"),
        ("s_axi_rresp", u(2), "read response (always OKAY)"),
        ("s_axi_rvalid", Ty::BIT, "read data valid"),
    ]);
    let [busy, done_ev, error, error_pc] = b.inputs([
        ("busy", Ty::BIT, "a program is running"),
        ("done_event", Ty::BIT, "the program ended this cycle"),
        ("error", u(8), "why it ended (held after done)"),
        ("error_pc", u(32), "the instruction that raised the error"),
    ]);
    let counters: Vec<Expr> = COUNTERS
        .iter()
        .map(|(n, doc)| b.input(&format!("cnt_{}", n.to_lowercase()), u(64), doc))
        .collect();
    b.outputs([
        (
            "start_next",
            Ty::BIT,
            "CTRL.START is being written (users register their own copies: START acts the cycle after)",
        ),
        (
            "soft_reset",
            Ty::BIT,
            "CTRL.SOFT_RESET was written (one cycle, the cycle after)",
        ),
        ("prog_addr", u(aw), "PROG_ADDR"),
        ("prog_len", u(32), "PROG_LEN"),
        ("base0", u(aw), "BASE0"),
        ("base1", u(aw), "BASE1"),
        ("base2", u(aw), "BASE2"),
        ("base3", u(aw), "BASE3"),
        (
            "irq",
            Ty::BIT,
            "interrupt: IRQ_STATUS.DONE && IRQ_ENABLE.DONE",
        ),
    ]);

    // Write channel, two cycles for the clock: the address (decoded), data and strobes are
    // registered as the write is accepted and written the cycle after (`wpend_q`); the
    // response comes then too, so a read after it sees the write.
    let bvalid = b.reg("bvalid_q", Ty::BIT);
    let bvalid_q = bvalid.q();
    let wpend = b.reg("wpend_q", Ty::BIT);
    let wpend_q = wpend.q();
    let wr_in = b.wire(
        "wr_in",
        awvalid
            .and(wvalid)
            .and(bvalid_q.clone().not())
            .and(wpend_q.clone().not()),
    );
    b.set_next(wpend, wr_in.clone(), None);
    b.set_next(
        bvalid,
        wpend_q.clone().or(bvalid_q.clone().and(bready.not())),
        None,
    );
    b.assign("s_axi_awready", wr_in.clone());
    b.assign("s_axi_wready", wr_in.clone());
    b.assign("s_axi_bvalid", bvalid_q);
    b.assign("s_axi_bresp", lit(0, 2));
    let wdata = b.delay_when("wdata_q", wdata, wr_in.clone());
    let wstrb = b.delay_when("wstrb_q", wstrb, wr_in.clone());
    let wr = wpend_q;
    let mask = b.wire(
        "wmask",
        Expr::concat(
            (0..4)
                .rev()
                .map(|i| Expr::concat(vec![wstrb.bit(i); 8]))
                .collect(),
        ),
    );
    // Which register a write is to, decoded as it is accepted into a flag per register (for
    // the clock: the decode stays off the registers' enables, which see a flag and wpend_q).
    let word_addr = awaddr.slice(AXIL_ADDR_BITS - 1, 2);
    let hit = |b: &mut ModuleBuilder, name: &str| {
        let off = crate::npu::regs::offset(name).expect("register in the map");
        let here = word_addr
            .clone()
            .eq(lit(u64::from(off / 4), AXIL_ADDR_BITS - 2));
        let sel = b.delay_when(
            &format!("wsel_{}_q", name.to_lowercase()),
            here,
            wr_in.clone(),
        );
        wr.clone().and(sel)
    };
    // The RW registers: byte-masked writes.
    let mut rw = std::collections::BTreeMap::new();
    for r in REGS
        .iter()
        .filter(|r| r.access == crate::npu::regs::Access::Rw)
    {
        let h = b.reg(&format!("r_{}", r.name.to_lowercase()), u(32));
        let q = h.q();
        let merged = q
            .clone()
            .and(mask.clone().not())
            .or(wdata.clone().and(mask.clone()));
        let en = hit(&mut b, r.name);
        b.set_next(h, merged, Some(en));
        rw.insert(r.name, q);
    }
    let ctrl = hit(&mut b, "CTRL");
    // START and SOFT_RESET act the cycle after the write, from registers: SOFT_RESET's here,
    // START's (which reaches every unit) in copies the npu registers beside its users, and
    // the write decode stays off those paths (for the clock).
    let start_w = b.wire("start_w", ctrl.clone().and(wstrb.bit(0)).and(wdata.bit(0)));
    b.assign("start_next", start_w.clone());
    let start = b.delay("start_q", start_w);
    let soft = b.delay("soft_reset_q", ctrl.and(wstrb.bit(0)).and(wdata.bit(1)));
    b.assign("soft_reset", soft);
    // STATUS.DONE and IRQ_STATUS.DONE: set by done, cleared by START (IRQ_STATUS: by W1C).
    let done = b.reg("done_q", Ty::BIT);
    let done_q = done.q();
    b.set_next(
        done,
        Expr::mux(
            done_ev.clone(),
            Expr::bit_const(true),
            done_q.clone().and(start.not()),
        ),
        None,
    );
    let irqs = b.reg("irq_status_q", Ty::BIT);
    let irqs_q = irqs.q();
    let clear = hit(&mut b, "IRQ_STATUS")
        .and(wstrb.bit(0))
        .and(wdata.bit(0));
    b.set_next(
        irqs,
        Expr::mux(
            done_ev,
            Expr::bit_const(true),
            irqs_q.clone().and(clear.not()),
        ),
        None,
    );
    let irq_en = rw["IRQ_ENABLE"].bit(0);
    b.assign("irq", irqs_q.clone().and(irq_en));
    let wide = |lo: &Expr, hi: &Expr| {
        if aw == 32 {
            lo.clone()
        } else {
            Expr::concat(vec![hi.clone(), lo.clone()])
        }
    };
    b.assign("prog_addr", wide(&rw["PROG_ADDR_LO"], &rw["PROG_ADDR_HI"]));
    b.assign("prog_len", rw["PROG_LEN"].clone());
    for i in 0..4 {
        let (lo, hi) = (format!("BASE{i}_LO"), format!("BASE{i}_HI"));
        b.assign(
            &format!("base{i}"),
            wide(&rw[lo.as_str()], &rw[hi.as_str()]),
        );
    }
    if aw == 32 {
        let his: Vec<Expr> = [
            "PROG_ADDR_HI",
            "BASE0_HI",
            "BASE1_HI",
            "BASE2_HI",
            "BASE3_HI",
        ]
        .iter()
        .map(|n| rw[n].clone())
        .collect();
        b.wire("addr_hi_unused", Expr::concat(his));
    }
    b.wire("wdata_unused", wdata.slice(31, 2));

    // Read channel, three cycles for the clock: the address is registered, then the word is
    // picked by balanced mux trees on the registered word index (no chain of compares), in
    // two steps.
    let rvalid = b.reg("rvalid_q", Ty::BIT);
    let rvalid_q = rvalid.q();
    let rpend = b.reg("rpend_q", Ty::BIT);
    let rpend_q = rpend.q();
    let rpend2 = b.reg("rpend2_q", Ty::BIT);
    let rpend2_q = rpend2.q();
    let rd = b.wire(
        "rd",
        arvalid
            .and(rvalid_q.clone().not())
            .and(rpend_q.clone().not())
            .and(rpend2_q.clone().not()),
    );
    b.set_next(rpend, rd.clone(), None);
    b.set_next(rpend2, rpend_q.clone(), None);
    b.set_next(
        rvalid,
        rpend2_q.clone().or(rvalid_q.clone().and(rready.not())),
        None,
    );
    b.assign("s_axi_arready", rd.clone());
    b.assign("s_axi_rvalid", rvalid_q);
    b.assign("s_axi_rresp", lit(0, 2));
    let raddr = b.delay_when("raddr_q", araddr.slice(AXIL_ADDR_BITS - 1, 2), rd.clone());
    let status = Expr::concat(vec![lit(0, 16), error, lit(0, 6), done_q, busy]);
    let mut words: Vec<(u64, Expr)> = Vec::new();
    for r in REGS {
        let v = match (r.name, id_value(r.name, g, rounding)) {
            (_, Some(c)) => lit(c, 32),
            ("STATUS", _) => status.clone(),
            ("IRQ_STATUS", _) => irqs_q.clone().ext(32),
            ("ERROR_PC", _) => error_pc.clone(),
            ("CTRL", _) => lit(0, 32),
            (n, _) => rw[n].clone(),
        };
        words.push((u64::from(r.offset / 4), v));
    }
    for (i, c) in counters.iter().enumerate() {
        let off = u64::from(COUNTERS_BASE / 4) + 2 * i as u64;
        words.push((off, c.slice(31, 0)));
        words.push((off + 1, c.slice(63, 32)));
    }
    // The word in two steps: among each group of eight by the index's low bits (`rgroup*_q`),
    // then among the groups.
    const LOW: u32 = 3;
    let mut groups: std::collections::BTreeMap<u64, Vec<(u64, Expr)>> = Default::default();
    for (off, v) in words {
        groups
            .entry(off >> LOW)
            .or_default()
            .push((off & ((1 << LOW) - 1), v));
    }
    let low = b.wire("raddr_low", raddr.slice(LOW - 1, 0));
    let picked: Vec<(u64, Expr)> = groups
        .into_iter()
        .map(|(gi, members)| {
            let v = Expr::select(&low, &members, u(32));
            (
                gi,
                b.data_reg(&format!("rgroup{gi}_q"), v, Some(rpend_q.clone())),
            )
        })
        .collect();
    let high = b.wire("raddr_high", raddr.slice(AXIL_ADDR_BITS - 3, LOW));
    let value = Expr::select(&high, &picked, u(32));
    let rdata = b.reg("rdata_q", u(32));
    let rdata_q = rdata.q();
    b.set_next(rdata, value, Some(rpend2_q.clone()));
    b.assign("s_axi_rdata", rdata_q);
    b.wire(
        "addr_lo_unused",
        Expr::concat(vec![awaddr.slice(1, 0), araddr.slice(1, 0)]),
    );
    b.finish()
}
