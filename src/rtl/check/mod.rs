//! Structural checks on a [`Design`]: names, types, single drivers, instance connections and
//! combinational loops (also through instances). Generators run it before anything is emitted,
//! so a broken generator fails here with a precise message rather than in a downstream tool.

mod comb;
mod names;
mod types;

use std::collections::BTreeSet;

use comb::{comb_paths, CombPaths};
pub(crate) use names::is_identifier;
use names::{FastMap, Kind, SymbolTable};
use types::ty_error;

use super::design::{Conn, Design, Dir, Module, Port};
use super::expr::Ty;

/// One problem the checks found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckError {
    /// A problem of the design as a whole: a module defined twice, a missing top, recursion.
    Design(String),
    /// A problem inside `module`.
    Module {
        /// The module.
        module: String,
        /// The item at fault ("assign y", "register r", "instance u0"), if one is.
        item: Option<String>,
        /// What is wrong.
        problem: String,
    },
}

impl CheckError {
    /// A problem in module `module`, not tied to one item.
    pub(crate) fn in_module(module: &str, problem: String) -> CheckError {
        CheckError::Module {
            module: module.to_string(),
            item: None,
            problem,
        }
    }
}

impl std::fmt::Display for CheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckError::Design(problem) => f.write_str(problem),
            CheckError::Module {
                module,
                item: Some(item),
                problem,
            } => write!(f, "{module}: {item}: {problem}"),
            CheckError::Module {
                module, problem, ..
            } => write!(f, "{module}: {problem}"),
        }
    }
}

/// Checks the whole design; returns every problem found.
pub fn check_design(design: &Design) -> Result<(), Vec<CheckError>> {
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for m in &design.modules {
        if !seen.insert(m.name.as_str()) {
            errors.push(CheckError::Design(format!(
                "module {} is defined twice",
                m.name
            )));
        }
    }
    if design.module(&design.top).is_none() {
        errors.push(CheckError::Design(format!(
            "top module {} is not defined",
            design.top
        )));
    }
    let index = Index::new(design);
    let order = match instantiation_order(&index) {
        Ok(order) => order,
        Err(e) => {
            errors.push(CheckError::Design(e));
            return Err(errors);
        }
    };
    let mut comb: FastMap<&str, CombPaths> = FastMap::default();
    for name in order {
        let (m, _) = index.modules[name];
        let before = errors.len();
        let table = SymbolTable::build(m, &mut errors);
        ModuleCheck::run(&index, m, &table, &mut errors);
        if errors.len() == before {
            match comb_paths(m, &table, &comb) {
                Ok(paths) => {
                    comb.insert(name, paths);
                }
                Err(e) => errors.push(CheckError::in_module(&m.name, e)),
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

/// The checks of one module's items: types, drivers, memories and instance connections.
struct ModuleCheck<'a, 'b> {
    index: &'b Index<'a>,
    m: &'a Module,
    table: &'b SymbolTable<'a>,
    errors: &'b mut Vec<CheckError>,
    /// Drivers per net id.
    drivers: Vec<u32>,
}

impl<'a, 'b> ModuleCheck<'a, 'b> {
    fn run(
        index: &'b Index<'a>,
        m: &'a Module,
        table: &'b SymbolTable<'a>,
        errors: &'b mut Vec<CheckError>,
    ) {
        let mut c = ModuleCheck {
            index,
            m,
            table,
            errors,
            drivers: vec![0; table.len()],
        };
        if !is_identifier(&m.name) {
            c.errors.push(CheckError::Design(format!(
                "module name {:?} is not a legal identifier",
                m.name
            )));
        }
        if m.is_sequential() {
            for clk in ["clk", "rst"] {
                if table.get(clk) != Some((Kind::Input, Ty::BIT)) {
                    c.err(
                        "state",
                        format!("registers or memories but no 1-bit input {clk}"),
                    );
                }
            }
        }
        c.assigns();
        c.regs();
        c.memories();
        for inst in &m.instances {
            c.instance(inst);
        }
        c.single_drivers();
    }

    fn err(&mut self, item: impl Into<String>, problem: String) {
        self.errors.push(CheckError::Module {
            module: self.m.name.clone(),
            item: Some(item.into()),
            problem,
        });
    }

    /// Reports `expr`'s type error against `ty`, prefixed by `label`, on `item`.
    fn ty(&mut self, item: &str, label: &str, expr: &crate::rtl::Expr, ty: Ty) {
        if let Some(msg) = ty_error(self.table, expr, ty) {
            let msg = if label.is_empty() {
                msg
            } else {
                format!("{label}: {msg}")
            };
            self.err(item, msg);
        }
    }

    fn drive(&mut self, name: &str) {
        if let Some(id) = self.table.id(name) {
            self.drivers[id as usize] += 1;
        }
    }

    fn assigns(&mut self) {
        for a in &self.m.assigns {
            let what = format!("assign {}", a.target);
            match self.table.get(&a.target) {
                Some((Kind::Wire | Kind::Output, ty)) => {
                    self.ty(&what, "", &a.expr, ty);
                    self.drive(&a.target);
                }
                Some((kind, _)) => self.err(what, format!("target is a {kind:?}")),
                None => self.err(what, "target is not declared".into()),
            }
        }
    }

    fn regs(&mut self) {
        for r in &self.m.regs {
            let what = format!("register {}", r.name);
            self.ty(&what, "", &r.next, r.ty);
            if let Some(en) = &r.enable {
                self.ty(&what, "enable", en, Ty::BIT);
            }
            if let Some(c) = r.reset.as_ref().filter(|c| c.ty != r.ty) {
                let msg = format!("reset value is {}, register is {}", c.ty, r.ty);
                self.err(what, msg);
            }
        }
    }

    fn memories(&mut self) {
        for mem in &self.m.memories {
            let what = format!("memory {}", mem.name);
            if mem.depth < 2 || mem.width == 0 {
                self.err(what, "needs depth >= 2 and width >= 1".into());
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
                    let msg = format!(
                        "initial contents must be {} words of {}",
                        mem.depth,
                        mem.data_ty()
                    );
                    self.err(what.clone(), msg);
                }
            } else if mem.write.is_none() {
                self.err(
                    what.clone(),
                    "has neither a write port nor initial contents".into(),
                );
            }
            for (label, e, ty) in ports {
                self.ty(&what, label, e, ty);
            }
        }
    }

    fn instance(&mut self, inst: &crate::rtl::Instance) {
        let what = format!("instance {}", inst.name);
        let Some((sub, sub_ports)) = self.index.modules.get(inst.module.as_str()) else {
            self.err(what, format!("module {} is not defined", inst.module));
            return;
        };
        let mut connected = vec![false; sub.ports.len()];
        for (port, conn) in &inst.conns {
            let Some(&(pi, p)) = sub_ports.get(port.as_str()) else {
                self.err(what.clone(), format!("{} has no port {port}", sub.name));
                continue;
            };
            if std::mem::replace(&mut connected[pi], true) {
                self.err(what.clone(), format!("port {port} connected twice"));
            }
            match (p.dir, conn) {
                (Dir::Input, Conn::Input(e)) => self.ty(&what, &format!("port {port}"), e, p.ty),
                (Dir::Output, Conn::Output(w)) => match self.table.get(w) {
                    Some((Kind::Wire | Kind::Output, ty)) if ty == p.ty => self.drive(w),
                    Some((_, ty)) => self.err(
                        what.clone(),
                        format!("port {port} drives {w} ({ty}), port is {}", p.ty),
                    ),
                    None => self.err(what.clone(), format!("port {port}: {w} is not declared")),
                },
                _ => self.err(
                    what.clone(),
                    format!("port {port} connected in the wrong direction"),
                ),
            }
        }
        for (p, done) in sub.ports.iter().zip(connected) {
            if !done {
                self.err(what.clone(), format!("port {} is not connected", p.name));
            }
        }
    }

    /// Every net but an input has exactly one driver.
    fn single_drivers(&mut self) {
        let m = self.m;
        let net_names = m
            .ports
            .iter()
            .map(|p| &p.name)
            .chain(m.wires.iter().map(|w| &w.name));
        for (id, name) in net_names.enumerate() {
            if self.table.kind(id as u32) == Kind::Input {
                continue;
            }
            match self.drivers[id] {
                1 => {}
                0 => self.errors.push(CheckError::in_module(
                    &m.name,
                    format!("{name} has no driver"),
                )),
                n => self.errors.push(CheckError::in_module(
                    &m.name,
                    format!("{name} has {n} drivers"),
                )),
            }
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
            errs.iter()
                .any(|e| e.to_string().contains("y has 2 drivers")),
            "{errs:?}"
        );
        assert!(
            errs.iter()
                .any(|e| e.to_string().contains("w has no driver")),
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
            errs[0]
                .to_string()
                .contains("expression is u4, expected u5"),
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
        assert!(
            errs[0].to_string().contains("combinational loop"),
            "{errs:?}"
        );
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
        assert!(
            errs[0].to_string().contains("combinational loop"),
            "{errs:?}"
        );
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
            errs.iter()
                .any(|e| e.to_string().contains("port o is not connected")),
            "{errs:?}"
        );
    }
}
