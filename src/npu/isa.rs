//! The npu's instruction set: the one encoding that the golden model, the program builder, the
//! listing and the RTL decoder share.
//!
//! An instruction is 128 bits: four 32-bit little-endian words in DRAM, word 0 first. Bits
//! 3:0 of word 0 are the opcode, bits 7:4 the dependency flags; the rest are the opcode's
//! fields ([`OPS`]). Every bit no field covers must be zero, and opcode 0 is illegal, so a
//! program running into zeroed memory stops with an error.
//!
//! Instructions go to three units that run in parallel: LOAD to the load unit, MATMUL and POST
//! to the compute unit, STORE to the store unit (FINISH waits for all three). Each unit runs
//! its own instructions in order. Between neighbours (load - compute - store) four token
//! counters order the rest, as in VTA: `push_next` gives the next unit a token, `pop_prev`
//! waits for one from the previous unit, and so on. The sequencer dispatches in program order
//! and refuses (error `DEPENDENCY`) a pop that no earlier instruction's push covers, so a
//! program can never deadlock.

use crate::error::{Error, Result};

/// Bytes per instruction.
pub const INSTR_BYTES: u32 = 16;
/// Tokens one channel can hold; a push beyond is a `DEPENDENCY` error.
pub const MAX_TOKENS: u32 = 255;

/// One field: bits `lsb .. lsb + width` of 32-bit word `word`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// Field name (the listing's and the C header's).
    pub name: &'static str,
    /// Word index 0..=3.
    pub word: u32,
    /// Lowest bit within the word.
    pub lsb: u32,
    /// Width in bits.
    pub width: u32,
    /// What it means.
    pub doc: &'static str,
}

impl Field {
    /// The field's bits within its word.
    pub fn mask(&self) -> u32 {
        if self.width == 32 {
            u32::MAX
        } else {
            ((1u32 << self.width) - 1) << self.lsb
        }
    }
}

/// The bits `fields` cover, as four 32-bit word masks (word 0 first).
pub fn covered<'a>(fields: impl IntoIterator<Item = &'a Field>) -> [u32; 4] {
    let mut used = [0u32; 4];
    for f in fields {
        used[f.word as usize] |= f.mask();
    }
    used
}

const fn f(name: &'static str, word: u32, lsb: u32, width: u32, doc: &'static str) -> Field {
    Field {
        name,
        word,
        lsb,
        width,
        doc,
    }
}

/// The unit an instruction runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unit {
    /// DMA from DRAM into the buffers.
    Load,
    /// The array and the post-processing pipeline.
    Compute,
    /// DMA from the buffers to DRAM.
    Store,
    /// The sequencer itself (FINISH).
    Control,
}

/// An opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opcode {
    /// 2D strided DMA from DRAM into a buffer, with zero padding.
    Load = 1,
    /// 2D strided DMA from the output buffer or the accumulator memory to DRAM.
    Store = 2,
    /// One array tile into accumulator rows (overwrite or accumulate).
    Matmul = 3,
    /// Accumulator rows through bias, requantization and activation into the output buffer.
    Post = 4,
    /// Element-wise work on accumulator rows (move, add, max, min, rounding shift).
    Alu = 5,
    /// Stop when every unit is idle; raises done.
    Finish = 15,
}

/// What one opcode looks like.
#[derive(Debug)]
pub struct OpSpec {
    /// The opcode.
    pub opcode: Opcode,
    /// The listing's mnemonic.
    pub mnemonic: &'static str,
    /// Which unit runs it.
    pub unit: Unit,
    /// Its fields beyond the common ones.
    pub fields: &'static [Field],
    /// What it does.
    pub doc: &'static str,
}

/// The fields every instruction has.
pub const COMMON: &[Field] = &[
    f("op", 0, 0, 4, "opcode"),
    f(
        "pop_prev",
        0,
        4,
        1,
        "wait for a token from the previous unit (compute: load; store: compute)",
    ),
    f(
        "pop_next",
        0,
        5,
        1,
        "wait for a token from the next unit (load: compute; compute: store)",
    ),
    f(
        "push_prev",
        0,
        6,
        1,
        "give the previous unit a token when done",
    ),
    f("push_next", 0, 7, 1, "give the next unit a token when done"),
];

/// Every opcode and its fields.
pub const OPS: &[OpSpec] = &[
    OpSpec {
        opcode: Opcode::Load,
        mnemonic: "LOAD",
        unit: Unit::Load,
        fields: &[
            f(
                "buf",
                0,
                8,
                2,
                "target: 0 activation, 1 weight, 2 parameter buffer",
            ),
            f(
                "base",
                0,
                10,
                2,
                "base address register BASE0..BASE3 the DRAM offset adds to",
            ),
            f(
                "pad_left",
                0,
                12,
                4,
                "zero lanes before each row's elements",
            ),
            f("sram", 0, 16, 16, "first buffer word written"),
            f(
                "dram",
                1,
                0,
                32,
                "DRAM byte offset of the first row (from the base register)",
            ),
            f("rows", 2, 0, 16, "DRAM rows read, one buffer word each"),
            f(
                "elems",
                2,
                16,
                16,
                "elements per row (lanes; records for the parameter buffer)",
            ),
            f("stride", 3, 0, 24, "DRAM bytes from one row to the next"),
            f("pad_top", 3, 24, 4, "zero words written before the rows"),
            f("pad_bottom", 3, 28, 4, "zero words written after the rows"),
        ],
        doc: "words sram .. sram + pad_top + rows + pad_bottom: pad_top zero words, then per DRAM \
              row pad_left zero lanes, elems elements, zeros to the word's end; then pad_bottom \
              zero words (the parameter buffer takes no padding)",
    },
    OpSpec {
        opcode: Opcode::Store,
        mnemonic: "STORE",
        unit: Unit::Store,
        fields: &[
            f(
                "src",
                0,
                8,
                2,
                "source: 0 output buffer, 1 accumulator memory",
            ),
            f(
                "base",
                0,
                10,
                2,
                "base address register BASE0..BASE3 the DRAM offset adds to",
            ),
            f("sram", 0, 16, 16, "first word (or accumulator row) read"),
            f(
                "dram",
                1,
                0,
                32,
                "DRAM byte offset of the first row (from the base register)",
            ),
            f("rows", 2, 0, 16, "rows written, one word each"),
            f(
                "elems",
                2,
                16,
                16,
                "elements per row, lanes 0 .. elems of each word",
            ),
            f("stride", 3, 0, 24, "DRAM bytes from one row to the next"),
        ],
        doc: "rows words from sram, lanes 0 .. elems of each, to DRAM rows stride bytes apart",
    },
    OpSpec {
        opcode: Opcode::Matmul,
        mnemonic: "MATMUL",
        unit: Unit::Compute,
        fields: &[
            f(
                "accumulate",
                0,
                8,
                1,
                "add to the accumulator rows (1) or overwrite them (0)",
            ),
            f("act", 0, 16, 16, "first activation word"),
            f("weight", 1, 0, 16, "first weight word"),
            f("acc", 1, 16, 16, "first accumulator row written"),
            f(
                "k",
                2,
                0,
                16,
                "OS: beats (activation and weight words read); WS: weight rows, 1..=R",
            ),
            f(
                "m",
                2,
                16,
                16,
                "accumulator rows written: OS 1..=R (tile rows kept), WS activation rows",
            ),
        ],
        doc: "OS: acc[acc + i][j] (+)= sum_t act[act + t][i] * weight[weight + t][j], t < k, \
              i < m. WS: acc[acc + i][j] (+)= sum_t act[act + i][t] * weight[weight + t][j], \
              t < k, i < m",
    },
    OpSpec {
        opcode: Opcode::Post,
        mnemonic: "POST",
        unit: Unit::Compute,
        fields: &[
            f("dst", 0, 16, 16, "first output buffer word written"),
            f("acc", 1, 0, 16, "first accumulator row read"),
            f("rows", 1, 16, 16, "rows"),
            f("param", 2, 0, 16, "parameter row (one record per column)"),
        ],
        doc: "out[dst + i] = postproc(acc[acc + i], param row), i < rows",
    },
    OpSpec {
        opcode: Opcode::Alu,
        mnemonic: "ALU",
        unit: Unit::Compute,
        fields: &[
            f(
                "func",
                0,
                8,
                3,
                "0 MOV, 1 ADD, 2 MAX, 3 MIN, 4 SHR (5..7 illegal)",
            ),
            f(
                "src_kind",
                0,
                11,
                2,
                "operand: 0 accumulator rows, 1 activation words, 2 none (the immediate alone); \
                 3 illegal",
            ),
            f(
                "dst",
                0,
                16,
                16,
                "first accumulator row written (and read by ADD, MAX, MIN)",
            ),
            f(
                "src",
                1,
                0,
                16,
                "first operand row or word (unused with src_kind 2)",
            ),
            f("rows", 1, 16, 16, "rows"),
            f(
                "imm",
                2,
                0,
                16,
                "signed immediate added to every operand lane",
            ),
            f(
                "shift",
                2,
                16,
                6,
                "SHR: rounding right shift; the others: left shift of the operand; < acc_bits",
            ),
        ],
        doc: "per row i < rows in order and lane j < C: v = operand[src + i][j] + imm (0 + imm \
              with src_kind 2; activation lanes j >= R are 0), wrapped to acc_bits. MOV: \
              acc[dst + i][j] = v << shift; ADD: acc += v << shift; MAX, MIN: acc = max, min(acc, \
              v << shift); SHR: acc = v / 2^shift rounded to nearest, ties away from zero. \
              Results wrap to acc_bits; compares and shifts take the array's signedness",
    },
    OpSpec {
        opcode: Opcode::Finish,
        mnemonic: "FINISH",
        unit: Unit::Control,
        fields: &[],
        doc: "wait until every unit is idle, then raise done",
    },
];

/// The ALU's functions (field `func`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AluFunc {
    /// `acc = v << shift`.
    Mov = 0,
    /// `acc += v << shift`.
    Add = 1,
    /// `acc = max(acc, v << shift)`.
    Max = 2,
    /// `acc = min(acc, v << shift)`.
    Min = 3,
    /// `acc = v / 2^shift`, rounded to nearest, ties away from zero.
    Shr = 4,
}

impl AluFunc {
    /// Every function, in code order.
    pub const ALL: [AluFunc; 5] = [
        AluFunc::Mov,
        AluFunc::Add,
        AluFunc::Max,
        AluFunc::Min,
        AluFunc::Shr,
    ];

    /// The function of field value `code` (`None`: illegal).
    pub fn from_code(code: u64) -> Option<AluFunc> {
        AluFunc::ALL.into_iter().find(|f| *f as u64 == code)
    }

    /// Whether it reads the destination row.
    pub fn reads_dst(self) -> bool {
        matches!(self, AluFunc::Add | AluFunc::Max | AluFunc::Min)
    }
}

/// The ALU's operand sources (field `src_kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AluSrc {
    /// Accumulator rows.
    Acc = 0,
    /// Activation buffer words (lane j of word src + i; lanes j >= R are zero).
    Act = 1,
    /// No operand: the immediate alone.
    Imm = 2,
}

impl AluSrc {
    /// Every source, in code order.
    pub const ALL: [AluSrc; 3] = [AluSrc::Acc, AluSrc::Act, AluSrc::Imm];

    /// The source of field value `code` (`None`: illegal).
    pub fn from_code(code: u64) -> Option<AluSrc> {
        AluSrc::ALL.into_iter().find(|s| *s as u64 == code)
    }
}

/// The spec of `op`.
pub fn spec(op: Opcode) -> &'static OpSpec {
    OPS.iter()
        .find(|s| s.opcode == op)
        .expect("every opcode has a spec")
}

/// The four dependency flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deps {
    /// Wait for a token from the previous unit.
    pub pop_prev: bool,
    /// Wait for a token from the next unit.
    pub pop_next: bool,
    /// Give the previous unit a token when done.
    pub push_prev: bool,
    /// Give the next unit a token when done.
    pub push_next: bool,
}

/// A decoded instruction: its opcode, flags and field values by name (in [`OPS`] order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instr {
    /// The opcode.
    pub op: Opcode,
    /// The dependency flags.
    pub deps: Deps,
    /// The opcode's fields, in its spec's order.
    pub args: Vec<u64>,
}

impl Instr {
    /// An instruction of `op` with `args` given by name; fields not named are zero. Fails on
    /// an unknown name or a value that does not fit its field.
    pub fn new(op: Opcode, deps: Deps, args: &[(&str, u64)]) -> Result<Instr> {
        let s = spec(op);
        let mut values = vec![0; s.fields.len()];
        for &(name, v) in args {
            let i = s
                .fields
                .iter()
                .position(|f| f.name == name)
                .ok_or_else(|| Error::input(s.mnemonic, format!("no field {name}")))?;
            let w = s.fields[i].width;
            if v >> w != 0 {
                return Err(Error::input(
                    format!("{}.{name}", s.mnemonic),
                    format!("{v} does not fit its {w} bits (0..={})", (1u64 << w) - 1),
                ));
            }
            values[i] = v;
        }
        let instr = Instr {
            op,
            deps,
            args: values,
        };
        instr.check_deps()?;
        Ok(instr)
    }

    /// The value of field `name` (0 for a name the opcode lacks).
    pub fn get(&self, name: &str) -> u64 {
        let s = spec(self.op);
        s.fields
            .iter()
            .position(|f| f.name == name)
            .map_or(0, |i| self.args[i])
    }

    /// The unit that runs it.
    pub fn unit(&self) -> Unit {
        spec(self.op).unit
    }

    /// Flags the unit cannot use (a load has no previous unit, a store no next one, FINISH
    /// none) are illegal.
    fn check_deps(&self) -> Result<()> {
        let d = self.deps;
        let (prev, next) = match self.unit() {
            Unit::Load => (false, true),
            Unit::Compute => (true, true),
            Unit::Store => (true, false),
            Unit::Control => (false, false),
        };
        if (!prev && (d.pop_prev || d.push_prev)) || (!next && (d.pop_next || d.push_next)) {
            return Err(Error::input(
                spec(self.op).mnemonic,
                format!("cannot use the dependency flags {d:?}"),
            ));
        }
        Ok(())
    }

    /// The four little-endian words.
    pub fn encode(&self) -> [u32; 4] {
        let mut w = [0u32; 4];
        let mut put = |f: &Field, v: u64| w[f.word as usize] |= (v as u32) << f.lsb;
        let d = self.deps;
        let common = [
            self.op as u64,
            u64::from(d.pop_prev),
            u64::from(d.pop_next),
            u64::from(d.push_prev),
            u64::from(d.push_next),
        ];
        for (f, v) in COMMON.iter().zip(common) {
            put(f, v);
        }
        for (f, &v) in spec(self.op).fields.iter().zip(&self.args) {
            put(f, v);
        }
        w
    }

    /// The 16 bytes in DRAM.
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        for (i, w) in self.encode().iter().enumerate() {
            b[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        b
    }

    /// Decodes four words; `None` for an illegal instruction (unknown opcode, a reserved bit
    /// set, a flag the unit cannot use).
    pub fn decode(w: [u32; 4]) -> Option<Instr> {
        let get = |f: &Field| u64::from((w[f.word as usize] & f.mask()) >> f.lsb);
        let code = get(&COMMON[0]);
        let s = OPS.iter().find(|s| s.opcode as u64 == code)?;
        let used = covered(COMMON.iter().chain(s.fields));
        if (0..4).any(|i| w[i] & !used[i] != 0) {
            return None;
        }
        let flag = |i: usize| get(&COMMON[i]) != 0;
        let instr = Instr {
            op: s.opcode,
            deps: Deps {
                pop_prev: flag(1),
                pop_next: flag(2),
                push_prev: flag(3),
                push_next: flag(4),
            },
            args: s.fields.iter().map(get).collect(),
        };
        instr.check_deps().ok()?;
        Some(instr)
    }

    /// Decodes 16 DRAM bytes.
    pub fn from_bytes(b: &[u8; 16]) -> Option<Instr> {
        let w = |i: usize| u32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]);
        Instr::decode([w(0), w(1), w(2), w(3)])
    }

    /// One listing line: the mnemonic, the set flags, then `field=value` for every field.
    pub fn disassemble(&self) -> String {
        let s = spec(self.op);
        let mut out = s.mnemonic.to_string();
        let d = self.deps;
        for (on, name) in [
            (d.pop_prev, "pop_prev"),
            (d.pop_next, "pop_next"),
            (d.push_prev, "push_prev"),
            (d.push_next, "push_next"),
        ] {
            if on {
                out.push_str(&format!(" +{name}"));
            }
        }
        for (f, v) in s.fields.iter().zip(&self.args) {
            out.push_str(&format!(" {}={v}", f.name));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_do_not_overlap_and_fit_their_words() {
        for s in OPS {
            let mut used = [0u64; 4];
            for f in COMMON.iter().chain(s.fields) {
                assert!(f.lsb + f.width <= 32, "{} {}", s.mnemonic, f.name);
                let mask = ((1u64 << f.width) - 1) << f.lsb;
                assert_eq!(used[f.word as usize] & mask, 0, "{} {}", s.mnemonic, f.name);
                used[f.word as usize] |= mask;
            }
        }
    }

    #[test]
    fn every_field_round_trips_at_its_extremes() {
        for s in OPS {
            for (i, f) in s.fields.iter().enumerate() {
                for v in [0, 1, (1u64 << f.width) - 1] {
                    let deps = Deps::default();
                    let instr = Instr::new(s.opcode, deps, &[(f.name, v)]).unwrap();
                    let back = Instr::from_bytes(&instr.to_bytes()).unwrap();
                    assert_eq!(back, instr, "{} {}", s.mnemonic, f.name);
                    assert_eq!(back.args[i], v);
                }
                let e = Instr::new(s.opcode, Deps::default(), &[(f.name, 1u64 << f.width)]);
                assert!(e.unwrap_err().to_string().contains(f.name));
            }
        }
    }

    #[test]
    fn illegal_words_do_not_decode() {
        assert_eq!(Instr::decode([0; 4]), None, "opcode 0");
        assert_eq!(Instr::decode([7, 0, 0, 0]), None, "unknown opcode");
        // FINISH with a bit set in a word it does not use; POST with a reserved bit.
        assert_eq!(Instr::decode([15, 0, 0, 1 << 31]), None);
        assert_eq!(Instr::decode([4 | 1 << 9, 0, 0, 0]), None);
        // A load cannot wait for the (non-existent) previous unit.
        assert_eq!(Instr::decode([1 | 1 << 4, 0, 0, 0]), None);
        assert!(Instr::decode([15, 0, 0, 0]).is_some());
    }
}
