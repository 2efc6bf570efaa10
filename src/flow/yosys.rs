//! Yosys: the synthesis script for a target (with the latch, `check -assert` and DSP-count
//! checks), running it, and reading `stat -json` into resource counts.
//!
//! YoWASP tools see only the working directory through relative paths (they map `/tmp`
//! privately), so every file is named relative to the output folder the tool runs in.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde::Serialize;

use super::targets::{Family, Target};

/// Yosys commands that fail on any latch, before and after technology mapping.
const NO_LATCHES: &str = "select -assert-none t:$dlatch t:$adlatch t:$dlatchsr t:$_DLATCH_* t:$_DLATCHSR_* t:LDCE t:LDPE t:*LATCH*";

/// Keeps each PE's own tile-end flag registers (`gen::pe::TILE_FLAG` and its numbered
/// copies, driving the accumulator clear and the drain load). They hold the same value along
/// an anti-diagonal, so `opt_merge` would fold them into one register per diagonal fanning out
/// across the array: on an 8x8 ECP5 build that fan-out was the critical path.
fn keep_tile_flags() -> String {
    let f = crate::gen::pe::TILE_FLAG;
    format!("setattr -set keep 1 w:{f} w:{f}? %u %ci1:+[Q] t:* %i")
}

/// The synthesis script: read, check for latches, synthesise, `check -assert`, check again,
/// assert the DSP count when it is known, write `stat.json` and (for place and route) the
/// netlist `netlist.json`.
pub fn script(
    target: Target,
    verilog: &str,
    top: &str,
    expected_dsps: Option<u64>,
    netlist: bool,
) -> String {
    let mut s = format!(
        "# Yosys script written by npugen for target {target}.\n\
         read_verilog {verilog}\n\
         hierarchy -check -top {top}\n\
         proc\n\
         {NO_LATCHES}\n\
         {keep}\n\
         {synth} -top {top}\n\
         check -assert\n\
         {NO_LATCHES}\n",
        synth = target.yosys_synth(),
        keep = keep_tile_flags(),
    );
    if let (Some(n), Some(cell)) = (expected_dsps, target.dsp_cell()) {
        s.push_str(&format!("select -assert-count {n} t:{cell}\n"));
    }
    s.push_str("tee -q -o stat.json stat -json\n");
    if netlist {
        s.push_str("write_json netlist.json\n");
    }
    s
}

/// Resource counts of a synthesised design.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Resources {
    /// Look-up tables (LUT1-6, LUT4, SB_LUT4, ALUTs).
    pub luts: u64,
    /// Flip-flops.
    pub ffs: u64,
    /// Hard multiplier / DSP blocks.
    pub dsps: u64,
    /// Block RAMs.
    pub brams: u64,
    /// Carry-chain cells.
    pub carry: u64,
    /// Distributed (LUT) RAM cells.
    pub lutram: u64,
}

/// Classifies Yosys cell counts (the design's `num_cells_by_type`) for a target family.
pub(crate) fn classify(family: Family, cells: &BTreeMap<String, u64>) -> Resources {
    let mut r = Resources::default();
    for (ty, &n) in cells {
        let t = ty.as_str();
        let slot = match family {
            Family::Xilinx => match t {
                _ if t.starts_with("LUT") => Some(&mut r.luts),
                _ if t.starts_with("FD") => Some(&mut r.ffs),
                _ if t.starts_with("DSP48") => Some(&mut r.dsps),
                _ if t.starts_with("RAMB") => Some(&mut r.brams),
                _ if t.starts_with("CARRY") => Some(&mut r.carry),
                _ if t.starts_with("RAM32")
                    || t.starts_with("RAM64")
                    || t.starts_with("RAM128") =>
                {
                    Some(&mut r.lutram)
                }
                _ => None,
            },
            Family::Intel => match t {
                "MISTRAL_ALUT_ARITH" => Some(&mut r.carry),
                _ if t.starts_with("MISTRAL_ALUT") || t.ends_with("lcell_comb") => {
                    Some(&mut r.luts)
                }
                _ if t.starts_with("MISTRAL_FF") || t == "dffeas" => Some(&mut r.ffs),
                _ if t.starts_with("MISTRAL_MUL") || t.contains("mac_mult") => Some(&mut r.dsps),
                _ if t.starts_with("MISTRAL_M10K") || t == "altsyncram" => Some(&mut r.brams),
                "MISTRAL_MLAB" => Some(&mut r.lutram),
                _ => None,
            },
            Family::Ice40 => match t {
                "SB_LUT4" => Some(&mut r.luts),
                _ if t.starts_with("SB_DFF") => Some(&mut r.ffs),
                "SB_MAC16" => Some(&mut r.dsps),
                _ if t.starts_with("SB_RAM") || t.starts_with("SB_SPRAM") => Some(&mut r.brams),
                "SB_CARRY" => Some(&mut r.carry),
                _ => None,
            },
            Family::Ecp5 => match t {
                "LUT4" => Some(&mut r.luts),
                "TRELLIS_FF" => Some(&mut r.ffs),
                "MULT18X18D" | "ALU54B" => Some(&mut r.dsps),
                "DP16KD" | "PDPW16KD" => Some(&mut r.brams),
                "CCU2C" => Some(&mut r.carry),
                "TRELLIS_DPR16X4" => Some(&mut r.lutram),
                _ => None,
            },
        };
        if let Some(slot) = slot {
            *slot += n;
        }
    }
    r
}

/// Cell counts by type of the whole design from `stat -json` output.
pub(crate) fn parse_stat(text: &str) -> Result<BTreeMap<String, u64>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("stat.json: {e}"))?;
    let cells = v["design"]["num_cells_by_type"]
        .as_object()
        .ok_or("stat.json has no design.num_cells_by_type")?;
    Ok(cells
        .iter()
        .filter_map(|(k, n)| n.as_u64().map(|n| (k.clone(), n)))
        .filter(|(k, _)| !k.starts_with('$'))
        .collect())
}

/// Runs `yosys` (the executable given) on `script_file` in `dir`; returns its log.
pub fn run(yosys: &Path, dir: &Path, script_file: &str) -> Result<String, String> {
    let out = Command::new(yosys)
        .current_dir(dir)
        .args(["-q", "-l", "yosys.log", "-s", script_file])
        .output()
        .map_err(|e| format!("cannot start {}: {e}", yosys.display()))?;
    let log = std::fs::read_to_string(dir.join("yosys.log")).unwrap_or_default();
    if out.status.success() {
        Ok(log)
    } else {
        let tail: Vec<&str> = log
            .lines()
            .rev()
            .filter(|l| !l.trim().is_empty())
            .take(6)
            .collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Err(format!(
            "yosys failed ({}):\n{}{}",
            out.status,
            tail.join("\n"),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_and_classification() {
        let stat = r#"{"design": {"num_cells_by_type": {"$scopeinfo": 3, "LUT4": 10, "CCU2C": 4, "MULT18X18D": 2, "TRELLIS_FF": 20, "DP16KD": 1}}}"#;
        let cells = parse_stat(stat).unwrap();
        assert!(!cells.contains_key("$scopeinfo"));
        let r = classify(Family::Ecp5, &cells);
        assert_eq!(
            r,
            Resources {
                luts: 10,
                ffs: 20,
                dsps: 2,
                brams: 1,
                carry: 4,
                lutram: 0
            }
        );
        let x: BTreeMap<String, u64> = [
            ("LUT6", 5),
            ("LUT2", 1),
            ("FDRE", 7),
            ("DSP48E1", 1),
            ("CARRY4", 2),
            ("RAMB36E1", 1),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(
            classify(Family::Xilinx, &x),
            Resources {
                luts: 6,
                ffs: 7,
                dsps: 1,
                brams: 1,
                carry: 2,
                lutram: 0
            }
        );
    }

    #[test]
    fn script_has_the_checks() {
        let s = script(Target::Ecp5_25k, "a.v", "a", Some(4), true);
        assert!(s.contains("synth_ecp5 -top a"));
        assert!(s.contains("check -assert"));
        assert_eq!(s.matches("select -assert-none").count(), 2);
        assert!(s.contains("select -assert-count 4 t:MULT18X18D"));
        assert!(s.contains("write_json netlist.json"));
        let keep = s.find("setattr -set keep 1 w:lp").expect("tile flags kept");
        assert!(
            keep < s.find("synth_ecp5").expect("synth"),
            "keep set before synthesis"
        );
    }
}
