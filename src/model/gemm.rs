//! The plain matrix-product reference: C = A * B with products exact and sums wrapped to the
//! accumulator width (two's complement), which is what the array computes.

use super::io::wrap;

/// A dense row-major integer matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Row-major elements.
    pub data: Vec<i128>,
}

impl Matrix {
    /// A zero matrix.
    pub fn zeros(rows: usize, cols: usize) -> Matrix {
        Matrix {
            rows,
            cols,
            data: vec![0; rows * cols],
        }
    }

    /// A matrix from row-major data (panics if the length does not match).
    pub fn from_rows(rows: usize, cols: usize, data: Vec<i128>) -> Matrix {
        assert_eq!(data.len(), rows * cols, "matrix data length");
        Matrix { rows, cols, data }
    }

    /// Element (r, c).
    pub fn at(&self, r: usize, c: usize) -> i128 {
        self.data[r * self.cols + c]
    }

    /// Mutable element (r, c).
    pub fn at_mut(&mut self, r: usize, c: usize) -> &mut i128 {
        &mut self.data[r * self.cols + c]
    }

    /// Element (r, c), or 0 outside the matrix (the zero padding of partial tiles).
    pub(crate) fn get_or_zero(&self, r: usize, c: usize) -> i128 {
        if r < self.rows && c < self.cols {
            self.at(r, c)
        } else {
            0
        }
    }
}

/// C = A * B, each sum wrapped to `acc_bits` (signed or unsigned).
pub fn matmul(a: &Matrix, b: &Matrix, acc_bits: u32, signed: bool) -> Matrix {
    assert_eq!(a.cols, b.rows, "inner dimensions");
    let mut c = Matrix::zeros(a.rows, b.cols);
    for i in 0..a.rows {
        for j in 0..b.cols {
            let mut s: i128 = 0;
            for k in 0..a.cols {
                s = wrap(s.wrapping_add(a.at(i, k) * b.at(k, j)), acc_bits, signed);
            }
            *c.at_mut(i, j) = s;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_products() {
        let a = Matrix::from_rows(2, 3, vec![1, 2, 3, 4, 5, 6]);
        let b = Matrix::from_rows(3, 2, vec![7, 8, 9, 10, 11, 12]);
        assert_eq!(matmul(&a, &b, 32, true).data, vec![58, 64, 139, 154]);
    }

    #[test]
    fn most_negative_squared_and_wrap() {
        // -128 * -128 = 16384 fits 16-bit signed; two of them wrap to -32768.
        let a = Matrix::from_rows(1, 2, vec![-128, -128]);
        let b = Matrix::from_rows(2, 1, vec![-128, -128]);
        assert_eq!(matmul(&a, &b, 32, true).data, vec![32768]);
        assert_eq!(matmul(&a, &b, 16, true).data, vec![-32768]);
        // Unsigned: 255 * 255 * 2 = 130050 wraps at 16 bits to 64514.
        let a = Matrix::from_rows(1, 2, vec![255, 255]);
        let b = Matrix::from_rows(2, 1, vec![255, 255]);
        assert_eq!(matmul(&a, &b, 16, false).data, vec![130050 % 65536]);
    }
}
