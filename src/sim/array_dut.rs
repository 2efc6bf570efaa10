//! The Verilated array as a [`Dut`]: packs each cycle's lane values into port words and
//! unpacks the outputs.

use super::ports::{pack_lanes, unpack_lanes, PortLayout, PortSlot};
use super::run::Dut;
use super::verilator::{SimError, Verilated};
use crate::config::{ArrayConfig, Dataflow, PostprocConfig};
use crate::model::{CycleIn, CycleOut};

/// Port slots of the array top, resolved once.
struct Slots {
    rst: PortSlot,
    a_tdata: PortSlot,
    a_tvalid: PortSlot,
    a_tlast: PortSlot,
    b_tdata: PortSlot,
    b_tvalid: PortSlot,
    b_tlast: Option<PortSlot>,
    c_tready: PortSlot,
    params: Option<(PortSlot, PortSlot, PortSlot)>,
    a_tready: PortSlot,
    b_tready: PortSlot,
    c_tdata: PortSlot,
    c_tvalid: PortSlot,
    c_tlast: PortSlot,
}

impl Slots {
    /// The slots of an array top's ports; an error if the top lacks one, or has a port the
    /// harness neither drives nor compares.
    fn resolve(
        l: &PortLayout,
        cfg: &ArrayConfig,
        post: Option<&PostprocConfig>,
    ) -> Result<Slots, SimError> {
        let b = if cfg.dataflow == Dataflow::Os {
            "b"
        } else {
            "w"
        };
        let inp = |n: &str| l.find_input(n);
        let out = |n: &str| l.find_output(n);
        let slots = Slots {
            rst: inp("rst")?,
            a_tdata: inp("a_tdata")?,
            a_tvalid: inp("a_tvalid")?,
            a_tlast: inp("a_tlast")?,
            b_tdata: inp(&format!("{b}_tdata"))?,
            b_tvalid: inp(&format!("{b}_tvalid"))?,
            b_tlast: l.input(&format!("{b}_tlast")).cloned(),
            c_tready: inp("c_tready")?,
            params: match post {
                Some(_) => Some((
                    inp("param_tdata")?,
                    inp("param_tvalid")?,
                    out("param_tready")?,
                )),
                None => None,
            },
            a_tready: out("a_tready")?,
            b_tready: out(&format!("{b}_tready"))?,
            c_tdata: out("c_tdata")?,
            c_tvalid: out("c_tvalid")?,
            c_tlast: out("c_tlast")?,
        };
        // Every port is driven or compared; the list comes from the slots above.
        let mut driven = vec![
            slots.rst.name.as_str(),
            &slots.a_tdata.name,
            &slots.a_tvalid.name,
            &slots.a_tlast.name,
            &slots.b_tdata.name,
            &slots.b_tvalid.name,
            &slots.c_tready.name,
        ];
        let mut compared = vec![
            slots.a_tready.name.as_str(),
            &slots.b_tready.name,
            &slots.c_tdata.name,
            &slots.c_tvalid.name,
            &slots.c_tlast.name,
        ];
        if let Some(l) = &slots.b_tlast {
            driven.push(&l.name);
        }
        if let Some((d, v, r)) = &slots.params {
            driven.extend([d.name.as_str(), &v.name]);
            compared.push(&r.name);
        }
        l.check_handled(&driven, &compared)?;
        Ok(slots)
    }
}

/// Checks that [`ArrayDut`] handles every port of `layout` (an array or npu_core top from
/// `cfg`): each input driven, each output compared with the model.
pub fn check_ports(
    layout: &PortLayout,
    cfg: &ArrayConfig,
    post: Option<&PostprocConfig>,
) -> Result<(), SimError> {
    Slots::resolve(layout, cfg, post).map(|_| ())
}

/// A Verilated array under test.
pub struct ArrayDut {
    sim: Verilated,
    cfg: ArrayConfig,
    slots: Slots,
    /// Width and signedness of a result lane.
    lane: (u32, bool),
}

impl ArrayDut {
    /// Wraps a loaded model of an array (or npu_core, with `post`) generated from `cfg`.
    pub fn new(
        sim: Verilated,
        cfg: &ArrayConfig,
        post: Option<&PostprocConfig>,
    ) -> Result<ArrayDut, SimError> {
        let slots = Slots::resolve(&sim.layout, cfg, post)?;
        let lane = match post {
            Some(p) => (p.out_bits, p.out_signed),
            None => (cfg.acc_bits(), cfg.signed),
        };
        Ok(ArrayDut {
            sim,
            cfg: cfg.clone(),
            slots,
            lane,
        })
    }

    /// The underlying model (to open a waveform).
    pub fn sim(&mut self) -> &mut Verilated {
        &mut self.sim
    }
}

fn set_bit(words: &mut [u32], slot: &PortSlot, v: bool) {
    words[slot.offset] = u32::from(v);
}

impl Dut for ArrayDut {
    fn step(&mut self, inp: &CycleIn) -> CycleOut {
        let s = &self.slots;
        let w = self.sim.inputs_mut();
        set_bit(w, &s.rst, inp.rst);
        let a = &mut w[s.a_tdata.offset..s.a_tdata.offset + s.a_tdata.words()];
        pack_lanes(a, &inp.a.lanes, self.cfg.input_bits);
        set_bit(w, &s.a_tvalid, inp.a.valid);
        set_bit(w, &s.a_tlast, inp.a.last);
        let b = &mut w[s.b_tdata.offset..s.b_tdata.offset + s.b_tdata.words()];
        pack_lanes(b, &inp.b.lanes, self.cfg.weight_bits);
        set_bit(w, &s.b_tvalid, inp.b.valid);
        if let Some(l) = &s.b_tlast {
            set_bit(w, l, inp.b.last);
        }
        set_bit(w, &s.c_tready, inp.c_ready);
        if let Some((data, valid, _)) = &s.params {
            pack_lanes(
                &mut w[data.offset..data.offset + data.words()],
                &inp.params.lanes,
                32,
            );
            set_bit(w, valid, inp.params.valid);
        }
        self.sim.step();
        let o = self.sim.outputs();
        let bit = |slot: &PortSlot| o[slot.offset] & 1 == 1;
        let c_valid = bit(&s.c_tvalid);
        let c = &o[s.c_tdata.offset..s.c_tdata.offset + s.c_tdata.words()];
        CycleOut {
            a_ready: bit(&s.a_tready),
            b_ready: bit(&s.b_tready),
            param_ready: s.params.as_ref().is_some_and(|(_, _, r)| bit(r)),
            c_valid,
            c_last: bit(&s.c_tlast),
            c_lanes: if c_valid {
                unpack_lanes(c, self.cfg.cols as usize, self.lane.0, self.lane.1)
            } else {
                Vec::new()
            },
        }
    }
}
