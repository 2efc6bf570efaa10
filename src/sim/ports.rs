//! The top module's ports as a flat array of 32-bit words (what the C shim exchanges every
//! cycle), and lane packing: lane i of w bits sits at bits [i*w +: w].

use super::verilator::SimError;
use crate::rtl::{Dir, Module};

/// A model that does not fit its harness.
fn model_error(detail: String) -> SimError {
    SimError::Load {
        path: "model".into(),
        detail,
    }
}

fn no_port(name: &str) -> SimError {
    model_error(format!("the top has no port {name}"))
}

/// One port's place in the word arrays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSlot {
    /// Port name.
    pub name: String,
    /// Width in bits.
    pub width: u32,
    /// First word in the input or output array.
    pub offset: usize,
}

impl PortSlot {
    /// Number of 32-bit words.
    pub fn words(&self) -> usize {
        self.width.div_ceil(32) as usize
    }
}

/// Input ports (all but `clk`) and output ports, in port order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortLayout {
    /// Inputs other than the clock.
    pub inputs: Vec<PortSlot>,
    /// Outputs.
    pub outputs: Vec<PortSlot>,
    /// Total input words.
    pub in_words: usize,
    /// Total output words.
    pub out_words: usize,
}

impl PortLayout {
    /// The layout of `top`'s ports.
    pub fn of(top: &Module) -> PortLayout {
        let mut l = PortLayout {
            inputs: Vec::new(),
            outputs: Vec::new(),
            in_words: 0,
            out_words: 0,
        };
        for p in &top.ports {
            let (list, count) = match p.dir {
                Dir::Input if p.name == "clk" => continue,
                Dir::Input => (&mut l.inputs, &mut l.in_words),
                Dir::Output => (&mut l.outputs, &mut l.out_words),
            };
            let slot = PortSlot {
                name: p.name.clone(),
                width: p.ty.width,
                offset: *count,
            };
            *count += slot.words();
            list.push(slot);
        }
        l
    }

    /// The input slot called `name`.
    pub fn input(&self, name: &str) -> Option<&PortSlot> {
        self.inputs.iter().find(|s| s.name == name)
    }

    /// The output slot called `name`.
    pub fn output(&self, name: &str) -> Option<&PortSlot> {
        self.outputs.iter().find(|s| s.name == name)
    }

    /// The slot called `name`, input or output.
    pub fn port(&self, name: &str) -> Option<&PortSlot> {
        self.input(name).or_else(|| self.output(name))
    }

    /// Checks that a harness drives every input and compares every output: `driven` and
    /// `compared` are the names it handles. A port the design gained and the harness does not
    /// know is an error, never a port silently left alone.
    pub(crate) fn check_handled(&self, driven: &[&str], compared: &[&str]) -> Result<(), SimError> {
        let missing = |slots: &[PortSlot], known: &[&str], what: &str| {
            slots
                .iter()
                .filter(|s| !known.contains(&s.name.as_str()))
                .map(|s| format!("{what} {} ({} bits)", s.name, s.width))
                .collect::<Vec<_>>()
        };
        let mut all = missing(&self.inputs, driven, "input");
        all.extend(missing(&self.outputs, compared, "output"));
        if all.is_empty() {
            Ok(())
        } else {
            Err(model_error(format!(
                "the harness does not handle {}: add it to the driver and the comparison",
                all.join(", ")
            )))
        }
    }

    /// The input port `name`, or an error naming it.
    pub(crate) fn find_input(&self, name: &str) -> Result<PortSlot, SimError> {
        self.input(name).cloned().ok_or_else(|| no_port(name))
    }

    /// The output port `name`, or an error naming it.
    pub(crate) fn find_output(&self, name: &str) -> Result<PortSlot, SimError> {
        self.output(name).cloned().ok_or_else(|| no_port(name))
    }
}

/// Sets the port `s` (up to 64 bits) in the word array `words` to `v`.
pub fn set_u64(words: &mut [u32], s: &PortSlot, v: u64) {
    words[s.offset] = v as u32;
    if s.width > 32 {
        words[s.offset + 1] = (v >> 32) as u32;
    }
}

/// The value of the port `s` (up to 64 bits) in `words`.
pub fn get_u64(words: &[u32], s: &PortSlot) -> u64 {
    let lo = u64::from(words[s.offset]);
    if s.width > 32 {
        lo | u64::from(words[s.offset + 1]) << 32
    } else {
        lo
    }
}

/// Sets the port `s` to `bytes`, byte 0 in its low bits.
pub fn set_bytes(words: &mut [u32], s: &PortSlot, bytes: &[u8]) {
    for (i, c) in bytes.chunks(4).enumerate() {
        let mut w = [0u8; 4];
        w[..c.len()].copy_from_slice(c);
        words[s.offset + i] = u32::from_le_bytes(w);
    }
}

/// The low `n` bytes of the port `s`.
pub fn get_bytes(words: &[u32], s: &PortSlot, n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (words[s.offset + i / 4] >> (8 * (i % 4))) as u8)
        .collect()
}

/// Writes `lanes` (each wrapped to `width` <= 128 bits) into `words` at bit 0.
pub fn pack_lanes(words: &mut [u32], lanes: &[i128], width: u32) {
    words.iter_mut().for_each(|w| *w = 0);
    let mask = if width >= 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    };
    for (i, &v) in lanes.iter().enumerate() {
        let mut bits = (v as u128) & mask;
        let mut pos = i as u32 * width;
        let mut left = width;
        while left > 0 {
            let (w, sh) = ((pos / 32) as usize, pos % 32);
            let take = (32 - sh).min(left);
            let chunk = (bits as u32) & (((1u64 << take) - 1) as u32);
            words[w] |= chunk << sh;
            bits = if take >= 128 { 0 } else { bits >> take };
            pos += take;
            left -= take;
        }
    }
}

/// Reads `n` lanes of `width` <= 128 bits from `words`, sign-extending when `signed`.
pub fn unpack_lanes(words: &[u32], n: usize, width: u32, signed: bool) -> Vec<i128> {
    (0..n)
        .map(|i| {
            let mut v: u128 = 0;
            let mut pos = i as u32 * width;
            let mut got = 0;
            while got < width {
                let (w, sh) = ((pos / 32) as usize, pos % 32);
                let take = (32 - sh).min(width - got);
                let chunk = (words[w] >> sh) & (((1u64 << take) - 1) as u32);
                v |= u128::from(chunk) << got;
                pos += take;
                got += take;
            }
            crate::model::io::wrap(v as i128, width, signed)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_round_trip_across_word_boundaries() {
        let lanes = vec![-3i128, 5, -(1 << 23), (1 << 23) - 1, 0];
        let mut words = vec![0u32; (5 * 24usize).div_ceil(32)];
        pack_lanes(&mut words, &lanes, 24);
        assert_eq!(unpack_lanes(&words, 5, 24, true), lanes);
        let wide = vec![-(1i128 << 99), 1];
        let mut w = vec![0u32; 7];
        pack_lanes(&mut w, &wide, 100);
        assert_eq!(unpack_lanes(&w, 2, 100, true), wide);
        assert_eq!(unpack_lanes(&w, 1, 100, false), vec![1i128 << 99]);
    }
}
