//! The Verilated npu driven as a host would: an AXI4 memory model ([`axi_mem`]) on the master
//! port, a register driver on the AXI4-Lite port that writes the program address, length and
//! base registers, starts the program and waits for the interrupt, then reads the status and
//! every counter.

pub mod axi_mem;

use axi_mem::{AxiMem, MemIn, MemTiming};

use super::ports::PortSlot;
use super::verilator::{SimError, Verilated};
use crate::model::npu::HostRegs;
use crate::npu::regs::{offset, ErrorCode, COUNTERS};

/// What a run on the RTL ended with.
#[derive(Clone, Debug)]
pub struct RtlOutcome {
    /// STATUS.ERROR.
    pub error: u32,
    /// ERROR_PC.
    pub pc: u32,
    /// The counters, in [`COUNTERS`] order.
    pub counters: Vec<u64>,
    /// The DRAM afterwards.
    pub dram: Vec<u8>,
    /// Cycles from the START write's acceptance to the interrupt.
    pub cycles: u64,
    /// AXI protocol violations the memory model saw.
    pub violations: Vec<String>,
    /// The ID registers' values, by name.
    pub id: Vec<(String, u32)>,
}

impl RtlOutcome {
    /// The error as a code, if it is one.
    pub fn code(&self) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|e| *e as u32 == self.error)
    }

    /// Counter `name`.
    pub fn counter(&self, name: &str) -> u64 {
        let i = COUNTERS
            .iter()
            .position(|(n, _)| *n == name)
            .expect("counter");
        self.counters[i]
    }
}

struct Ports {
    slots: Vec<PortSlot>,
}

impl Ports {
    fn find(&self, name: &str) -> &PortSlot {
        self.slots
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("npu port {name}"))
    }
}

fn set(words: &mut [u32], s: &PortSlot, v: u64) {
    words[s.offset] = v as u32;
    if s.width > 32 {
        words[s.offset + 1] = (v >> 32) as u32;
    }
}

fn set_bytes(words: &mut [u32], s: &PortSlot, bytes: &[u8]) {
    for (i, c) in bytes.chunks(4).enumerate() {
        let mut w = [0u8; 4];
        w[..c.len()].copy_from_slice(c);
        words[s.offset + i] = u32::from_le_bytes(w);
    }
}

fn get(words: &[u32], s: &PortSlot) -> u64 {
    let lo = u64::from(words[s.offset]);
    if s.width > 32 {
        lo | u64::from(words[s.offset + 1]) << 32
    } else {
        lo
    }
}

fn get_bytes(words: &[u32], s: &PortSlot, n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (words[s.offset + i / 4] >> (8 * (i % 4))) as u8)
        .collect()
}

/// One register access of the host.
#[derive(Clone, Copy, Debug)]
enum Access {
    Write(u32, u32),
    Read(u32),
}

/// Runs the program `regs` describe on the Verilated npu `sim` (top ports as generated), with
/// `dram` behind the memory model; gives up after `max_cycles`.
pub fn run(
    sim: &mut Verilated,
    bus_bytes: u32,
    dram: Vec<u8>,
    regs: &HostRegs,
    timing: MemTiming,
    max_cycles: u64,
) -> Result<RtlOutcome, SimError> {
    let p = Ports {
        slots: sim
            .layout
            .inputs
            .iter()
            .chain(&sim.layout.outputs)
            .cloned()
            .collect(),
    };
    let mut mem = AxiMem::new(dram, bus_bytes, timing);
    let off = |n: &str| offset(n).unwrap_or_else(|| panic!("register {n}"));
    let mut script = Vec::new();
    let lo_hi = |v: u64| (v as u32, (v >> 32) as u32);
    let (a_lo, a_hi) = lo_hi(regs.prog_addr);
    script.extend([
        Access::Write(off("PROG_ADDR_LO"), a_lo),
        Access::Write(off("PROG_ADDR_HI"), a_hi),
        Access::Write(off("PROG_LEN"), regs.prog_len),
    ]);
    for (i, base) in regs.bases.iter().enumerate() {
        let (lo, hi) = lo_hi(*base);
        script.push(Access::Write(off(&format!("BASE{i}_LO")), lo));
        script.push(Access::Write(off(&format!("BASE{i}_HI")), hi));
    }
    script.push(Access::Write(off("IRQ_ENABLE"), 1));
    script.push(Access::Write(off("CTRL"), 1));
    let mut host = Host::new(script);
    let mut cycle = 0u64;
    let mut started_at = None;
    let mut done_at = None;
    // Reset.
    let rst = p.find("rst").clone();
    for _ in 0..4 {
        set(sim.inputs_mut(), &rst, 1);
        sim.step();
    }
    set(sim.inputs_mut(), &rst, 0);
    loop {
        if cycle > max_cycles {
            return Err(SimError::Build {
                step: "running the npu",
                detail: format!("no interrupt after {max_cycles} cycles: the npu hung"),
            });
        }
        let m = mem.drive().clone();
        {
            let w = sim.inputs_mut();
            set(w, p.find("m_axi_arready"), u64::from(m.arready));
            set(w, p.find("m_axi_rvalid"), u64::from(m.r.is_some()));
            if let Some((data, resp, last)) = &m.r {
                set_bytes(w, p.find("m_axi_rdata"), data);
                set(w, p.find("m_axi_rresp"), u64::from(*resp));
                set(w, p.find("m_axi_rlast"), u64::from(*last));
            }
            set(w, p.find("m_axi_awready"), u64::from(m.awready));
            set(w, p.find("m_axi_wready"), u64::from(m.wready));
            set(w, p.find("m_axi_bvalid"), u64::from(m.b.is_some()));
            set(w, p.find("m_axi_bresp"), u64::from(m.b.unwrap_or(0)));
            host.drive(w, &p);
        }
        sim.step();
        let o = sim.outputs();
        let bit = |n: &str| get(o, p.find(n)) & 1 == 1;
        let mi = MemIn {
            ar: bit("m_axi_arvalid").then(|| {
                (
                    get(o, p.find("m_axi_araddr")),
                    get(o, p.find("m_axi_arlen")) as u32,
                    get(o, p.find("m_axi_arsize")) as u32,
                )
            }),
            rready: bit("m_axi_rready"),
            aw: bit("m_axi_awvalid").then(|| {
                (
                    get(o, p.find("m_axi_awaddr")),
                    get(o, p.find("m_axi_awlen")) as u32,
                    get(o, p.find("m_axi_awsize")) as u32,
                )
            }),
            w: bit("m_axi_wvalid").then(|| {
                (
                    get_bytes(o, p.find("m_axi_wdata"), bus_bytes as usize),
                    get(o, p.find("m_axi_wstrb")),
                    bit("m_axi_wlast"),
                )
            }),
            bready: bit("m_axi_bready"),
        };
        mem.respond(&mi);
        let was_idle = host.idle();
        host.observe(o, &p);
        if was_idle != host.idle() && host.idle() && started_at.is_none() {
            started_at = Some(cycle);
        }
        cycle += 1;
        if started_at.is_some() && done_at.is_none() && bit("irq") {
            done_at = Some(cycle);
            break;
        }
    }
    // Read back status, error pc, counters and the ID registers; clear the interrupt.
    let mut reads = vec![off("STATUS"), off("ERROR_PC")];
    for i in 0..COUNTERS.len() as u32 {
        let lo = crate::npu::regs::COUNTERS_BASE + 8 * i;
        reads.extend([lo, lo + 4]);
    }
    let ids = [
        "ID",
        "VERSION",
        "ARRAY",
        "WIDTHS",
        "FEATURES",
        "ACT_WORDS",
        "WEIGHT_WORDS",
        "PARAM_ROWS",
        "ACC_ROWS",
        "OUT_WORDS",
    ];
    reads.extend(ids.iter().map(|n| off(n)));
    let mut script: Vec<Access> = reads.iter().map(|&a| Access::Read(a)).collect();
    script.push(Access::Write(off("IRQ_STATUS"), 1));
    let mut host = Host::new(script);
    let mut guard = 0;
    while !host.idle() {
        guard += 1;
        if guard > 10_000 {
            return Err(SimError::Build {
                step: "reading the npu's registers",
                detail: "the AXI4-Lite port stopped answering".into(),
            });
        }
        mem.drive();
        host.drive(sim.inputs_mut(), &p);
        sim.step();
        mem.respond(&MemIn::default());
        host.observe(sim.outputs(), &p);
    }
    if get(sim.outputs(), p.find("irq")) & 1 == 1 {
        return Err(SimError::Build {
            step: "clearing the interrupt",
            detail: "irq still high after writing IRQ_STATUS".into(),
        });
    }
    let r = &host.results;
    let status = r[0];
    let counters = (0..COUNTERS.len())
        .map(|i| u64::from(r[2 + 2 * i]) | u64::from(r[3 + 2 * i]) << 32)
        .collect();
    let id = ids
        .iter()
        .enumerate()
        .map(|(i, n)| (n.to_string(), r[2 + 2 * COUNTERS.len() + i]))
        .collect();
    let mut violations = mem.violations.clone();
    if status & 3 != 2 {
        violations.push(format!(
            "STATUS {status:#x} after the interrupt: busy or not done"
        ));
    }
    if !mem.quiet() {
        violations.push("AXI bursts still outstanding at done".into());
    }
    Ok(RtlOutcome {
        error: (status >> 8) & 0xff,
        pc: r[1],
        counters,
        dram: mem.bytes,
        cycles: done_at.unwrap_or(cycle) - started_at.unwrap_or(0),
        violations,
        id,
    })
}

/// The AXI4-Lite host: runs a script of accesses one at a time.
struct Host {
    script: std::collections::VecDeque<Access>,
    phase: u8,
    results: Vec<u32>,
}

impl Host {
    fn new(script: Vec<Access>) -> Host {
        Host {
            script: script.into(),
            phase: 0,
            results: Vec::new(),
        }
    }

    fn idle(&self) -> bool {
        self.script.is_empty()
    }

    /// Phase 0: address (and data) offered; 1: waiting for the response.
    fn drive(&self, w: &mut [u32], p: &Ports) {
        let mut put = |n: &str, v: u64| set(w, p.find(n), v);
        for n in [
            "s_axi_awvalid",
            "s_axi_wvalid",
            "s_axi_arvalid",
            "s_axi_bready",
            "s_axi_rready",
        ] {
            put(n, 0);
        }
        match (self.script.front(), self.phase) {
            (Some(Access::Write(a, d)), 0) => {
                put("s_axi_awaddr", u64::from(*a));
                put("s_axi_wdata", u64::from(*d));
                put("s_axi_wstrb", 0xf);
                put("s_axi_awvalid", 1);
                put("s_axi_wvalid", 1);
            }
            (Some(Access::Write(..)), _) => put("s_axi_bready", 1),
            (Some(Access::Read(a)), 0) => {
                put("s_axi_araddr", u64::from(*a));
                put("s_axi_arvalid", 1);
            }
            (Some(Access::Read(_)), _) => put("s_axi_rready", 1),
            (None, _) => {}
        }
    }

    fn observe(&mut self, o: &[u32], p: &Ports) {
        let bit = |n: &str| get(o, p.find(n)) & 1 == 1;
        match (self.script.front().copied(), self.phase) {
            (Some(Access::Write(..)), 0) => {
                // This slave takes address and data together.
                if bit("s_axi_awready") && bit("s_axi_wready") {
                    self.phase = 1;
                }
            }
            (Some(Access::Write(..)), _) => {
                if bit("s_axi_bvalid") {
                    self.script.pop_front();
                    self.phase = 0;
                }
            }
            (Some(Access::Read(_)), 0) => {
                if bit("s_axi_arready") {
                    self.phase = 1;
                }
            }
            (Some(Access::Read(_)), _) => {
                if bit("s_axi_rvalid") {
                    self.results.push(get(o, p.find("s_axi_rdata")) as u32);
                    self.script.pop_front();
                    self.phase = 0;
                }
            }
            (None, _) => {}
        }
    }
}
