//! NumPy `.npy` files: reading any integer dtype (C or Fortran order) into a [`Matrix`],
//! float32 / float64 vectors into f64 values, writing int32 / int64 matrices (format version
//! 1.0).

use std::path::Path;

use crate::model::Matrix;

/// Why an `.npy` file cannot be used (one line; the caller adds the file name).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NpyError(pub String);

fn err(msg: impl Into<String>) -> NpyError {
    NpyError(msg.into())
}

/// Integer element types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Dtype {
    bytes: usize,
    signed: bool,
    big_endian: bool,
}

fn parse_descr(d: &str) -> Result<Dtype, NpyError> {
    // Split after the first character, not the first byte: a multi-byte first character
    // must be an error, never a panic.
    let split = d.chars().next().map_or(0, char::len_utf8);
    let (order, kind) = d.split_at(split);
    let big_endian = match order {
        "<" | "|" | "=" => false,
        ">" => true,
        _ => return Err(err(format!("dtype {d:?} is not understood"))),
    };
    let signed = match kind.chars().next() {
        Some('i') => true,
        Some('u') => false,
        Some('b') if kind == "b1" => false,
        _ => {
            return Err(err(format!(
                "dtype {d:?} is not an integer type (allowed: int8..int64, uint8..uint64, bool)"
            )))
        }
    };
    let bytes: usize = kind
        .get(1..)
        .unwrap_or("")
        .parse()
        .map_err(|_| err(format!("dtype {d:?} is not understood")))?;
    if ![1, 2, 4, 8].contains(&bytes) {
        return Err(err(format!("dtype {d:?} has an unsupported size")));
    }
    Ok(Dtype {
        bytes,
        signed,
        big_endian,
    })
}

/// The value of `key` in the header dict text (`'key': value,`), up to the next top-level comma.
fn header_field<'a>(header: &'a str, key: &str) -> Result<&'a str, NpyError> {
    let pat = format!("'{key}':");
    let start = header
        .find(&pat)
        .ok_or_else(|| err(format!("header has no {key}")))?
        + pat.len();
    let rest = header[start..].trim_start();
    if rest.starts_with('(') {
        let end = rest
            .find(')')
            .ok_or_else(|| err("header shape is not closed"))?;
        return Ok(&rest[..=end]);
    }
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Ok(rest[..end].trim())
}

/// An `.npy` file's header, checked: its dtype text, order, 2-D shape and the data bytes.
struct Header<'a> {
    descr: &'a str,
    fortran: bool,
    rows: usize,
    cols: usize,
    data: &'a [u8],
}

/// Reads and checks the header (magic, version, dict, shape) of `.npy` bytes whose elements
/// have `elem_bytes(descr)` bytes. The checks run in file order, each with its own error.
fn header(
    bytes: &[u8],
    elem_bytes: impl Fn(&str) -> Result<usize, NpyError>,
) -> Result<Header<'_>, NpyError> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(err("not an .npy file (bad magic)"));
    }
    let (hlen, hstart) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(err(format!("unsupported .npy version {v}"))),
    };
    let header = bytes
        .get(hstart..hstart + hlen)
        .ok_or_else(|| err("truncated header"))?;
    let header = std::str::from_utf8(header).map_err(|_| err("header is not text"))?;
    let descr = header_field(header, "descr")?.trim_matches(|c| c == '\'' || c == '"');
    let elem = elem_bytes(descr)?;
    let fortran = match header_field(header, "fortran_order")? {
        "True" => true,
        "False" => false,
        other => return Err(err(format!("fortran_order {other:?} is not understood"))),
    };
    let shape_text = header_field(header, "shape")?;
    let dims: Vec<usize> = shape_text
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| err(format!("shape {shape_text} is not understood")))
        })
        .collect::<Result<_, _>>()?;
    let (rows, cols) = match dims.as_slice() {
        [n] => (1, *n),
        [r, c] => (*r, *c),
        _ => {
            return Err(err(format!(
                "shape {shape_text} is not 1- or 2-dimensional"
            )))
        }
    };
    let data = &bytes[hstart + hlen..];
    // In u128, (2^64 - 1)^2 * 8 cannot overflow: the message states the real byte count.
    let needed = rows as u128 * cols as u128 * elem as u128;
    if data.len() as u128 != needed {
        return Err(err(format!(
            "holds {} data bytes, shape {shape_text} of {descr} needs {needed}",
            data.len(),
        )));
    }
    Ok(Header {
        descr,
        fortran,
        rows,
        cols,
        data,
    })
}

/// Parses `.npy` bytes into a 2-D matrix (a 1-D array becomes one row).
pub fn parse(bytes: &[u8]) -> Result<Matrix, NpyError> {
    let h = header(bytes, |d| parse_descr(d).map(|t| t.bytes))?;
    let dtype = parse_descr(h.descr)?;
    let (rows, cols, fortran, data) = (h.rows, h.cols, h.fortran, h.data);
    // The data is in memory, so the element count fits usize.
    let count = rows * cols;
    crate::mem::check(
        "reading the .npy file",
        crate::mem::matrix_bytes(rows, cols),
    )
    .map_err(|e| err(e.to_string()))?;
    let mut values = Vec::with_capacity(count);
    for chunk in data.chunks_exact(dtype.bytes) {
        let mut b = [0u8; 8];
        if dtype.big_endian {
            for (i, x) in chunk.iter().rev().enumerate() {
                b[i] = *x;
            }
        } else {
            b[..dtype.bytes].copy_from_slice(chunk);
        }
        let u = u64::from_le_bytes(b);
        let bits = 8 * dtype.bytes as u32;
        let v = if dtype.signed && bits < 64 && (u >> (bits - 1)) & 1 == 1 {
            i128::from(u) - (1i128 << bits)
        } else if dtype.signed {
            i128::from(u as i64)
        } else {
            i128::from(u)
        };
        values.push(v);
    }
    if fortran {
        let mut c = vec![0; count];
        for r in 0..rows {
            for col in 0..cols {
                c[r * cols + col] = values[col * rows + r];
            }
        }
        values = c;
    }
    Ok(Matrix::from_rows(rows, cols, values))
}

/// Parses a float32 or float64 `.npy` vector (1-D, or one row or column) into f64 values.
pub fn parse_floats(bytes: &[u8]) -> Result<Vec<f64>, NpyError> {
    let kind = |d: &str| match d {
        "<f4" | "=f4" => Ok((4, false)),
        ">f4" => Ok((4, true)),
        "<f8" | "=f8" => Ok((8, false)),
        ">f8" => Ok((8, true)),
        _ => Err(err(format!(
            "dtype {d:?} is not float32 or float64 (allowed: <f4, >f4, <f8, >f8)"
        ))),
    };
    let h = header(bytes, |d| kind(d).map(|k| k.0))?;
    let (size, big) = kind(h.descr)?;
    if h.rows != 1 && h.cols != 1 {
        return Err(err(format!(
            "shape ({}, {}) is not a vector",
            h.rows, h.cols
        )));
    }
    Ok(h.data
        .chunks_exact(size)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..size].copy_from_slice(c);
            if big {
                b[..size].reverse();
            }
            if size == 4 {
                f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            } else {
                f64::from_le_bytes(b)
            }
        })
        .collect())
}

/// Reads a float vector from an `.npy` file ([`parse_floats`]).
pub fn read_floats(path: &Path) -> Result<Vec<f64>, NpyError> {
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    parse_floats(&bytes)
}

/// Reads a matrix from an `.npy` file.
pub fn read(path: &Path) -> Result<Matrix, NpyError> {
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    parse(&bytes)
}

/// Element types this module writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutType {
    /// int8.
    I8,
    /// uint8.
    U8,
    /// int16.
    I16,
    /// uint16.
    U16,
    /// int32.
    I32,
    /// int64.
    I64,
}

impl OutType {
    fn descr(self) -> &'static str {
        match self {
            OutType::I8 => "|i1",
            OutType::U8 => "|u1",
            OutType::I16 => "<i2",
            OutType::U16 => "<u2",
            OutType::I32 => "<i4",
            OutType::I64 => "<i8",
        }
    }

    fn bytes(self) -> usize {
        match self {
            OutType::I8 | OutType::U8 => 1,
            OutType::I16 | OutType::U16 => 2,
            OutType::I32 => 4,
            OutType::I64 => 8,
        }
    }

    /// The smallest type holding `bits`-bit values of the given signedness (up to 64 bits).
    pub(crate) fn fitting(bits: u32, signed: bool) -> Option<OutType> {
        let magnitude = if signed { bits } else { bits + 1 };
        Some(match (magnitude, signed) {
            (0..=8, true) => OutType::I8,
            (0..=9, false) if bits <= 8 => OutType::U8,
            (0..=16, true) => OutType::I16,
            (_, false) if bits <= 16 => OutType::U16,
            (0..=32, _) => OutType::I32,
            (33..=64, _) => OutType::I64,
            _ => return None,
        })
    }
}

/// `.npy` bytes of a matrix with element type `ty`. Panics if a value does not fit.
pub(crate) fn to_bytes_as(m: &Matrix, ty: OutType) -> Vec<u8> {
    let descr = ty.descr();
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({}, {}), }}",
        m.rows, m.cols
    );
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat(total.next_multiple_of(64) - total));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + m.data.len() * 8);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    let (lo, hi) = match ty {
        OutType::U8 => (0, 255),
        OutType::U16 => (0, 65535),
        _ => {
            let b = 8 * ty.bytes() as u32;
            (-(1i128 << (b - 1)), (1i128 << (b - 1)) - 1)
        }
    };
    for &v in &m.data {
        assert!((lo..=hi).contains(&v), "{v} does not fit {}", ty.descr());
        out.extend_from_slice(&(v as i64).to_le_bytes()[..ty.bytes()]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, shape: &str, fortran: bool, data: &[u8]) -> Vec<u8> {
        let h = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}\n",
            if fortran { "True" } else { "False" }
        );
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend_from_slice(&(h.len() as u16).to_le_bytes());
        v.extend_from_slice(h.as_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn reads_every_integer_dtype() {
        assert_eq!(
            parse(&npy("|i1", "(1, 2)", false, &[0xff, 0x80]))
                .unwrap()
                .data,
            vec![-1, -128]
        );
        assert_eq!(
            parse(&npy("|u1", "(2,)", false, &[0xff, 7])).unwrap().data,
            vec![255, 7]
        );
        assert_eq!(
            parse(&npy("<i2", "(1, 1)", false, &[0x00, 0x80]))
                .unwrap()
                .data,
            vec![-32768]
        );
        assert_eq!(
            parse(&npy(">u2", "(1, 1)", false, &[0x01, 0x02]))
                .unwrap()
                .data,
            vec![0x0102]
        );
        let i8s = (-5i64).to_le_bytes();
        assert_eq!(
            parse(&npy("<i8", "(1, 1)", false, &i8s)).unwrap().data,
            vec![-5]
        );
        let u8s = u64::MAX.to_le_bytes();
        assert_eq!(
            parse(&npy("<u8", "(1, 1)", false, &u8s)).unwrap().data,
            vec![i128::from(u64::MAX)]
        );
        // Fortran order: column-major 2x2 [[1, 2], [3, 4]] is stored 1, 3, 2, 4.
        let m = parse(&npy("|i1", "(2, 2)", true, &[1, 3, 2, 4])).unwrap();
        assert_eq!(m.data, vec![1, 2, 3, 4]);
    }

    #[test]
    fn refuses_bad_files() {
        assert!(parse(b"hello").unwrap_err().0.contains("magic"));
        assert!(parse(&npy("<f4", "(1, 1)", false, &[0; 4]))
            .unwrap_err()
            .0
            .contains("not an integer"));
        assert!(parse(&npy("<i4", "(2, 2)", false, &[0; 4]))
            .unwrap_err()
            .0
            .contains("needs 16"));
        assert!(parse(&npy("<i4", "(1, 1, 1)", false, &[0; 4]))
            .unwrap_err()
            .0
            .contains("dimensional"));
    }

    #[test]
    fn multibyte_descr_is_an_error_not_a_panic() {
        // Regression: `split_at(1)` panicked inside the 2-byte 'é'.
        let e = parse(&npy("éi1", "(1,)", false, &[0])).unwrap_err().0;
        assert!(e.contains("not understood"), "{e}");
        let e = parse(&npy("<", "(1,)", false, &[0])).unwrap_err().0;
        assert!(e.contains("not an integer"), "{e}");
    }

    #[test]
    fn overflowing_shapes_report_the_real_byte_count() {
        // Regression: rows * cols * bytes wrapped in release builds.
        let e = parse(&npy("<i4", "(4611686018427387904, 3)", false, &[]))
            .unwrap_err()
            .0;
        assert!(e.contains("needs 55340232221128654848"), "{e}");
        let e = parse(&npy("<i4", "(4294967296, 4294967296)", false, &[]))
            .unwrap_err()
            .0;
        assert!(e.contains(&format!("needs {}", 1u128 << 66)), "{e}");
        let e = parse(&npy("|i1", "(1000000000000, 1000000000000)", false, &[]))
            .unwrap_err()
            .0;
        assert!(e.contains("needs 1000000000000000000000000"), "{e}");
    }

    #[test]
    fn writes_what_it_reads() {
        let m = Matrix::from_rows(2, 3, vec![1, -2, 3, i128::from(i32::MIN), 0, 7]);
        assert_eq!(parse(&to_bytes_as(&m, OutType::I32)).unwrap(), m);
        let w = Matrix::from_rows(1, 2, vec![i128::from(i64::MIN), i128::from(i64::MAX)]);
        let bytes = to_bytes_as(&w, OutType::I64);
        assert_eq!(
            (10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize) % 64,
            0
        );
        assert_eq!(parse(&bytes).unwrap(), w);
    }
}
