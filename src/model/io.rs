//! One clock cycle at the array's ports, as lane values rather than bit vectors. The golden
//! model, the Verilator harness and the GEMM driver all speak this.

/// An AXI-Stream beat offered on an input port during one cycle.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Beat {
    /// `tvalid`.
    pub valid: bool,
    /// `tlast` (ignored on ports that have none: the OS `b` stream).
    pub last: bool,
    /// `tdata` as lane values (signed or unsigned per the config), lane 0 first.
    pub lanes: Vec<i128>,
}

/// The array's inputs during one cycle.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CycleIn {
    /// Synchronous reset.
    pub rst: bool,
    /// The A stream (`a_*`): OS: a column of the A tile; WS: a row of A.
    pub a: Beat,
    /// The B stream: OS: a row of the B tile (`b_*`); WS: a weight tile row (`w_*`).
    pub b: Beat,
    /// The parameter stream of an npu_core (`param_*`): five 32-bit words per column, one beat
    /// per tile ([`crate::model::params`]).
    pub params: Beat,
    /// `c_tready`.
    pub c_ready: bool,
}

/// The array's outputs during one cycle (before the rising edge that ends it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CycleOut {
    /// `a_tready`.
    pub a_ready: bool,
    /// `b_tready` (OS) or `w_tready` (WS).
    pub b_ready: bool,
    /// `param_tready` (npu_core; false otherwise).
    pub param_ready: bool,
    /// `c_tvalid`.
    pub c_valid: bool,
    /// `c_tlast` (meaningful when `c_valid`).
    pub c_last: bool,
    /// `c_tdata` lanes (meaningful when `c_valid`).
    pub c_lanes: Vec<i128>,
}

/// Wraps `v` to `bits` bits, two's complement if `signed`.
pub fn wrap(v: i128, bits: u32, signed: bool) -> i128 {
    if bits >= 128 {
        return v;
    }
    let m = (1i128 << bits) - 1;
    let u = v & m;
    if signed && (u >> (bits - 1)) & 1 == 1 {
        u - (1i128 << bits)
    } else {
        u
    }
}

/// The range of an operand of `bits` bits.
pub fn operand_range(bits: u32, signed: bool) -> (i128, i128) {
    if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping() {
        assert_eq!(wrap(128, 8, true), -128);
        assert_eq!(wrap(-129, 8, true), 127);
        assert_eq!(wrap(256 + 5, 8, false), 5);
        assert_eq!(wrap(-1, 8, false), 255);
        assert_eq!(wrap(i128::MIN, 128, true), i128::MIN);
        assert_eq!(operand_range(4, true), (-8, 7));
        assert_eq!(operand_range(4, false), (0, 15));
    }
}
