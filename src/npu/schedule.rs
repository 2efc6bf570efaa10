//! The two GEMM schedules of the program builder ([`super::program`]) and the emitter that
//! writes their instructions with slots and tokens: per tile, and A-resident blocking.

use super::program::{GemmShape, MAX_INSTRUCTIONS};
use crate::config::Dataflow;
use crate::error::{Error, Result};
use crate::npu::isa::{Deps, Instr, Opcode};
use crate::npu::Geometry;

/// The block sizes a GEMM is tiled with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Tiling {
    /// Output rows per block.
    pub(super) mb: u32,
    /// K per job.
    pub(super) kb: u32,
    /// Activation words per input slot.
    pub(super) in_words: u32,
    /// Activation words per output slot (0 without post-processing).
    pub(super) out_words: u32,
    /// Weight words per slot.
    pub(super) w_words: u32,
    /// Accumulator rows per slot.
    pub(super) acc_slot: u32,
}

fn too_small(field: &str, have: u32, need: String) -> Error {
    Error::input(
        field,
        format!("{have} words hold no tile of this GEMM: it needs {need}"),
    )
}

pub(super) fn tiling(g: &Geometry, s: GemmShape) -> Result<Tiling> {
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

/// A-resident blocking: when N spans two or more column blocks and A's blocks fit the
/// activation buffer with all of K, each block of A is loaded once and every column block's B
/// streams past it (DMA: A once, B once per block of A), instead of both per tile.
#[derive(Clone, Copy, Debug)]
pub(super) struct Resident {
    /// OS: blocks of R rows of A held at once; WS: 1.
    group: u32,
    /// Rows per block (OS: R; WS: as many as the accumulator and output slots allow).
    pub(super) mb: u32,
    /// K chunks per block: OS 1 (all of K in one MATMUL); WS ceil(K / R).
    chunks: u32,
    /// Activation words of one block.
    block_words: u32,
}

pub(super) fn resident(g: &Geometry, s: GemmShape) -> Option<Resident> {
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
pub(super) struct Emitter {
    pub(super) p: Vec<Instr>,
    /// Instructions emitted (or, dry, counted).
    pub(super) count: usize,
    /// Count only: the first pass, so that a too-large program fails before it is built.
    pub(super) dry: bool,
    pub(super) post: bool,
    /// (M, K, N).
    pub(super) dims: (u64, u64, u64),
    /// DRAM bytes of an activation, a weight and a result element.
    pub(super) bytes: (u64, u64, u64),
    pub(super) a_stride: u64,
    /// B loads so far (their slots alternate; from the third on each waits for a free slot).
    pub(super) b_loads: u64,
    /// Output tiles so far (accumulator and output slots alternate).
    pub(super) tiles: u64,
    pub(super) tile_rows: u64,
    pub(super) out_rows: u64,
    pub(super) b_words: u64,
}

impl Emitter {
    pub(super) fn push(&mut self, op: Opcode, deps: Deps, args: &[(&str, u64)]) -> Result<()> {
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
    pub(super) fn per_tile(&mut self, g: &Geometry, s: GemmShape, t: Tiling) -> Result<()> {
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
    pub(super) fn resident(&mut self, g: &Geometry, s: GemmShape, r: Resident) -> Result<()> {
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
