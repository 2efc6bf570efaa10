//! The host's side of the npu's AXI4-Lite port: a script of register writes and reads, one
//! access at a time (address and data offered together; then the response awaited).

use std::collections::VecDeque;

use super::super::ports::{get_u64, set_u64, PortLayout, PortSlot};
use super::super::verilator::SimError;

/// One register access.
#[derive(Clone, Copy, Debug)]
pub(super) enum Access {
    /// Write a value to a byte offset.
    Write(u32, u32),
    /// Read a byte offset.
    Read(u32),
}

/// The AXI4-Lite ports, resolved once.
pub(super) struct LitePins {
    awaddr: PortSlot,
    awvalid: PortSlot,
    wdata: PortSlot,
    wstrb: PortSlot,
    wvalid: PortSlot,
    bready: PortSlot,
    araddr: PortSlot,
    arvalid: PortSlot,
    rready: PortSlot,
    awready: PortSlot,
    wready: PortSlot,
    bvalid: PortSlot,
    arready: PortSlot,
    rvalid: PortSlot,
    rdata: PortSlot,
}

/// The ports this driver drives and reads (bresp / rresp are OKAY by construction: read, not
/// compared).
pub(super) const LITE_INPUTS: [&str; 9] = [
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
/// The outputs it reads.
pub(super) const LITE_OUTPUTS: [&str; 8] = [
    "s_axi_awready",
    "s_axi_wready",
    "s_axi_bvalid",
    "s_axi_bresp",
    "s_axi_arready",
    "s_axi_rvalid",
    "s_axi_rdata",
    "s_axi_rresp",
];

impl LitePins {
    /// The pins of `l`, or an error naming the missing one.
    pub(super) fn resolve(l: &PortLayout) -> Result<LitePins, SimError> {
        let i = |n: &str| l.find_input(n);
        let o = |n: &str| l.find_output(n);
        Ok(LitePins {
            awaddr: i("s_axi_awaddr")?,
            awvalid: i("s_axi_awvalid")?,
            wdata: i("s_axi_wdata")?,
            wstrb: i("s_axi_wstrb")?,
            wvalid: i("s_axi_wvalid")?,
            bready: i("s_axi_bready")?,
            araddr: i("s_axi_araddr")?,
            arvalid: i("s_axi_arvalid")?,
            rready: i("s_axi_rready")?,
            awready: o("s_axi_awready")?,
            wready: o("s_axi_wready")?,
            bvalid: o("s_axi_bvalid")?,
            arready: o("s_axi_arready")?,
            rvalid: o("s_axi_rvalid")?,
            rdata: o("s_axi_rdata")?,
        })
    }
}

/// The driver: runs its script, collecting what it reads.
pub(super) struct Host {
    script: VecDeque<Access>,
    waiting: bool,
    /// The values read, in script order.
    pub(super) results: Vec<u32>,
}

impl Host {
    /// A driver for `script`.
    pub(super) fn new(script: Vec<Access>) -> Host {
        Host {
            script: script.into(),
            waiting: false,
            results: Vec::new(),
        }
    }

    /// Whether the script is done.
    pub(super) fn idle(&self) -> bool {
        self.script.is_empty()
    }

    /// This cycle's inputs: the access offered, or the response awaited.
    pub(super) fn drive(&self, w: &mut [u32], p: &LitePins) {
        for s in [&p.awvalid, &p.wvalid, &p.arvalid, &p.bready, &p.rready] {
            set_u64(w, s, 0);
        }
        match (self.script.front(), self.waiting) {
            (Some(Access::Write(a, d)), false) => {
                set_u64(w, &p.awaddr, u64::from(*a));
                set_u64(w, &p.wdata, u64::from(*d));
                set_u64(w, &p.wstrb, 0xf);
                set_u64(w, &p.awvalid, 1);
                set_u64(w, &p.wvalid, 1);
            }
            (Some(Access::Write(..)), true) => set_u64(w, &p.bready, 1),
            (Some(Access::Read(a)), false) => {
                set_u64(w, &p.araddr, u64::from(*a));
                set_u64(w, &p.arvalid, 1);
            }
            (Some(Access::Read(_)), true) => set_u64(w, &p.rready, 1),
            (None, _) => {}
        }
    }

    /// This cycle's outputs: the handshakes that happened.
    pub(super) fn observe(&mut self, o: &[u32], p: &LitePins) {
        let bit = |s: &PortSlot| get_u64(o, s) & 1 == 1;
        match (self.script.front().copied(), self.waiting) {
            // This slave takes address and data together.
            (Some(Access::Write(..)), false) => self.waiting = bit(&p.awready) && bit(&p.wready),
            (Some(Access::Read(_)), false) => self.waiting = bit(&p.arready),
            (Some(Access::Write(..)), true) if bit(&p.bvalid) => self.next(),
            (Some(Access::Read(_)), true) if bit(&p.rvalid) => {
                self.results.push(get_u64(o, &p.rdata) as u32);
                self.next();
            }
            _ => {}
        }
    }

    fn next(&mut self) {
        self.script.pop_front();
        self.waiting = false;
    }
}
