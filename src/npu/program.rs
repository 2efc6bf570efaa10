//! The program builder: tiles an M x K by K x N GEMM for the configured buffers and emits the
//! instruction stream (tiling lives here, never in the RTL).
//!
//! DRAM layout the program expects, each operand at its own base register, row-major,
//! little-endian elements of the geometry's element sizes:
//! - BASE0: A. Output-stationary: A transposed (K x M), so that one DRAM row is one array beat
//!   of R activations; weight-stationary: A (M x K).
//! - BASE1: B (K x N).
//! - BASE2: the post-processing records, ceil(N / C) * C of 20 bytes (the rest zero).
//! - BASE3: the result (M x N): outputs with `[postproc]`, accumulators without.
//!
//! The schedule: output blocks (OS: R rows, WS: up to half the accumulator rows) by C columns,
//! each summed over K chunks (OS: as deep as half the buffers allow; WS: R), one job per
//! chunk: LOAD A, LOAD B, MATMUL; then POST into the output buffer (with post-processing) and
//! STORE. Inputs, accumulator rows and output words are double
//! buffered and guarded by tokens, so the loads of job n + 1 run while job n computes, and the
//! store of a block while the next computes.

use crate::config::Dataflow;
use crate::error::{Error, Result};
use crate::npu::geometry::RECORD_BYTES;
use crate::npu::isa::{Deps, Instr, Opcode};
use crate::npu::Geometry;

/// A GEMM's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GemmShape {
    /// Rows of A and C.
    pub m: u32,
    /// Columns of A, rows of B.
    pub k: u32,
    /// Columns of B and C.
    pub n: u32,
}

/// An instruction stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    /// The instructions, in program order.
    pub instrs: Vec<Instr>,
}

/// Most instructions a builder program may have (64 MiB of program): larger GEMMs are
/// refused, so that a mistyped shape cannot exhaust memory.
pub const MAX_INSTRUCTIONS: usize = 1 << 22;

/// What a program does, read from its instructions alone (the golden model's counters must
/// agree with these; `tests/npu_model.rs` checks it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StaticCounts {
    /// Multiply-accumulates of the MATMULs (m x k x C each).
    pub macs: u64,
    /// Bytes the LOADs read.
    pub dma_rd_bytes: u64,
    /// Bytes the STOREs write.
    pub dma_wr_bytes: u64,
}

impl Program {
    /// The counts of this program on `g`.
    pub fn counts(&self, g: &Geometry) -> StaticCounts {
        let mut c = StaticCounts::default();
        for i in &self.instrs {
            let v = |n: &str| i.get(n);
            match i.op {
                Opcode::Matmul => c.macs += v("m") * v("k") * u64::from(g.cols),
                Opcode::Load => {
                    let eb = match v("buf") {
                        0 => g.act_bytes,
                        1 => g.weight_bytes,
                        _ => RECORD_BYTES,
                    };
                    c.dma_rd_bytes += v("rows") * v("elems") * u64::from(eb);
                }
                Opcode::Store => {
                    let eb = if v("src") == 0 {
                        g.out_bytes
                    } else {
                        g.acc_bytes
                    };
                    c.dma_wr_bytes += v("rows") * v("elems") * u64::from(eb);
                }
                Opcode::Post | Opcode::Finish => {}
            }
        }
        c
    }

    /// The program as DRAM bytes (16 per instruction).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.instrs.iter().flat_map(|i| i.to_bytes()).collect()
    }

    /// The disassembled listing, one numbered line per instruction.
    pub fn listing(&self) -> String {
        self.instrs
            .iter()
            .enumerate()
            .map(|(pc, i)| format!("{pc:6}  {}\n", i.disassemble()))
            .collect()
    }
}

/// The block sizes a GEMM is tiled with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Tiling {
    /// Output rows per block.
    mb: u32,
    /// K per job.
    kb: u32,
    /// Activation words per input slot.
    in_words: u32,
    /// Activation words per output slot (0 without post-processing).
    out_words: u32,
    /// Weight words per slot.
    w_words: u32,
    /// Accumulator rows per slot.
    acc_slot: u32,
}

fn too_small(field: &str, have: u32, need: String) -> Error {
    Error::input(
        field,
        format!("{have} words hold no tile of this GEMM: it needs {need}"),
    )
}

fn tiling(g: &Geometry, s: GemmShape) -> Result<Tiling> {
    let post = g.out.is_some();
    // Output slots: two of `rows` output words each, when there is post-processing.
    let out_fits = |rows: u32| {
        if !post || g.out_words >= 2 * rows {
            Ok(())
        } else {
            Err(too_small(
                "npu.out_kib",
                g.out_words,
                format!("2 * {rows} output words"),
            ))
        }
    };
    match g.dataflow {
        Dataflow::Os => {
            let r = g.rows;
            if g.acc_rows < 2 * r {
                return Err(Error::input(
                    "npu.acc_rows",
                    format!(
                        "{} rows: output-stationary needs 2 * R = {}",
                        g.acc_rows,
                        2 * r
                    ),
                ));
            }
            out_fits(r)?;
            let kb = s.k.min(g.act_words / 2).min(g.weight_words / 2);
            if kb == 0 {
                let (field, have) = if g.act_words < 2 {
                    ("npu.act_kib", g.act_words)
                } else {
                    ("npu.weight_kib", g.weight_words)
                };
                return Err(too_small(field, have, "2 words".into()));
            }
            Ok(Tiling {
                mb: r,
                kb,
                in_words: kb,
                out_words: if post { r } else { 0 },
                w_words: kb,
                acc_slot: r,
            })
        }
        Dataflow::Ws => {
            let kb = s.k.min(g.rows);
            if g.weight_words < 2 * kb {
                return Err(too_small(
                    "npu.weight_kib",
                    g.weight_words,
                    format!("2 * {kb} weight words"),
                ));
            }
            let mut mb = s.m.min(g.acc_rows / 2).min(g.act_words / 2);
            if post {
                mb = mb.min(g.out_words / 2);
            }
            if mb == 0 {
                let (field, have) = if g.acc_rows < 2 {
                    ("npu.acc_rows", g.acc_rows)
                } else if g.act_words < 2 {
                    ("npu.act_kib", g.act_words)
                } else {
                    ("npu.out_kib", g.out_words)
                };
                return Err(too_small(field, have, "2 slots of one row".into()));
            }
            Ok(Tiling {
                mb,
                kb,
                in_words: mb,
                out_words: if post { mb } else { 0 },
                w_words: kb,
                acc_slot: mb,
            })
        }
    }
}

fn field_fits(name: &str, v: u64, bits: u32) -> Result<u64> {
    if v >> bits == 0 {
        Ok(v)
    } else {
        Err(Error::input(
            name,
            format!("{v} does not fit the instruction's {bits}-bit field: the GEMM is too large"),
        ))
    }
}

/// The program for `s` on `g`, in the DRAM layout of the module docs. Refuses (exit 2) a
/// GEMM whose tiles cannot fit the buffers, or whose offsets and strides do not fit the
/// instruction fields.
pub fn gemm(g: &Geometry, s: GemmShape) -> Result<Program> {
    for (name, v) in [("m", s.m), ("k", s.k), ("n", s.n)] {
        if v == 0 {
            return Err(Error::input(format!("gemm {name}"), "0: at least 1"));
        }
    }
    let t = tiling(g, s)?;
    let (c, post) = (g.cols, g.out.is_some());
    let n_blocks = s.n.div_ceil(c);
    if post && n_blocks > g.param_rows {
        return Err(Error::input(
            "npu.param_rows",
            format!(
                "{} rows: N = {} needs ceil(N / C) = {n_blocks}",
                g.param_rows, s.n
            ),
        ));
    }
    let (ab, wb) = (u64::from(g.act_bytes), u64::from(g.weight_bytes));
    let ob = u64::from(if post { g.out_bytes } else { g.acc_bytes });
    let (m, k, n) = (u64::from(s.m), u64::from(s.k), u64::from(s.n));
    // Strides fit 24 bits, offsets 32 (the largest offset is that of the last element).
    let a_stride = match g.dataflow {
        Dataflow::Os => m * ab,
        Dataflow::Ws => k * ab,
    };
    field_fits("A's row stride", a_stride, 24)?;
    field_fits("B's row stride", n * wb, 24)?;
    field_fits("C's row stride", n * ob, 24)?;
    field_fits("A's size", m * k * ab, 32)?;
    field_fits("B's size", k * n * wb, 32)?;
    field_fits("C's size", m * n * ob, 32)?;

    let mut program = Vec::new();
    for dry in [true, false] {
        let mut e = Emitter {
            p: Vec::new(),
            count: 0,
            dry,
            post,
            dims: (m, k, n),
            bytes: (ab, wb, ob),
            a_stride,
            b_loads: 0,
            tiles: 0,
            tile_rows: u64::from(t.acc_slot),
            out_rows: u64::from(t.out_words),
            b_words: u64::from(t.w_words),
        };
        if post {
            e.push(
                Opcode::Load,
                Deps::default(),
                &[
                    ("buf", 2),
                    ("base", 2),
                    ("rows", u64::from(n_blocks)),
                    ("elems", u64::from(c)),
                    ("stride", u64::from(c * RECORD_BYTES)),
                ],
            )?;
        }
        match resident(g, s) {
            Some(r) => e.resident(g, s, r)?,
            None => e.per_tile(g, s, t)?,
        }
        e.push(Opcode::Finish, Deps::default(), &[])?;
        program = e.p;
    }
    Ok(Program { instrs: program })
}

/// A-resident blocking: when N spans two or more column blocks and A's blocks fit the
/// activation buffer with all of K, each block of A is loaded once and every column block's B
/// streams past it (DMA: A once, B once per block of A), instead of both per tile.
#[derive(Clone, Copy, Debug)]
struct Resident {
    /// OS: blocks of R rows of A held at once; WS: 1.
    group: u32,
    /// Rows per block (OS: R; WS: as many as the accumulator and output slots allow).
    mb: u32,
    /// K chunks per block: OS 1 (all of K in one MATMUL); WS ceil(K / R).
    chunks: u32,
    /// Activation words of one block.
    block_words: u32,
}

fn resident(g: &Geometry, s: GemmShape) -> Option<Resident> {
    if s.n <= g.cols {
        return None;
    }
    let post = g.out.is_some();
    match g.dataflow {
        Dataflow::Os => {
            let r = g.rows;
            let fits = 2 * s.k <= g.act_words
                && 2 * s.k <= g.weight_words
                && g.acc_rows >= 2 * r
                && (!post || g.out_words >= 2 * r);
            let blocks = s.m.div_ceil(r);
            fits.then(|| Resident {
                group: (g.act_words / (2 * s.k)).min(blocks),
                mb: r,
                chunks: 1,
                block_words: s.k,
            })
        }
        Dataflow::Ws => {
            let chunks = s.k.div_ceil(g.rows);
            if g.weight_words < 2 * g.rows.min(s.k) {
                return None;
            }
            let mut mb = s.m.min(g.acc_rows / 2).min(g.act_words / (2 * chunks));
            if post {
                mb = mb.min(g.out_words / 2);
            }
            (mb > 0).then_some(Resident {
                group: 1,
                mb,
                chunks,
                block_words: mb * chunks,
            })
        }
    }
}

/// Builds the instruction stream: the loads, MATMULs, POSTs and STOREs of both schedules with
/// their slots and tokens.
struct Emitter {
    p: Vec<Instr>,
    /// Instructions emitted (or, dry, counted).
    count: usize,
    /// Count only: the first pass, so that a too-large program fails before it is built.
    dry: bool,
    post: bool,
    /// (M, K, N).
    dims: (u64, u64, u64),
    /// DRAM bytes of an activation, a weight and a result element.
    bytes: (u64, u64, u64),
    a_stride: u64,
    /// B loads so far (their slots alternate; from the third on each waits for a free slot).
    b_loads: u64,
    /// Output tiles so far (accumulator and output slots alternate).
    tiles: u64,
    tile_rows: u64,
    out_rows: u64,
    b_words: u64,
}

impl Emitter {
    fn push(&mut self, op: Opcode, deps: Deps, args: &[(&str, u64)]) -> Result<()> {
        if self.count == MAX_INSTRUCTIONS {
            return Err(Error::input(
                "--gemm",
                format!(
                    "the program would exceed {MAX_INSTRUCTIONS} instructions: split the GEMM \
                     or give the npu larger buffers"
                ),
            ));
        }
        self.count += 1;
        if !self.dry {
            self.p.push(Instr::new(op, deps, args)?);
        }
        Ok(())
    }

    /// LOAD of A: `rows` DRAM rows of `elems` activations from byte offset `dram`.
    fn load_a(&mut self, sram: u64, dram: u64, rows: u64, elems: u64, pop: bool) -> Result<()> {
        let deps = Deps {
            pop_next: pop,
            ..Deps::default()
        };
        let a_stride = self.a_stride;
        self.push(
            Opcode::Load,
            deps,
            &[
                ("buf", 0),
                ("base", 0),
                ("sram", sram),
                ("dram", dram),
                ("rows", rows),
                ("elems", elems),
                ("stride", a_stride),
            ],
        )
    }

    /// LOAD of B rows k0 .. k0 + kt, columns j0 .. j0 + nt, into the next weight slot; it gives
    /// compute a token. `pop`: it waits for a free slot first. Returns the slot's first word.
    fn load_b(&mut self, (k0, kt): (u64, u64), (j0, nt): (u64, u64), pop: bool) -> Result<u64> {
        let (_, _, n) = self.dims;
        let wb = self.bytes.1;
        let slot = self.b_loads % 2 * self.b_words;
        self.b_loads += 1;
        let deps = Deps {
            pop_next: pop,
            push_next: true,
            ..Deps::default()
        };
        self.push(
            Opcode::Load,
            deps,
            &[
                ("buf", 1),
                ("base", 1),
                ("sram", slot),
                ("dram", (k0 * n + j0) * wb),
                ("rows", kt),
                ("elems", nt),
                ("stride", n * wb),
            ],
        )?;
        Ok(slot)
    }

    /// The accumulator slot of the current tile.
    fn acc_slot(&self) -> u64 {
        self.tiles % 2 * self.tile_rows
    }

    /// MATMUL into the current tile. `first_use`: it takes the B load's token; `last_use`:
    /// it frees the B slot; `first`/`last`: the tile's first and last K chunk.
    fn matmul(
        &mut self,
        act: u64,
        weight: u64,
        (k, m): (u64, u64),
        (first_use, last_use): (bool, bool),
        (first, last): (bool, bool),
    ) -> Result<()> {
        let deps = Deps {
            pop_prev: first_use,
            push_prev: last_use,
            // Without post-processing the store reads the accumulator slot.
            pop_next: !self.post && first && self.tiles >= 2,
            push_next: !self.post && last,
        };
        let acc = self.acc_slot();
        self.push(
            Opcode::Matmul,
            deps,
            &[
                ("accumulate", u64::from(!first)),
                ("act", act),
                ("weight", weight),
                ("acc", acc),
                ("k", k),
                ("m", m),
            ],
        )
    }

    /// POST (with post-processing) and STORE of the current tile: rows i0 .. i0 + mt, columns
    /// j0 .. j0 + nt of C; then the next tile.
    fn finish_tile(&mut self, (i0, mt): (u64, u64), (j0, nt): (u64, u64), c: u64) -> Result<()> {
        let (_, _, n) = self.dims;
        let ob = self.bytes.2;
        let acc = self.acc_slot();
        let out = self.tiles % 2 * self.out_rows;
        if self.post {
            let deps = Deps {
                pop_next: self.tiles >= 2,
                push_next: true,
                ..Deps::default()
            };
            self.push(
                Opcode::Post,
                deps,
                &[("dst", out), ("acc", acc), ("rows", mt), ("param", j0 / c)],
            )?;
        }
        let deps = Deps {
            pop_prev: true,
            push_prev: true,
            ..Deps::default()
        };
        let post = self.post;
        self.push(
            Opcode::Store,
            deps,
            &[
                ("src", u64::from(!post)),
                ("base", 3),
                ("sram", if post { out } else { acc }),
                ("dram", (i0 * n + j0) * ob),
                ("rows", mt),
                ("elems", nt),
                ("stride", n * ob),
            ],
        )?;
        self.tiles += 1;
        Ok(())
    }

    /// One job per tile and K chunk: LOAD A, LOAD B, MATMUL (both operands per tile).
    fn per_tile(&mut self, g: &Geometry, s: GemmShape, t: Tiling) -> Result<()> {
        let (m, k, _) = self.dims;
        let ab = self.bytes.0;
        let c = u64::from(g.cols);
        let mut job = 0u64;
        for i0 in (0..s.m).step_by(t.mb as usize) {
            let mt = u64::from(t.mb.min(s.m - i0));
            for j0 in (0..s.n).step_by(g.cols as usize) {
                let nt = u64::from(g.cols.min(s.n - j0));
                let (i0, j0) = (u64::from(i0), u64::from(j0));
                let chunks: Vec<u32> = (0..s.k).step_by(t.kb as usize).collect();
                for (ci, &k0) in chunks.iter().enumerate() {
                    let k0 = u64::from(k0);
                    let kt = u64::from(t.kb).min(k - k0);
                    // A: OS kt rows of mt activations from A^T; WS mt rows of kt from A.
                    let (a_off, a_rows, a_elems) = match g.dataflow {
                        Dataflow::Os => ((k0 * m + i0) * ab, kt, mt),
                        Dataflow::Ws => ((i0 * k + k0) * ab, mt, kt),
                    };
                    let slot = job % 2 * u64::from(t.in_words);
                    // The A load waits for the slot pair (A and B) two jobs back.
                    self.load_a(slot, a_off, a_rows, a_elems, job >= 2)?;
                    let w = self.load_b((k0, kt), (j0, nt), false)?;
                    let edges = (ci == 0, ci + 1 == chunks.len());
                    self.matmul(slot, w, (kt, mt), (true, true), edges)?;
                    job += 1;
                }
                self.finish_tile((i0, mt), (j0, nt), c)?;
            }
        }
        Ok(())
    }

    /// A-resident blocking ([`Resident`]). Blocks of A are double buffered; the load of block
    /// q + 2 follows the B loads of block q + 1, the last of which waited for a slot freed
    /// by a MATMUL of block q + 1 (there are at least two B chunks per block), so every
    /// MATMUL of block q has finished: it needs no token of its own.
    fn resident(&mut self, g: &Geometry, s: GemmShape, r: Resident) -> Result<()> {
        let (m, k, _) = self.dims;
        let ab = self.bytes.0;
        let (rows, c) = (u64::from(g.rows), u64::from(g.cols));
        let blocks: Vec<u32> = (0..s.m).step_by(r.mb as usize).collect();
        for (q, group) in blocks.chunks(r.group as usize).enumerate() {
            let base = q as u64 % 2 * u64::from(r.group * r.block_words);
            // The group's A blocks, all of K.
            for (x, &i0) in group.iter().enumerate() {
                let (i0, mt) = (u64::from(i0), u64::from(r.mb.min(s.m - i0)));
                let at = base + x as u64 * u64::from(r.block_words);
                match g.dataflow {
                    Dataflow::Os => self.load_a(at, i0 * ab, k, mt, false)?,
                    Dataflow::Ws => {
                        for t in 0..u64::from(r.chunks) {
                            let kc = rows.min(k - t * rows);
                            self.load_a(at + t * mt, (i0 * k + t * rows) * ab, mt, kc, false)?;
                        }
                    }
                }
            }
            for j0 in (0..s.n).step_by(g.cols as usize) {
                let nt = u64::from(g.cols.min(s.n - j0));
                let j0 = u64::from(j0);
                match g.dataflow {
                    Dataflow::Os => {
                        let pop = self.b_loads >= 2;
                        let w = self.load_b((0, k), (j0, nt), pop)?;
                        for (x, &i0) in group.iter().enumerate() {
                            let (i0, mt) = (u64::from(i0), u64::from(r.mb.min(s.m - i0)));
                            let at = base + x as u64 * u64::from(r.block_words);
                            let uses = (x == 0, x + 1 == group.len());
                            self.matmul(at, w, (k, mt), uses, (true, true))?;
                            self.finish_tile((i0, mt), (j0, nt), c)?;
                        }
                    }
                    Dataflow::Ws => {
                        let i0 = u64::from(group[0]);
                        let mt = u64::from(r.mb.min(s.m - group[0]));
                        for t in 0..u64::from(r.chunks) {
                            let kc = rows.min(k - t * rows);
                            let pop = self.b_loads >= 2;
                            let w = self.load_b((t * rows, kc), (j0, nt), pop)?;
                            let edges = (t == 0, t + 1 == u64::from(r.chunks));
                            self.matmul(base + t * mt, w, (kc, mt), (true, true), edges)?;
                        }
                        self.finish_tile((i0, mt), (j0, nt), c)?;
                    }
                }
            }
        }
        let _ = m;
        Ok(())
    }
}
