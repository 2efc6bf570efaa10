//! The floating-point requantization datapaths in integers: LiteRT's reference kernels (the
//! double product, rounded half away) and XNNPACK (float32 throughout, half to even), from the
//! record's significand and power of two.

use super::mul::split_mul;
use super::Lane;
use crate::rtl::{Expr, ModuleBuilder, Ty};

/// The leading zeros of `abs` (stage 1's register, 32 bits unsigned), as a wire of lane `j`:
/// a tree of halves (5 mux levels). An all-zero |x| shifts to 0 whatever the count.
fn leading_zero_count(b: &mut ModuleBuilder, j: u32, abs: &Expr) -> Expr {
    let (zero, count) = leading_zeros(b, &format!("lzc{j}"), abs);
    b.wire(&format!("lzc{j}_zero_unused"), zero);
    b.wire(&format!("lz{j}"), count)
}

/// Leading zeros of the named unsigned signal `v` (a power-of-two width >= 2): whether it is
/// all zero, and the count (log2 width bits; all ones when it is), built as a tree of halves.
fn leading_zeros(b: &mut ModuleBuilder, name: &str, v: &Expr) -> (Expr, Expr) {
    let w = v.ty().width;
    if w == 2 {
        let zero = v.bit(1).or(v.bit(0)).not();
        let count = b.wire(&format!("{name}_c"), v.bit(1).not());
        return (zero, count);
    }
    let hi = b.wire(&format!("{name}_h"), v.slice(w - 1, w / 2));
    let lo = b.wire(&format!("{name}_l"), v.slice(w / 2 - 1, 0));
    let (zh, ch) = leading_zeros(b, &format!("{name}h"), &hi);
    let (zl, cl) = leading_zeros(b, &format!("{name}l"), &lo);
    let zero = zh.clone().and(zl);
    let count = Expr::mux(
        zh,
        Expr::concat(vec![Expr::bit_const(true), cl]),
        Expr::concat(vec![Expr::bit_const(false), ch]),
    );
    (zero, b.wire(&format!("{name}_c"), count))
}

/// `v` (unsigned, a named signal) rounded to nearest, ties to even, at bit `k` (the `k` low
/// bits dropped), as a wire `name` one bit wider than what is kept.
fn round_even_at(b: &mut ModuleBuilder, name: &str, v: &Expr, k: u32) -> Expr {
    let w = v.ty().width;
    let kept = b.wire(&format!("{name}_kept"), v.slice(w - 1, k));
    let guard = v.bit(k - 1);
    let sticky = if k >= 2 {
        v.slice(k - 2, 0).any()
    } else {
        Expr::bit_const(false)
    };
    let up = guard.and(sticky.or(v.bit(k)));
    let one = Ty::unsigned(w - k + 1);
    b.wire(
        name,
        kept.ext(w - k + 1)
            .add(Expr::mux(up, Expr::lit(1, one), Expr::zero(one))),
    )
}

/// Stages 2-3 of the float modes: the leading zeros of `abs` counted and registered with it
/// (stage 2), then `n = abs << lz`, its leading one at bit 31 (0 for 0), registered (stage 3)
/// with the sign and count. Two stages, not one: the count and the shifter in one cycle, the
/// shifted value then routed into the multiplier's input register, was the npu_core's longest
/// path on ECP5.
fn normalised(
    b: &mut ModuleBuilder,
    (abs, neg): (Expr, Expr),
    lane: Lane,
) -> (Expr, (Expr, Expr), Lane) {
    let j = lane.j;
    let lz = leading_zero_count(b, j, &abs);
    let abs = b.delay(&format!("s2_abs{j}"), abs);
    let lz = b.delay(&format!("s2_lz{j}"), lz);
    let neg = b.delay(&format!("s2_neg{j}"), neg);
    let lane = lane.carry(b, 2, true, true);
    let n = b.wire(&format!("norm{j}"), abs.shl(lz.clone()));
    let n = b.delay(&format!("s3_n{j}"), n);
    let neg = b.delay(&format!("s3_neg{j}"), neg);
    let lz = b.delay(&format!("s3_lz{j}"), lz);
    (n, (neg, lz), lane.carry(b, 3, true, true))
}

/// `v` times the lane's significand over stages `k..=k+2` ([`split_mul`], `width` bits), the
/// sign and leading-zero count (registered in stage `k - 1`) and the lane carried beside it.
fn product(
    b: &mut ModuleBuilder,
    v: &Expr,
    sign: (Expr, Expr),
    lane: Lane,
    k: u32,
    width: u32,
) -> (Expr, (Expr, Expr), Lane) {
    let j = lane.j;
    let p = split_mul(b, &format!("p{j}"), v, &lane.mult, k, width);
    let sign = delay_to(b, j, sign, k - 1, k + 2);
    (p, sign, lane.carry_through(b, k, k + 2))
}

/// The product `p`, whose leading one is at bit `top` or `top - 1` (or which is zero), rounded
/// to `sig` significant bits, ties to even (`sig + 1` bits wide: a carry may reach 2^sig), and
/// its fraction bits f = lz - offset - d - exp, d the bits dropped (10 bits signed), with `lz`
/// the leading zeros of the normalised operand and `exp` the scale's power of two.
fn round_significand(
    b: &mut ModuleBuilder,
    j: u32,
    p: &Expr,
    (top, sig): (u32, u32),
    lz: &Expr,
    exp: &Expr,
    offset: i128,
) -> (Expr, Expr) {
    let s10 = Ty::signed(10);
    let hi = top + 1 - sig;
    let p_hi = b.keep(p, top, 0, false);
    let p_hi = b.wire(&format!("phi{j}"), p_hi);
    let r_hi = round_even_at(b, &format!("rhi{j}"), &p_hi, hi);
    let p_lo = b.wire(&format!("plo{j}"), p.slice(top - 1, 0));
    let r_lo = round_even_at(b, &format!("rlo{j}"), &p_lo, hi - 1);
    let at_top = p.bit(top);
    let r = Expr::mux(at_top.clone(), r_hi, r_lo);
    let d = Expr::mux(
        at_top,
        Expr::lit(i128::from(hi), s10),
        Expr::lit(i128::from(hi - 1), s10),
    );
    let f = lz
        .ext(10)
        .cast(true)
        .sub(Expr::lit(offset, s10))
        .sub(d)
        .sub(exp.ext(10));
    (r, f)
}

/// LiteRT's reference kernels (stages 2-10): `round_half_away(double(x) * eff)` in integers.
/// `(abs, neg)` are stage 1's |acc + bias| and its sign.
pub(super) fn reference(
    b: &mut ModuleBuilder,
    (abs, neg): (Expr, Expr),
    lane: Lane,
) -> (Expr, Lane) {
    let j = lane.j;
    let s32 = Ty::signed(32);
    let (n, sign, lane) = normalised(b, (abs, neg), lane);
    // The 85-bit product over three stages (limb products, pairs, total).
    let (p, (neg6, lz6), lane) = product(b, &n, sign, lane, 4, 85);
    // P has its leading one at bit 84 or 83 (or is zero): keep 53 bits, ties to even.
    let (r, f) = round_significand(b, j, &p, (84, 53), &lz6, &lane.exp, 0);
    let big = Ty::unsigned(54);
    let s10 = Ty::signed(10);
    let s7_r = b.delay(&format!("s7_r{j}"), r);
    let s7_f = b.delay(&format!("s7_f{j}"), f);
    let s7_neg = b.delay(&format!("s7_neg{j}"), neg6);
    let lane = lane.carry(b, 7, false, false);
    // f <= 0: |value| >= 2^52, an int32 overflow (unless R = 0, when every result is 0);
    // f >= 56: |value| < 1/4, zero.
    let u6 = Ty::unsigned(6);
    let f_le0 = s7_f.clone().le(Expr::zero(s10));
    let f_big = s7_f.clone().ge(Expr::lit(56, s10));
    let nonzero = s7_r.clone().ne(Expr::zero(big));
    let sh = b.wire(&format!("fsh{j}"), s7_f.slice(5, 0));
    let t = b.wire(&format!("tsh{j}"), s7_r.clone().shr(sh.clone()));
    let one54 = Expr::lit(1, big);
    let rbit = s7_r
        .and(one54.shl(sh.sub(Expr::lit(1, u6))))
        .ne(Expr::zero(big));
    let t = Expr::mux(f_big.clone(), Expr::zero(big), t);
    let rbit = Expr::mux(f_big, Expr::bit_const(false), rbit);
    let s8_t = b.delay(&format!("s8_t{j}"), t);
    let s8_rb = b.delay(&format!("s8_rb{j}"), rbit);
    let s8_ovf = b.delay(&format!("s8_ovf{j}"), f_le0.and(nonzero));
    let s8_neg = b.delay(&format!("s8_neg{j}"), s7_neg);
    let lane = lane.carry(b, 8, false, false);
    // Half away from zero on the magnitude; beyond int32 the conversion gives INT32_MIN.
    let mag = s8_t.add(Expr::mux(s8_rb, Expr::lit(1, big), Expr::zero(big)));
    let s9_mag = b.delay(&format!("s9_mag{j}"), mag);
    let s9_ovf = b.delay(&format!("s9_ovf{j}"), s8_ovf);
    let s9_neg = b.delay(&format!("s9_neg{j}"), s8_neg);
    let lane = lane.carry(b, 9, false, false);
    let ovf = s9_ovf.or(s9_mag.clone().ge(Expr::lit(1i128 << 31, big)));
    let m32 = b.keep(&s9_mag, 31, 0, true);
    let m32 = b.wire(&format!("m{j}"), m32);
    // zp +- |y| in int32 (wrapping, as the kernel's addition); INT32_MIN + zp flips bit 31.
    let zp32 = b.wire(&format!("zpw{j}"), lane.zp.ext(32).cast(true));
    let flipped = zp32.clone().xor(Expr::lit(i128::from(i32::MIN), s32));
    let sum = Expr::mux(s9_neg, zp32.clone().sub(m32.clone()), zp32.add(m32));
    let w = b.wire(&format!("w{j}"), Expr::mux(ovf, flipped, sum));
    let z = b.delay(&format!("s10_z{j}"), w.ext(33));
    (z, lane)
}

/// The sign and leading-zero count of a lane from stage `from` delayed to stage `to`.
fn delay_to(
    b: &mut ModuleBuilder,
    j: u32,
    (neg, lz): (Expr, Expr),
    from: u32,
    to: u32,
) -> (Expr, Expr) {
    let (mut neg, mut lz) = (neg, lz);
    for k in from + 1..=to {
        neg = b.delay(&format!("s{k}_neg{j}"), neg);
        lz = b.delay(&format!("s{k}_lz{j}"), lz);
    }
    (neg, lz)
}

/// XNNPACK (stages 2-11): `round_half_even(float32(float32(x) * s))` in integers.
/// `(abs, neg)` are stage 1's |acc + bias| and its sign.
pub(super) fn xnnpack(b: &mut ModuleBuilder, (abs, neg): (Expr, Expr), lane: Lane) -> (Expr, Lane) {
    let j = lane.j;
    let (s10, s33) = (Ty::signed(10), Ty::signed(33));
    let (n, (s3_neg, s3_lz), lane) = normalised(b, (abs, neg), lane);
    // float32(x): 24 bits of n, ties to even; 2^24 after a carry (still exact below).
    let mx = round_even_at(b, &format!("mx{j}"), &n, 8); // 25 bits
    let mx = b.delay(&format!("s4_mx{j}"), mx);
    let s4_neg = b.delay(&format!("s4_neg{j}"), s3_neg);
    let s4_lz = b.delay(&format!("s4_lz{j}"), s3_lz);
    let lane = lane.carry(b, 4, true, true);
    let (p, (neg7, lz7), lane) = product(b, &mx, (s4_neg, s4_lz), lane, 5, 49);
    // The float32 product: P < 2^48 has its leading one at bit 47 or 46; keep 24 bits.
    // value = R * 2^(d + 8 - lz + exp), the 8 from float32(x)'s dropped bits.
    let (r, f) = round_significand(b, j, &p, (47, 24), &lz7, &lane.exp, 8);
    let s8_r = b.delay(&format!("s8_r{j}"), r);
    let s8_f = b.delay(&format!("s8_f{j}"), f);
    let s8_neg = b.delay(&format!("s8_neg{j}"), neg7);
    let lane = lane.carry(b, 8, false, false);
    // |value| < 2^40 (scale < 256): f >= -15. f <= 0 shifts left; f >= 27 rounds to zero.
    let u25 = Ty::unsigned(25);
    let u64t = Ty::unsigned(64);
    let u6 = Ty::unsigned(6);
    let f_le0 = s8_f.clone().le(Expr::zero(s10));
    let f_big = s8_f.clone().ge(Expr::lit(27, s10));
    let minus_f = b.wire(&format!("nf{j}"), s8_f.clone().neg());
    let lsh = b.keep(&minus_f, 5, 0, false);
    let lsh = b.wire(&format!("flsh{j}"), lsh);
    let rsh = b.wire(&format!("frsh{j}"), s8_f.slice(5, 0));
    let left = s8_r.ext(64).shl(lsh);
    let right = b.wire(&format!("tsh{j}"), s8_r.clone().shr(rsh.clone()));
    let one = Expr::lit(1, u25);
    let at = |k: Expr| s8_r.clone().and(one.clone().shl(k)).ne(Expr::zero(u25));
    let guard = at(rsh.clone().sub(Expr::lit(1, u6)));
    let below = s8_r
        .clone()
        .and(
            one.clone()
                .shl(rsh.clone().sub(Expr::lit(1, u6)))
                .sub(one.clone()),
        )
        .ne(Expr::zero(u25));
    let odd = right.bit(0);
    let up = guard.and(below.or(odd));
    let t = Expr::mux(
        f_le0.clone(),
        left,
        Expr::mux(f_big.clone(), Expr::zero(u64t), right.ext(64)),
    );
    let up = Expr::mux(f_le0.or(f_big), Expr::bit_const(false), up);
    let s9_t = b.delay(&format!("s9_t{j}"), t);
    let s9_up = b.delay(&format!("s9_up{j}"), up);
    let s9_neg = b.delay(&format!("s9_neg{j}"), s8_neg);
    let lane = lane.carry(b, 9, false, false);
    let mag = s9_t.add(Expr::mux(s9_up, Expr::lit(1, u64t), Expr::zero(u64t)));
    let s10_mag = b.delay(&format!("s10_mag{j}"), mag);
    let s10_neg = b.delay(&format!("s10_neg{j}"), s9_neg);
    let lane = lane.carry(b, 10, false, false);
    // |value| < 2^40: saturate the magnitude at 2^31, beyond any output bound, so that
    // zero point +- magnitude fits 33 bits.
    let big = s10_mag.clone().ge(Expr::lit(1i128 << 31, u64t));
    let low = b.keep(&s10_mag, 30, 0, false);
    let low = b.wire(&format!("mlow{j}"), low);
    let m33 = Expr::mux(big, Expr::lit(1i128 << 31, s33), low.ext(33).cast(true));
    let m = b.wire(&format!("m{j}"), m33);
    let zp = b.wire(&format!("zpw{j}"), lane.zp.ext(33).cast(true));
    let sum = Expr::mux(s10_neg, zp.clone().sub(m.clone()), zp.add(m));
    let z = b.delay(&format!("s11_z{j}"), sum);
    (z, lane)
}
