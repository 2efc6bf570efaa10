//! The npu ALU's arithmetic on one lane, from the ISA's definition (`npu::isa`, opcode ALU):
//! the golden model's, written without the RTL's mask-and-threshold rounding.

use crate::model::io::wrap;
use crate::npu::isa::AluFunc;

/// `v / 2^shift` rounded to nearest, ties away from zero (exact: on magnitudes).
pub fn round_shift(v: i128, shift: u32) -> i128 {
    if shift == 0 {
        return v;
    }
    let half = 1u128 << (shift - 1);
    let mag = ((v.unsigned_abs() + half) >> shift) as i128;
    if v < 0 {
        -mag
    } else {
        mag
    }
}

/// One lane of an ALU instruction: `acc` the destination's value, `v` the operand plus the
/// immediate (both already wrapped to `bits`), in the array's signedness.
pub fn alu_lane(func: AluFunc, acc: i128, v: i128, shift: u32, bits: u32, signed: bool) -> i128 {
    let up = wrap(v.wrapping_shl(shift), bits, signed);
    match func {
        AluFunc::Mov => up,
        AluFunc::Add => wrap(acc + up, bits, signed),
        AluFunc::Max => acc.max(up),
        AluFunc::Min => acc.min(up),
        AluFunc::Shr => round_shift(v, shift),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rounding to nearest by exact rationals: the candidates floor and floor + 1, the nearer
    /// (on a tie the one farther from zero).
    fn nearest(v: i128, shift: u32) -> i128 {
        let d = 1i128 << shift;
        let lo = v.div_euclid(d);
        let (down, up) = (v - lo * d, (lo + 1) * d - v);
        match down.cmp(&up) {
            std::cmp::Ordering::Less => lo,
            std::cmp::Ordering::Greater => lo + 1,
            std::cmp::Ordering::Equal if v < 0 => lo,
            std::cmp::Ordering::Equal => lo + 1,
        }
    }

    #[test]
    fn round_shift_is_nearest_ties_away_exhaustively_at_eight_bits() {
        for v in -128..128 {
            for s in 0..8 {
                assert_eq!(round_shift(v, s), nearest(v, s), "{v} >> {s}");
            }
        }
        assert_eq!(round_shift(-3, 1), -2);
        assert_eq!(round_shift(3, 1), 2);
        assert_eq!(round_shift(-5, 2), -1);
        assert_eq!(round_shift(i128::from(i64::MIN), 63), -1);
        assert_eq!(round_shift(i128::from(i64::MAX), 63), 1);
    }

    #[test]
    fn every_function_at_four_bits_exhaustively() {
        for signed in [true, false] {
            let vals: Vec<i128> = if signed {
                (-8..8).collect()
            } else {
                (0..16).collect()
            };
            for &acc in &vals {
                for &v in &vals {
                    for s in 0..4 {
                        let up = wrap(v * (1 << s), 4, signed);
                        let want = [
                            up,
                            wrap(acc + up, 4, signed),
                            acc.max(up),
                            acc.min(up),
                            nearest(v, s),
                        ];
                        for (f, w) in AluFunc::ALL.iter().zip(want) {
                            let got = alu_lane(*f, acc, v, s, 4, signed);
                            assert_eq!(got, w, "{f:?} acc {acc} v {v} shift {s} signed {signed}");
                        }
                    }
                }
            }
        }
    }
}
