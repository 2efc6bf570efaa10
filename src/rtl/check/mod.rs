//! Structural checks on a [`Design`]: names, types, single drivers, instance connections and
//! combinational loops (also through instances). Generators run it before anything is emitted,
//! so a broken generator fails here with a precise message rather than in a downstream tool.

mod comb;
mod names;
mod types;

use std::collections::BTreeSet;

use comb::{comb_paths, CombPaths};
pub use names::is_identifier;
use names::{FastMap, Kind, SymbolTable};
use types::ty_error;

use super::design::{Conn, Design, Dir, Module, Port};
use super::expr::Ty;

/// Checks the whole design; returns every problem found, one line each.
pub fn check_design(design: &Design) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for m in &design.modules {
        if !seen.insert(m.name.as_str()) {
            errors.push(format!("module {} is defined twice", m.name));
        }
    }
    if design.module(&design.top).is_none() {
        errors.push(format!("top module {} is not defined", design.top));
    }
    let index = Index::new(design);
    let order = match instantiation_order(&index) {
        Ok(order) => order,
        Err(e) => {
            errors.push(e);
            return Err(errors);
        }
    };
    let mut comb: FastMap<&str, CombPaths> = FastMap::default();
    for name in order {
        let (m, _) = index.modules[name];
        let before = errors.len();
        let table = SymbolTable::build(m, &mut errors);
        check_module(&index, m, &table, &mut errors);
        if errors.len() == before {
            match comb_paths(m, &table, &comb) {
                Ok(paths) => {
                    comb.insert(name, paths);
                }
                Err(e) => errors.push(e),
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// A module's ports by name, with their position.
type PortMap<'a> = FastMap<&'a str, (usize, &'a Port)>;

/// Modules by name, with their port maps, built once per design.
struct Index<'a> {
    modules: FastMap<&'a str, (&'a Module, PortMap<'a>)>,
}

impl<'a> Index<'a> {
    fn new(design: &'a Design) -> Index<'a> {
        let modules = design
            .modules
            .iter()
            .map(|m| {
                let ports = m
                    .ports
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (p.name.as_str(), (i, p)))
                    .collect();
                (m.name.as_str(), (m, ports))
            })
            .collect();
        Index { modules }
    }
}

/// Defined modules ordered so that each comes after the modules it instantiates (undefined
/// ones are reported by `check_module`). Fails on recursive instantiation.
fn instantiation_order<'a>(index: &Index<'a>) -> Result<Vec<&'a str>, String> {
    let mut names: Vec<&str> = index.modules.keys().copied().collect();
    names.sort();
    let mut state: FastMap<&str, u8> = FastMap::default(); // 1 = visiting, 2 = done
    let mut order = Vec::new();
    for name in names {
        visit(index, name, &mut state, &mut order)?;
    }
    Ok(order)
}

fn visit<'a>(
    index: &Index<'a>,
    name: &'a str,
    state: &mut FastMap<&'a str, u8>,
    order: &mut Vec<&'a str>,
) -> Result<(), String> {
    match state.get(name) {
        Some(2) => return Ok(()),
        Some(_) => return Err(format!("module {name} instantiates itself (recursion)")),
        None => {}
    }
    state.insert(name, 1);
    let (m, _) = index.modules[name];
    let subs: BTreeSet<&str> = m.instances.iter().map(|i| i.module.as_str()).collect();
    for s in subs {
        if let Some((&key, _)) = index.modules.get_key_value(s) {
            visit(index, key, state, order)?;
        }
    }
    state.insert(name, 2);
    order.push(name);
    Ok(())
}

fn check_module(index: &Index, m: &Module, table: &SymbolTable, errors: &mut Vec<String>) {
    if !is_identifier(&m.name) {
        errors.push(format!(
            "module name {:?} is not a legal identifier",
            m.name
        ));
    }
    let mut err = |what: &dyn Fn() -> String, msg: String| {
        errors.push(format!("{}: {}: {msg}", m.name, what()));
    };
    if m.is_sequential() {
        for clk in ["clk", "rst"] {
            if table.get(clk) != Some((Kind::Input, Ty::BIT)) {
                err(
                    &|| "state".into(),
                    format!("registers or memories but no 1-bit input {clk}"),
                );
            }
        }
    }
    let mut drivers = vec![0u32; table.len()];
    let mut drive = |name: &str| {
        if let Some(id) = table.id(name) {
            drivers[id as usize] += 1;
        }
    };
    for a in &m.assigns {
        let what = || format!("assign {}", a.target);
        match table.get(&a.target) {
            Some((Kind::Wire | Kind::Output, ty)) => {
                if let Some(msg) = ty_error(table, &a.expr, ty) {
                    err(&what, msg);
                }
                drive(&a.target);
            }
            Some((kind, _)) => err(&what, format!("target is a {kind:?}")),
            None => err(&what, "target is not declared".into()),
        }
    }
    for r in &m.regs {
        let what = || format!("register {}", r.name);
        if let Some(msg) = ty_error(table, &r.next, r.ty) {
            err(&what, msg);
        }
        if let Some(msg) = r
            .enable
            .as_ref()
            .and_then(|en| ty_error(table, en, Ty::BIT))
        {
            err(&what, format!("enable: {msg}"));
        }
        if let Some(c) = r.reset.as_ref().filter(|c| c.ty != r.ty) {
            err(
                &what,
                format!("reset value is {}, register is {}", c.ty, r.ty),
            );
        }
    }
    for mem in &m.memories {
        let what = || format!("memory {}", mem.name);
        if mem.depth < 2 || mem.width == 0 {
            err(&what, "needs depth >= 2 and width >= 1".into());
            continue;
        }
        let addr = Ty::unsigned(crate::rtl::bits_for(u64::from(mem.depth - 1)));
        let mut ports = vec![
            ("read enable", &mem.read_enable, Ty::BIT),
            ("read address", &mem.read_addr, addr),
        ];
        if let Some(w) = &mem.write {
            ports.push(("write enable", &w.enable, Ty::BIT));
            ports.push(("write address", &w.addr, addr));
            ports.push(("write data", &w.data, mem.data_ty()));
        }
        if let Some(init) = &mem.init {
            if init.len() != mem.depth as usize || init.iter().any(|c| c.ty != mem.data_ty()) {
                err(
                    &what,
                    format!(
                        "initial contents must be {} words of {}",
                        mem.depth,
                        mem.data_ty()
                    ),
                );
            }
        } else if mem.write.is_none() {
            err(
                &what,
                "has neither a write port nor initial contents".into(),
            );
        }
        for (label, e, ty) in ports {
            if let Some(msg) = ty_error(table, e, ty) {
                err(&what, format!("{label}: {msg}"));
            }
        }
    }
    for inst in &m.instances {
        let what = || format!("instance {}", inst.name);
        let Some((sub, sub_ports)) = index.modules.get(inst.module.as_str()) else {
            err(&what, format!("module {} is not defined", inst.module));
            continue;
        };
        let mut connected = vec![false; sub.ports.len()];
        for (port, conn) in &inst.conns {
            let Some(&(pi, p)) = sub_ports.get(port.as_str()) else {
                err(&what, format!("{} has no port {port}", sub.name));
                continue;
            };
            if std::mem::replace(&mut connected[pi], true) {
                err(&what, format!("port {port} connected twice"));
            }
            match (p.dir, conn) {
                (Dir::Input, Conn::Input(e)) => {
                    if let Some(msg) = ty_error(table, e, p.ty) {
                        err(&what, format!("port {port}: {msg}"));
                    }
                }
                (Dir::Output, Conn::Output(w)) => match table.get(w) {
                    Some((Kind::Wire | Kind::Output, ty)) if ty == p.ty => drive(w),
                    Some((_, ty)) => err(
                        &what,
                        format!("port {port} drives {w} ({ty}), port is {}", p.ty),
                    ),
                    None => err(&what, format!("port {port}: {w} is not declared")),
                },
                _ => err(
                    &what,
                    format!("port {port} connected in the wrong direction"),
                ),
            }
        }
        for (p, done) in sub.ports.iter().zip(connected) {
            if !done {
                err(&what, format!("port {} is not connected", p.name));
            }
        }
    }
    let net_names = m
        .ports
        .iter()
        .map(|p| &p.name)
        .chain(m.wires.iter().map(|w| &w.name));
    for (id, name) in net_names.enumerate() {
        if table.kind(id as u32) == Kind::Input {
            continue;
        }
        match drivers[id] {
            1 => {}
            0 => errors.push(format!("{}: {name} has no driver", m.name)),
            n => errors.push(format!("{}: {name} has {n} drivers", m.name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtl::builder::ModuleBuilder;
    use crate::rtl::expr::Expr;

    fn design(modules: Vec<Module>) -> Design {
        Design {
            top: modules[0].name.clone(),
            header: vec![],
            modules,
        }
    }

    #[test]
    fn accepts_a_simple_register() {
        let mut b = ModuleBuilder::new("m");
        b.clock_and_reset();
        let a = b.input("a", Ty::unsigned(4), "");
        b.output("y", Ty::unsigned(4), "");
        let q = b.delay("q", a);
        b.assign("y", q);
        assert_eq!(check_design(&design(vec![b.finish()])), Ok(()));
    }

    #[test]
    fn finds_two_drivers_and_undriven_wires() {
        let mut b = ModuleBuilder::new("m");
        let a = b.input("a", Ty::BIT, "");
        b.output("y", Ty::BIT, "");
        b.declare_wire("w", Ty::BIT);
        b.assign("y", a.clone());
        b.assign("y", a.not());
        let errs = check_design(&design(vec![b.finish()])).unwrap_err();
        assert!(
            errs.iter().any(|e| e.contains("y has 2 drivers")),
            "{errs:?}"
        );
        assert!(
            errs.iter().any(|e| e.contains("w has no driver")),
            "{errs:?}"
        );
    }

    #[test]
    fn finds_width_mismatch() {
        let mut b = ModuleBuilder::new("m");
        let a = b.input("a", Ty::unsigned(4), "");
        b.output("y", Ty::unsigned(5), "");
        b.assign("y", a);
        let errs = check_design(&design(vec![b.finish()])).unwrap_err();
        assert!(
            errs[0].contains("expression is u4, expected u5"),
            "{errs:?}"
        );
    }

    #[test]
    fn finds_a_combinational_loop() {
        let mut b = ModuleBuilder::new("m");
        let a = b.input("a", Ty::BIT, "");
        b.output("y", Ty::BIT, "");
        let w2 = Expr::sig("w2", Ty::BIT);
        let w1 = b.wire("w1", a.and(w2));
        b.wire("w2", w1.clone().not());
        b.assign("y", w1);
        let errs = check_design(&design(vec![b.finish()])).unwrap_err();
        assert!(errs[0].contains("combinational loop"), "{errs:?}");
    }

    #[test]
    fn finds_a_loop_through_an_instance() {
        let mut inner = ModuleBuilder::new("inv");
        let i = inner.input("i", Ty::BIT, "");
        inner.output("o", Ty::BIT, "");
        inner.assign("o", i.not());
        let mut top = ModuleBuilder::new("top");
        top.output("y", Ty::BIT, "");
        let w = top.declare_wire("w", Ty::BIT);
        top.instance(
            "u",
            "inv",
            vec![
                ("i", Conn::Input(w.clone())),
                ("o", Conn::Output("w".into())),
            ],
        );
        top.assign("y", w);
        let errs = check_design(&design(vec![top.finish(), inner.finish()])).unwrap_err();
        assert!(errs[0].contains("combinational loop"), "{errs:?}");
    }

    #[test]
    fn registers_break_loops_and_ports_must_all_connect() {
        let mut inner = ModuleBuilder::new("ff");
        inner.clock_and_reset();
        let i = inner.input("i", Ty::BIT, "");
        inner.output("o", Ty::BIT, "");
        let q = inner.delay("q", i.not());
        inner.assign("o", q);
        let mut top = ModuleBuilder::new("top");
        top.clock_and_reset();
        top.output("y", Ty::BIT, "");
        let w = top.declare_wire("w", Ty::BIT);
        let conns = vec![
            ("clk", Conn::Input(Expr::sig("clk", Ty::BIT))),
            ("rst", Conn::Input(Expr::sig("rst", Ty::BIT))),
            ("i", Conn::Input(w.clone())),
            ("o", Conn::Output("w".into())),
        ];
        top.instance("u", "ff", conns);
        top.assign("y", w);
        let d = design(vec![top.finish(), inner.finish()]);
        assert_eq!(check_design(&d), Ok(()));
        let mut broken = d.clone();
        broken.modules[0].instances[0].conns.pop();
        let errs = check_design(&broken).unwrap_err();
        assert!(
            errs.iter().any(|e| e.contains("port o is not connected")),
            "{errs:?}"
        );
    }
}
