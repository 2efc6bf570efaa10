//! A run-time multiply split for timing: one product per pair of operand limbs (each small
//! enough for one 18 x 18 DSP block), registered, then summed over two more stages. Written as
//! one `*`, Yosys builds the same DSP blocks but sums their outputs in one long carry-chain
//! tree in the same cycle, which limited the npu_core's Fmax.

use crate::rtl::{Expr, ModuleBuilder, Ty};

/// A limb of an operand: bits `lo .. lo + width` of the named signal, signed if it is the top
/// limb of a signed operand.
struct Limb {
    expr: Expr,
    lo: u32,
    ty: Ty,
}

/// The limbs of the named signal `v`, `step` bits each from bit 0, the top one signed if `v`
/// is.
fn limbs(v: &Expr, step: u32) -> Vec<Limb> {
    let ty = v.ty();
    let mut out = Vec::new();
    let mut lo = 0;
    while lo < ty.width {
        let hi = (lo + step).min(ty.width) - 1;
        let top = hi + 1 == ty.width;
        let signed = ty.signed && top;
        out.push(Limb {
            expr: v.slice_as(hi, lo, signed),
            lo,
            ty: Ty::new(hi - lo + 1, signed),
        });
        lo = hi + 1;
    }
    out
}

/// `a * m` (`a` signed or unsigned, `m` unsigned; both named signals) as a `width`-bit value of
/// `a`'s signedness: limb products registered in stage `k`, pairs of them summed in `k + 1`,
/// the rest in `k + 2` (the signal returned, named `s{k+2}_{name}`).
pub(super) fn split_mul(
    b: &mut ModuleBuilder,
    name: &str,
    a: &Expr,
    m: &Expr,
    k: u32,
    width: u32,
) -> Expr {
    let out = Ty::new(width, a.ty().signed);
    // Unsigned products take 18-bit limbs (the DSP's unsigned mode); with a signed operand
    // every unsigned limb must fit an 18-bit signed port, so 17.
    let step = if out.signed { 17 } else { 18 };
    let mut terms = Vec::new();
    for (ia, la) in limbs(a, step).iter().enumerate() {
        for (im, lm) in limbs(m, step).iter().enumerate() {
            let signed = la.ty.signed || lm.ty.signed;
            let w = la.ty.width + lm.ty.width + u32::from(la.ty.signed != lm.ty.signed);
            let operand = |b: &mut ModuleBuilder, l: &Limb, tag: &str| {
                let wire = b.wire(&format!("{name}_{tag}{ia}_{im}"), l.expr.clone());
                let e = wire.ext(w);
                if signed {
                    e.cast(true)
                } else {
                    e
                }
            };
            let (ea, em) = (operand(b, la, "a"), operand(b, lm, "m"));
            let pp = b.delay(&format!("s{k}_{name}_pp{ia}_{im}"), ea.mul(em));
            let full = pp.ext(width).cast(out.signed);
            let shift = la.lo + lm.lo;
            terms.push(if shift == 0 {
                full
            } else {
                full.shl(Expr::lit(i128::from(shift), Ty::unsigned(8)))
            });
        }
    }
    // Stage k + 1: adjacent pairs.
    let pairs: Vec<Expr> = terms
        .chunks(2)
        .enumerate()
        .map(|(i, c)| {
            let sum = match c {
                [x, y] => x.clone().add(y.clone()),
                [x] => x.clone(),
                _ => unreachable!("chunks of two"),
            };
            b.delay(&format!("s{}_{name}_sum{i}", k + 1), sum)
        })
        .collect();
    // Stage k + 2: a balanced tree of the pairs.
    let total = tree(pairs);
    b.delay(&format!("s{}_{name}", k + 2), total)
}

/// The sum of `terms` as a balanced tree (depth log2 of their count).
fn tree(mut terms: Vec<Expr>) -> Expr {
    while terms.len() > 1 {
        terms = terms
            .chunks(2)
            .map(|c| match c {
                [x, y] => x.clone().add(y.clone()),
                [x] => x.clone(),
                _ => unreachable!("chunks of two"),
            })
            .collect();
    }
    terms.pop().expect("at least one term")
}
