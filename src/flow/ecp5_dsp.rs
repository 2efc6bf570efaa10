//! ECP5 DSP register packing on the Yosys JSON netlist, before nextpnr.
//!
//! Yosys maps multipliers to MULT18X18D with every internal register off, so a registered
//! product pays the block's combinational delay plus two fabric routes (about 100 MHz on an
//! ECP5-6). This pass moves the fabric flip-flops around each MULT18X18D into the block:
//!
//! - input A / B: when every used bit of a port comes from TRELLIS_FFs with one clock, one
//!   synchronous reset to 0 and no clock enable, the port is connected to those FFs' D nets and
//!   its input register is enabled (the FFs stay for any other loads, so this is a copy);
//! - output P: when every used P bit drives exactly one TRELLIS_FF (same conditions), the FFs
//!   are absorbed into the pipeline register, and a second such rank into the output register.
//!
//! Each step is a register moved across wires, never across logic, so the design's cycle
//! behaviour is unchanged; the Verilog that npugen emits and co-simulates is not touched.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

/// What the pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PackStats {
    /// MULT18X18D cells seen.
    pub dsps: usize,
    /// Input registers enabled (A and B counted separately).
    pub input_regs: usize,
    /// Output-side ranks absorbed (pipeline and output registers).
    pub output_regs: usize,
    /// Fabric FFs removed.
    pub ffs_removed: usize,
}

type Bit = Value;

/// Control of a TRELLIS_FF: (clock bit, reset bit) if it is a plain synchronous-reset-to-0 FF
/// without clock enable.
fn plain_ff(cell: &Map<String, Value>) -> Option<(Bit, Bit)> {
    if cell.get("type")?.as_str()? != "TRELLIS_FF" {
        return None;
    }
    let p = cell.get("parameters")?.as_object()?;
    // A parameter Yosys left out has the primitive's default value.
    let param = |k: &str, default: &'static str| {
        p.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or(default)
    };
    let ok = param("CEMUX", "1") == "1"
        && param("CLKMUX", "CLK") == "CLK"
        && param("LSRMUX", "LSR") == "LSR"
        && param("REGSET", "RESET") == "RESET"
        && param("SRMODE", "LSR_OVER_CE") == "LSR_OVER_CE";
    if !ok {
        return None;
    }
    let c = cell.get("connections")?.as_object()?;
    Some((c.get("CLK")?[0].clone(), c.get("LSR")?[0].clone()))
}

/// Whether `ffc` is a plain FF with the clock and reset already in `control` (or sets them,
/// when none is recorded yet).
fn shares_control(ffc: &Map<String, Value>, control: &mut Option<(Bit, Bit)>) -> bool {
    match (plain_ff(ffc), &*control) {
        (Some(c), None) => {
            *control = Some(c);
            true
        }
        (Some(c), Some(k)) => &c == k,
        (None, _) => false,
    }
}

/// Every input pin (cell, port) that reads each bit, plus module output ports.
pub(super) fn loads(
    cells: &Map<String, Value>,
    ports: &Map<String, Value>,
) -> BTreeMap<String, Vec<(String, String)>> {
    let mut l: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (name, cell) in cells {
        let dirs = cell["port_directions"].as_object();
        for (port, bits) in cell["connections"].as_object().into_iter().flatten() {
            let is_input = dirs
                .and_then(|d| d.get(port))
                .and_then(Value::as_str)
                .is_none_or(|d| d != "output");
            if is_input {
                for b in bits.as_array().into_iter().flatten() {
                    l.entry(b.to_string())
                        .or_default()
                        .push((name.clone(), port.clone()));
                }
            }
        }
    }
    for (pname, p) in ports {
        if p["direction"] != "input" {
            for b in p["bits"].as_array().into_iter().flatten() {
                l.entry(b.to_string())
                    .or_default()
                    .push(("<port>".into(), pname.clone()));
            }
        }
    }
    l
}

/// Which FF drives each bit (by its Q output).
fn ff_drivers(cells: &Map<String, Value>) -> BTreeMap<String, String> {
    let mut d = BTreeMap::new();
    for (name, cell) in cells {
        if cell["type"] == "TRELLIS_FF" {
            if let Some(q) = cell["connections"]["Q"].as_array() {
                d.insert(q[0].to_string(), name.clone());
            }
        }
    }
    d
}

pub(super) fn is_const(b: &Value) -> bool {
    b.is_string()
}

/// Loads of each bit: (cell, pin) pairs, from [`loads`].
pub(super) type Loads = BTreeMap<String, Vec<(String, String)>>;

/// One FF moved into a DSP's output: (P pin, FF cell, the FF's Q bit).
type Move = (usize, String, Value);

/// Packs registers into every MULT18X18D of the top module of `netlist` (Yosys JSON).
pub(crate) fn pack(netlist: &mut Value) -> PackStats {
    let mut stats = PackStats::default();
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
        let dsp_names: Vec<String> = cells
            .iter()
            .filter(|(_, c)| c["type"] == "MULT18X18D")
            .map(|(n, _)| n.clone())
            .collect();
        stats.dsps += dsp_names.len();
        let mut removed: BTreeSet<String> = BTreeSet::new();
        // Input packing keeps the FFs and output packing only rewires P pins to bits whose
        // loads do not change, so both maps stay valid while the DSPs are processed.
        let drivers = ff_drivers(cells);
        let all_loads = loads(cells, &ports);
        for dsp in dsp_names {
            let mut control: Option<(Bit, Bit)> = None;
            for (port, reg) in [("A", "REG_INPUTA"), ("B", "REG_INPUTB")] {
                if pack_input(cells, &drivers, &dsp, port, &mut control) {
                    enable_register(cells, &dsp, reg);
                    stats.input_regs += 1;
                }
            }
            let ranks = output_ranks(cells, &all_loads, &dsp, &mut control);
            let regs: &[&str] = match ranks.len() {
                1 => &["REG_OUTPUT"],
                _ => &["REG_PIPELINE", "REG_OUTPUT"],
            };
            for (moves, reg) in ranks.iter().zip(regs) {
                for (i, ff, q) in moves {
                    cells[&dsp]["connections"][format!("P{i}")] = json!([q]);
                    cells.remove(ff);
                    removed.insert(ff.clone());
                }
                enable_register(cells, &dsp, reg);
                stats.output_regs += 1;
            }
            if let Some(control) = control {
                connect_control(cells, &dsp, control);
            }
        }
        remove_dead_ffs(cells, &ports, &mut removed);
        stats.ffs_removed += removed.len();
    }
    stats
}

/// Input `port` (A or B) of `dsp`: when every non-constant bit comes from a plain FF sharing
/// `control`, the block takes those FFs' D bits and registers them itself (the FFs stay; they
/// are removed later if nothing else loads them). Returns whether it did.
fn pack_input(
    cells: &mut Map<String, Value>,
    drivers: &BTreeMap<String, String>,
    dsp: &str,
    port: &str,
    control: &mut Option<(Bit, Bit)>,
) -> bool {
    let conn = cells[dsp]["connections"].clone();
    let mut new_bits = Vec::new();
    let mut ctl = control.clone();
    for i in 0..18 {
        let b = &conn[format!("{port}{i}")][0];
        if is_const(b) {
            new_bits.push(b.clone());
            continue;
        }
        let Some(ff) = drivers.get(&b.to_string()) else {
            return false;
        };
        let ffc = cells[ff].as_object().expect("cell");
        if !shares_control(ffc, &mut ctl) {
            return false;
        }
        new_bits.push(ffc["connections"]["DI"][0].clone());
    }
    *control = ctl;
    let cell = cells[dsp].as_object_mut().expect("cell");
    for (i, b) in new_bits.into_iter().enumerate() {
        cell["connections"][format!("{port}{i}")] = json!([b]);
    }
    true
}

/// Output P of `dsp`: the first rank of FFs whose D comes only from P (this takes the
/// multiplier's combinational delay out of the fabric), and a second rank only if it feeds
/// nothing but further FFs: one fabric rank then stays beside the logic it feeds (the
/// accumulator), splitting the long route from the DSP row. One rank becomes the output
/// register (0.7 ns clock-to-out; the pipeline register's output still crosses the block's
/// output logic, about 3.9 ns), two become pipeline and output registers.
fn output_ranks(
    cells: &Map<String, Value>,
    all_loads: &Loads,
    dsp: &str,
    control: &mut Option<(Bit, Bit)>,
) -> Vec<Vec<Move>> {
    let mut ranks: Vec<Vec<Move>> = Vec::new();
    let mut pins: Vec<(usize, Value)> = (0..36)
        .map(|i| (i, cells[dsp]["connections"][format!("P{i}")][0].clone()))
        .collect();
    while ranks.len() < 2 {
        let mut ctl = control.clone();
        let Some(moves) = next_rank(cells, all_loads, &pins, &mut ctl) else {
            break;
        };
        if !ranks.is_empty() && !feeds_only_ffs(cells, all_loads, &moves) {
            break;
        }
        *control = ctl;
        pins = moves.iter().map(|(i, _, q)| (*i, q.clone())).collect();
        ranks.push(moves);
    }
    ranks
}

/// The FFs that are the only load of each of `pins` (through D, sharing `ctl`), or None when
/// any pin has another load, or none has one.
fn next_rank(
    cells: &Map<String, Value>,
    all_loads: &Loads,
    pins: &[(usize, Value)],
    ctl: &mut Option<(Bit, Bit)>,
) -> Option<Vec<Move>> {
    let mut moves = Vec::new();
    for (i, b) in pins {
        let Some(l) = all_loads.get(&b.to_string()) else {
            continue;
        };
        let [(ff, pin)] = l.as_slice() else {
            return None;
        };
        let ffc = cells.get(ff).and_then(Value::as_object);
        let ffc = ffc.filter(|_| pin == "DI")?;
        if !shares_control(ffc, ctl) {
            return None;
        }
        moves.push((*i, ff.clone(), ffc["connections"]["Q"][0].clone()));
    }
    (!moves.is_empty()).then_some(moves)
}

/// Whether every load of the moved FFs' outputs is a plain FF's D input.
fn feeds_only_ffs(cells: &Map<String, Value>, all_loads: &Loads, moves: &[Move]) -> bool {
    moves.iter().all(|(_, _, q)| {
        all_loads.get(&q.to_string()).is_some_and(|l| {
            l.iter().all(|(c, pin)| {
                pin == "DI"
                    && cells
                        .get(c)
                        .and_then(Value::as_object)
                        .and_then(plain_ff)
                        .is_some()
            })
        })
    })
}

/// Clocks register `reg` of `dsp` from CLK0, CE0 and RST0.
fn enable_register(cells: &mut Map<String, Value>, dsp: &str, reg: &str) {
    let cell = cells[dsp].as_object_mut().expect("cell");
    cell["parameters"][format!("{reg}_CLK")] = json!("CLK0");
    cell["parameters"][format!("{reg}_CE")] = json!("CE0");
    cell["parameters"][format!("{reg}_RST")] = json!("RST0");
}

/// Connects the absorbed FFs' clock and synchronous reset to `dsp`.
fn connect_control(cells: &mut Map<String, Value>, dsp: &str, (clk, rst): (Bit, Bit)) {
    let cell = cells[dsp].as_object_mut().expect("cell");
    cell["connections"]["CLK0"] = json!([clk]);
    cell["connections"]["RST0"] = json!([rst]);
    cell["connections"]["CE0"] = json!(["1"]);
    cell["parameters"]["RESETMODE"] = json!("SYNC");
    cell["parameters"]["GSR"] = json!("DISABLED");
    for d in ["CLK0", "RST0", "CE0"] {
        cell["port_directions"][d] = json!("input");
    }
}

/// Removes the FFs left without loads (input-side FFs whose block took their register),
/// until none is left.
fn remove_dead_ffs(
    cells: &mut Map<String, Value>,
    ports: &Map<String, Value>,
    removed: &mut BTreeSet<String>,
) {
    loop {
        let all_loads = loads(cells, ports);
        let dead: Vec<String> = cells
            .iter()
            .filter(|(_, c)| c["type"] == "TRELLIS_FF")
            .filter(|(_, c)| !all_loads.contains_key(&c["connections"]["Q"][0].to_string()))
            .map(|(n, _)| n.clone())
            .collect();
        if dead.is_empty() {
            break;
        }
        for d in dead {
            cells.remove(&d);
            removed.insert(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TRELLIS_FF cell as Yosys writes it (parameters left at their defaults are omitted).
    fn ff(d: i64, q: i64) -> Value {
        json!({"type": "TRELLIS_FF",
               "parameters": {"CEMUX": "1 ", "GSR": "DISABLED"},
               "port_directions": {"CLK": "input", "LSR": "input", "DI": "input", "Q": "output"},
               "connections": {"CLK": [2], "LSR": [3], "DI": [d], "Q": [q]}})
    }

    /// One multiplier: A0/B0 from FFs (D nets 10, 11), P0 through two FF ranks into a LUT,
    /// every other pin constant.
    fn netlist() -> Value {
        let mut conn = Map::new();
        let mut dirs = Map::new();
        for i in 0..18 {
            for p in ["A", "B"] {
                conn.insert(format!("{p}{i}"), json!(["0"]));
                dirs.insert(format!("{p}{i}"), json!("input"));
            }
        }
        for i in 0..36 {
            conn.insert(format!("P{i}"), json!([100 + i]));
            dirs.insert(format!("P{i}"), json!("output"));
        }
        conn.insert("A0".into(), json!([20]));
        conn.insert("B0".into(), json!([21]));
        json!({"modules": {"top": {
        "ports": {"o": {"direction": "output", "bits": [40]}},
        "cells": {
            "fa": ff(10, 20), "fb": ff(11, 21),
            "r1": ff(100, 30), "r2": ff(30, 31),
            "lut": {"type": "LUT4", "parameters": {},
                    "port_directions": {"A": "input", "Z": "output"},
                    "connections": {"A": [31], "Z": [40]}},
            "m": {"type": "MULT18X18D", "parameters": {},
                  "port_directions": dirs, "connections": conn}
        }}}})
    }

    #[test]
    fn input_registers_are_copied_and_the_first_output_rank_absorbed() {
        let mut n = netlist();
        let s = pack(&mut n);
        assert_eq!(
            s,
            PackStats {
                dsps: 1,
                input_regs: 2,
                // r2 feeds a LUT, so it stays in the fabric.
                output_regs: 1,
                ffs_removed: 3,
            }
        );
        let cells = &n["modules"]["top"]["cells"];
        let m = &cells["m"];
        assert_eq!(m["connections"]["A0"], json!([10]));
        assert_eq!(m["connections"]["B0"], json!([11]));
        assert_eq!(m["connections"]["P0"], json!([30]));
        assert_eq!(m["parameters"]["REG_INPUTA_CLK"], "CLK0");
        assert_eq!(m["parameters"]["REG_OUTPUT_CLK"], "CLK0");
        assert!(m["parameters"].get("REG_PIPELINE_CLK").is_none());
        assert_eq!(m["connections"]["CLK0"], json!([2]));
        assert_eq!(m["connections"]["RST0"], json!([3]));
        // fa, fb (no loads left) and r1 (absorbed) are gone; r2 stays.
        for gone in ["fa", "fb", "r1"] {
            assert!(cells.get(gone).is_none(), "{gone}");
        }
        assert!(cells.get("r2").is_some());
    }

    #[test]
    fn flip_flops_with_a_clock_enable_or_async_reset_stay_in_the_fabric() {
        for (k, v) in [("CEMUX", "CE"), ("SRMODE", "ASYNC"), ("REGSET", "SET")] {
            let mut n = netlist();
            for c in ["fa", "r1"] {
                n["modules"]["top"]["cells"][c]["parameters"][k] = json!(v);
            }
            let s = pack(&mut n);
            // Only B's register moves; P's first rank is not plain, so nothing is absorbed.
            assert_eq!((s.input_regs, s.output_regs), (1, 0), "{k}={v}");
            assert_eq!(
                n["modules"]["top"]["cells"]["m"]["connections"]["A0"],
                json!([20])
            );
        }
    }
}
