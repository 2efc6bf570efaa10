//! Random operand matrices for tests and `simulate --random`: uniform values over the whole
//! operand range, with the corner values (most negative, maximum, zero, -1, 1) always present.

use crate::model::io::operand_range;
use crate::model::Matrix;
use crate::rng::Rng;

/// The corner values of an operand type, in range.
pub fn corners(bits: u32, signed: bool) -> Vec<i128> {
    let (lo, hi) = operand_range(bits, signed);
    let mut v = vec![lo, hi, 0, 1];
    if signed {
        v.push(-1);
    }
    v
}

/// A `rows` x `cols` matrix of random operands. The first elements cycle through the corner
/// values (so most-negative x most-negative and all-max products always occur when both
/// operands are generated this way); one in eight of the rest is a corner too.
pub fn random_matrix(rng: &mut Rng, rows: usize, cols: usize, bits: u32, signed: bool) -> Matrix {
    let (lo, hi) = operand_range(bits, signed);
    let cs = corners(bits, signed);
    let data = (0..rows * cols)
        .map(|i| {
            if i < cs.len() {
                cs[i]
            } else if rng.range(0, 7) == 0 {
                *rng.pick(&cs)
            } else {
                i128::from(rng.range(lo as i64, hi as i64))
            }
        })
        .collect();
    Matrix::from_rows(rows, cols, data)
}

/// A matrix with every element equal to `v`.
pub fn filled(rows: usize, cols: usize, v: i128) -> Matrix {
    Matrix::from_rows(rows, cols, vec![v; rows * cols])
}
