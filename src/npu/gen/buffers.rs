//! The npu's buffers: their shapes (one table the top and the buffers-only design share), one
//! buffer as a one-write, one-read memory whose read takes two cycles, and a design of the
//! buffers alone, so that `npugen synth --part buffers` shows which block RAM each target gives
//! them.
//!
//! A read is registered twice: the memory's own read register (`<name>_rd1`, holding while
//! the read enable is low) and an output register (`<name>_rdata`, following it every cycle
//! unless `hold`). A block RAM's read costs most of a cycle from its clock; with the second
//! register nothing but a route follows it, and on the ECP5 the netlist pass
//! `flow::ecp5_bram` moves that register into the DP16KD (REGMODE OUTREG).
//!
//! A buffer whose read port several users share (the accumulator memory: write-back, POST,
//! the ALU and the store unit) may register its read enable and address first
//! ([`Ports::delayed_read`]): the memory reads a cycle after the request, and the word is in
//! the output register three cycles after it. The write port is not delayed, so such a read
//! does not see a write made in the cycle after it was requested.

use super::u;
use crate::npu::geometry::RECORD_BYTES;
use crate::npu::Geometry;
use crate::rtl::{bits_for, Expr, MemWrite, Memory, Module, ModuleBuilder, Ty};

/// One buffer's shape.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Its name (the memory is `<name>_mem`, its read data `<name>_rdata`).
    pub name: &'static str,
    /// Bits per word.
    pub width: u32,
    /// Words.
    pub depth: u32,
}

/// The buffers of `g`: activation, weight, accumulator and, with post-processing, parameter
/// and output.
pub fn shapes(g: &Geometry) -> Vec<Shape> {
    let (r, c) = (g.rows, g.cols);
    let s = |name, width, depth| Shape { name, width, depth };
    let mut v = vec![
        s("act", r * g.in_bits, g.act_words),
        s("weight", c * g.w_bits, g.weight_words),
        s("acc", c * g.acc_bits, g.acc_rows),
    ];
    if let Some((ob, _)) = g.out {
        v.push(s("param", c * 8 * RECORD_BYTES, g.param_rows));
        v.push(s("out", c * ob, g.out_words));
    }
    v
}

/// The buffer `name` of `g`.
pub(super) fn shape(g: &Geometry, name: &str) -> Shape {
    *shapes(g)
        .iter()
        .find(|s| s.name == name)
        .expect("a buffer of this geometry")
}

/// `addr` (16 bits) narrowed to index a memory of `depth` words, as the wire `name` (the
/// sequencer checked every address against the depth).
fn index(b: &mut ModuleBuilder, name: &str, addr: Expr, depth: u32) -> Expr {
    b.truncate(name, addr, bits_for(u64::from(depth.max(2) - 1)))
}

/// A write and a read port of a buffer: enable, 16-bit address and data (write) or enable and
/// 16-bit address (read).
pub(super) struct Ports {
    /// Write enable.
    pub we: Expr,
    /// Write address.
    pub waddr: Expr,
    /// Write data.
    pub wdata: Expr,
    /// Read enable.
    pub re: Expr,
    /// Read address.
    pub raddr: Expr,
    /// The output register keeps its word (the memory's read register then must not read).
    pub hold: Option<Expr>,
    /// The read enable and address are registered before the memory (`<name>_re_q`,
    /// `<name>_raddr_q`): the word arrives three cycles after the request, not two.
    pub delayed_read: bool,
}

/// The accumulator memory's read port is delayed (see the module's doc).
pub const ACC_DELAYED_READ: bool = true;

/// Cycles from an accumulator read request to its row in `acc_rdata`.
pub const ACC_READ_LATENCY: u32 = read_latency(ACC_DELAYED_READ);

/// Cycles from a read request on a port to its word in the output register.
pub const fn read_latency(delayed_read: bool) -> u32 {
    if delayed_read {
        3
    } else {
        2
    }
}

/// Buffer `s`: one write port, one read port (read-first) whose word is in the output
/// register `<name>_rdata` [`read_latency`] cycles after the read.
pub(super) fn buffer(b: &mut ModuleBuilder, s: Shape, p: Ports) -> Expr {
    let waddr = index(b, &format!("{}_waddr", s.name), p.waddr, s.depth);
    let raddr = index(b, &format!("{}_raddr", s.name), p.raddr, s.depth);
    let (re, raddr) = if p.delayed_read {
        (
            b.delay(&format!("{}_re_q", s.name), p.re),
            b.data_reg(&format!("{}_raddr_q", s.name), raddr, None),
        )
    } else {
        (p.re, raddr)
    };
    let rd1 = b.memory(Memory {
        name: format!("{}_mem", s.name),
        width: s.width,
        depth: s.depth,
        write: Some(MemWrite {
            enable: p.we,
            addr: waddr,
            data: p.wdata,
        }),
        init: None,
        read_enable: re,
        read_addr: raddr,
        read_data: format!("{}_rd1", s.name),
        no_rw_check: true,
    });
    b.data_reg(&format!("{}_rdata", s.name), rd1, p.hold.map(Expr::not))
}

/// A module holding only the buffers of `g`, each with its ports as the module's.
pub fn buffers_only(module: &str, g: &Geometry) -> Module {
    let mut b = ModuleBuilder::new(module);
    b.doc("The npu's buffers alone (for synthesis reports of their block RAM).");
    b.clock_and_reset();
    let rst = Expr::sig("rst", Ty::BIT);
    b.wire("rst_unused", rst);
    for s in shapes(g) {
        let n = s.name;
        let [we, waddr, wdata, re, raddr] = b.inputs([
            (&format!("{n}_we"), Ty::BIT, "write enable"),
            (&format!("{n}_waddr_in"), u(16), "write address"),
            (&format!("{n}_wdata"), u(s.width), "write data"),
            (&format!("{n}_re"), Ty::BIT, "read enable"),
            (&format!("{n}_raddr_in"), u(16), "read address"),
        ]);
        let q = buffer(
            &mut b,
            s,
            Ports {
                we,
                waddr,
                wdata,
                re,
                raddr,
                hold: None,
                delayed_read: false,
            },
        );
        b.output(&format!("{n}_q"), u(s.width), "read data");
        b.assign(&format!("{n}_q"), q);
    }
    b.finish()
}
