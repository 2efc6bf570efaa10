//! Helpers of the npu unit tests: a Verilated unit's ports by name, and the npu test configs'
//! fixed DRAM layout.

use npugen::config::{ArrayConfig, Config, Dataflow, NpuConfig, PostprocConfig};
use npugen::sim::ports::{pack_lanes, unpack_lanes, PortLayout, PortSlot};
use npugen::sim::verilator::Verilated;

/// DRAM bytes the unit tests give the RTL (the model's DRAM holds the program above it).
pub const DRAM: usize = 3 * 4096;
/// The base registers: one at 0, one 40 bytes below 4 KiB, one unaligned, one in the middle.
pub const BASES: [u64; 4] = [0, 4096 - 40, 8192 + 3, 5000];

/// The whole npu of a bus width, small buffers (so programs span several tiles) and an array
/// that is not square: 64 bits, weight-stationary 3 x 2 without post-processing (its STOREs
/// read the accumulator memory, whose read port the write-back of every accumulating WS
/// MATMUL also uses); 128 bits, output-stationary 2 x 3; 256 bits, weight-stationary 2 x 3
/// (both with post-processing). `npu_rtl.rs` and `npu_gemm.rs` share these builds.
#[allow(dead_code)]
pub fn bus_config(axi_data_bits: u32) -> Config {
    let (df, rows, cols) = match axi_data_bits {
        64 => (Dataflow::Ws, 3, 2),
        128 => (Dataflow::Os, 2, 3),
        _ => (Dataflow::Ws, 2, 3),
    };
    Config {
        name: "npu_r".into(),
        array: Some(ArrayConfig {
            rows,
            cols,
            dataflow: df,
            ..Default::default()
        }),
        postproc: (axi_data_bits != 64).then(|| PostprocConfig {
            zero_point: -3,
            ..Default::default()
        }),
        lif: None,
        npu: Some(NpuConfig {
            act_kib: 1,
            weight_kib: 1,
            param_rows: 8,
            acc_rows: 16,
            axi_data_bits,
            ..Default::default()
        }),
    }
}

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
    (npugen::model::npu::Dram::of(d), regs)
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
