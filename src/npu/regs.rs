//! The npu's AXI4-Lite register map: the one description that the RTL register block, the C
//! header `<name>_regs.h`, the host driver model and the docs table come from.
//!
//! 32-bit registers at word-aligned byte offsets. 64-bit values are two registers, `_LO` at
//! the lower offset. Reads of an unmapped offset return 0 with OKAY; writes to read-only
//! registers are ignored.

/// Identifies an npugen npu: "NPUG" in ASCII.
pub const MAGIC: u32 = 0x4E50_5547;
/// Register map and ISA version, major << 16 | minor. A driver refuses another major.
pub const VERSION: u32 = 0x0001_0000;

/// How the host may access a register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read only.
    Ro,
    /// Read and write.
    Rw,
    /// Write only (reads return 0): command bits that act on the write.
    Wo,
    /// Read; writing a 1 clears that bit.
    W1c,
}

impl Access {
    /// The docs' spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Ro => "RO",
            Access::Rw => "RW",
            Access::Wo => "WO",
            Access::W1c => "W1C",
        }
    }
}

/// A bit field of a register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegField {
    /// Field name.
    pub name: &'static str,
    /// Lowest bit.
    pub lsb: u32,
    /// Width in bits.
    pub width: u32,
    /// What it means.
    pub doc: &'static str,
}

/// One register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reg {
    /// Register name (the C header's, upper case).
    pub name: &'static str,
    /// Byte offset.
    pub offset: u32,
    /// Host access.
    pub access: Access,
    /// Fields (empty: the whole 32 bits are one value).
    pub fields: &'static [RegField],
    /// What it holds.
    pub doc: &'static str,
}

const fn bf(name: &'static str, lsb: u32, width: u32, doc: &'static str) -> RegField {
    RegField {
        name,
        lsb,
        width,
        doc,
    }
}

const fn reg(
    name: &'static str,
    offset: u32,
    access: Access,
    fields: &'static [RegField],
    doc: &'static str,
) -> Reg {
    Reg {
        name,
        offset,
        access,
        fields,
        doc,
    }
}

use Access::{Ro, Rw, W1c, Wo};

/// The performance counters, each 64 bits (two registers) from `COUNTERS_BASE`, in this order.
/// They count from start to done and hold their values until the next start.
pub const COUNTERS: &[(&str, &str)] = &[
    ("CYCLES", "cycles from start to done"),
    ("ARRAY_BUSY", "cycles in which the array accepted a beat"),
    (
        "DMA_RD_BYTES",
        "bytes read by LOAD (instruction fetch not included)",
    ),
    ("DMA_WR_BYTES", "bytes written by STORE"),
    ("FETCH_BYTES", "bytes of instructions fetched"),
    ("INSTRUCTIONS", "instructions executed (FINISH included)"),
    ("STALL_LOAD_DEP", "cycles the load unit waited for a token"),
    (
        "STALL_COMPUTE_DEP",
        "cycles the compute unit waited for a token",
    ),
    (
        "STALL_STORE_DEP",
        "cycles the store unit waited for a token",
    ),
    (
        "STALL_AXI_READ",
        "cycles a read burst waited for the AXI read channels",
    ),
    (
        "STALL_AXI_WRITE",
        "cycles a write burst waited for the AXI write channels",
    ),
];

/// Byte offset of the first counter.
pub const COUNTERS_BASE: u32 = 0x100;

/// The registers before the counters.
pub const REGS: &[Reg] = &[
    reg("ID", 0x00, Ro, &[], "0x4E505547, \"NPUG\""),
    reg(
        "VERSION",
        0x04,
        Ro,
        &[bf("MINOR", 0, 16, "minor"), bf("MAJOR", 16, 16, "major")],
        "register map and ISA version",
    ),
    reg(
        "ARRAY",
        0x08,
        Ro,
        &[
            bf("ROWS", 0, 16, "array rows R"),
            bf("COLS", 16, 16, "array columns C"),
        ],
        "array size",
    ),
    reg(
        "WIDTHS",
        0x0C,
        Ro,
        &[
            bf("INPUT_BITS", 0, 8, "activation width"),
            bf("WEIGHT_BITS", 8, 8, "weight width"),
            bf("ACC_BITS", 16, 8, "accumulator width"),
            bf(
                "OUT_BITS",
                24,
                8,
                "post-processed output width (0 without post-processing)",
            ),
        ],
        "operand widths",
    ),
    reg(
        "FEATURES",
        0x10,
        Ro,
        &[
            bf("WS", 0, 1, "1 weight-stationary, 0 output-stationary"),
            bf("SIGNED", 1, 1, "two's-complement operands"),
            bf("POSTPROC", 2, 1, "POST available"),
            bf("OUT_SIGNED", 3, 1, "post-processed outputs are signed"),
            bf(
                "ROUNDING",
                4,
                4,
                "0 reference, 1 optimized, 2 xnnpack, 3 gemmlowp",
            ),
            bf("AXI_DATA_BYTES", 8, 8, "AXI4 data bytes per beat"),
            bf("AXI_ADDR_BITS", 16, 8, "AXI4 address width"),
        ],
        "what the npu can do",
    ),
    reg(
        "ACT_WORDS",
        0x14,
        Ro,
        &[],
        "activation buffer depth in words",
    ),
    reg(
        "WEIGHT_WORDS",
        0x18,
        Ro,
        &[],
        "weight buffer depth in words",
    ),
    reg(
        "PARAM_ROWS",
        0x1C,
        Ro,
        &[],
        "parameter buffer depth in rows",
    ),
    reg(
        "ACC_ROWS",
        0x20,
        Ro,
        &[],
        "accumulator memory depth in rows",
    ),
    reg(
        "OUT_WORDS",
        0x24,
        Ro,
        &[],
        "output buffer depth in words (0 without post-processing)",
    ),
    reg(
        "CTRL",
        0x40,
        Wo,
        &[
            bf(
                "START",
                0,
                1,
                "1: run the program at PROG_ADDR (ignored while busy)",
            ),
            bf(
                "SOFT_RESET",
                1,
                1,
                "1: end a running program (ABORTED) once its AXI bursts complete",
            ),
        ],
        "control",
    ),
    reg(
        "STATUS",
        0x44,
        Ro,
        &[
            bf("BUSY", 0, 1, "a program is running"),
            bf(
                "DONE",
                1,
                1,
                "the last program ended (FINISH or an error); cleared by START",
            ),
            bf("ERROR", 8, 8, "why it ended: 0 FINISH, else an error code"),
        ],
        "status",
    ),
    reg(
        "IRQ_ENABLE",
        0x48,
        Rw,
        &[bf("DONE", 0, 1, "raise irq when done")],
        "interrupt enable",
    ),
    reg(
        "IRQ_STATUS",
        0x4C,
        W1c,
        &[bf("DONE", 0, 1, "done happened; irq = DONE & enable")],
        "interrupt status",
    ),
    reg(
        "PROG_ADDR_LO",
        0x50,
        Rw,
        &[],
        "program byte address, bits 31:0 (16-byte aligned)",
    ),
    reg(
        "PROG_ADDR_HI",
        0x54,
        Rw,
        &[],
        "program byte address, bits 63:32",
    ),
    reg("PROG_LEN", 0x58, Rw, &[], "program length in instructions"),
    reg(
        "ERROR_PC",
        0x5C,
        Ro,
        &[],
        "index of the instruction that raised the error",
    ),
    reg("BASE0_LO", 0x60, Rw, &[], "base address 0, bits 31:0"),
    reg("BASE0_HI", 0x64, Rw, &[], "base address 0, bits 63:32"),
    reg("BASE1_LO", 0x68, Rw, &[], "base address 1, bits 31:0"),
    reg("BASE1_HI", 0x6C, Rw, &[], "base address 1, bits 63:32"),
    reg("BASE2_LO", 0x70, Rw, &[], "base address 2, bits 31:0"),
    reg("BASE2_HI", 0x74, Rw, &[], "base address 2, bits 63:32"),
    reg("BASE3_LO", 0x78, Rw, &[], "base address 3, bits 31:0"),
    reg("BASE3_HI", 0x7C, Rw, &[], "base address 3, bits 63:32"),
];

/// The offset of register `name` (a counter's is that of its `_LO` half).
pub fn offset(name: &str) -> Option<u32> {
    REGS.iter()
        .find(|r| r.name == name)
        .map(|r| r.offset)
        .or_else(|| counter_index(name).map(|i| COUNTERS_BASE + 8 * i as u32))
}

/// Position of counter `name` in [`COUNTERS`].
pub fn counter_index(name: &str) -> Option<usize> {
    COUNTERS.iter().position(|(n, _)| *n == name)
}

/// Why a program ended (STATUS.ERROR).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ErrorCode {
    /// FINISH: no error.
    None = 0,
    /// An unknown opcode, a reserved bit set or a flag the unit cannot use.
    Illegal = 1,
    /// A field out of its range for this npu (K > R in WS, elems beyond the lanes, POST
    /// without post-processing, an unaligned program address).
    BadField = 2,
    /// A buffer word or accumulator row beyond the buffer.
    BufferRange = 3,
    /// A pop no earlier instruction's push covers, or more than 255 tokens in a channel.
    Dependency = 4,
    /// The program ran past PROG_LEN without FINISH.
    NoFinish = 5,
    /// SLVERR or DECERR on an instruction fetch or a LOAD.
    AxiRead = 6,
    /// SLVERR or DECERR on a STORE.
    AxiWrite = 7,
    /// CTRL.SOFT_RESET while the program ran.
    Aborted = 8,
}

impl ErrorCode {
    /// Every code, in order.
    pub const ALL: [ErrorCode; 9] = [
        ErrorCode::None,
        ErrorCode::Illegal,
        ErrorCode::BadField,
        ErrorCode::BufferRange,
        ErrorCode::Dependency,
        ErrorCode::NoFinish,
        ErrorCode::AxiRead,
        ErrorCode::AxiWrite,
        ErrorCode::Aborted,
    ];

    /// The C header's name.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::None => "NONE",
            ErrorCode::Illegal => "ILLEGAL",
            ErrorCode::BadField => "BAD_FIELD",
            ErrorCode::BufferRange => "BUFFER_RANGE",
            ErrorCode::Dependency => "DEPENDENCY",
            ErrorCode::NoFinish => "NO_FINISH",
            ErrorCode::AxiRead => "AXI_READ",
            ErrorCode::AxiWrite => "AXI_WRITE",
            ErrorCode::Aborted => "ABORTED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_aligned_unique_and_below_the_counters() {
        let mut seen = std::collections::BTreeSet::new();
        for r in REGS {
            assert_eq!(r.offset % 4, 0, "{}", r.name);
            assert!(r.offset < COUNTERS_BASE, "{}", r.name);
            assert!(seen.insert(r.offset), "{} shares its offset", r.name);
            let mut used = 0u64;
            for f in r.fields {
                let mask = ((1u64 << f.width) - 1) << f.lsb;
                assert!(
                    f.lsb + f.width <= 32 && used & mask == 0,
                    "{}.{}",
                    r.name,
                    f.name
                );
                used |= mask;
            }
        }
        assert_eq!(offset("CYCLES"), Some(COUNTERS_BASE));
        assert_eq!(offset("ARRAY_BUSY"), Some(COUNTERS_BASE + 8));
        assert_eq!(offset("STATUS"), Some(0x44));
    }
}
