//! The npu's instruction-level golden model: runs a program on a byte-addressed DRAM the way
//! the ISA ([`crate::npu::isa`]) defines it, one instruction after another in program order.
//! It is written from the ISA's definitions, not from the RTL; the RTL must end with the same
//! DRAM, status and counters.
//!
//! Every range check depends only on an instruction's fields and the geometry, so the
//! sequencer makes them in program order at dispatch, and so does this model; only AXI errors
//! (an address beyond the DRAM) arise while a unit runs.

use crate::config::{Config, Dataflow, PostprocConfig};
use crate::error::Result;
use crate::model::alu::alu_lane;
use crate::model::io::wrap;
use crate::model::params::{ColumnParams, PARAM_WORDS};
use crate::model::postproc::{activation_table, postprocess};
use crate::npu::isa::{AluFunc, AluSrc, Instr, Opcode, INSTR_BYTES, MAX_TOKENS};
use crate::npu::regs::ErrorCode;
use crate::npu::Geometry;

/// A simulated DRAM from address 0; an access beyond its end is an AXI DECERR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dram {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Bytes the memory answers SLVERR for (for error tests): an access fails when one of
    /// its bus beats (aligned; instruction fetch's are 16 bytes at most) touches them.
    pub slverr: Option<std::ops::Range<u64>>,
}

impl Dram {
    /// `len` zero bytes.
    pub fn new(len: usize) -> Dram {
        Dram::of(vec![0; len])
    }

    /// A DRAM holding `bytes`, every access answered OKAY.
    pub fn of(bytes: Vec<u8>) -> Dram {
        Dram {
            bytes,
            slverr: None,
        }
    }

    /// The byte range of an access of `len` bytes at `addr`, or `None` if it fails: beyond
    /// the end (DECERR), or a beat of `beat` bytes touches the SLVERR range.
    fn range(&self, addr: u64, len: u64, beat: u64) -> Option<std::ops::Range<usize>> {
        let end = addr.checked_add(len)?;
        if let Some(bad) = &self.slverr {
            let (lo, hi) = (addr / beat * beat, end.div_ceil(beat) * beat);
            if len > 0 && lo < bad.end && hi > bad.start {
                return None;
            }
        }
        (end <= self.bytes.len() as u64).then_some(addr as usize..end as usize)
    }
}

/// What the host writes into the registers before START.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostRegs {
    /// PROG_ADDR: the program's byte address (16-byte aligned).
    pub prog_addr: u64,
    /// PROG_LEN: instructions.
    pub prog_len: u32,
    /// BASE0..BASE3.
    pub bases: [u64; 4],
}

/// The counters the model defines (the RTL's timing counters are its own).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Instructions executed, FINISH included.
    pub instructions: u64,
    /// Bytes LOAD read.
    pub dma_rd_bytes: u64,
    /// Bytes STORE wrote.
    pub dma_wr_bytes: u64,
    /// Instruction bytes fetched.
    pub fetch_bytes: u64,
    /// Multiply-accumulates of the MATMULs (rows kept x C x k).
    pub macs: u64,
}

/// How a program ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// STATUS.ERROR.
    pub error: ErrorCode,
    /// ERROR_PC: the instruction that raised it (that of FINISH otherwise).
    pub pc: u32,
    /// The counters at done.
    pub counters: Counters,
}

/// The on-chip state.
pub struct NpuModel {
    g: Geometry,
    post: Option<PostprocConfig>,
    table: Vec<i64>,
    /// Activation words (R lanes).
    act: Vec<Vec<i128>>,
    /// Output words (C lanes of the output type).
    out: Vec<Vec<i128>>,
    weight: Vec<Vec<i128>>,
    params: Vec<Vec<u32>>,
    acc: Vec<Vec<i128>>,
    tokens: [u32; 4],
}

/// Token channels: load -> compute, compute -> load, compute -> store, store -> compute.
const L2C: usize = 0;
const C2L: usize = 1;
const C2S: usize = 2;
const S2C: usize = 3;

/// `v`'s low `bits` bits, sign-extended if `signed`.
fn lane(v: u64, bits: u32, signed: bool) -> i128 {
    wrap(i128::from(v), bits, signed)
}

impl NpuModel {
    /// A model of `cfg`'s npu with every buffer zero.
    pub fn new(cfg: &Config) -> Result<NpuModel> {
        let g = Geometry::new(cfg)?;
        let post = cfg.postproc.clone();
        let table = match &post {
            Some(p) if p.activation.is_lut() => activation_table(p),
            _ => Vec::new(),
        };
        Ok(NpuModel {
            act: vec![vec![0; g.rows as usize]; g.act_words as usize],
            out: vec![vec![0; g.cols as usize]; g.out_words as usize],
            weight: vec![vec![0; g.cols as usize]; g.weight_words as usize],
            params: vec![vec![0; g.cols as usize * PARAM_WORDS]; g.param_rows as usize],
            acc: vec![vec![0; g.cols as usize]; g.acc_rows as usize],
            tokens: [0; 4],
            g,
            post,
            table,
        })
    }

    /// The geometry.
    pub fn geometry(&self) -> &Geometry {
        &self.g
    }

    /// The activation buffer's words (R lanes each).
    pub fn act_words(&self) -> &[Vec<i128>] {
        &self.act
    }

    /// The weight buffer's words (C lanes each).
    pub fn weight_words(&self) -> &[Vec<i128>] {
        &self.weight
    }

    /// The activation buffer's words, to set (tests of the compute unit).
    pub fn act_words_mut(&mut self) -> &mut [Vec<i128>] {
        &mut self.act
    }

    /// The weight buffer's words, to set (tests of the compute unit).
    pub fn weight_words_mut(&mut self) -> &mut [Vec<i128>] {
        &mut self.weight
    }

    /// The parameter buffer's rows, to set (tests of the compute unit).
    pub fn param_rows_mut(&mut self) -> &mut [Vec<u32>] {
        &mut self.params
    }

    /// The output buffer's words, to set (tests of the store path).
    pub fn out_words_mut(&mut self) -> &mut [Vec<i128>] {
        &mut self.out
    }

    /// The accumulator rows, to set (tests of the store path).
    pub fn acc_rows_mut(&mut self) -> &mut [Vec<i128>] {
        &mut self.acc
    }

    /// The parameter buffer's rows (C records of five 32-bit words each).
    pub fn param_rows(&self) -> &[Vec<u32>] {
        &self.params
    }

    /// Runs the program the registers describe until FINISH or an error.
    pub fn run(&mut self, dram: &mut Dram, regs: &HostRegs) -> Outcome {
        self.tokens = [0; 4];
        let mut c = Counters::default();
        let end = |error, pc, c| Outcome {
            error,
            pc,
            counters: c,
        };
        if !regs.prog_addr.is_multiple_of(u64::from(INSTR_BYTES)) {
            return end(ErrorCode::BadField, 0, c);
        }
        for pc in 0..=regs.prog_len {
            if pc == regs.prog_len {
                return end(ErrorCode::NoFinish, pc, c);
            }
            let addr = regs.prog_addr + u64::from(pc) * u64::from(INSTR_BYTES);
            let Some(r) = dram.range(
                addr,
                u64::from(INSTR_BYTES),
                u64::from(INSTR_BYTES.min(self.g.axi_bytes)),
            ) else {
                return end(ErrorCode::AxiRead, pc, c);
            };
            c.fetch_bytes += u64::from(INSTR_BYTES);
            let bytes: [u8; 16] = dram.bytes[r].try_into().expect("16 bytes");
            let Some(instr) = Instr::from_bytes(&bytes) else {
                return end(ErrorCode::Illegal, pc, c);
            };
            if let Err(e) = self.check(&instr).and_then(|()| self.tokens(&instr)) {
                return end(e, pc, c);
            }
            c.instructions += 1;
            let done = match instr.op {
                Opcode::Load => self.load(&instr, dram, regs, &mut c),
                Opcode::Store => self.store(&instr, dram, regs, &mut c),
                Opcode::Matmul => {
                    self.matmul(&instr, &mut c);
                    Ok(())
                }
                Opcode::Post => {
                    self.post(&instr);
                    Ok(())
                }
                Opcode::Alu => {
                    self.alu(&instr);
                    Ok(())
                }
                Opcode::Finish => return end(ErrorCode::None, pc, c),
            };
            if let Err(e) = done {
                return end(e, pc, c);
            }
        }
        unreachable!("the loop returns at prog_len")
    }

    /// The dispatch-time checks: fields within this npu's ranges and buffers.
    fn check(&self, i: &Instr) -> std::result::Result<(), ErrorCode> {
        let g = &self.g;
        let bad = |c: bool| if c { Err(ErrorCode::BadField) } else { Ok(()) };
        let fits = |start: u64, len: u64, depth: u32| {
            if start + len <= u64::from(depth) {
                Ok(())
            } else {
                Err(ErrorCode::BufferRange)
            }
        };
        let v = |n: &str| i.get(n);
        match i.op {
            Opcode::Load => {
                let (lanes, depth) = match v("buf") {
                    0 => (g.rows, g.act_words),
                    1 => (g.cols, g.weight_words),
                    2 => {
                        bad(g.out.is_none())?;
                        // Record rows have no padding.
                        bad(v("pad_left") + v("pad_top") + v("pad_bottom") != 0)?;
                        (g.cols, g.param_rows)
                    }
                    _ => return Err(ErrorCode::Illegal),
                };
                bad(v("pad_left") + v("elems") > u64::from(lanes))?;
                let words = v("pad_top") + v("rows") + v("pad_bottom");
                fits(v("sram"), words, depth)
            }
            Opcode::Store => {
                let depth = match v("src") {
                    0 => {
                        bad(g.out.is_none())?;
                        g.out_words
                    }
                    1 => g.acc_rows,
                    _ => return Err(ErrorCode::Illegal),
                };
                bad(v("elems") > u64::from(g.cols))?;
                fits(v("sram"), v("rows"), depth)
            }
            Opcode::Matmul => {
                let (k, m, r) = (v("k"), v("m"), u64::from(g.rows));
                bad(k == 0 || m == 0)?;
                let act_words = match g.dataflow {
                    Dataflow::Os => {
                        bad(m > r)?;
                        k
                    }
                    Dataflow::Ws => {
                        bad(k > r)?;
                        m
                    }
                };
                fits(v("act"), act_words, g.act_words)?;
                fits(v("weight"), k, g.weight_words)?;
                fits(v("acc"), m, g.acc_rows)
            }
            Opcode::Post => {
                bad(g.out.is_none())?;
                fits(v("acc"), v("rows"), g.acc_rows)?;
                fits(v("dst"), v("rows"), g.out_words)?;
                fits(v("param"), 1, g.param_rows)
            }
            Opcode::Alu => {
                AluFunc::from_code(v("func")).ok_or(ErrorCode::Illegal)?;
                let src = AluSrc::from_code(v("src_kind")).ok_or(ErrorCode::Illegal)?;
                bad(v("shift") >= u64::from(g.acc_bits))?;
                fits(v("dst"), v("rows"), g.acc_rows)?;
                match src {
                    AluSrc::Acc => fits(v("src"), v("rows"), g.acc_rows),
                    AluSrc::Act => fits(v("src"), v("rows"), g.act_words),
                    AluSrc::Imm => Ok(()),
                }
            }
            Opcode::Finish => Ok(()),
        }
    }

    /// The dispatch-time token accounting: pops first, then pushes.
    fn tokens(&mut self, i: &Instr) -> std::result::Result<(), ErrorCode> {
        use crate::npu::isa::Unit;
        let d = i.deps;
        // (pop_prev, pop_next, push_prev, push_next) channels for the unit.
        let (pp, pn, up, un) = match i.unit() {
            Unit::Load => (None, Some(C2L), None, Some(L2C)),
            Unit::Compute => (Some(L2C), Some(S2C), Some(C2L), Some(C2S)),
            Unit::Store => (Some(C2S), None, Some(S2C), None),
            Unit::Control => (None, None, None, None),
        };
        for (on, ch) in [(d.pop_prev, pp), (d.pop_next, pn)] {
            if let (true, Some(ch)) = (on, ch) {
                if self.tokens[ch] == 0 {
                    return Err(ErrorCode::Dependency);
                }
                self.tokens[ch] -= 1;
            }
        }
        for (on, ch) in [(d.push_prev, up), (d.push_next, un)] {
            if let (true, Some(ch)) = (on, ch) {
                if self.tokens[ch] == MAX_TOKENS {
                    return Err(ErrorCode::Dependency);
                }
                self.tokens[ch] += 1;
            }
        }
        Ok(())
    }

    fn load(
        &mut self,
        i: &Instr,
        dram: &Dram,
        regs: &HostRegs,
        c: &mut Counters,
    ) -> std::result::Result<(), ErrorCode> {
        let g = self.g.clone();
        let v = |n: &str| i.get(n);
        let base = regs.bases[v("base") as usize];
        let (elems, pad_left) = (v("elems") as u32, v("pad_left") as u32);
        let eb = match v("buf") {
            0 => g.act_bytes,
            1 => g.weight_bytes,
            _ => crate::npu::geometry::RECORD_BYTES,
        };
        // Read every row first: an AXI error leaves the buffer as it was.
        let mut rows = Vec::new();
        for r in 0..v("rows") {
            let addr = base.wrapping_add(v("dram")).wrapping_add(r * v("stride"));
            let len = u64::from(elems * eb);
            let range = dram
                .range(addr, len, u64::from(g.axi_bytes))
                .ok_or(ErrorCode::AxiRead)?;
            rows.push(dram.bytes[range].to_vec());
            c.dma_rd_bytes += len;
        }
        let zero_rows = |n: u64| (0..n).map(|_| None::<Vec<u8>>);
        let words: Vec<Option<Vec<u8>>> = zero_rows(v("pad_top"))
            .chain(rows.into_iter().map(Some))
            .chain(zero_rows(v("pad_bottom")))
            .collect();
        let elem = |bytes: &[u8], e: u32| {
            let s = &bytes[(e * eb) as usize..((e + 1) * eb) as usize];
            s.iter().rev().fold(0u64, |a, &b| (a << 8) | u64::from(b))
        };
        for (w, data) in words.iter().enumerate() {
            let at = v("sram") as usize + w;
            match v("buf") {
                0 => {
                    let word = &mut self.act[at];
                    word.iter_mut().for_each(|x| *x = 0);
                    if let Some(d) = data {
                        for e in 0..elems {
                            word[(pad_left + e) as usize] = lane(elem(d, e), g.in_bits, g.signed);
                        }
                    }
                }
                1 => {
                    let word = &mut self.weight[at];
                    word.iter_mut().for_each(|x| *x = 0);
                    if let Some(d) = data {
                        for e in 0..elems {
                            word[(pad_left + e) as usize] = lane(elem(d, e), g.w_bits, g.signed);
                        }
                    }
                }
                _ => {
                    let word = &mut self.params[at];
                    word.iter_mut().for_each(|x| *x = 0);
                    if let Some(d) = data {
                        for e in 0..elems {
                            let rec = &d[(e * eb) as usize..((e + 1) * eb) as usize];
                            for k in 0..PARAM_WORDS {
                                let b = &rec[4 * k..4 * k + 4];
                                word[(pad_left + e) as usize * PARAM_WORDS + k] =
                                    u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn matmul(&mut self, i: &Instr, c: &mut Counters) {
        let g = &self.g;
        // Fields read once, not per multiply-accumulate.
        let v = |n: &str| i.get(n) as usize;
        let (k, m, act, weight, acc) = (v("k"), v("m"), v("act"), v("weight"), v("acc"));
        let accumulate = i.get("accumulate") == 1;
        for row in 0..m {
            for j in 0..g.cols as usize {
                let start = if accumulate {
                    self.acc[acc + row][j]
                } else {
                    0
                };
                // The exact sum wrapped once equals wrapping after every add (two's complement).
                let sum: i128 = (0..k)
                    .map(|t| {
                        let a = match g.dataflow {
                            Dataflow::Os => self.act[act + t][row],
                            Dataflow::Ws => self.act[act + row][t],
                        };
                        a * self.weight[weight + t][j]
                    })
                    .sum();
                self.acc[acc + row][j] = wrap(start + sum, g.acc_bits, g.signed);
            }
        }
        c.macs += (m * k) as u64 * u64::from(g.cols);
    }

    fn post(&mut self, i: &Instr) {
        let g = self.g.clone();
        let p = self.post.clone().expect("checked: POST needs [postproc]");
        let (_, out_signed) = g.out.expect("checked");
        let v = |n: &str| i.get(n) as usize;
        let records: Vec<ColumnParams> = self.params[v("param")]
            .chunks_exact(PARAM_WORDS)
            .map(|w| ColumnParams::from_words(w, out_signed))
            .collect();
        for r in 0..v("rows") {
            let acc = &self.acc[v("acc") + r];
            self.out[v("dst") + r] = records
                .iter()
                .zip(acc)
                .map(|(rec, &a)| i128::from(postprocess(&p, &self.table, rec, a as i64)))
                .collect();
        }
    }

    fn alu(&mut self, i: &Instr) {
        let g = &self.g;
        let func = AluFunc::from_code(i.get("func")).expect("checked");
        let kind = AluSrc::from_code(i.get("src_kind")).expect("checked");
        let v = |n: &str| i.get(n) as usize;
        let (dst, src) = (v("dst"), v("src"));
        let imm = i128::from(i.get("imm") as u16 as i16);
        let shift = i.get("shift") as u32;
        let cols = g.cols as usize;
        for r in 0..v("rows") {
            // Read before the row is written: a source row may be the destination row.
            let operand: Vec<i128> = match kind {
                AluSrc::Acc => self.acc[src + r].clone(),
                AluSrc::Act => (0..cols)
                    .map(|j| self.act[src + r].get(j).copied().unwrap_or(0))
                    .collect(),
                AluSrc::Imm => vec![0; cols],
            };
            for (a, x) in self.acc[dst + r].iter_mut().zip(operand) {
                let val = wrap(x + imm, g.acc_bits, g.signed);
                *a = alu_lane(func, *a, val, shift, g.acc_bits, g.signed);
            }
        }
    }

    fn store(
        &mut self,
        i: &Instr,
        dram: &mut Dram,
        regs: &HostRegs,
        c: &mut Counters,
    ) -> std::result::Result<(), ErrorCode> {
        let g = &self.g;
        let v = |n: &str| i.get(n);
        let base = regs.bases[v("base") as usize];
        let elems = v("elems") as u32;
        let from_out = v("src") == 0;
        let eb = if from_out { g.out_bytes } else { g.acc_bytes };
        for r in 0..v("rows") {
            let at = (v("sram") + r) as usize;
            let mut bytes = Vec::new();
            for e in 0..elems {
                let val: i128 = if from_out {
                    self.out[at][e as usize]
                } else {
                    self.acc[at][e as usize]
                };
                bytes.extend_from_slice(&val.to_le_bytes()[..eb as usize]);
            }
            let addr = base.wrapping_add(v("dram")).wrapping_add(r * v("stride"));
            let range = dram
                .range(addr, bytes.len() as u64, u64::from(g.axi_bytes))
                .ok_or(ErrorCode::AxiWrite)?;
            dram.bytes[range].copy_from_slice(&bytes);
            c.dma_wr_bytes += bytes.len() as u64;
        }
        Ok(())
    }
}
