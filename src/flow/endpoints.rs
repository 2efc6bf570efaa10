//! The endpoints that miss the clock in nextpnr's detailed timing report
//! (`--detailed-timing-report`), grouped by the register or block they end in, so that a
//! timing round sees every failing path of the design, not only the one nextpnr prints.
//!
//! nextpnr lists every net with its sinks; a sink's `delay` is `[min, max]` arrival at that
//! input from the clock edge, in ns (its `max` on the critical path's endpoint is the
//! critical path's delay). A sink over the clock period fails. Only nets driven from a
//! clock edge count.

use std::collections::BTreeMap;

use serde::Serialize;

/// The failing endpoints of one register or block.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EndpointGroup {
    /// The register's name in the netlist (the bit index and the cell suffix that Yosys and
    /// nextpnr add removed), with the input when it is not the data input: `:CE`, `:LSR`, or
    /// a block RAM's or DSP's port name without its bit index.
    pub register: String,
    /// Its inputs over the period.
    pub endpoints: u64,
    /// The latest arrival at any of them, ns.
    pub worst_ns: f64,
}

/// The endpoints of a placed design that miss its clock.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FailingEndpoints {
    /// The clock period the arrivals are compared with, ns.
    pub period_ns: f64,
    /// Inputs whose latest arrival is over the period.
    pub endpoints: u64,
    /// Registers and blocks they belong to.
    pub groups: u64,
    /// The groups with the latest arrivals, latest first.
    pub worst: Vec<EndpointGroup>,
}

/// The register a netlist cell belongs to: `core.pe_r0_c0.acc_TRELLIS_FF_Q_31` ->
/// `core.pe_r0_c0.acc`.
fn register_of(cell: &str) -> &str {
    const SUFFIXES: [&str; 8] = [
        "_TRELLIS_FF",
        "_TRELLIS_",
        "_DP16KD",
        "_MULT18X18D",
        "_CCU2",
        "_LUT4",
        "_PFUMX",
        "_ALU54B",
    ];
    let end = SUFFIXES
        .iter()
        .filter_map(|s| cell.find(s))
        .min()
        .unwrap_or(cell.len());
    let base = &cell[..end];
    base.strip_suffix(']')
        .and_then(|b| b.rfind('[').map(|i| &b[..i]))
        .unwrap_or(base)
}

/// The group key of a sink: its register, and the input unless it is a flip-flop's data.
fn key(cell: &str, port: &str) -> String {
    let reg = register_of(cell);
    match port {
        "DI" | "M" | "D" => reg.to_string(),
        _ => format!(
            "{reg}:{}",
            port.trim_end_matches(|c: char| c.is_ascii_digit())
        ),
    }
}

/// The failing endpoints in nextpnr's report `v` (its JSON, written with
/// `--detailed-timing-report`) against `period_ns`, keeping the `keep` latest groups; `None`
/// when the report has no per-net timings.
pub fn failing(v: &serde_json::Value, period_ns: f64, keep: usize) -> Option<FailingEndpoints> {
    let nets = v["detailed_net_timings"].as_array()?;
    // The latest arrival at each sink (a sink appears once per net, but be safe).
    let mut sinks: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    // Nets driven from a clock edge only: a net from an unconstrained input (`<async>`, the
    // harness's reset pin) is not a path of the clock, and nextpnr's Fmax leaves it out too.
    let clocked = nets.iter().filter(|n| {
        n["event"]
            .as_str()
            .is_some_and(|e| e.starts_with("posedge") || e.starts_with("negedge"))
    });
    for e in clocked.flat_map(|n| n["endpoints"].as_array().into_iter().flatten()) {
        let (Some(cell), Some(port), Some(at)) = (
            e["cell"].as_str(),
            e["port"].as_str(),
            e["delay"].get(1).and_then(serde_json::Value::as_f64),
        ) else {
            continue;
        };
        let s = sinks.entry((cell, port)).or_insert(at);
        *s = s.max(at);
    }
    let mut groups: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    for ((cell, port), at) in sinks {
        if at > period_ns {
            let g = groups.entry(key(cell, port)).or_insert((0, at));
            g.0 += 1;
            g.1 = g.1.max(at);
        }
    }
    let endpoints = groups.values().map(|g| g.0).sum();
    let mut worst: Vec<EndpointGroup> = groups
        .iter()
        .map(|(k, &(n, w))| EndpointGroup {
            register: k.clone(),
            endpoints: n,
            worst_ns: (w * 1000.0).round() / 1000.0,
        })
        .collect();
    worst.sort_by(|a, b| {
        b.worst_ns
            .total_cmp(&a.worst_ns)
            .then(a.register.cmp(&b.register))
    });
    worst.truncate(keep);
    Some(FailingEndpoints {
        period_ns: (period_ns * 1000.0).round() / 1000.0,
        endpoints,
        groups: groups.len() as u64,
        worst,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_name_their_registers() {
        assert_eq!(
            register_of("core.pe_r0_c0.acc_TRELLIS_FF_Q_31"),
            "core.pe_r0_c0.acc"
        );
        assert_eq!(
            register_of("core.ld.row_q[12]_TRELLIS_FF_Q"),
            "core.ld.row_q"
        );
        assert_eq!(register_of("core.act_mem.0.0_DP16KD"), "core.act_mem.0.0");
        assert_eq!(register_of("plain"), "plain");
        assert_eq!(key("r_TRELLIS_FF_Q_1", "CE"), "r:CE");
        assert_eq!(key("m_DP16KD", "ADA12"), "m:ADA");
        assert_eq!(key("r_TRELLIS_FF_Q_1", "DI"), "r");
    }

    #[test]
    fn sinks_over_the_period_are_grouped() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{"detailed_net_timings": [
                {"net": "rst", "event": "<async>", "endpoints": [
                    {"cell": "r_TRELLIS_FF_Q", "port": "LSR", "delay": [9.0, 9.5]}]},
                {"net": "a", "event": "posedge clk", "endpoints": [
                    {"cell": "x_TRELLIS_FF_Q", "port": "DI", "delay": [1.0, 7.5]},
                    {"cell": "x_TRELLIS_FF_Q_1", "port": "DI", "delay": [1.0, 7.0]},
                    {"cell": "x_TRELLIS_FF_Q_1", "port": "CE", "delay": [1.0, 8.25]},
                    {"cell": "y_TRELLIS_FF_Q", "port": "M", "delay": [1.0, 6.0]}]},
                {"net": "b", "event": "posedge clk", "endpoints": [
                    {"cell": "z_TRELLIS_FF_Q", "port": "DI", "delay": [0.5, 6.9]}]}]}"#,
        )
        .unwrap();
        let f = failing(&v, 6.667, 2).unwrap();
        assert_eq!((f.endpoints, f.groups), (4, 3));
        let names: Vec<_> = f
            .worst
            .iter()
            .map(|g| (g.register.as_str(), g.endpoints))
            .collect();
        assert_eq!(names, [("x:CE", 1), ("x", 2)]);
        assert_eq!(f.worst[1].worst_ns, 7.5);
        assert_eq!(failing(&v, 9.0, 5).unwrap().endpoints, 0);
        assert!(failing(&serde_json::json!({"fmax": {}}), 6.0, 5).is_none());
    }
}
