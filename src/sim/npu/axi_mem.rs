//! An AXI4 slave memory model for the npu's master port: a byte array with a read and a write
//! latency, a bandwidth budget in bytes per cycle shared by both directions, seeded random
//! ready/valid back-pressure on every channel, DECERR beyond its end and SLVERR in a chosen
//! range. It checks the master's side of the protocol as it goes (bursts of at most 256 beats
//! that never cross 4 KiB, beat sizes within the bus, WLAST on the last beat, AW before W, and
//! AR, AW and W held, unchanged, from VALID until READY).

use std::collections::VecDeque;

use crate::rng::Rng;

/// How the memory behaves.
#[derive(Clone, Debug)]
pub struct MemTiming {
    /// Cycles from an accepted AR (AW's last W beat) to the first R beat (the B response).
    pub latency: u64,
    /// Bytes per cycle the memory moves, reads and writes together.
    pub bytes_per_cycle: u32,
    /// Percent of cycles each ready/valid the memory drives is offered (100: always).
    pub offer: u32,
    /// Seed of the back-pressure.
    pub seed: u64,
    /// Byte range answered SLVERR (for error tests).
    pub slverr: Option<std::ops::Range<u64>>,
}

impl Default for MemTiming {
    fn default() -> Self {
        MemTiming {
            latency: 8,
            bytes_per_cycle: 64,
            offer: 100,
            seed: 1,
            slverr: None,
        }
    }
}

/// An address (AR, AW) or a W beat, as shown on the bus.
type Addr = Option<(u64, u32, u32)>;
type Beat = Option<(Vec<u8>, u64, bool)>;
/// AR, AW and W shown and not accepted.
type Held = (Addr, Addr, Beat);

/// What the memory drives in a cycle.
#[derive(Clone, Debug, Default)]
pub struct MemOut {
    /// ARREADY.
    pub arready: bool,
    /// RVALID, RDATA (bus bytes), RRESP, RLAST.
    pub r: Option<(Vec<u8>, u32, bool)>,
    /// AWREADY.
    pub awready: bool,
    /// WREADY.
    pub wready: bool,
    /// BVALID with BRESP.
    pub b: Option<u32>,
}

/// What the master drives in a cycle.
#[derive(Clone, Debug, Default)]
pub struct MemIn {
    /// ARVALID with (ARADDR, ARLEN, ARSIZE).
    pub ar: Option<(u64, u32, u32)>,
    /// RREADY.
    pub rready: bool,
    /// AWVALID with (AWADDR, AWLEN, AWSIZE).
    pub aw: Option<(u64, u32, u32)>,
    /// WVALID with (WDATA, WSTRB, WLAST).
    pub w: Option<(Vec<u8>, u64, bool)>,
    /// BREADY.
    pub bready: bool,
}

#[derive(Clone, Debug)]
struct Burst {
    addr: u64,
    len: u32,
    size: u32,
    beat: u32,
    ready_at: u64,
}

/// The memory.
pub struct AxiMem {
    /// The bytes.
    pub bytes: Vec<u8>,
    bus: u32,
    t: MemTiming,
    rng: Rng,
    cycle: u64,
    credit: u64,
    reads: VecDeque<Burst>,
    writes: VecDeque<Burst>,
    write_err: Vec<bool>,
    responses: VecDeque<(u64, u32)>,
    out: MemOut,
    /// AR, AW and W shown last cycle and not accepted: they must be shown again unchanged.
    held: Held,
    /// Protocol violations seen, in order.
    pub violations: Vec<String>,
    /// Bytes moved by R and W beats.
    pub moved: u64,
}

const OKAY: u32 = 0;
const SLVERR: u32 = 2;
const DECERR: u32 = 3;

impl AxiMem {
    /// A memory over `bytes` on a bus of `bus` bytes.
    pub fn new(bytes: Vec<u8>, bus: u32, t: MemTiming) -> AxiMem {
        AxiMem {
            bytes,
            bus,
            rng: Rng::new(t.seed),
            t,
            cycle: 0,
            credit: 0,
            reads: VecDeque::new(),
            writes: VecDeque::new(),
            write_err: Vec::new(),
            responses: VecDeque::new(),
            out: MemOut::default(),
            held: (None, None, None),
            violations: Vec::new(),
            moved: 0,
        }
    }

    fn coin(&mut self) -> bool {
        self.t.offer >= 100 || (self.rng.range(0, 99) as u32) < self.t.offer
    }

    /// Byte address of beat `n` of a burst (INCR; the first beat may be unaligned).
    fn beat_addr(b: &Burst) -> u64 {
        let size = 1u64 << b.size;
        if b.beat == 0 {
            b.addr
        } else {
            (b.addr / size) * size + u64::from(b.beat) * size
        }
    }

    fn resp(&self, addr: u64, len: u64) -> u32 {
        if addr + len > self.bytes.len() as u64 {
            DECERR
        } else if self
            .t
            .slverr
            .as_ref()
            .is_some_and(|r| addr < r.end && addr + len > r.start)
        {
            SLVERR
        } else {
            OKAY
        }
    }

    fn check_burst(&mut self, what: &str, addr: u64, len: u32, size: u32) {
        let bytes = (1u64 << size) * u64::from(len + 1);
        let aligned = addr / (1u64 << size) * (1u64 << size);
        if 1u32 << size > self.bus {
            self.violations.push(format!(
                "{what} at {addr:#x}: size {size} wider than the bus"
            ));
        }
        if aligned / 4096 != (aligned + bytes - 1) / 4096 {
            self.violations.push(format!(
                "{what} at {addr:#x}, {} beats of {} bytes, crosses a 4 KiB boundary",
                len + 1,
                1u32 << size
            ));
        }
    }

    /// What the memory drives this cycle (decided before it sees the master's outputs).
    pub fn drive(&mut self) -> &MemOut {
        self.credit =
            (self.credit + u64::from(self.t.bytes_per_cycle)).min(4 * u64::from(self.bus));
        let arready = self.coin();
        let awready = self.coin();
        let beat_ok = self.credit >= u64::from(self.bus);
        let mut r = None;
        if let Some(b) = self.reads.front().cloned() {
            if self.cycle >= b.ready_at && beat_ok && self.coin() {
                let addr = Self::beat_addr(&b);
                let size = 1u64 << b.size;
                let end = (addr / size + 1) * size;
                let resp = self.resp(addr, end - addr);
                let mut data = vec![0u8; self.bus as usize];
                if resp != DECERR {
                    for a in addr..end {
                        data[(a % u64::from(self.bus)) as usize] = self.bytes[a as usize];
                    }
                }
                r = Some((data, resp, b.beat == b.len));
            }
        }
        // A W beat in the same cycle as an R beat needs the credit of both.
        let w_credit = u64::from(self.bus) * (1 + u64::from(r.is_some()));
        let wready = self.credit >= w_credit && self.coin() && !self.writes.is_empty();
        let b = if self.coin() {
            self.responses
                .front()
                .filter(|(at, _)| self.cycle >= *at)
                .map(|(_, resp)| *resp)
        } else {
            None
        };
        self.out = MemOut {
            arready,
            r,
            awready,
            wready,
            b,
        };
        &self.out
    }

    /// The master's outputs of this cycle: the handshakes happen, the cycle ends.
    pub fn respond(&mut self, m: &MemIn) {
        let out = self.out.clone();
        self.check_held(m);
        if let (true, Some((addr, len, size))) = (out.arready, m.ar) {
            self.check_burst("AR", addr, len, size);
            self.reads.push_back(Burst {
                addr,
                len,
                size,
                beat: 0,
                ready_at: self.cycle + self.t.latency,
            });
        }
        if let (Some(_), true) = (&out.r, m.rready) {
            self.credit -= u64::from(self.bus);
            self.moved += u64::from(self.bus);
            let b = self.reads.front_mut().expect("a burst is being read");
            if b.beat == b.len {
                self.reads.pop_front();
            } else {
                b.beat += 1;
            }
        }
        if let (true, Some((addr, len, size))) = (out.awready, m.aw) {
            self.check_burst("AW", addr, len, size);
            self.writes.push_back(Burst {
                addr,
                len,
                size,
                beat: 0,
                ready_at: 0,
            });
            self.write_err.push(false);
        }
        if let (true, Some((data, strb, last))) = (out.wready, &m.w) {
            self.credit -= u64::from(self.bus);
            self.moved += u64::from(self.bus);
            let b = self
                .writes
                .front()
                .cloned()
                .expect("wready only with a burst");
            let addr = Self::beat_addr(&b);
            let size = 1u64 << b.size;
            let end = (addr / size + 1) * size;
            let resp = self.resp(addr, end - addr);
            let lane0 = (addr / u64::from(self.bus)) * u64::from(self.bus);
            for a in addr..end {
                let lane = a - lane0;
                if strb >> lane & 1 == 1 && resp == OKAY {
                    self.bytes[a as usize] = data[lane as usize];
                }
            }
            for lane in 0..u64::from(self.bus) {
                let a = lane0 + lane;
                if strb >> lane & 1 == 1 && (a < addr || a >= end) {
                    self.violations.push(format!(
                        "W strobe on byte {a:#x} outside the beat at {addr:#x}"
                    ));
                }
            }
            let err = &mut self.write_err[0];
            *err |= resp != OKAY;
            let is_last = b.beat == b.len;
            if *last != is_last {
                self.violations.push(format!(
                    "WLAST {last} on beat {} of a {}-beat burst at {:#x}",
                    b.beat,
                    b.len + 1,
                    b.addr
                ));
            }
            if is_last {
                self.writes.pop_front();
                let bad = self.write_err.remove(0);
                let code = if bad {
                    self.resp(addr, end - addr).max(SLVERR)
                } else {
                    OKAY
                };
                self.responses
                    .push_back((self.cycle + self.t.latency, code));
            } else {
                self.writes.front_mut().expect("burst").beat += 1;
            }
        } else if m.w.is_some() && self.writes.is_empty() && m.aw.is_none() {
            // W before its AW is legal AXI, but this master never does it: flag it.
            self.violations.push("W valid with no write burst".into());
        }
        if let (Some(_), true) = (out.b, m.bready) {
            self.responses.pop_front();
        }
        self.cycle += 1;
    }

    /// VALID may not fall, nor the payload change, before READY (AXI4 A3.2.1).
    fn check_held(&mut self, m: &MemIn) {
        let cycle = self.cycle;
        let (ar, aw, w) = std::mem::take(&mut self.held);
        if ar.is_some() && ar != m.ar {
            self.violations.push(format!(
                "cycle {cycle}: AR {ar:x?} withdrawn or changed before ARREADY"
            ));
        }
        if aw.is_some() && aw != m.aw {
            self.violations.push(format!(
                "cycle {cycle}: AW {aw:x?} withdrawn or changed before AWREADY"
            ));
        }
        if w.is_some() && w != m.w {
            self.violations.push(format!(
                "cycle {cycle}: a W beat withdrawn or changed before WREADY"
            ));
        }
        let out = &self.out;
        self.held = (
            m.ar.filter(|_| !out.arready),
            m.aw.filter(|_| !out.awready),
            m.w.clone().filter(|_| !out.wready),
        );
    }

    /// Whether every accepted burst has been answered.
    pub fn quiet(&self) -> bool {
        self.reads.is_empty() && self.writes.is_empty() && self.responses.is_empty()
    }
}
