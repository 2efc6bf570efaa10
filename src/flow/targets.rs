//! FPGA targets: the synthesis command, the reference part and its resources, the
//! place-and-route device and the constraint format of each.

use super::tools::ToolKind;
use std::fmt;
use std::str::FromStr;

/// Vendor family of a target (decides the constraint and project formats).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// AMD/Xilinx: XDC constraints, Vivado Tcl.
    Xilinx,
    /// Intel/Altera: SDC constraints, Quartus .qsf.
    Intel,
    /// Lattice iCE40: PCF constraints, nextpnr-ice40.
    Ice40,
    /// Lattice ECP5: LPF constraints, nextpnr-ecp5.
    Ecp5,
}

/// A synthesis target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Xilinx 7-series (reference part xc7a200tsbg484-1).
    Xc7,
    /// Xilinx UltraScale+ (reference part xczu3eg-sbva484-1-e).
    Xcup,
    /// Intel Cyclone V (reference part 5CSEMA5F31C6).
    CycloneV,
    /// Intel MAX 10 (reference part 10M50DAF484C7G).
    Max10,
    /// Lattice iCE40 UltraPlus 5K (SG48).
    Ice40Up5k,
    /// Lattice iCE40 HX8K (CT256).
    Ice40Hx8k,
    /// Lattice ECP5 LFE5U-25F (CABGA256).
    Ecp5_25k,
    /// Lattice ECP5 LFE5U-45F (CABGA381).
    Ecp5_45k,
    /// Lattice ECP5 LFE5U-85F (CABGA381).
    Ecp5_85k,
}

/// Resources of a target's reference part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capacity {
    /// Logic cells (LUT6 on Xilinx, ALMs on Cyclone V, LEs on MAX 10, LUT4 on Lattice).
    pub luts: u64,
    /// Flip-flops.
    pub ffs: u64,
    /// Hard multiplier blocks as the synthesis tool counts them.
    pub dsps: u64,
    /// Block RAMs as the synthesis tool counts them.
    pub brams: u64,
}

impl Target {
    /// Every target, in CLI order.
    pub const ALL: [Target; 9] = [
        Target::Xc7,
        Target::Xcup,
        Target::CycloneV,
        Target::Max10,
        Target::Ice40Up5k,
        Target::Ice40Hx8k,
        Target::Ecp5_25k,
        Target::Ecp5_45k,
        Target::Ecp5_85k,
    ];

    /// The CLI name (`ecp5-45k`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Target::Xc7 => "xc7",
            Target::Xcup => "xcup",
            Target::CycloneV => "cyclonev",
            Target::Max10 => "max10",
            Target::Ice40Up5k => "ice40-up5k",
            Target::Ice40Hx8k => "ice40-hx8k",
            Target::Ecp5_25k => "ecp5-25k",
            Target::Ecp5_45k => "ecp5-45k",
            Target::Ecp5_85k => "ecp5-85k",
        }
    }

    /// Vendor family.
    pub fn family(self) -> Family {
        match self {
            Target::Xc7 | Target::Xcup => Family::Xilinx,
            Target::CycloneV | Target::Max10 => Family::Intel,
            Target::Ice40Up5k | Target::Ice40Hx8k => Family::Ice40,
            Target::Ecp5_25k | Target::Ecp5_45k | Target::Ecp5_85k => Family::Ecp5,
        }
    }

    /// The reference part (resources, vendor projects).
    pub fn part(self) -> &'static str {
        match self {
            Target::Xc7 => "xc7a200tsbg484-1",
            Target::Xcup => "xczu3eg-sbva484-1-e",
            Target::CycloneV => "5CSEMA5F31C6",
            Target::Max10 => "10M50DAF484C7G",
            Target::Ice40Up5k => "iCE40UP5K-SG48",
            Target::Ice40Hx8k => "iCE40HX8K-CT256",
            Target::Ecp5_25k => "LFE5U-25F-6BG256C",
            Target::Ecp5_45k => "LFE5U-45F-6BG381C",
            Target::Ecp5_85k => "LFE5U-85F-6BG381C",
        }
    }

    /// Resources of the reference part.
    pub fn capacity(self) -> Capacity {
        let c = |luts, ffs, dsps, brams| Capacity {
            luts,
            ffs,
            dsps,
            brams,
        };
        match self {
            Target::Xc7 => c(134_600, 269_200, 740, 365),
            Target::Xcup => c(70_560, 141_120, 360, 216),
            Target::CycloneV => c(32_070, 128_280, 87, 397),
            Target::Max10 => c(49_760, 49_760, 144, 182),
            Target::Ice40Up5k => c(5_280, 5_280, 8, 30),
            Target::Ice40Hx8k => c(7_680, 7_680, 0, 32),
            Target::Ecp5_25k => c(24_288, 24_288, 28, 56),
            Target::Ecp5_45k => c(43_848, 43_848, 72, 108),
            Target::Ecp5_85k => c(83_640, 83_640, 156, 208),
        }
    }

    /// The Yosys synthesis command (before `-top` and `-json`).
    pub(crate) fn yosys_synth(self) -> &'static str {
        match self {
            Target::Xc7 => "synth_xilinx -flatten -family xc7",
            Target::Xcup => "synth_xilinx -flatten -family xcup",
            Target::CycloneV => "synth_intel_alm -family cyclonev",
            Target::Max10 => "synth_intel -family max10",
            Target::Ice40Up5k => "synth_ice40 -dsp",
            Target::Ice40Hx8k => "synth_ice40",
            Target::Ecp5_25k | Target::Ecp5_45k | Target::Ecp5_85k => "synth_ecp5",
        }
    }

    /// The Yosys cell type (a `select` pattern) that counts as one DSP block, if the target
    /// has DSPs.
    pub(crate) fn dsp_cell(self) -> Option<&'static str> {
        match self {
            Target::Xc7 => Some("DSP48E1"),
            Target::Xcup => Some("DSP48E2"),
            Target::Ice40Up5k => Some("SB_MAC16"),
            Target::Ecp5_25k | Target::Ecp5_45k | Target::Ecp5_85k => Some("MULT18X18D"),
            Target::CycloneV => Some("MISTRAL_MUL*"),
            Target::Max10 => Some("fiftyfivenm_mac_mult"),
            Target::Ice40Hx8k => None,
        }
    }

    /// The widest operands (a, b, signed) one DSP block multiplies.
    pub(crate) fn dsp_operand_bits(self) -> (u32, u32) {
        match self {
            Target::Xc7 => (25, 18),
            Target::Xcup => (27, 18),
            Target::Ice40Up5k => (16, 16),
            Target::CycloneV => (27, 27),
            Target::Max10 => (18, 18),
            _ => (18, 18),
        }
    }

    /// The part at ECP5 speed grade `speed` (the grade digit of the part number replaced;
    /// other families, or None: [`Target::part`]).
    pub fn part_at_speed(self, speed: Option<u8>) -> String {
        match (self.family(), speed) {
            (Family::Ecp5, Some(s)) => self.part().replacen("-6BG", &format!("-{s}BG"), 1),
            _ => self.part().to_string(),
        }
    }

    /// The nextpnr tool and device arguments, for targets placed and routed here.
    pub fn nextpnr(self) -> Option<(ToolKind, &'static [&'static str])> {
        let (ice40, ecp5) = (ToolKind::NextpnrIce40, ToolKind::NextpnrEcp5);
        match self {
            Target::Ice40Up5k => Some((ice40, &["--up5k", "--package", "sg48"])),
            Target::Ice40Hx8k => Some((ice40, &["--hx8k", "--package", "ct256"])),
            Target::Ecp5_25k => Some((ecp5, &["--25k", "--package", "CABGA256"])),
            Target::Ecp5_45k => Some((ecp5, &["--45k", "--package", "CABGA381"])),
            Target::Ecp5_85k => Some((ecp5, &["--85k", "--package", "CABGA381"])),
            _ => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Target, String> {
        Target::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
                format!("{s:?} is not a target: allowed {}", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in Target::ALL {
            assert_eq!(t.name().parse::<Target>(), Ok(t));
        }
        assert!("ecp5-12k"
            .parse::<Target>()
            .unwrap_err()
            .contains("allowed xc7, xcup"));
    }
}
