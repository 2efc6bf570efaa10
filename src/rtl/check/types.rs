//! Expression typing: recomputes every expression's type and enforces the operand rules of
//! [`crate::rtl::expr`] against the declared signals.

use super::names::{Kind, SymbolTable};
use crate::rtl::expr::{BinOp, Expr, Ty, UnOp};

/// `None` if `e` is well typed and of type `want`, else what is wrong.
pub(super) fn ty_error(sym: &SymbolTable, e: &Expr, want: Ty) -> Option<String> {
    match expr_ty(sym, e) {
        Ok(t) if t == want => None,
        Ok(t) => Some(format!("expression is {t}, expected {want}")),
        Err(msg) => Some(msg),
    }
}

fn lookup(sym: &SymbolTable, name: &str, ty: Ty) -> Result<(), String> {
    match sym.get(name) {
        Some((Kind::Memory | Kind::Instance, _)) => Err(format!("{name} is not a signal")),
        Some((_, t)) if t == ty => Ok(()),
        Some((_, t)) => Err(format!("{name} is declared {t} but referenced as {ty}")),
        None => Err(format!("{name} is not declared")),
    }
}

/// Recomputes the type of `e`, enforcing the operand rules of [`crate::rtl::expr`].
pub(super) fn expr_ty(sym: &SymbolTable, e: &Expr) -> Result<Ty, String> {
    Ok(match e {
        Expr::Const(c) => {
            if c.ty.width == 0 {
                return Err("zero-width constant".into());
            }
            c.ty
        }
        Expr::Ref { name, ty } => {
            lookup(sym, name, *ty)?;
            *ty
        }
        Expr::Slice {
            name,
            src,
            hi,
            lo,
            signed,
        } => {
            lookup(sym, name, *src)?;
            if hi < lo || *hi >= src.width {
                return Err(format!("{name}[{hi}:{lo}] is out of range for {src}"));
            }
            Ty::new(hi - lo + 1, *signed)
        }
        Expr::Ext { name, src, width } => {
            lookup(sym, name, *src)?;
            if *width <= src.width {
                return Err(format!(
                    "extension of {name} to {width} bits does not widen"
                ));
            }
            Ty::new(*width, src.signed)
        }
        Expr::Cast { arg, signed } => Ty::new(expr_ty(sym, arg)?.width, *signed),
        Expr::Concat(parts) => {
            let mut w = 0;
            for p in parts {
                w += expr_ty(sym, p)?.width;
            }
            Ty::unsigned(w)
        }
        Expr::Unary { op, arg } => {
            let t = expr_ty(sym, arg)?;
            match op {
                UnOp::Not | UnOp::Neg => t,
                UnOp::RedOr | UnOp::RedAnd => Ty::BIT,
            }
        }
        Expr::Binary { op, lhs, rhs } => {
            let (l, r) = (expr_ty(sym, lhs)?, expr_ty(sym, rhs)?);
            if op.is_shift() {
                if r.signed {
                    return Err("shift amount is signed".into());
                }
                l
            } else if l != r {
                return Err(format!("{op:?} of {l} and {r}"));
            } else if op.is_compare() {
                Ty::BIT
            } else {
                if *op == BinOp::Mul && l.width > 128 {
                    return Err("multiplication wider than 128 bits".into());
                }
                l
            }
        }
        Expr::Mux { sel, t, f } => {
            let s = expr_ty(sym, sel)?;
            let (a, b) = (expr_ty(sym, t)?, expr_ty(sym, f)?);
            if s != Ty::BIT {
                return Err(format!("mux select is {s}"));
            }
            if a != b {
                return Err(format!("mux branches are {a} and {b}"));
            }
            a
        }
    })
}
