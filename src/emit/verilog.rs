//! Verilog-2005 emitter: a printer over the IR.
//!
//! Output is deterministic and independent of construction order: wires, assignments,
//! registers and instances are printed in natural name order (`pe_r2` before `pe_r10`); ports
//! keep their interface order. Expressions are fully parenthesised and every widening is an
//! explicit replication, so the text means what the IR means in any context.

use std::fmt::Write as _;

use super::natural_key;
use crate::rtl::{Conn, Const, Design, Dir, Expr, Instance, Memory, Module, Reg, Ty, UnOp};

/// Indentation unit.
const INDENT: &str = "  ";

/// The whole design as one Verilog file (all modules, top first).
pub fn design_to_verilog(design: &Design) -> String {
    let mut out = String::new();
    write_header(&mut out, &design.header);
    out.push_str(&modules_to_verilog(design));
    out
}

/// The design's modules without the header comment (the config it was generated from): what a
/// simulation model depends on, so designs that differ only in run-time defaults share one.
pub(crate) fn modules_to_verilog(design: &Design) -> String {
    let items: usize = design
        .modules
        .iter()
        .map(|m| m.wires.len() + m.regs.len() + 8 * m.instances.len())
        .sum();
    let mut out = String::with_capacity(64 * items + 4096);
    out.push_str("`default_nettype none\n");
    for m in &design.modules {
        out.push('\n');
        write_module(&mut out, m);
    }
    out.push_str("\n`default_nettype wire\n");
    out
}

/// One module as a file of its own (used for one-module-per-file output).
pub(crate) fn module_to_verilog(header: &[String], m: &Module) -> String {
    let mut out = String::new();
    write_header(&mut out, header);
    out.push_str("`default_nettype none\n\n");
    write_module(&mut out, m);
    out.push_str("\n`default_nettype wire\n");
    out
}

fn write_header(out: &mut String, header: &[String]) {
    for line in header {
        if line.is_empty() {
            out.push_str("//\n");
        } else {
            let _ = writeln!(out, "// {line}");
        }
    }
    if !header.is_empty() {
        out.push('\n');
    }
}

/// `signed [7:0] ` style type prefix for declarations (empty for a 1-bit unsigned signal).
fn decl_ty(ty: Ty) -> String {
    let s = if ty.signed { "signed " } else { "" };
    if ty.width == 1 {
        s.to_string()
    } else {
        format!("{s}[{}:0] ", ty.width - 1)
    }
}

fn sorted_by_name<T>(items: &[T], name: impl Fn(&T) -> &str) -> Vec<&T> {
    let mut v: Vec<&T> = items.iter().collect();
    v.sort_by_cached_key(|x| natural_key(name(x)));
    v
}

fn write_module(out: &mut String, m: &Module) {
    write_module_ports(out, m);
    let wires = sorted_by_name(&m.wires, |w| &w.name);
    let regs = sorted_by_name(&m.regs, |r| &r.name);
    let memories = sorted_by_name(&m.memories, |x| &x.name);
    if !wires.is_empty() || !regs.is_empty() || !memories.is_empty() {
        out.push('\n');
    }
    for w in &wires {
        let _ = writeln!(out, "{INDENT}wire {}{};", decl_ty(w.ty), w.name);
    }
    for r in &regs {
        let _ = writeln!(out, "{INDENT}reg {}{};", decl_ty(r.ty), r.name);
    }
    for mem in &memories {
        if mem.no_rw_check {
            let _ = writeln!(out, "{INDENT}(* no_rw_check *)");
        }
        let _ = writeln!(
            out,
            "{INDENT}reg [{}:0] {} [0:{}];",
            mem.width - 1,
            mem.name,
            mem.depth - 1
        );
        let _ = writeln!(out, "{INDENT}reg [{}:0] {};", mem.width - 1, mem.read_data);
    }

    let assigns = sorted_by_name(&m.assigns, |a| &a.target);
    if !assigns.is_empty() {
        out.push('\n');
    }
    for a in assigns {
        let _ = write!(out, "{INDENT}assign {} = ", a.target);
        write_top(out, &a.expr);
        out.push_str(";\n");
    }
    write_registers(out, &regs);
    for mem in memories {
        write_memory(out, mem);
    }
    write_instances(out, &sorted_by_name(&m.instances, |i| &i.name));
    out.push_str("endmodule\n");
}

/// The module's doc comment and port list, each port with its description.
fn write_module_ports(out: &mut String, m: &Module) {
    for line in &m.doc {
        if line.is_empty() {
            out.push_str("//\n");
        } else {
            let _ = writeln!(out, "// {line}");
        }
    }
    let _ = writeln!(out, "module {} (", m.name);
    let decls: Vec<String> = m
        .ports
        .iter()
        .map(|p| {
            let dir = if p.dir == Dir::Input {
                "input "
            } else {
                "output"
            };
            format!("{dir} wire {}{}", decl_ty(p.ty), p.name)
        })
        .collect();
    let width = decls.iter().map(|d| d.len() + 2).max().unwrap_or(0);
    for (i, (d, p)) in decls.iter().zip(&m.ports).enumerate() {
        let comma = if i + 1 < decls.len() { "," } else { "" };
        if p.doc.is_empty() {
            let _ = writeln!(out, "{INDENT}{d}{comma}");
        } else {
            let _ = writeln!(out, "{INDENT}{:<width$}// {}", format!("{d}{comma}"), p.doc);
        }
    }
    out.push_str(");\n");
}

/// A memory's initial contents and its `always` block: write port, registered read.
fn write_memory(out: &mut String, mem: &Memory) {
    out.push('\n');
    if let Some(init) = &mem.init {
        let _ = writeln!(out, "{INDENT}initial begin");
        for (i, c) in init.iter().enumerate() {
            let _ = writeln!(out, "{INDENT}{INDENT}{}[{i}] = {};", mem.name, konst(c));
        }
        let _ = writeln!(out, "{INDENT}end");
    }
    let _ = writeln!(out, "{INDENT}always @(posedge clk) begin");
    if let Some(w) = &mem.write {
        let _ = writeln!(out, "{INDENT}{INDENT}if ({}) begin", top_expr(&w.enable));
        let _ = writeln!(
            out,
            "{INDENT}{INDENT}{INDENT}{}[{}] <= {};",
            mem.name,
            top_expr(&w.addr),
            top_expr(&w.data)
        );
        let _ = writeln!(out, "{INDENT}{INDENT}end");
    }
    let _ = writeln!(
        out,
        "{INDENT}{INDENT}if ({}) begin",
        top_expr(&mem.read_enable)
    );
    let (rd, raddr) = (&mem.read_data, top_expr(&mem.read_addr));
    let read = format!("{INDENT}{INDENT}{INDENT}{rd} <= {}[{raddr}];", mem.name);
    match (&mem.write, mem.no_rw_check) {
        (Some(w), true) => {
            let _ = writeln!(out, "`ifdef NPUGEN_POISON_COLLISIONS");
            let _ = writeln!(
                out,
                "{INDENT}{INDENT}{INDENT}{rd} <= ({} && {} == {raddr}) ? ~{}[{raddr}] : {}[{raddr}];",
                top_expr(&w.enable),
                top_expr(&w.addr),
                mem.name,
                mem.name
            );
            let _ = writeln!(out, "`else");
            let _ = writeln!(out, "{read}");
            let _ = writeln!(out, "`endif");
        }
        _ => {
            let _ = writeln!(out, "{read}");
        }
    }
    let _ = writeln!(out, "{INDENT}{INDENT}end");
    let _ = writeln!(out, "{INDENT}end");
}

/// Instances, one line each, connected by name.
fn write_instances(out: &mut String, instances: &[&Instance]) {
    if !instances.is_empty() {
        out.push('\n');
    }
    for inst in instances {
        let _ = write!(out, "{INDENT}{} {} (", inst.module, inst.name);
        for (i, (port, c)) in inst.conns.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, ".{port}(");
            match c {
                Conn::Input(e) => write_top(out, e),
                Conn::Output(w) => out.push_str(w),
            }
            out.push(')');
        }
        out.push_str(");\n");
    }
}

/// Registers grouped into one `always` block per (has reset, enable) pair, in name order.
/// A replica gets a block of its own, marked `(* keep *)` (Yosys then keeps the flip-flops
/// it makes apart from identical ones), after the groups.
fn write_registers(out: &mut String, regs: &[&Reg]) {
    let mut groups: Vec<(bool, Option<String>, Vec<&Reg>)> = Vec::new();
    let mut replicas = Vec::new();
    for r in regs {
        let key = (r.reset.is_some(), r.enable.as_ref().map(top_expr));
        if r.replica {
            replicas.push((key.0, key.1, vec![*r]));
            continue;
        }
        match groups.iter_mut().find(|g| (g.0, &g.1) == (key.0, &key.1)) {
            Some(g) => g.2.push(r),
            None => groups.push((key.0, key.1, vec![r])),
        }
    }
    let kept = groups.len();
    groups.extend(replicas);
    for (k, (has_reset, enable, members)) in groups.into_iter().enumerate() {
        out.push('\n');
        if k >= kept {
            let _ = writeln!(out, "{INDENT}(* keep *)");
        }
        let _ = writeln!(out, "{INDENT}always @(posedge clk) begin");
        let body_indent = if has_reset || enable.is_some() { 3 } else { 2 };
        let pad = INDENT.repeat(body_indent);
        if has_reset {
            let _ = writeln!(out, "{INDENT}{INDENT}if (rst) begin");
            for r in &members {
                let c = r.reset.as_ref().expect("grouped by reset");
                let _ = writeln!(out, "{pad}{} <= {};", r.name, konst(c));
            }
            match &enable {
                Some(en) => {
                    let _ = writeln!(out, "{INDENT}{INDENT}end else if ({en}) begin");
                }
                None => {
                    let _ = writeln!(out, "{INDENT}{INDENT}end else begin");
                }
            }
        } else if let Some(en) = &enable {
            let _ = writeln!(out, "{INDENT}{INDENT}if ({en}) begin");
        }
        for r in &members {
            let _ = write!(out, "{pad}{} <= ", r.name);
            write_top(out, &r.next);
            out.push_str(";\n");
        }
        if has_reset || enable.is_some() {
            let _ = writeln!(out, "{INDENT}{INDENT}end");
        }
        let _ = writeln!(out, "{INDENT}end");
    }
}

/// A sized Verilog literal: `8'h0f`, `32'sh0`.
fn konst(c: &Const) -> String {
    let s = if c.ty.signed { "s" } else { "" };
    format!("{}'{s}h{}", c.ty.width, c.hex_digits())
}

/// An expression at statement level (outer parentheses dropped).
fn top_expr(e: &Expr) -> String {
    let mut s = String::new();
    write_top(&mut s, e);
    s
}

/// Writes `e` without its outer parentheses.
fn write_top(out: &mut String, e: &Expr) {
    match e {
        Expr::Unary { .. } | Expr::Binary { .. } | Expr::Mux { .. } => {
            let start = out.len();
            write_expr(out, e);
            // Drop the '(' written first and the ')' written last.
            out.remove(start);
            out.pop();
        }
        _ => write_expr(out, e),
    }
}

fn write_select(out: &mut String, name: &str, hi: u32, lo: u32) {
    if hi == lo {
        let _ = write!(out, "{name}[{hi}]");
    } else {
        let _ = write!(out, "{name}[{hi}:{lo}]");
    }
}

/// Writes `e`, fully parenthesised.
/// One match arm per expression kind (about 100 lines).
fn write_expr(out: &mut String, e: &Expr) {
    match e {
        Expr::Const(c) => out.push_str(&konst(c)),
        Expr::Ref { name, .. } => out.push_str(name),
        Expr::Slice {
            name,
            src,
            hi,
            lo,
            signed,
        } => {
            if *signed {
                out.push_str("$signed(");
            }
            if src.width == 1 {
                out.push_str(name);
            } else {
                write_select(out, name, *hi, *lo);
            }
            if *signed {
                out.push(')');
            }
        }
        Expr::Ext { name, src, width } => {
            let n = width - src.width;
            if src.signed {
                let _ = write!(out, "$signed({{{{{n}{{");
                if src.width == 1 {
                    out.push_str(name);
                } else {
                    let _ = write!(out, "{name}[{}]", src.width - 1);
                }
                let _ = write!(out, "}}}}, {name}}})");
            } else {
                let _ = write!(out, "{{{{{n}{{1'b0}}}}, {name}}}");
            }
        }
        Expr::Cast { arg, signed } => {
            out.push_str(if *signed { "$signed(" } else { "$unsigned(" });
            write_top(out, arg);
            out.push(')');
        }
        Expr::Concat(parts) => {
            out.push('{');
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_expr(out, p);
            }
            out.push('}');
        }
        Expr::Unary { op, arg } => {
            out.push('(');
            out.push_str(match op {
                UnOp::Not => "~",
                UnOp::Neg => "-",
                UnOp::RedOr => "|",
                UnOp::RedAnd => "&",
            });
            write_expr(out, arg);
            out.push(')');
        }
        Expr::Binary { op, lhs, rhs } => {
            use crate::rtl::BinOp::*;
            let o = match op {
                Add => "+",
                Sub => "-",
                Mul => "*",
                And => "&",
                Or => "|",
                Xor => "^",
                Eq => "==",
                Ne => "!=",
                Lt => "<",
                Le => "<=",
                Gt => ">",
                Ge => ">=",
                Shl => "<<",
                Shr if lhs.ty().signed => ">>>",
                Shr => ">>",
            };
            out.push('(');
            write_expr(out, lhs);
            let _ = write!(out, " {o} ");
            write_expr(out, rhs);
            out.push(')');
        }
        Expr::Mux { sel, t, f } => {
            out.push('(');
            write_expr(out, sel);
            out.push_str(" ? ");
            write_expr(out, t);
            out.push_str(" : ");
            write_expr(out, f);
            out.push(')');
        }
    }
}

/// `e` fully parenthesised, as a string (tests).
#[cfg(test)]
fn expr(e: &Expr) -> String {
    let mut s = String::new();
    write_expr(&mut s, e);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtl::ModuleBuilder;

    #[test]
    fn expressions_print_with_explicit_widening() {
        let a = Expr::sig("a", Ty::signed(8));
        let u = Expr::sig("u", Ty::unsigned(4));
        assert_eq!(expr(&a.ext(16)), "$signed({{8{a[7]}}, a})");
        assert_eq!(expr(&u.ext(6)), "{{2{1'b0}}, u}");
        assert_eq!(expr(&u.slice_as(3, 2, true)), "$signed(u[3:2])");
        assert_eq!(konst(&Const::from_i128(-1, Ty::signed(8))), "8'shff");
        let m = Expr::mux(u.bit(0), a.clone(), Expr::zero(Ty::signed(8)));
        assert_eq!(top_expr(&m), "u[0] ? a : 8'sh0");
        assert_eq!(top_expr(&a.clone().shr(u.clone())), "a >>> u");
    }

    #[test]
    fn module_prints_sorted_and_grouped() {
        let mut b = ModuleBuilder::new("m");
        b.clock_and_reset();
        let a = b.input("a", Ty::unsigned(4), "data in");
        b.output("y", Ty::unsigned(4), "data out");
        let q10 = b.delay("q10", a.clone());
        let q2 = b.delay("q2", q10);
        b.assign("y", q2);
        let v = design_to_verilog(&Design {
            top: "m".into(),
            header: vec!["hdr".into()],
            modules: vec![b.finish()],
        });
        assert!(v.starts_with("// hdr\n\n`default_nettype none\n"));
        let q2_at = v.find("reg [3:0] q2;").unwrap();
        let q10_at = v.find("reg [3:0] q10;").unwrap();
        assert!(q2_at < q10_at, "natural order:\n{v}");
        assert_eq!(v.matches("always @(posedge clk)").count(), 1, "{v}");
        assert!(v.contains("      q10 <= 4'h0;\n"), "{v}");
        assert!(v.ends_with("endmodule\n\n`default_nettype wire\n"));
    }

    #[test]
    fn replicas_get_kept_blocks_of_their_own() {
        let mut b = ModuleBuilder::new("m");
        b.clock_and_reset();
        let a = b.input("a", Ty::BIT, "data in");
        b.output("y", Ty::unsigned(3), "data out");
        let r1 = b.replica("r1", a.clone());
        let r2 = b.replica("r2", a.clone());
        let q = b.delay("q", a);
        b.assign("y", Expr::concat(vec![r1, r2, q]));
        let v = design_to_verilog(&Design {
            top: "m".into(),
            header: vec![],
            modules: vec![b.finish()],
        });
        assert_eq!(v.matches("always @(posedge clk)").count(), 3, "{v}");
        assert_eq!(
            v.matches("(* keep *)\n  always @(posedge clk)").count(),
            2,
            "{v}"
        );
        // The plain register's group comes first, each replica in a block after it.
        let (q_at, r1_at) = (v.find("q <= a;").unwrap(), v.find("r1 <= a;").unwrap());
        assert!(q_at < r1_at && r1_at < v.find("r2 <= a;").unwrap(), "{v}");
    }

    #[test]
    fn enabled_replicas_keep_their_enable_in_their_own_block() {
        let mut b = ModuleBuilder::new("m");
        b.clock_and_reset();
        let a = b.input("a", Ty::unsigned(4), "data in");
        let en = b.input("en", Ty::BIT, "load");
        b.output("y", Ty::unsigned(8), "data out");
        let r = b.replica_when("r", a.clone(), en.clone());
        let q = b.data_reg("q", a, Some(en));
        b.assign("y", Expr::concat(vec![r, q]));
        let v = design_to_verilog(&Design {
            top: "m".into(),
            header: vec![],
            modules: vec![b.finish()],
        });
        // Same next value and enable, yet two blocks, the replica's kept, each with the enable.
        assert_eq!(v.matches("always @(posedge clk)").count(), 2, "{v}");
        assert_eq!(v.matches("(* keep *)").count(), 1, "{v}");
        assert_eq!(v.matches("if (en)").count(), 2, "{v}");
        let kept = v.find("(* keep *)").unwrap();
        assert!(
            v[kept..].contains("r <= a;") && !v[kept..].contains("q <= a;"),
            "{v}"
        );
    }
}
