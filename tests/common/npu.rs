//! Helpers of the npu unit tests: a Verilated unit's ports by name, and the npu test configs'
//! fixed DRAM layout.

use npugen::sim::ports::{pack_lanes, unpack_lanes, PortLayout, PortSlot};
use npugen::sim::verilator::Verilated;

/// DRAM bytes the unit tests give the RTL (the model's DRAM holds the program above it).
pub const DRAM: usize = 3 * 4096;
/// The base registers: one at 0, one 40 bytes below 4 KiB, one unaligned, one in the middle.
pub const BASES: [u64; 4] = [0, 4096 - 40, 8192 + 3, 5000];

/// Every port of a Verilated top, by name.
pub struct Ports(PortLayout);

impl Ports {
    /// The ports of `sim`.
    pub fn of(sim: &Verilated) -> Ports {
        Ports(sim.layout.clone())
    }

    /// Port `n`.
    pub fn get(&self, n: &str) -> &PortSlot {
        self.0.port(n).unwrap_or_else(|| panic!("no port {n}"))
    }
}

/// Offers instruction `next` of `instrs` on a unit's queue port (`q_valid`, `q_data` and,
/// if the unit has it, `q_pc`); nothing once they are all taken.
pub fn offer(w: &mut [u32], s: &Ports, instrs: &[npugen::npu::isa::Instr], next: usize) {
    npugen::sim::ports::set_u64(w, s.get("q_valid"), u64::from(next < instrs.len()));
    if let Some(i) = instrs.get(next) {
        let q = s.get("q_data");
        w[q.offset..q.offset + 4].copy_from_slice(&i.encode());
        if let Some(pc) = s.0.input("q_pc") {
            npugen::sim::ports::set_u64(w, pc, next as u64);
        }
    }
}

/// Sets a port to `lanes` of `bits` each, lane 0 in the low bits.
pub fn put_lanes(w: &mut [u32], s: &PortSlot, lanes: &[i128], bits: u32) {
    pack_lanes(&mut w[s.offset..s.offset + s.words()], lanes, bits);
}

/// A port read as `n` lanes of `bits` each.
pub fn get_lanes(o: &[u32], s: &PortSlot, n: u32, bits: u32, signed: bool) -> Vec<i128> {
    unpack_lanes(&o[s.offset..s.offset + s.words()], n as usize, bits, signed)
}

/// The model's DRAM and registers for `instrs` (their dependency flags cleared: the unit
/// tests drive tokens themselves) followed by FINISH, placed at [`DRAM`] above `bytes`.
pub fn model_image(
    instrs: &[npugen::npu::isa::Instr],
    bytes: &[u8],
) -> (npugen::model::npu::Dram, npugen::model::npu::HostRegs) {
    use npugen::npu::isa::{Deps, Instr, Opcode};
    let mut prog: Vec<Instr> = instrs
        .iter()
        .map(|i| Instr {
            deps: Deps::default(),
            ..i.clone()
        })
        .collect();
    prog.push(Instr::new(Opcode::Finish, Deps::default(), &[]).unwrap());
    let mut d = bytes.to_vec();
    d.resize(DRAM + 16 * prog.len(), 0);
    for (k, x) in prog.iter().enumerate() {
        d[DRAM + 16 * k..DRAM + 16 * k + 16].copy_from_slice(&x.to_bytes());
    }
    let regs = npugen::model::npu::HostRegs {
        prog_addr: DRAM as u64,
        prog_len: prog.len() as u32,
        bases: BASES,
    };
    (npugen::model::npu::Dram { bytes: d }, regs)
}

/// The DRAM byte ranges the rows of `instrs` (LOADs or STOREs) touch, with their
/// instruction's index, in order; `elem_bytes` gives an instruction's element size.
pub fn row_ranges(
    instrs: &[npugen::npu::isa::Instr],
    elem_bytes: impl Fn(&npugen::npu::isa::Instr) -> u64,
) -> Vec<(std::ops::Range<u64>, usize)> {
    let mut v = Vec::new();
    for (idx, i) in instrs.iter().enumerate() {
        let len = i.get("elems") * elem_bytes(i);
        if len == 0 {
            continue;
        }
        for r in 0..i.get("rows") {
            let at = BASES[i.get("base") as usize] + i.get("dram") + r * i.get("stride");
            v.push((at..at + len, idx));
        }
    }
    v
}

/// The first instruction of `rows` ([`row_ranges`]) whose bus beats (of `bus` bytes) hold a
/// byte of `bad`.
pub fn first_touching(
    rows: &[(std::ops::Range<u64>, usize)],
    bus: u64,
    bad: &std::ops::Range<u64>,
) -> usize {
    rows.iter()
        .find(|(r, _)| {
            let (lo, hi) = (r.start / bus * bus, r.end.div_ceil(bus) * bus);
            lo < bad.end && bad.start < hi
        })
        .map(|(_, idx)| *idx)
        .expect("an instruction touches it")
}
