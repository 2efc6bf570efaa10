//! The output FIFO with its credit counter, as the array's and the spiking core's cycle
//! models see it: a row written at the end of cycle w is on the output from cycle w + 2 when
//! the FIFO is empty and the consumer ready.

use std::collections::VecDeque;

/// The output FIFO with its credit counter (first word fall through, one output register).
#[derive(Debug)]
pub(crate) struct OutQueue<R> {
    /// Rows to be written into the FIFO at the end of the given cycle, in time order.
    scheduled: VecDeque<(u64, R)>,
    mem: VecDeque<R>,
    /// The row on the output (`*_tvalid`), if any.
    pub(crate) out: Option<R>,
    /// Free slots: a producer reserves one per row before scheduling it.
    pub(crate) credits: u32,
}

impl<R> OutQueue<R> {
    /// An empty FIFO of `depth` rows.
    pub(crate) fn new(depth: u32) -> OutQueue<R> {
        OutQueue {
            scheduled: VecDeque::new(),
            mem: VecDeque::new(),
            out: None,
            credits: depth,
        }
    }

    /// Schedules `row` to be written at the end of cycle `write_cycle`.
    pub(crate) fn schedule(&mut self, write_cycle: u64, row: R) {
        let pos = self
            .scheduled
            .iter()
            .position(|(w, _)| *w > write_cycle)
            .unwrap_or(self.scheduled.len());
        self.scheduled.insert(pos, (write_cycle, row));
    }

    /// Clock edge ending cycle `t`: output handshake, FIFO read, then this cycle's writes.
    pub(crate) fn edge(&mut self, t: u64, ready: bool) {
        let pop = self.out.is_some() && ready;
        if !self.mem.is_empty() && (self.out.is_none() || ready) {
            self.out = self.mem.pop_front();
        } else if pop {
            self.out = None;
        }
        if pop {
            self.credits += 1;
        }
        while self.scheduled.front().is_some_and(|(w, _)| *w == t) {
            let (_, row) = self.scheduled.pop_front().expect("front exists");
            self.mem.push_back(row);
        }
        assert!(
            self.scheduled.front().is_none_or(|(w, _)| *w > t),
            "model error: a row was scheduled in the past"
        );
    }
}
