//! Cycle-level golden model of the array's ports, written from its published contract (the
//! acceptance rules and latencies in [`crate::timing`] and the port descriptions), not from the
//! RTL: there are no PEs, skew or drain chains here. Results are computed as whole-tile matrix
//! products and appear at the documented cycle, through a model of the output FIFO.
//!
//! Accumulators wrap at `acc_bits` (two's complement for signed configs, modulo 2^acc_bits for
//! unsigned ones). Port values before the first reset are unknown, so comparisons start after
//! reset.

use std::collections::VecDeque;

use super::io::{wrap, CycleIn, CycleOut};
use super::out_queue::OutQueue;
use super::params::ColumnParams;
use super::postproc::{activation_table, postprocess};
use crate::config::{ArrayConfig, Dataflow, PostprocConfig};
use crate::timing::{self, BIAS_QUEUE_DEPTH};

/// Cycles from the FIFO write of a row (the edge ending cycle w) to `c_tvalid` (cycle w + 2),
/// when the FIFO is empty and the consumer ready.
const FIFO_LATENCY: u64 = 2;

/// A result row on its way out.
#[derive(Clone, Debug)]
struct Row {
    lanes: Vec<i128>,
    last: bool,
}

/// OS state: the running tile and the tile-end spacing.
#[derive(Debug)]
struct OsState {
    /// Sums of the tile being accumulated, row-major R x C.
    tile: Vec<i128>,
    /// Cycles since the last accepted tile end, saturating at the minimum spacing - 1.
    since_last: u32,
}

/// WS state: weight tiles and the swap spacing.
#[derive(Debug)]
struct WsState {
    /// The shadow tile being shifted in (R rows of C lanes; new rows enter at row R-1).
    shadow: Vec<Vec<i128>>,
    /// Weight rows shifted into the shadow since the last swap.
    loaded: u32,
    /// Zero rows still to shift in after an early `w_tlast`.
    filling: bool,
    /// The tile in use.
    active: Vec<Vec<i128>>,
    /// The next accepted A row starts a new tile (after reset or `a_tlast`).
    first: bool,
    /// Cycles since the last swap, saturating at the settle time - 1.
    since_swap: u32,
}

/// The npu_core's post-processing: generation-time constants, and the parameter queue.
#[derive(Debug)]
struct Post {
    cfg: PostprocConfig,
    table: Vec<i64>,
    /// Parameter beats accepted and not yet popped.
    queued: u32,
    /// Cycles at whose end a parameter beat leaves the queue (a tile's last row enters the
    /// pipeline).
    pops: VecDeque<u64>,
    /// The parameters of the WS tile being streamed, one record per lane.
    tile_params: Vec<ColumnParams>,
}

impl Post {
    fn room(&self) -> bool {
        self.queued < BIAS_QUEUE_DEPTH
    }

    /// The records of a parameter beat, decoded once per tile.
    fn records(&self, beat: &[i128]) -> Vec<ColumnParams> {
        ColumnParams::from_beat(beat, self.cfg.out_signed)
    }

    /// Post-processes a row's `lanes` with its tile's records (one per lane).
    fn apply(&self, lanes: &[i128], params: &[ColumnParams]) -> Vec<i128> {
        lanes
            .iter()
            .zip(params)
            .map(|(&acc, c)| i128::from(postprocess(&self.cfg, &self.table, c, acc as i64)))
            .collect()
    }
}

#[derive(Debug)]
enum Flow {
    Os(OsState),
    Ws(WsState),
}

/// What one cycle of a flow reads and writes besides the flow's own state.
struct Cycle<'a> {
    cfg: &'a ArrayConfig,
    /// The cycle.
    t: u64,
    inp: &'a CycleIn,
    out: &'a mut OutQueue<Row>,
    post: &'a mut Option<Post>,
    /// The cycle's outputs, filled in.
    o: &'a mut CycleOut,
}

impl OsState {
    /// One cycle of the OS flow: handshakes, accumulation and, on a tile end, the tile's rows
    /// scheduled into the output FIFO.
    fn cycle(&mut self, c: Cycle) {
        let s = self;
        let (rows, cols) = (c.cfg.rows, c.cfg.cols);
        let acc = |v: i128| wrap(v, c.cfg.acc_bits(), c.cfg.signed);
        let spaced = s.since_last == timing::os_min_last_gap(c.cfg) - 1;
        let mut ready = c.out.credits >= rows && spaced;
        if let Some(p) = &c.post {
            ready = ready && p.room();
            c.o.param_ready = c.inp.a.valid && c.inp.b.valid && c.inp.a.last && ready;
            ready = ready && c.inp.params.valid;
        }
        let can = !c.inp.a.last || ready;
        c.o.a_ready = c.inp.b.valid && can;
        c.o.b_ready = c.inp.a.valid && can;
        let take = c.inp.a.valid && c.inp.b.valid && can;
        if take {
            for i in 0..rows as usize {
                for j in 0..cols as usize {
                    let p = c.inp.a.lanes[i] * c.inp.b.lanes[j];
                    let sum = &mut s.tile[i * cols as usize + j];
                    *sum = acc(sum.wrapping_add(p));
                }
            }
        }
        if take && c.inp.a.last {
            let first_write = c.t + u64::from(timing::os_first_row_latency(c.cfg)) - FIFO_LATENCY;
            let extra = u64::from(timing::post_latency(c.post.as_ref().map(|p| &p.cfg)));
            let params = c.post.as_ref().map(|p| p.records(&c.inp.params.lanes));
            for i in 0..rows as usize {
                let mut lanes = s.tile[i * cols as usize..(i + 1) * cols as usize].to_vec();
                if let (Some(p), Some(params)) = (&c.post, &params) {
                    lanes = p.apply(&lanes, params);
                }
                let row = Row {
                    lanes,
                    last: i + 1 == rows as usize,
                };
                c.out.schedule(first_write + 2 * i as u64 + extra, row);
            }
            if let Some(p) = c.post.as_mut() {
                p.queued += 1;
                p.pops.push_back(first_write + 2 * (u64::from(rows) - 1));
            }
            s.tile.iter_mut().for_each(|v| *v = 0);
            c.out.credits -= rows;
            s.since_last = 0;
        } else {
            s.since_last = (s.since_last + 1).min(timing::os_min_last_gap(c.cfg) - 1);
        }
    }
}

impl WsState {
    /// One cycle of the WS flow: weight loading into the shadow tile, the swap on a tile's
    /// first row, and each taken row's dot products scheduled into the output FIFO.
    /// About 80 lines: one cycle of the contract, in the order the RTL's edge applies it.
    fn cycle(&mut self, c: Cycle) {
        let s = self;
        let (rows, cols) = (c.cfg.rows, c.cfg.cols);
        let acc = |v: i128| wrap(v, c.cfg.acc_bits(), c.cfg.signed);
        let settle_max = timing::ws_shadow_free_after(c.cfg) - 1;
        let full = s.loaded == rows;
        let w_ok = !full && !s.filling && s.since_swap == settle_max;
        c.o.b_ready = w_ok;
        let w_take = c.inp.b.valid && w_ok;
        let credit = c.out.credits >= 1;
        let tile_ready = match &c.post {
            Some(p) => {
                let room = credit && full && p.room();
                c.o.param_ready = c.inp.a.valid && s.first && room;
                room && c.inp.params.valid
            }
            None => full,
        };
        let a_ok = credit && (!s.first || tile_ready);
        c.o.a_ready = a_ok;
        let take = c.inp.a.valid && a_ok;
        let swap = take && s.first;
        if swap {
            s.active = s.shadow.clone();
            s.loaded = 0;
            s.since_swap = 0;
            if let Some(p) = c.post.as_mut() {
                p.queued += 1;
                p.tile_params = p.records(&c.inp.params.lanes);
            }
        } else {
            s.since_swap = (s.since_swap + 1).min(settle_max);
        }
        if take {
            let lanes: Vec<i128> = (0..cols as usize)
                .map(|j| {
                    let dot = (0..rows as usize)
                        .map(|i| c.inp.a.lanes[i] * s.active[i][j])
                        .fold(0i128, |x, y| acc(x.wrapping_add(y)));
                    acc(dot)
                })
                .collect();
            let write = c.t + u64::from(timing::ws_row_latency(c.cfg)) - FIFO_LATENCY;
            let (lanes, extra) = match c.post.as_mut() {
                Some(p) => {
                    if c.inp.a.last {
                        p.pops.push_back(write);
                    }
                    (
                        p.apply(&lanes, &p.tile_params),
                        u64::from(timing::post_latency(Some(&p.cfg))),
                    )
                }
                None => (lanes, 0),
            };
            c.out.schedule(
                write + extra,
                Row {
                    lanes,
                    last: c.inp.a.last,
                },
            );
            c.out.credits -= 1;
            s.first = c.inp.a.last;
        }
        if w_take || s.filling {
            let row = if w_take {
                c.inp.b.lanes.clone()
            } else {
                vec![0; cols as usize]
            };
            s.shadow.remove(0);
            s.shadow.push(row);
            let more = s.loaded + 1 < rows;
            s.filling = (s.filling || (w_take && c.inp.b.last)) && more;
            s.loaded += 1;
        }
    }
}

/// The golden model of a configured array.
#[derive(Debug)]
pub struct ArrayModel {
    cfg: ArrayConfig,
    cycle: u64,
    flow: Flow,
    out: OutQueue<Row>,
    post: Option<Post>,
}

impl ArrayModel {
    /// A model of a plain array in its reset state.
    pub fn new(cfg: &ArrayConfig) -> ArrayModel {
        ArrayModel::with_post(cfg, None)
    }

    /// A model of an array, or of an npu_core when `post` is given, in its reset state.
    pub fn with_post(cfg: &ArrayConfig, post: Option<&PostprocConfig>) -> ArrayModel {
        let (r, c) = (cfg.rows as usize, cfg.cols as usize);
        let flow = match cfg.dataflow {
            Dataflow::Os => Flow::Os(OsState {
                tile: vec![0; r * c],
                since_last: timing::os_min_last_gap(cfg) - 1,
            }),
            Dataflow::Ws => Flow::Ws(WsState {
                shadow: vec![vec![0; c]; r],
                loaded: 0,
                filling: false,
                active: vec![vec![0; c]; r],
                first: true,
                since_swap: timing::ws_shadow_free_after(cfg) - 1,
            }),
        };
        ArrayModel {
            cfg: cfg.clone(),
            cycle: 0,
            flow,
            out: OutQueue::new(cfg.fifo_depth(timing::post_latency(post))),
            post: post.map(|p| Post {
                cfg: p.clone(),
                table: if p.activation.is_lut() {
                    activation_table(p)
                } else {
                    Vec::new()
                },
                queued: 0,
                pops: VecDeque::new(),
                tile_params: vec![ColumnParams::default(); cfg.cols as usize],
            }),
        }
    }

    /// Number of cycles stepped so far.
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// One clock cycle: returns the outputs during the cycle (given its inputs), then applies
    /// the rising edge that ends it.
    pub fn step(&mut self, inp: &CycleIn) -> CycleOut {
        let cfg = self.cfg.clone();
        let t = self.cycle;
        let mut o = CycleOut {
            c_valid: self.out.out.is_some(),
            ..CycleOut::default()
        };
        if let Some(row) = &self.out.out {
            o.c_last = row.last;
            o.c_lanes = row.lanes.clone();
        }
        let c = Cycle {
            cfg: &cfg,
            t,
            inp,
            out: &mut self.out,
            post: &mut self.post,
            o: &mut o,
        };
        match &mut self.flow {
            Flow::Os(s) => s.cycle(c),
            Flow::Ws(s) => s.cycle(c),
        }
        self.out.edge(t, inp.c_ready);
        if let Some(p) = &mut self.post {
            while p.pops.front() == Some(&t) {
                p.pops.pop_front();
                p.queued -= 1;
            }
        }
        if inp.rst {
            let post = self.post.as_ref().map(|p| p.cfg.clone());
            *self = ArrayModel::with_post(&cfg, post.as_ref());
        }
        self.cycle = t + 1;
        o
    }
}
