//! gemmlowp's fixed-point primitives, as TFLite's `MultiplyByQuantizedMultiplier` used them
//! before its single-rounding change (and as its LEAKY_RELU still does).

/// gemmlowp `SaturatingRoundingDoublingHighMul`: the high 32 bits of 2*a*b, rounded to nearest
/// with ties away from zero; saturates the single overflow case (INT32_MIN * INT32_MIN).
pub(crate) fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = i64::from(a) * i64::from(b);
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // C++ integer division truncates toward zero, as Rust's does.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp `RoundingDivideByPOT`: x / 2^exponent rounded to nearest, ties away from zero.
pub(crate) fn rounding_divide_by_pot(x: i32, exponent: u32) -> i32 {
    assert!(exponent <= 31, "exponent {exponent}");
    let mask: i64 = (1i64 << exponent) - 1;
    let x = i64::from(x);
    let remainder = x & mask;
    let threshold = (mask >> 1) + i64::from(x < 0);
    ((x >> exponent) + i64::from(remainder > threshold)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srdhm_hand_cases() {
        // 2 * a * b / 2^32 rounded: 0.5 * 0.5 in Q31 is 0.25.
        assert_eq!(
            saturating_rounding_doubling_high_mul(1 << 30, 1 << 30),
            1 << 29
        );
        // The single saturating case.
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
            i32::MAX
        );
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX),
            -i32::MAX
        );
        // Ties: the reference nudge rounds +0.5 up to 1 but -0.5 up to 0 (and -1.5 to -1),
        // i.e. half toward +infinity for negative products. We follow the code, not a name.
        assert_eq!(saturating_rounding_doubling_high_mul(1, 1 << 30), 1);
        assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 30), 0);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
        // Just below a tie rounds toward zero.
        assert_eq!(saturating_rounding_doubling_high_mul(1, (1 << 30) - 1), 0);
        assert_eq!(saturating_rounding_doubling_high_mul(-1, (1 << 30) - 1), 0);
        // Extremes of the multiplier.
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MAX, i32::MAX),
            i32::MAX - 1
        );
        assert_eq!(saturating_rounding_doubling_high_mul(1000, i32::MAX), 1000);
    }

    #[test]
    fn rounding_divide_by_pot_ties_away_from_zero() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3); // 2.5 -> 3
        assert_eq!(rounding_divide_by_pot(-5, 1), -3); // -2.5 -> -3
        assert_eq!(rounding_divide_by_pot(7, 2), 2); // 1.75 -> 2
        assert_eq!(rounding_divide_by_pot(-7, 2), -2);
        assert_eq!(rounding_divide_by_pot(6, 2), 2); // 1.5 -> 2
        assert_eq!(rounding_divide_by_pot(-6, 2), -2); // -1.5 -> -2
        assert_eq!(rounding_divide_by_pot(-9, 2), -2); // -2.25 -> -2
        assert_eq!(rounding_divide_by_pot(123, 0), 123);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
        assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1);
    }
}
