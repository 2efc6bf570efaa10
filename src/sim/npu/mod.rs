//! The Verilated npu driven as a host would: an AXI4 memory model ([`axi_mem`]) on the master
//! port, a register driver on the AXI4-Lite port that writes the program address, length and
//! base registers, starts the program and waits for the interrupt, then reads the status and
//! every counter.

pub mod axi_mem;
mod axil_host;

use axi_mem::{AxiMem, MemIn, MemTiming};
use axil_host::{Access, Host, LitePins, LITE_INPUTS, LITE_OUTPUTS};

use super::ports::{get_bytes, get_u64, set_bytes, set_u64, PortLayout, PortSlot};
use super::verilator::{SimError, Verilated};
use crate::model::npu::HostRegs;
use crate::npu::regs::{offset, ErrorCode, COUNTERS, COUNTERS_BASE, REGS};

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

/// The AXI4 master's ports, resolved once (the run loop reads them every cycle).
struct AxiPins {
    arready: PortSlot,
    rvalid: PortSlot,
    rdata: PortSlot,
    rresp: PortSlot,
    rlast: PortSlot,
    awready: PortSlot,
    wready: PortSlot,
    bvalid: PortSlot,
    bresp: PortSlot,
    arvalid: PortSlot,
    araddr: PortSlot,
    arlen: PortSlot,
    arsize: PortSlot,
    rready: PortSlot,
    awvalid: PortSlot,
    awaddr: PortSlot,
    awlen: PortSlot,
    awsize: PortSlot,
    wvalid: PortSlot,
    wdata: PortSlot,
    wstrb: PortSlot,
    wlast: PortSlot,
    bready: PortSlot,
}

impl AxiPins {
    fn resolve(l: &PortLayout) -> Result<AxiPins, SimError> {
        let i = |n: &str| l.find_input(&format!("m_axi_{n}"));
        let o = |n: &str| l.find_output(&format!("m_axi_{n}"));
        Ok(AxiPins {
            arready: i("arready")?,
            rvalid: i("rvalid")?,
            rdata: i("rdata")?,
            rresp: i("rresp")?,
            rlast: i("rlast")?,
            awready: i("awready")?,
            wready: i("wready")?,
            bvalid: i("bvalid")?,
            bresp: i("bresp")?,
            arvalid: o("arvalid")?,
            araddr: o("araddr")?,
            arlen: o("arlen")?,
            arsize: o("arsize")?,
            rready: o("rready")?,
            awvalid: o("awvalid")?,
            awaddr: o("awaddr")?,
            awlen: o("awlen")?,
            awsize: o("awsize")?,
            wvalid: o("wvalid")?,
            wdata: o("wdata")?,
            wstrb: o("wstrb")?,
            wlast: o("wlast")?,
            bready: o("bready")?,
        })
    }

    /// The memory's outputs of this cycle onto the npu's inputs.
    fn drive(&self, w: &mut [u32], m: &axi_mem::MemOut) {
        set_u64(w, &self.arready, u64::from(m.arready));
        set_u64(w, &self.rvalid, u64::from(m.r.is_some()));
        if let Some((data, resp, last)) = &m.r {
            set_bytes(w, &self.rdata, data);
            set_u64(w, &self.rresp, u64::from(*resp));
            set_u64(w, &self.rlast, u64::from(*last));
        }
        set_u64(w, &self.awready, u64::from(m.awready));
        set_u64(w, &self.wready, u64::from(m.wready));
        set_u64(w, &self.bvalid, u64::from(m.b.is_some()));
        set_u64(w, &self.bresp, u64::from(m.b.unwrap_or(0)));
    }

    /// The npu's outputs of this cycle, as the memory sees them.
    fn observe(&self, o: &[u32], bus_bytes: u32) -> MemIn {
        let bit = |s: &PortSlot| get_u64(o, s) & 1 == 1;
        let burst = |a: &PortSlot, l: &PortSlot, z: &PortSlot| {
            (get_u64(o, a), get_u64(o, l) as u32, get_u64(o, z) as u32)
        };
        MemIn {
            ar: bit(&self.arvalid).then(|| burst(&self.araddr, &self.arlen, &self.arsize)),
            rready: bit(&self.rready),
            aw: bit(&self.awvalid).then(|| burst(&self.awaddr, &self.awlen, &self.awsize)),
            w: bit(&self.wvalid).then(|| {
                (
                    get_bytes(o, &self.wdata, bus_bytes as usize),
                    get_u64(o, &self.wstrb),
                    bit(&self.wlast),
                )
            }),
            bready: bit(&self.bready),
        }
    }
}

/// The AXI4 ports the memory model drives and reads (ARBURST/AWBURST are INCR and the IDs 0
/// by construction: read, not compared; RID/BID are driven 0).
const AXI_PORTS: [&str; 29] = [
    "m_axi_arid",
    "m_axi_awid",
    "m_axi_rid",
    "m_axi_bid",
    "m_axi_arready",
    "m_axi_rvalid",
    "m_axi_rdata",
    "m_axi_rresp",
    "m_axi_rlast",
    "m_axi_awready",
    "m_axi_wready",
    "m_axi_bvalid",
    "m_axi_bresp",
    "m_axi_arvalid",
    "m_axi_araddr",
    "m_axi_arlen",
    "m_axi_arsize",
    "m_axi_arburst",
    "m_axi_rready",
    "m_axi_awvalid",
    "m_axi_awaddr",
    "m_axi_awlen",
    "m_axi_awsize",
    "m_axi_awburst",
    "m_axi_wvalid",
    "m_axi_wdata",
    "m_axi_wstrb",
    "m_axi_wlast",
    "m_axi_bready",
];

/// Steps the npu and the memory until the host's script is done (register accesses only).
fn run_script(
    sim: &mut Verilated,
    mem: &mut AxiMem,
    pins: (&AxiPins, &LitePins),
    bus_bytes: u32,
    host: &mut Host,
    irq: &PortSlot,
    until_irq: Option<u64>,
) -> Result<(), SimError> {
    let (axi, lite) = pins;
    let mut cycle = 0u64;
    loop {
        let done = match until_irq {
            None => host.idle(),
            Some(_) => host.idle() && get_u64(sim.outputs(), irq) & 1 == 1,
        };
        if done {
            return Ok(());
        }
        cycle += 1;
        let limit = until_irq.unwrap_or(10_000);
        if cycle > limit {
            let detail = match until_irq {
                Some(_) => format!("no interrupt after {limit} cycles: the npu hung"),
                None => "the AXI4-Lite port stopped answering".to_string(),
            };
            return Err(SimError::Build {
                step: "running the npu",
                detail,
            });
        }
        let m = mem.drive().clone();
        axi.drive(sim.inputs_mut(), &m);
        host.drive(sim.inputs_mut(), lite);
        sim.step();
        let mi = axi.observe(sim.outputs(), bus_bytes);
        mem.respond(&mi);
        host.observe(sim.outputs(), lite);
    }
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
    let l = &sim.layout;
    let mut handled: Vec<&str> = vec!["rst", "irq"];
    handled.extend(AXI_PORTS);
    handled.extend(LITE_INPUTS);
    handled.extend(LITE_OUTPUTS);
    let (ins, outs): (Vec<&str>, Vec<&str>) = handled.iter().partition(|n| l.input(n).is_some());
    l.check_handled(&ins, &outs)?;
    let (axi, lite) = (AxiPins::resolve(l)?, LitePins::resolve(l)?);
    let (rst, irq) = (l.find_input("rst")?, l.find_output("irq")?);
    let mut mem = AxiMem::new(dram, bus_bytes, timing);
    let off = |n: &str| offset(n).unwrap_or_else(|| panic!("register {n}"));
    let lo_hi = |v: u64| [v as u32, (v >> 32) as u32];
    let mut script = Vec::new();
    let mut write64 = |name: &str, v: u64| {
        let [lo, hi] = lo_hi(v);
        script.push(Access::Write(off(&format!("{name}_LO")), lo));
        script.push(Access::Write(off(&format!("{name}_HI")), hi));
    };
    write64("PROG_ADDR", regs.prog_addr);
    for (i, base) in regs.bases.iter().enumerate() {
        write64(&format!("BASE{i}"), *base);
    }
    script.extend([
        Access::Write(off("PROG_LEN"), regs.prog_len),
        Access::Write(off("IRQ_ENABLE"), 1),
        Access::Write(off("CTRL"), 1),
    ]);
    for _ in 0..4 {
        set_u64(sim.inputs_mut(), &rst, 1);
        sim.step();
    }
    set_u64(sim.inputs_mut(), &rst, 0);
    let pins = (&axi, &lite);
    // Start, then wait for the interrupt (irq is low from reset until done).
    let mut host = Host::new(script);
    run_script(
        sim,
        &mut mem,
        pins,
        bus_bytes,
        &mut host,
        &irq,
        Some(max_cycles),
    )?;
    // Status, error pc, the counters and the ID registers (everything below CTRL); then
    // clear the interrupt.
    let ids: Vec<&str> = REGS
        .iter()
        .filter(|r| r.offset < off("CTRL"))
        .map(|r| r.name)
        .collect();
    let mut reads = vec![off("STATUS"), off("ERROR_PC")];
    for i in 0..COUNTERS.len() as u32 {
        reads.extend([COUNTERS_BASE + 8 * i, COUNTERS_BASE + 8 * i + 4]);
    }
    reads.extend(ids.iter().map(|n| off(n)));
    let mut script: Vec<Access> = reads.iter().map(|&a| Access::Read(a)).collect();
    script.push(Access::Write(off("IRQ_STATUS"), 1));
    let mut host = Host::new(script);
    run_script(sim, &mut mem, pins, bus_bytes, &mut host, &irq, None)?;
    if get_u64(sim.outputs(), &irq) & 1 == 1 {
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
        violations,
        id,
    })
}
