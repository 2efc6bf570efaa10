//! The run-time parameters of one output column of an npu_core, and their layout in a
//! parameter beat (`param_tdata`): what a driver writes so that one generated core runs every
//! layer of a network.
//!
//! A beat carries one record of [`PARAM_WORDS`] 32-bit words per array column, column j at
//! words `j*5 .. j*5+5` (bits `[j*160 +: 160]`):
//!
//! | word | bits | field |
//! |---|---|---|
//! | 0 | 31:0 | `bias`, int32 (the input zero point's correction folded in) |
//! | 1 | 31:0 | `mult`, bits 31:0 of the scale's significand |
//! | 2 | 20:0 | `mult`, bits 52:32 (only `reference` uses them; zero otherwise) |
//! | 3 | 7:0 | `exp`, int8: the scale's power of two |
//! | 3 | 31:16 | `zero_point`, the output type (16 bits) |
//! | 4 | 15:0 | `lo`, the lower clamp bound (output type) |
//! | 4 | 31:16 | `hi`, the upper clamp bound (output type) |
//!
//! `mult` and `exp` mean what the rounding mode's datapath takes ([`Scaling`]).

use super::requant::Scaling;

/// 32-bit words per column in a parameter beat.
pub const PARAM_WORDS: usize = 5;

/// One output column's run-time parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ColumnParams {
    /// Added to the accumulator (int32, wrapping).
    pub bias: i32,
    /// The requantization scale, encoded for the rounding mode.
    pub scaling: Scaling,
    /// Output zero point.
    pub zero_point: i32,
    /// Lower clamp bound (the output minimum, the zero point for RELU, ...).
    pub lo: i32,
    /// Upper clamp bound.
    pub hi: i32,
}

impl ColumnParams {
    /// The record's five words.
    pub fn words(&self) -> [u32; PARAM_WORDS] {
        let m = self.scaling.mult;
        let half = |v: i32| (v as u32) & 0xffff;
        [
            self.bias as u32,
            m as u32,
            ((m >> 32) as u32) & 0x1f_ffff,
            ((self.scaling.exp as u32) & 0xff) | (half(self.zero_point) << 16),
            half(self.lo) | (half(self.hi) << 16),
        ]
    }

    /// Reads a record back; the 16-bit fields are of the output type (`out_signed`).
    pub fn from_words(w: &[u32], out_signed: bool) -> ColumnParams {
        let field = |v: u32| {
            let v = v & 0xffff;
            if out_signed {
                i32::from(v as u16 as i16)
            } else {
                v as i32
            }
        };
        ColumnParams {
            bias: w[0] as i32,
            scaling: Scaling {
                mult: u64::from(w[1]) | (u64::from(w[2] & 0x1f_ffff) << 32),
                exp: i32::from(w[3] as u8 as i8),
            },
            zero_point: field(w[3] >> 16),
            lo: field(w[4]),
            hi: field(w[4] >> 16),
        }
    }

    /// The records of a parameter beat's lanes ([`ColumnParams::beat`] read back).
    pub fn from_beat(lanes: &[i128], out_signed: bool) -> Vec<ColumnParams> {
        lanes
            .chunks_exact(PARAM_WORDS)
            .map(|r| {
                let mut w = [0u32; PARAM_WORDS];
                for (d, &l) in w.iter_mut().zip(r) {
                    *d = l as u32;
                }
                ColumnParams::from_words(&w, out_signed)
            })
            .collect()
    }

    /// The records of `params` as beat lanes (32-bit words, column 0 first).
    pub fn beat(params: &[ColumnParams]) -> Vec<i128> {
        params
            .iter()
            .flat_map(|p| p.words())
            .map(i128::from)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        for (signed, zp, lo, hi) in [(true, -5, -128, 127), (false, 65535, 0, 65535)] {
            let p = ColumnParams {
                bias: -123_456,
                scaling: Scaling {
                    mult: (1 << 52) | 0xdead_beef_1234,
                    exp: -70,
                },
                zero_point: zp,
                lo,
                hi,
            };
            let w = p.words();
            assert_eq!(w[0], (-123_456i32) as u32);
            assert_eq!(w[3] & 0xff, (-70i32 as u32) & 0xff);
            assert_eq!(ColumnParams::from_words(&w, signed), p);
            let two = [p, ColumnParams::default()];
            assert_eq!(
                ColumnParams::from_beat(&ColumnParams::beat(&two), signed),
                two
            );
        }
    }
}
