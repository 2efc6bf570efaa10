//! A small builder that generators use to construct modules.
//!
//! It hands out typed [`Expr`] references for every declared signal so that generators never
//! spell a type twice, and it keeps the declaration order deterministic (construction order).

use super::design::{Assign, Conn, Dir, Instance, Memory, Module, Port, Reg, Wire};
use super::expr::{Const, Expr, Ty};

/// Builds one [`Module`].
#[derive(Debug)]
pub struct ModuleBuilder {
    module: Module,
}

/// A register declared with [`ModuleBuilder::reg`] whose next state is still to be set.
#[derive(Debug)]
#[must_use = "a declared register needs its next state: call ModuleBuilder::set_next"]
pub struct RegHandle {
    index: usize,
    value: Expr,
}

impl RegHandle {
    /// The register's current value.
    pub fn q(&self) -> Expr {
        self.value.clone()
    }
}

impl ModuleBuilder {
    /// Starts a module called `name`.
    pub fn new(name: impl Into<String>) -> ModuleBuilder {
        ModuleBuilder {
            module: Module {
                name: name.into(),
                ..Module::default()
            },
        }
    }

    /// Appends a line to the module's leading comment.
    pub fn doc(&mut self, line: impl Into<String>) {
        self.module.doc.push(line.into());
    }

    /// Declares the standard `clk` and `rst` inputs and returns nothing (registers use them
    /// implicitly).
    pub fn clock_and_reset(&mut self) {
        self.input("clk", Ty::BIT, "clock, rising edge");
        self.input("rst", Ty::BIT, "synchronous reset, active high");
    }

    fn port(&mut self, name: &str, dir: Dir, ty: Ty, doc: &str) -> Expr {
        self.module.ports.push(Port {
            name: name.to_string(),
            dir,
            ty,
            doc: doc.to_string(),
        });
        Expr::sig(name, ty)
    }

    /// Declares an input port and returns a reference to it.
    pub fn input(&mut self, name: &str, ty: Ty, doc: &str) -> Expr {
        self.port(name, Dir::Input, ty, doc)
    }

    /// Declares an output port; drive it with [`ModuleBuilder::assign`] or an instance output.
    pub fn output(&mut self, name: &str, ty: Ty, doc: &str) -> Expr {
        self.port(name, Dir::Output, ty, doc)
    }

    /// Declares input ports (name, type, doc) in order; returns references to them.
    pub fn inputs<const N: usize>(&mut self, ports: [(&str, Ty, &str); N]) -> [Expr; N] {
        ports.map(|(name, ty, doc)| self.input(name, ty, doc))
    }

    /// Declares output ports (name, type, doc) in order.
    pub fn outputs<const N: usize>(&mut self, ports: [(&str, Ty, &str); N]) {
        for (name, ty, doc) in ports {
            self.output(name, ty, doc);
        }
    }

    /// Declares the ports of an AXI-Stream input `{prefix}_tdata` (of `data`), `_tvalid`
    /// (inputs) and `_tready` (an output to drive), documented by `docs` in that order;
    /// returns (tdata, tvalid).
    pub fn sink(&mut self, prefix: &str, data: Ty, docs: [&str; 3]) -> (Expr, Expr) {
        let d = self.input(&format!("{prefix}_tdata"), data, docs[0]);
        let v = self.input(&format!("{prefix}_tvalid"), Ty::BIT, docs[1]);
        self.output(&format!("{prefix}_tready"), Ty::BIT, docs[2]);
        (d, v)
    }

    /// Declares the ports of an AXI-Stream output `{prefix}_tdata` (of `data`), `_tvalid`
    /// (outputs to drive) and `_tready` (an input), documented by `docs` in that order;
    /// returns tready.
    pub fn source(&mut self, prefix: &str, data: Ty, docs: [&str; 3]) -> Expr {
        self.output(&format!("{prefix}_tdata"), data, docs[0]);
        self.output(&format!("{prefix}_tvalid"), Ty::BIT, docs[1]);
        self.input(&format!("{prefix}_tready"), Ty::BIT, docs[2])
    }

    /// Declares a wire driven by `expr` and returns a reference to it.
    pub fn wire(&mut self, name: &str, expr: Expr) -> Expr {
        let ty = expr.ty();
        self.declare_wire(name, ty);
        self.assign(name, expr);
        Expr::sig(name, ty)
    }

    /// Bits `hi..=lo` of the named signal `sig` as a `signed` value; the bits left out are read
    /// into a wire `{sig}_drop_unused`, so lint sees every bit used (Verilator's default
    /// `--unused-regexp` is `*unused*`). For truncations that discard bits on purpose.
    pub fn keep(&mut self, sig: &Expr, hi: u32, lo: u32, signed: bool) -> Expr {
        let w = sig.ty().width;
        let mut dropped = Vec::new();
        if hi + 1 < w {
            dropped.push(sig.slice(w - 1, hi + 1));
        }
        if lo > 0 {
            dropped.push(sig.slice(lo - 1, 0));
        }
        if !dropped.is_empty() {
            let Expr::Ref { name, .. } = sig else {
                panic!("internal IR error: keep needs a named signal");
            };
            self.wire(&format!("{name}_drop_unused"), Expr::concat(dropped));
        }
        sig.slice_as(hi, lo, signed)
    }

    /// The low `width` bits of any unsigned expression: bound to a wire `name`, then kept
    /// with [`ModuleBuilder::keep`] (the dropped bits read into `name_drop_unused`).
    pub fn truncate(&mut self, name: &str, expr: Expr, width: u32) -> Expr {
        let full = self.wire(name, expr);
        if full.ty().width == width {
            full
        } else {
            self.keep(&full, width - 1, 0, false)
        }
    }

    /// Declares a wire without a driver (for instance outputs).
    pub fn declare_wire(&mut self, name: &str, ty: Ty) -> Expr {
        self.module.wires.push(Wire {
            name: name.to_string(),
            ty,
        });
        Expr::sig(name, ty)
    }

    /// Drives the wire or output port `target` with `expr`.
    pub fn assign(&mut self, target: &str, expr: Expr) {
        self.module.assigns.push(Assign {
            target: target.to_string(),
            expr,
        });
    }

    /// Declares a register reset to zero; its next state is set later with
    /// [`ModuleBuilder::set_next`] (registers often read themselves).
    pub fn reg(&mut self, name: &str, ty: Ty) -> RegHandle {
        self.reg_with_reset(name, ty, Some(Const::zero(ty)))
    }

    /// Declares a register with the given reset value (`None`: no reset).
    pub fn reg_with_reset(&mut self, name: &str, ty: Ty, reset: Option<Const>) -> RegHandle {
        let index = self.module.regs.len();
        self.module.regs.push(Reg {
            name: name.to_string(),
            ty,
            reset,
            enable: None,
            // Placeholder (hold) until set_next; RegHandle is must_use so it gets called.
            next: Expr::sig(name, ty),
            replica: false,
        });
        RegHandle {
            index,
            value: Expr::sig(name, ty),
        }
    }

    /// Sets the next state (and optional enable) of a declared register.
    pub fn set_next(&mut self, reg: RegHandle, next: Expr, enable: Option<Expr>) {
        let r = &mut self.module.regs[reg.index];
        r.next = next;
        r.enable = enable;
    }

    /// Declares a register without reset that loads `next` when `enable` (every cycle with
    /// `None`): data whose value before its first load nothing reads.
    pub fn data_reg(&mut self, name: &str, next: Expr, enable: Option<Expr>) -> Expr {
        let h = self.reg_with_reset(name, next.ty(), None);
        let q = h.q();
        self.set_next(h, next, enable);
        q
    }

    /// Declares a register reset to zero that loads `next` every cycle (a pipeline stage).
    pub fn delay(&mut self, name: &str, next: Expr) -> Expr {
        let h = self.reg(name, next.ty());
        let q = h.q();
        self.set_next(h, next, None);
        q
    }

    /// A [`delay`](Self::delay) that synthesis keeps apart from its identical copies: copies
    /// of one register, each near the logic it feeds, so no single net spans the chip.
    pub fn replica(&mut self, name: &str, next: Expr) -> Expr {
        let q = self.delay(name, next);
        self.module.regs.last_mut().expect("just declared").replica = true;
        q
    }

    /// A [`data_reg`](Self::data_reg) that synthesis keeps apart from its identical copies
    /// (see [`replica`](Self::replica)): a copy of a wide register for one group of its users.
    pub fn replica_when(&mut self, name: &str, next: Expr, enable: Expr) -> Expr {
        let q = self.data_reg(name, next, Some(enable));
        self.module.regs.last_mut().expect("just declared").replica = true;
        q
    }

    /// A chain of `n` [`delay`](Self::delay) stages from `first`, stage k named `name(k)`;
    /// returns every stage, `first` at index 0 (so index k is `first` k cycles late).
    pub fn delays(&mut self, name: impl Fn(u32) -> String, first: Expr, n: u32) -> Vec<Expr> {
        let mut v = vec![first];
        for k in 1..=n {
            let q = self.delay(&name(k), v[k as usize - 1].clone());
            v.push(q);
        }
        v
    }

    /// `first` delayed `n` cycles: the last stage of [`delays`](Self::delays).
    pub fn delayed(&mut self, name: impl Fn(u32) -> String, first: Expr, n: u32) -> Expr {
        self.delays(name, first, n)
            .pop()
            .expect("the chain holds `first`")
    }

    /// Declares a register reset to zero that loads `next` in the cycles `enable` is high
    /// (a value captured and held).
    pub fn delay_when(&mut self, name: &str, next: Expr, enable: Expr) -> Expr {
        let h = self.reg(name, next.ty());
        let q = h.q();
        self.set_next(h, next, Some(enable));
        q
    }

    /// Instantiates `module` as `name`, connecting ports by name. An input driven by anything
    /// but a signal or a constant is first bound to a wire `{name}_{port}`: some tools
    /// (Yosys 0.23) mishandle `$signed(...)` and other expressions in port connections.
    pub fn instance(&mut self, name: &str, module: &str, conns: Vec<(&str, Conn)>) {
        let conns = conns
            .into_iter()
            .map(|(p, c)| {
                let c = match c {
                    Conn::Input(e) if !matches!(e, Expr::Ref { .. } | Expr::Const(_)) => {
                        Conn::Input(self.wire(&format!("{name}_{p}"), e))
                    }
                    other => other,
                };
                (p.to_string(), c)
            })
            .collect();
        self.module.instances.push(Instance {
            name: name.to_string(),
            module: module.to_string(),
            conns,
        });
    }

    /// Adds a memory; its read register is named by `memory.read_data`.
    pub fn memory(&mut self, memory: Memory) -> Expr {
        let data = Expr::sig(memory.read_data.clone(), memory.data_ty());
        self.module.memories.push(memory);
        data
    }

    /// Finishes the module.
    pub fn finish(self) -> Module {
        self.module
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_records_in_order() {
        let mut b = ModuleBuilder::new("m");
        b.clock_and_reset();
        let a = b.input("a", Ty::unsigned(4), "");
        let y = b.output("y", Ty::unsigned(4), "");
        let r = b.reg("r", Ty::unsigned(4));
        let rq = r.q();
        b.set_next(r, a.clone().add(rq.clone()), Some(a.bit(0)));
        b.assign("y", rq);
        let m = b.finish();
        assert_eq!(m.ports.len(), 4);
        assert_eq!(
            m.regs[0].enable,
            Some(Expr::sig("a", Ty::unsigned(4)).bit(0))
        );
        assert_eq!(m.assigns[0].target, "y");
        assert_eq!(y.ty(), Ty::unsigned(4));
    }
}
