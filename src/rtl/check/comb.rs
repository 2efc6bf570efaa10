//! Combinational loops, found through instances too: each module's port-to-port
//! combinational paths are computed once (submodules first) and used where it is instantiated.

use std::collections::{BTreeMap, BTreeSet};

use super::names::{FastMap, SymbolTable};
use crate::rtl::design::{Conn, Dir, Module};
use crate::rtl::expr::Expr;

/// For each output port, the input ports it depends on combinationally.
pub(super) type CombPaths = BTreeMap<String, BTreeSet<String>>;

/// Port-to-port paths of `m`, given those of its submodules; fails on a combinational loop,
/// naming a net on it.
/// About 90 lines: building the dependency graph, the loop search and the port reachability
/// share the graph's indexes.
pub(super) fn comb_paths(
    m: &Module,
    table: &SymbolTable,
    subs: &FastMap<&str, CombPaths>,
) -> Result<CombPaths, String> {
    // Nets (ports and wires) are the table's first entries; registers and memories break paths.
    let n = table.nets();
    let mut deps: Vec<Vec<u32>> = vec![Vec::new(); n];
    let refs_into = |e: &Expr, out: &mut Vec<u32>| {
        e.for_each_ref(&mut |name, _| {
            if let Some(id) = table.id(name).filter(|&id| (id as usize) < n) {
                out.push(id);
            }
        })
    };
    for a in &m.assigns {
        if let Some(t) = table.id(&a.target) {
            refs_into(&a.expr, &mut deps[t as usize]);
        }
    }
    for inst in &m.instances {
        let Some(paths) = subs.get(inst.module.as_str()) else {
            continue;
        };
        for (port, conn) in &inst.conns {
            let Conn::Output(w) = conn else { continue };
            // Most outputs are registered: no combinational inputs, nothing to add.
            let Some(inputs) = paths.get(port).filter(|s| !s.is_empty()) else {
                continue;
            };
            let Some(t) = table.id(w) else { continue };
            for (in_port, in_conn) in &inst.conns {
                if let Conn::Input(e) = in_conn {
                    if inputs.contains(in_port) {
                        refs_into(e, &mut deps[t as usize]);
                    }
                }
            }
        }
    }

    // Loop detection: iterative DFS with colours (0 new, 1 on the stack, 2 done).
    let mut color = vec![0u8; n];
    for start in 0..n {
        if color[start] != 0 {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        color[start] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&d) = deps[node].get(*next) {
                *next += 1;
                let d = d as usize;
                match color[d] {
                    0 => {
                        color[d] = 1;
                        stack.push((d, 0));
                    }
                    1 => {
                        let name = net_name(m, d);
                        return Err(format!("combinational loop through {name}"));
                    }
                    _ => {}
                }
            } else {
                color[node] = 2;
                stack.pop();
            }
        }
    }

    // Port-to-port paths: from each output port, the input ports reached.
    let mut paths = CombPaths::new();
    for (i, p) in m.ports.iter().enumerate() {
        if p.dir != Dir::Output {
            continue;
        }
        let mut seen = vec![false; n];
        let mut stack = vec![i];
        let mut inputs = BTreeSet::new();
        while let Some(node) = stack.pop() {
            if std::mem::replace(&mut seen[node], true) {
                continue;
            }
            if node < m.ports.len() && m.ports[node].dir == Dir::Input {
                inputs.insert(m.ports[node].name.clone());
            }
            stack.extend(deps[node].iter().map(|&d| d as usize).filter(|&d| !seen[d]));
        }
        paths.insert(p.name.clone(), inputs);
    }
    Ok(paths)
}

/// Name of net number `id` (ports first, then wires).
fn net_name(m: &Module, id: usize) -> &str {
    if id < m.ports.len() {
        &m.ports[id].name
    } else {
        &m.wires[id - m.ports.len()].name
    }
}
