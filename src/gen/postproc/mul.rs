//! A run-time multiply split for timing: one product per pair of operand limbs (each small
//! enough for one 18 x 18 DSP block), registered, then summed over two more stages. Written as
//! one `*`, Yosys builds the same DSP blocks but sums their outputs in one long carry-chain
//! tree in the same cycle, which limited the npu_core's Fmax.

use crate::rtl::{Expr, ModuleBuilder, Ty};

/// A limb of an operand: a wire holding bits `lo ..` of it, signed if it is the top limb of a
/// signed operand.
struct Limb {
    wire: Expr,
    lo: u32,
}

/// The limbs of the named signal `v`, `step` bits each from bit 0, the top one signed if `v`
/// is, each bound to a wire `{name}{i}`.
fn limbs(b: &mut ModuleBuilder, name: &str, v: &Expr, step: u32) -> Vec<Limb> {
    let ty = v.ty();
    let mut out = Vec::new();
    let mut lo = 0;
    while lo < ty.width {
        let hi = (lo + step).min(ty.width) - 1;
        let signed = ty.signed && hi + 1 == ty.width;
        let wire = b.wire(&format!("{name}{}", out.len()), v.slice_as(hi, lo, signed));
        out.push(Limb { wire, lo });
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
    let (a_limbs, m_limbs) = (
        limbs(b, &format!("{name}_a"), a, step),
        limbs(b, &format!("{name}_m"), m, step),
    );
    let mut terms = Vec::new();
    for (ia, la) in a_limbs.iter().enumerate() {
        for (im, lm) in m_limbs.iter().enumerate() {
            let (ta, tm) = (la.wire.ty(), lm.wire.ty());
            let signed = ta.signed || tm.signed;
            let w = ta.width + tm.width + u32::from(ta.signed != tm.signed);
            let operand = |l: &Limb| {
                let e = l.wire.ext(w);
                if signed {
                    e.cast(true)
                } else {
                    e
                }
            };
            let (ea, em) = (operand(la), operand(lm));
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
