//! Helpers of the npu unit tests: a Verilated unit's ports by name, and the npu test configs'
//! fixed DRAM layout.

use npugen::sim::ports::PortSlot;
use npugen::sim::verilator::Verilated;

/// DRAM bytes the unit tests give the RTL (the model's DRAM holds the program above it).
pub const DRAM: usize = 3 * 4096;
/// The base registers: one at 0, one 40 bytes below 4 KiB, one unaligned, one in the middle.
pub const BASES: [u64; 4] = [0, 4096 - 40, 8192 + 3, 5000];

/// Every port of a Verilated top, by name.
pub struct Ports(Vec<PortSlot>);

impl Ports {
    /// The ports of `sim`.
    pub fn of(sim: &Verilated) -> Ports {
        Ports(
            sim.layout
                .inputs
                .iter()
                .chain(&sim.layout.outputs)
                .cloned()
                .collect(),
        )
    }

    /// Port `n`.
    pub fn get(&self, n: &str) -> &PortSlot {
        self.0
            .iter()
            .find(|s| s.name == n)
            .unwrap_or_else(|| panic!("no port {n}"))
    }
}

/// Sets a port of up to 64 bits.
pub fn put(w: &mut [u32], s: &PortSlot, v: u64) {
    w[s.offset] = v as u32;
    if s.width > 32 {
        w[s.offset + 1] = (v >> 32) as u32;
    }
}

/// Reads a port of up to 64 bits.
pub fn get(o: &[u32], s: &PortSlot) -> u64 {
    let lo = u64::from(o[s.offset]);
    if s.width > 32 {
        lo | u64::from(o[s.offset + 1]) << 32
    } else {
        lo
    }
}

/// A port's bits, bit 0 first.
pub fn bits(w: &[u32], s: &PortSlot) -> Vec<bool> {
    (0..s.width)
        .map(|i| w[s.offset + (i / 32) as usize] >> (i % 32) & 1 == 1)
        .collect()
}
