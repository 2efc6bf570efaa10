//! Typed RTL expressions.
//!
//! Every expression has an explicit [`Ty`] (width and signedness). The rules are stricter than
//! Verilog's so that the emitted text means exactly what the IR means, whatever the context:
//! - arithmetic, bitwise and mux operands have identical types, and the result has that type;
//! - comparisons take identical operand types and give a 1-bit unsigned result;
//! - widening is explicit ([`Expr::ext`]), and so is truncation ([`Expr::slice`]);
//! - part-selects and sign extension apply to named signals only (Verilog-2005 allows
//!   `x[7:0]` on identifiers, not on expressions), so generators bind sub-results to wires.
//!
//! Constructors assert these rules (a violation is a generator bug, not a user error); the
//! checker in [`crate::rtl::check`] verifies them again on whole designs.

use std::fmt;

/// Width and signedness of a signal or expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ty {
    /// Number of bits, at least 1.
    pub width: u32,
    /// Two's-complement signed (`true`) or unsigned.
    pub signed: bool,
}

impl Ty {
    /// An unsigned type of `width` bits.
    pub const fn unsigned(width: u32) -> Ty {
        Ty {
            width,
            signed: false,
        }
    }
    /// A signed type of `width` bits.
    pub const fn signed(width: u32) -> Ty {
        Ty {
            width,
            signed: true,
        }
    }
    /// A type of `width` bits with the given signedness.
    pub const fn new(width: u32, signed: bool) -> Ty {
        Ty { width, signed }
    }
    /// The 1-bit unsigned type used for flags and conditions.
    pub const BIT: Ty = Ty::unsigned(1);
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = if self.signed { "s" } else { "u" };
        write!(f, "{s}{}", self.width)
    }
}

/// A constant of any width, stored as little-endian 64-bit words, masked to its width.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Const {
    /// Type of the constant.
    pub ty: Ty,
    /// Little-endian words; bits at and above `ty.width` are zero.
    pub words: Vec<u64>,
}

impl Const {
    /// The all-zero constant of type `ty`.
    pub fn zero(ty: Ty) -> Const {
        Const {
            ty,
            words: vec![0; words_for(ty.width)],
        }
    }

    /// `value` in two's complement, truncated to `ty.width` bits (sign-extended first when
    /// `ty.width` exceeds 128).
    pub fn from_i128(value: i128, ty: Ty) -> Const {
        let n = words_for(ty.width);
        let fill = if value < 0 { u64::MAX } else { 0 };
        let mut words: Vec<u64> = (0..n)
            .map(|i| match i {
                0 => value as u64,
                1 => (value >> 64) as u64,
                _ => fill,
            })
            .collect();
        mask_words(&mut words, ty.width);
        Const { ty, words }
    }

    /// `value` truncated to `ty.width` bits.
    pub fn from_u128(value: u128, ty: Ty) -> Const {
        let n = words_for(ty.width);
        let mut words: Vec<u64> = (0..n)
            .map(|i| match i {
                0 => value as u64,
                1 => (value >> 64) as u64,
                _ => 0,
            })
            .collect();
        mask_words(&mut words, ty.width);
        Const { ty, words }
    }

    /// Whether every bit is zero.
    pub fn is_zero(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    /// Lowercase hexadecimal digits of the bit pattern, without leading zeros ("0" for zero).
    pub fn hex_digits(&self) -> String {
        let mut s = String::new();
        for w in self.words.iter().rev() {
            if s.is_empty() {
                if *w != 0 {
                    s = format!("{w:x}");
                }
            } else {
                s.push_str(&format!("{w:016x}"));
            }
        }
        if s.is_empty() {
            "0".to_string()
        } else {
            s
        }
    }
}

fn words_for(width: u32) -> usize {
    (width as usize).div_ceil(64).max(1)
}

fn mask_words(words: &mut [u64], width: u32) {
    let full = (width / 64) as usize;
    let rem = width % 64;
    for (i, w) in words.iter_mut().enumerate() {
        if i == full && rem != 0 {
            *w &= (1u64 << rem) - 1;
        } else if i >= full {
            *w = 0;
        }
    }
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// Bitwise complement `~x`.
    Not,
    /// Two's-complement negation `-x`.
    Neg,
    /// Reduction OR `|x` (1-bit result).
    RedOr,
    /// Reduction AND `&x` (1-bit result).
    RedAnd,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `a + b`, wrapping at the operand width.
    Add,
    /// `a - b`, wrapping at the operand width.
    Sub,
    /// `a * b`, truncated to the operand width (widen the operands first for a full product).
    Mul,
    /// Bitwise AND.
    And,
    /// Bitwise OR.
    Or,
    /// Bitwise XOR.
    Xor,
    /// Equality (1-bit result).
    Eq,
    /// Inequality (1-bit result).
    Ne,
    /// Less than, signed or unsigned per operand type (1-bit result).
    Lt,
    /// Less or equal (1-bit result).
    Le,
    /// Greater than (1-bit result).
    Gt,
    /// Greater or equal (1-bit result).
    Ge,
    /// Logical shift left by an unsigned amount.
    Shl,
    /// Shift right by an unsigned amount: arithmetic (`>>>`) for signed, logical otherwise.
    Shr,
}

impl BinOp {
    /// Whether the result is a 1-bit flag rather than the operand type.
    pub fn is_compare(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
    /// Whether the right operand is a shift amount (any unsigned width).
    pub fn is_shift(self) -> bool {
        matches!(self, BinOp::Shl | BinOp::Shr)
    }
}

/// A typed expression tree.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    /// A constant.
    Const(Const),
    /// A named signal (port, wire, register or memory read register) of type `ty`.
    Ref {
        /// Signal name.
        name: String,
        /// Declared type of the signal.
        ty: Ty,
    },
    /// Part-select `name[hi:lo]` of a named signal, reinterpreted with `signed`.
    Slice {
        /// Signal name.
        name: String,
        /// Declared type of the signal.
        src: Ty,
        /// Most significant selected bit.
        hi: u32,
        /// Least significant selected bit.
        lo: u32,
        /// Signedness of the result.
        signed: bool,
    },
    /// Sign extension (signed operand) or zero extension (unsigned) of a named signal.
    Ext {
        /// Signal name.
        name: String,
        /// Declared type of the signal.
        src: Ty,
        /// Result width, greater than `src.width`.
        width: u32,
    },
    /// Reinterpretation with another signedness, same bits (`$signed` / `$unsigned`).
    Cast {
        /// Operand.
        arg: Box<Expr>,
        /// Signedness of the result.
        signed: bool,
    },
    /// Concatenation, most significant part first; the result is unsigned.
    Concat(Vec<Expr>),
    /// A unary operation.
    Unary {
        /// Operator.
        op: UnOp,
        /// Operand.
        arg: Box<Expr>,
    },
    /// A binary operation.
    Binary {
        /// Operator.
        op: BinOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `sel ? t : f` with a 1-bit `sel` and identical branch types.
    Mux {
        /// 1-bit select.
        sel: Box<Expr>,
        /// Value when `sel` is 1.
        t: Box<Expr>,
        /// Value when `sel` is 0.
        f: Box<Expr>,
    },
}

// Operator methods are named after the operators they build (not std::ops: they construct IR).
#[allow(clippy::should_implement_trait)]
impl Expr {
    /// The type of this expression (computed, not checked; see [`crate::rtl::check`]).
    pub fn ty(&self) -> Ty {
        match self {
            Expr::Const(c) => c.ty,
            Expr::Ref { ty, .. } => *ty,
            Expr::Slice { hi, lo, signed, .. } => Ty::new(hi - lo + 1, *signed),
            Expr::Ext { src, width, .. } => Ty::new(*width, src.signed),
            Expr::Cast { arg, signed } => Ty::new(arg.ty().width, *signed),
            Expr::Concat(parts) => Ty::unsigned(parts.iter().map(|p| p.ty().width).sum()),
            Expr::Unary { op, arg } => match op {
                UnOp::Not | UnOp::Neg => arg.ty(),
                UnOp::RedOr | UnOp::RedAnd => Ty::BIT,
            },
            Expr::Binary { op, lhs, .. } => {
                if op.is_compare() {
                    Ty::BIT
                } else {
                    lhs.ty()
                }
            }
            Expr::Mux { t, .. } => t.ty(),
        }
    }

    /// A reference to signal `name` of type `ty`.
    pub fn sig(name: impl Into<String>, ty: Ty) -> Expr {
        Expr::Ref {
            name: name.into(),
            ty,
        }
    }

    /// The constant `value` of type `ty` (two's complement, truncated).
    pub fn lit(value: i128, ty: Ty) -> Expr {
        Expr::Const(Const::from_i128(value, ty))
    }

    /// The all-zero constant of type `ty`.
    pub fn zero(ty: Ty) -> Expr {
        Expr::Const(Const::zero(ty))
    }

    /// A 1-bit constant.
    pub fn bit_const(v: bool) -> Expr {
        Expr::lit(v as i128, Ty::BIT)
    }

    fn name_and_ty(&self, what: &str) -> (&str, Ty) {
        match self {
            Expr::Ref { name, ty } => (name, *ty),
            other => panic!("internal IR error: {what} needs a named signal, got {other:?}"),
        }
    }

    /// Part-select `self[hi:lo]` (self must be a named signal), keeping it unsigned.
    pub fn slice(&self, hi: u32, lo: u32) -> Expr {
        self.slice_as(hi, lo, false)
    }

    /// Part-select `self[hi:lo]` reinterpreted as `signed`.
    pub fn slice_as(&self, hi: u32, lo: u32, signed: bool) -> Expr {
        let (name, src) = self.name_and_ty("slice");
        assert!(
            hi >= lo && hi < src.width,
            "internal IR error: slice [{hi}:{lo}] of {name} ({src})"
        );
        if lo == 0 && hi + 1 == src.width && signed == src.signed {
            return self.clone();
        }
        Expr::Slice {
            name: name.to_string(),
            src,
            hi,
            lo,
            signed,
        }
    }

    /// Bit `i` of a named signal.
    pub fn bit(&self, i: u32) -> Expr {
        self.slice(i, i)
    }

    /// Extend a named signal to `width` bits (sign-extend if signed). Identity at equal width.
    pub fn ext(&self, width: u32) -> Expr {
        let (name, src) = self.name_and_ty("ext");
        assert!(
            width >= src.width,
            "internal IR error: ext of {name} ({src}) to {width} bits narrows"
        );
        if width == src.width {
            return self.clone();
        }
        Expr::Ext {
            name: name.to_string(),
            src,
            width,
        }
    }

    /// Zero-extend any unsigned expression (not only a named signal, unlike [`Expr::ext`]) to
    /// `width` bits, by concatenating zeros above it. Identity at equal width.
    pub fn zext(self, width: u32) -> Expr {
        let ty = self.ty();
        assert!(
            !ty.signed && width >= ty.width,
            "internal IR error: zext of {ty} to {width} bits"
        );
        if width == ty.width {
            self
        } else {
            Expr::concat(vec![Expr::zero(Ty::unsigned(width - ty.width)), self])
        }
    }

    /// Reinterpret with the given signedness (no-op if already so).
    pub fn cast(self, signed: bool) -> Expr {
        if self.ty().signed == signed {
            return self;
        }
        Expr::Cast {
            arg: Box::new(self),
            signed,
        }
    }

    /// Concatenation, most significant part first (nested concatenations are flattened).
    pub fn concat(parts: Vec<Expr>) -> Expr {
        assert!(!parts.is_empty(), "internal IR error: empty concatenation");
        let parts: Vec<Expr> = parts
            .into_iter()
            .flat_map(|p| match p {
                Expr::Concat(inner) => inner,
                other => vec![other],
            })
            .collect();
        if parts.len() == 1 && !parts[0].ty().signed {
            return parts.into_iter().next().expect("one part");
        }
        Expr::Concat(parts)
    }

    fn unary(op: UnOp, arg: Expr) -> Expr {
        Expr::Unary {
            op,
            arg: Box::new(arg),
        }
    }

    fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
        if op.is_shift() {
            assert!(
                !rhs.ty().signed,
                "internal IR error: shift amount must be unsigned"
            );
        } else {
            assert_eq!(
                lhs.ty(),
                rhs.ty(),
                "internal IR error: {op:?} operand types differ: {lhs:?} vs {rhs:?}"
            );
        }
        Expr::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        }
    }

    /// `~self`.
    pub fn not(self) -> Expr {
        Expr::unary(UnOp::Not, self)
    }
    /// `-self`.
    pub fn neg(self) -> Expr {
        Expr::unary(UnOp::Neg, self)
    }
    /// `|self`.
    pub fn any(self) -> Expr {
        Expr::unary(UnOp::RedOr, self)
    }
    /// `&self`.
    pub fn all(self) -> Expr {
        Expr::unary(UnOp::RedAnd, self)
    }
    /// `self + rhs`.
    pub fn add(self, rhs: Expr) -> Expr {
        Expr::binary(BinOp::Add, self, rhs)
    }
    /// `self - rhs`.
    pub fn sub(self, rhs: Expr) -> Expr {
        Expr::binary(BinOp::Sub, self, rhs)
    }
    /// `self` (unsigned) times the constant `c`, zero-extended to `w` bits, as shifts and adds:
    /// for counts (elements times bytes) that must not take a DSP block.
    pub fn times_const(self, c: u32, w: u32) -> Expr {
        let x = self.zext(w);
        let mut sum: Option<Expr> = None;
        for k in (0..32u32).filter(|k| c >> k & 1 == 1) {
            let term = if k == 0 {
                x.clone()
            } else {
                x.clone().shl(Expr::lit(i128::from(k), Ty::unsigned(5)))
            };
            sum = Some(match sum {
                Some(s) => s.add(term),
                None => term,
            });
        }
        sum.unwrap_or_else(|| Expr::zero(Ty::unsigned(w)))
    }
    /// `self * rhs` (truncated to the operand width).
    pub fn mul(self, rhs: Expr) -> Expr {
        Expr::binary(BinOp::Mul, self, rhs)
    }
    /// `self & rhs`.
    pub fn and(self, rhs: Expr) -> Expr {
        Expr::binary(BinOp::And, self, rhs)
    }
    /// `self | rhs`.
    pub fn or(self, rhs: Expr) -> Expr {
        Expr::binary(BinOp::Or, self, rhs)
    }
    /// `self ^ rhs`.
    pub fn xor(self, rhs: Expr) -> Expr {
        Expr::binary(BinOp::Xor, self, rhs)
    }
    /// `self == rhs`.
    pub fn eq(self, rhs: Expr) -> Expr {
        Expr::binary(BinOp::Eq, self, rhs)
    }
    /// `self != rhs`.
    pub fn ne(self, rhs: Expr) -> Expr {
        Expr::binary(BinOp::Ne, self, rhs)
    }
    /// `self < rhs`.
    pub fn lt(self, rhs: Expr) -> Expr {
        Expr::binary(BinOp::Lt, self, rhs)
    }
    /// `self <= rhs`.
    pub fn le(self, rhs: Expr) -> Expr {
        Expr::binary(BinOp::Le, self, rhs)
    }
    /// `self > rhs`.
    pub fn gt(self, rhs: Expr) -> Expr {
        Expr::binary(BinOp::Gt, self, rhs)
    }
    /// `self >= rhs`.
    pub fn ge(self, rhs: Expr) -> Expr {
        Expr::binary(BinOp::Ge, self, rhs)
    }
    /// `self << amount`.
    pub fn shl(self, amount: Expr) -> Expr {
        Expr::binary(BinOp::Shl, self, amount)
    }
    /// `self >> amount` (arithmetic when signed).
    pub fn shr(self, amount: Expr) -> Expr {
        Expr::binary(BinOp::Shr, self, amount)
    }

    /// `sel ? t : f`.
    pub fn mux(sel: Expr, t: Expr, f: Expr) -> Expr {
        assert_eq!(sel.ty(), Ty::BIT, "internal IR error: mux select not 1 bit");
        assert_eq!(
            t.ty(),
            f.ty(),
            "internal IR error: mux branch types differ: {t:?} vs {f:?}"
        );
        Expr::Mux {
            sel: Box::new(sel),
            t: Box::new(t),
            f: Box::new(f),
        }
    }

    /// The entry of `entries` (index, value, all of type `ty`) whose index equals `index`, zero
    /// where none does: a balanced tree of two-way muxes on the index bits, one level per bit
    /// (not a chain of compares), with the branches that hold no entry folded away.
    pub fn select(index: &Expr, entries: &[(u64, Expr)], ty: Ty) -> Expr {
        fn tree(index: &Expr, entries: &[(u64, Expr)], ty: Ty, bit: u32) -> Expr {
            match entries {
                [] => Expr::zero(ty),
                [(_, v)] if bit == 0 => v.clone(),
                _ => {
                    assert!(bit > 0, "internal IR error: select entries share an index");
                    let b = bit - 1;
                    let (hi, lo): (Vec<_>, Vec<_>) =
                        entries.iter().cloned().partition(|(i, _)| i >> b & 1 == 1);
                    let (t, f) = (tree(index, &hi, ty, b), tree(index, &lo, ty, b));
                    Expr::mux(index.bit(b), t, f)
                }
            }
        }
        let w = index.ty().width;
        assert!(
            entries.iter().all(|(i, _)| w >= 64 || *i < 1u64 << w),
            "internal IR error: select entry beyond a {w}-bit index"
        );
        tree(index, entries, ty, w)
    }

    /// Calls `f` on every signal name this expression reads.
    pub fn for_each_ref(&self, f: &mut impl FnMut(&str, Ty)) {
        match self {
            Expr::Const(_) => {}
            Expr::Ref { name, ty } => f(name, *ty),
            Expr::Slice { name, src, .. } | Expr::Ext { name, src, .. } => f(name, *src),
            Expr::Cast { arg, .. } | Expr::Unary { arg, .. } => arg.for_each_ref(f),
            Expr::Concat(parts) => parts.iter().for_each(|p| p.for_each_ref(f)),
            Expr::Binary { lhs, rhs, .. } => {
                lhs.for_each_ref(f);
                rhs.for_each_ref(f);
            }
            Expr::Mux { sel, t, f: e } => {
                sel.for_each_ref(f);
                t.for_each_ref(f);
                e.for_each_ref(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn const_truncates_and_sign_extends() {
        let c = Const::from_i128(-1, Ty::signed(8));
        assert_eq!(c.words, vec![0xff]);
        assert_eq!(c.hex_digits(), "ff");
        let wide = Const::from_i128(-2, Ty::signed(130));
        assert_eq!(wide.words, vec![u64::MAX - 1, u64::MAX, 0b11]);
        assert_eq!(Const::zero(Ty::unsigned(300)).hex_digits(), "0");
        let big = Const::from_u128(1u128 << 64, Ty::unsigned(72));
        assert_eq!(big.hex_digits(), "10000000000000000");
    }

    #[test]
    fn types_follow_the_rules() {
        let a = Expr::sig("a", Ty::signed(8));
        let b = Expr::sig("b", Ty::signed(8));
        assert_eq!(a.clone().add(b.clone()).ty(), Ty::signed(8));
        assert_eq!(a.clone().lt(b).ty(), Ty::BIT);
        assert_eq!(a.ext(20).ty(), Ty::signed(20));
        assert_eq!(a.slice(3, 0).ty(), Ty::unsigned(4));
        assert_eq!(a.clone().cast(false).ty(), Ty::unsigned(8));
        assert_eq!(Expr::concat(vec![a.clone(), a]).ty(), Ty::unsigned(16));
    }

    #[test]
    #[should_panic(expected = "operand types differ")]
    fn mixed_signedness_is_refused() {
        let _ = Expr::sig("a", Ty::signed(8)).add(Expr::sig("b", Ty::unsigned(8)));
    }
}
