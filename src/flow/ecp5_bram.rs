//! ECP5 block RAM output registers on the Yosys JSON netlist, before nextpnr.
//!
//! Yosys 0.70 maps a memory's registered read to a DP16KD with its output register off
//! (REGMODE NOREG), so the read costs the block's clock-to-out (5.8 ns on an ECP5-6) plus a
//! route. The npu's buffers register every read a second time (`npu::gen::buffers`); this
//! pass moves that fabric register into the block: when every used DO bit of a port drives
//! exactly one TRELLIS_FF (its D input), and those FFs share the port's clock, one clock
//! enable and no reset, they become the port's output register (REGMODE OUTREG, the enable on
//! OCE, inverted through OCEMUX when the FFs' enable was). In the 36-bit pseudo-dual-port
//! mode both ports' pins carry the one read, so both are moved together or not at all.
//!
//! A register moved across a wire, never across logic: the design's cycle behaviour is
//! unchanged, and the Verilog npugen emits and co-simulates is not touched.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::ecp5_dsp::{is_const, loads, Loads};

/// What the pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BramStats {
    /// DP16KD cells seen.
    pub brams: usize,
    /// Ports given their output register.
    pub ports: usize,
    /// Fabric FFs removed.
    pub ffs_removed: usize,
}

/// A clock enable: its net, and whether the FFs had it inverted.
type Enable = Option<(Value, bool)>;

/// Clock and enable of a TRELLIS_FF whose reset is tied off and whose clock is not inverted.
fn ff_control(cell: &Map<String, Value>) -> Option<(Value, Enable)> {
    if cell.get("type")?.as_str()? != "TRELLIS_FF" {
        return None;
    }
    let p = cell.get("parameters")?.as_object()?;
    let param = |k: &str, default: &'static str| {
        p.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or(default)
    };
    let c = cell.get("connections")?.as_object()?;
    let lsr_off = c.get("LSR").is_none_or(|l| l[0] == json!("0"));
    let plain = param("CLKMUX", "CLK") == "CLK"
        && param("LSRMUX", "LSR") == "LSR"
        && param("GSR", "DISABLED") == "DISABLED"
        && lsr_off;
    if !plain {
        return None;
    }
    let enable = match param("CEMUX", "1") {
        "1" => None,
        "CE" => Some((c.get("CE")?[0].clone(), false)),
        "INV" => Some((c.get("CE")?[0].clone(), true)),
        _ => return None,
    };
    Some((c.get("CLK")?[0].clone(), enable))
}

/// One FF to move: (DO pin, FF cell, its Q bit).
type Move = (String, String, Value);

/// The FFs taking every used DO pin of `side` (A or B) of `bram`, all with `clock` and one
/// enable (recorded in `enable`); None if any used pin has another load.
fn port_moves(
    cells: &Map<String, Value>,
    all_loads: &Loads,
    bram: &str,
    side: char,
    enable: &mut Option<Enable>,
) -> Option<Vec<Move>> {
    let conn = cells[bram]["connections"].as_object()?;
    let clock = conn.get(&format!("CLK{side}"))?[0].clone();
    let clk_mux = cells[bram]["parameters"][format!("CLK{side}MUX")]
        .as_str()
        .unwrap_or("");
    if !clk_mux.is_empty() && clk_mux != format!("CLK{side}") {
        return None;
    }
    let mut moves = Vec::new();
    for i in 0..18 {
        let pin = format!("DO{side}{i}");
        let Some(bit) = conn.get(&pin).map(|b| b[0].clone()) else {
            continue;
        };
        if is_const(&bit) {
            continue;
        }
        let Some(l) = all_loads.get(&bit.to_string()) else {
            continue;
        };
        let [(ff, ff_pin)] = l.as_slice() else {
            return None;
        };
        let ffc = cells.get(ff).and_then(Value::as_object)?;
        if ff_pin != "DI" {
            return None;
        }
        let (clk, en) = ff_control(ffc)?;
        if clk != clock || enable.as_ref().is_some_and(|e| *e != en) {
            return None;
        }
        *enable = Some(en);
        moves.push((pin, ff.clone(), ffc["connections"]["Q"][0].clone()));
    }
    Some(moves)
}

/// Turns on the output register of `side` of `bram`, clocked with `enable`.
fn enable_outreg(cell: &mut Value, side: char, enable: &Enable) {
    cell["parameters"][format!("REGMODE_{side}")] = json!("OUTREG");
    let (net, inverted) = match enable {
        Some((net, inverted)) => (net.clone(), *inverted),
        None => (json!("1"), false),
    };
    cell["connections"][format!("OCE{side}")] = json!([net]);
    let mux = if inverted {
        "INV".to_string()
    } else {
        format!("OCE{side}")
    };
    cell["parameters"][format!("OCE{side}MUX")] = json!(mux);
}

/// Moves output registers into every DP16KD of `netlist` (Yosys JSON).
pub(crate) fn pack(netlist: &mut Value) -> BramStats {
    let mut stats = BramStats::default();
    let Some(modules) = netlist["modules"].as_object_mut() else {
        return stats;
    };
    for module in modules.values_mut() {
        let Some(obj) = module.as_object_mut() else {
            continue;
        };
        let ports = obj
            .get("ports")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let Some(cells) = obj.get_mut("cells").and_then(Value::as_object_mut) else {
            continue;
        };
        let brams: Vec<String> = cells
            .iter()
            .filter(|(_, c)| c["type"] == "DP16KD")
            .map(|(n, _)| n.clone())
            .collect();
        stats.brams += brams.len();
        // Each FF is the only load of its DO pin, so moving one BRAM's FFs changes no other
        // BRAM's loads: the map stays valid.
        let all_loads = loads(cells, &ports);
        let mut removed = BTreeSet::new();
        for bram in brams {
            let wide = ["DATA_WIDTH_A", "DATA_WIDTH_B"].iter().any(|k| {
                let w = &cells[&bram]["parameters"][*k];
                w.as_str()
                    .and_then(|s| u64::from_str_radix(s.trim(), 2).ok())
                    .or_else(|| w.as_u64())
                    == Some(36)
            });
            let mut plan: Vec<(char, Enable, Vec<Move>)> = Vec::new();
            let mut shared: Option<Enable> = None;
            let mut whole = true;
            for side in ['A', 'B'] {
                let mut en = if wide { shared.clone() } else { None };
                match port_moves(cells, &all_loads, &bram, side, &mut en) {
                    Some(m) if !m.is_empty() => {
                        let e = en.expect("an enable for a used port");
                        if wide {
                            shared = Some(e.clone());
                        }
                        plan.push((side, e, m));
                    }
                    Some(_) => {}
                    None => whole = false,
                }
            }
            if wide && !whole {
                continue;
            }
            if wide {
                if let Some(e) = shared {
                    // Both ports' registers, the read's pins on either.
                    for side in ['A', 'B'] {
                        if !plan.iter().any(|(s, _, _)| *s == side) {
                            plan.push((side, e.clone(), Vec::new()));
                        }
                    }
                }
            }
            for (side, enable, moves) in plan {
                for (pin, ff, q) in moves {
                    cells[&bram]["connections"][pin] = json!([q]);
                    cells.remove(&ff);
                    removed.insert(ff);
                }
                enable_outreg(&mut cells[&bram], side, &enable);
                stats.ports += 1;
            }
        }
        stats.ffs_removed += removed.len();
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TRELLIS_FF as Yosys writes it: clock net 2, reset tied off, enable `ce` if any
    /// (`inv`: inverted).
    fn ff(d: i64, q: i64, ce: Option<(i64, bool)>) -> Value {
        let mut c = json!({"CLK": [2], "LSR": ["0"], "DI": [d], "Q": [q]});
        let mut p = json!({"CEMUX": "1 ", "GSR": "DISABLED", "LSRMUX": "LSR"});
        if let Some((net, inv)) = ce {
            c["CE"] = json!([net]);
            p["CEMUX"] = json!(if inv { "INV" } else { "CE" });
        }
        json!({"type": "TRELLIS_FF", "parameters": p,
               "port_directions": {"CLK": "input", "LSR": "input", "CE": "input",
                                   "DI": "input", "Q": "output"},
               "connections": c})
    }

    /// A DP16KD of `width` bits with DOA0/DOB0 on nets 100/101 (other DO pins unconnected
    /// constants).
    fn bram(width: &str) -> Value {
        let mut conn = Map::new();
        let mut dirs = Map::new();
        for side in ['A', 'B'] {
            for i in 0..18 {
                conn.insert(format!("DO{side}{i}"), json!(["x"]));
                dirs.insert(format!("DO{side}{i}"), json!("output"));
            }
            conn.insert(format!("CLK{side}"), json!([2]));
            conn.insert(format!("OCE{side}"), json!(["1"]));
            dirs.insert(format!("CLK{side}"), json!("input"));
        }
        conn.insert("DOA0".into(), json!([100]));
        conn.insert("DOB0".into(), json!([101]));
        json!({"type": "DP16KD",
               "parameters": {"DATA_WIDTH_A": width, "DATA_WIDTH_B": width,
                              "REGMODE_A": "NOREG", "REGMODE_B": "NOREG",
                              "CLKAMUX": "CLKA", "CLKBMUX": "CLKB"},
               "port_directions": dirs, "connections": conn})
    }

    fn netlist(width: &str, cells: Vec<(&str, Value)>) -> Value {
        let mut c = Map::new();
        c.insert("m".into(), bram(width));
        for (n, v) in cells {
            c.insert(n.into(), v);
        }
        json!({"modules": {"top": {"ports": {}, "cells": c}}})
    }

    fn lut(input: i64) -> Value {
        json!({"type": "LUT4", "parameters": {},
               "port_directions": {"A": "input", "Z": "output"},
               "connections": {"A": [input], "Z": [200]}})
    }

    #[test]
    fn a_36_bit_read_takes_both_output_registers() {
        let mut n = netlist(
            "00000000000000000000000000100100",
            vec![
                ("ra", ff(100, 30, None)),
                ("rb", ff(101, 31, None)),
                ("l", lut(30)),
            ],
        );
        let s = pack(&mut n);
        assert_eq!(
            s,
            BramStats {
                brams: 1,
                ports: 2,
                ffs_removed: 2
            }
        );
        let m = &n["modules"]["top"]["cells"]["m"];
        assert_eq!(m["parameters"]["REGMODE_A"], "OUTREG");
        assert_eq!(m["parameters"]["REGMODE_B"], "OUTREG");
        assert_eq!(m["connections"]["DOA0"], json!([30]));
        assert_eq!(m["connections"]["DOB0"], json!([31]));
        assert_eq!(m["connections"]["OCEB"], json!(["1"]));
    }

    #[test]
    fn an_inverted_enable_goes_to_ocemux() {
        // A 9-bit port B read with a hold: the FF's enable is inverted.
        let mut n = netlist(
            "00000000000000000000000000001001",
            vec![("rb", ff(101, 31, Some((7, true))))],
        );
        let s = pack(&mut n);
        assert_eq!(s.ports, 1);
        let m = &n["modules"]["top"]["cells"]["m"];
        assert_eq!(m["parameters"]["REGMODE_A"], "NOREG");
        assert_eq!(m["parameters"]["REGMODE_B"], "OUTREG");
        assert_eq!(m["connections"]["OCEB"], json!([7]));
        assert_eq!(m["parameters"]["OCEBMUX"], "INV");
    }

    #[test]
    fn a_pin_with_logic_or_mixed_enables_is_left_alone() {
        // DOB0 also feeds a LUT: the register cannot move.
        let mut n = netlist(
            "00000000000000000000000000001001",
            vec![("rb", ff(101, 31, None)), ("l", lut(101))],
        );
        assert_eq!(pack(&mut n).ports, 0);
        // 36 bits, the two halves' FFs with different enables: neither moves.
        let mut n = netlist(
            "00000000000000000000000000100100",
            vec![
                ("ra", ff(100, 30, Some((7, false)))),
                ("rb", ff(101, 31, None)),
            ],
        );
        let s = pack(&mut n);
        assert_eq!((s.ports, s.ffs_removed), (0, 0));
        assert!(n["modules"]["top"]["cells"].get("ra").is_some());
        // An FF with a reset stays.
        let mut with_reset = ff(101, 31, None);
        with_reset["connections"]["LSR"] = json!([9]);
        let mut n = netlist("00000000000000000000000000001001", vec![("rb", with_reset)]);
        assert_eq!(pack(&mut n).ports, 0);
    }
}
