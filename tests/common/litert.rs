//! The LiteRT oracle's cases: int8 FULLY_CONNECTED layers as `tests/oracles/litert_fc.py` builds
//! and runs them, the golden model's prediction for each output, and the kinds of case the
//! tests draw (random, power-of-two ties, near-ties, scales >= 1).

use npugen::model::requant::{fused_bounds, requantize, Rounding, Scales};
use npugen::rng::Rng;
use serde_json::{json, Value};

use super::{repo, run, text};

/// LiteRT's three CPU paths as the oracle names them, with the mode that reproduces each.
pub const PATHS: [(&str, Rounding); 3] = [
    ("ref", Rounding::Reference),
    ("optimized", Rounding::Optimized),
    ("xnnpack", Rounding::Xnnpack),
];

/// One FC case, as the oracle reads it.
pub struct Case {
    pub a: Vec<Vec<i64>>,
    pub w: Vec<Vec<i64>>,
    pub bias: Vec<i64>,
    pub in_scale: f32,
    pub in_zp: i64,
    pub w_scale: Vec<f32>,
    pub out_scale: f32,
    pub out_zp: i64,
    pub fused: &'static str,
}

impl Case {
    /// The case as the oracle reads it.
    pub fn json(&self) -> Value {
        json!({
            "a": self.a, "w": self.w, "bias": self.bias,
            "in_scale": self.in_scale, "in_zp": self.in_zp,
            "w_scale": self.w_scale, "out_scale": self.out_scale,
            "out_zp": self.out_zp, "fused": self.fused,
        })
    }

    /// acc + bias of output (m, n): sum((a - in_zp) * w) + bias, in int32.
    pub fn x(&self, m: usize, n: usize) -> i32 {
        let dot: i64 = self.a[m]
            .iter()
            .zip(&self.w[n])
            .map(|(a, w)| (a - self.in_zp) * w)
            .sum();
        (dot + self.bias[n]) as i32
    }

    /// The scales of output column `n`.
    pub fn scales(&self, n: usize) -> Scales {
        Scales {
            input: self.in_scale,
            weight: self.w_scale[if self.w_scale.len() == 1 { 0 } else { n }],
            output: self.out_scale,
        }
    }

    /// The golden model's output (m, n) in `mode`.
    pub fn predict(&self, m: usize, n: usize, mode: Rounding) -> i64 {
        let range = (-128, 127);
        let bounds = match self.fused {
            "RELU" => fused_bounds(false, self.out_scale, self.out_zp as i32, range),
            "RELU6" => fused_bounds(true, self.out_scale, self.out_zp as i32, range),
            _ => range,
        };
        requantize(
            self.x(m, n),
            &self.scales(n),
            self.out_zp as i32,
            bounds,
            mode,
        )
    }
}

/// A float32 in [1, 2) * 2^-e, e random in `lo..=hi`, with a random mantissa.
pub fn scale_at(rng: &mut Rng, lo: i64, hi: i64) -> f32 {
    let e = rng.range(lo, hi) as i32;
    let mant = 1.0 + rng.range(0, (1 << 23) - 1) as f32 / (1u32 << 23) as f32;
    mant * 2f32.powi(-e)
}

/// 2^-e, e random in `lo..=hi`.
pub fn pow2(rng: &mut Rng, lo: i64, hi: i64) -> f32 {
    2f32.powi(-(rng.range(lo, hi) as i32))
}

/// Every output an exact tie: eff = 2^-k, x = (2j + 1) * 2^(k-1) for j in -40..40 (row 0
/// has a = 0, so x is the bias).
pub fn exact_ties(k: i32) -> Case {
    let bias: Vec<i64> = (-40..40).map(|j| (2 * j + 1) << (k - 1)).collect();
    Case {
        a: vec![vec![0]],
        w: vec![vec![0]; bias.len()],
        bias,
        in_scale: 0.5,
        in_zp: 0,
        w_scale: vec![2f32.powi(1 - k)],
        out_scale: 1.0,
        out_zp: 0,
        fused: "NONE",
    }
}

/// The kinds of case, each a few hundred outputs.
pub fn case(rng: &mut Rng, kind: usize) -> Case {
    let (m, k) = (3, 4);
    let per_channel = kind % 2 == 1;
    let n = if per_channel { 40 } else { 24 };
    let (in_scale, w_scale, out_scale): (f32, Vec<f32>, f32) = match kind / 2 {
        // Random scales.
        0 => (
            scale_at(rng, 4, 9),
            (0..n).map(|_| scale_at(rng, 5, 10)).collect(),
            scale_at(rng, 1, 5),
        ),
        // Powers of two: x * eff is a tie whenever the dropped bits are exactly one half.
        1 => (
            pow2(rng, 2, 6),
            (0..n).map(|_| pow2(rng, 2, 6)).collect(),
            pow2(rng, 2, 6),
        ),
        // Near-ties: a power of two off by one float32 ulp.
        2 => (
            2f32.powi(-5) * (1.0 + f32::EPSILON * rng.range(-2, 2) as f32),
            (0..n)
                .map(|_| pow2(rng, 3, 6) * (1.0 + f32::EPSILON))
                .collect(),
            pow2(rng, 3, 8),
        ),
        // Effective scales >= 1.
        _ => (
            scale_at(rng, 1, 3),
            (0..n).map(|_| scale_at(rng, 1, 3)).collect(),
            scale_at(rng, 4, 8),
        ),
    };
    let w_scale = if per_channel {
        w_scale
    } else {
        w_scale[..1].to_vec()
    };
    let big = kind / 2 != 3;
    let int8 = |rng: &mut Rng| rng.range(-128, 127);
    let a = (0..m)
        .map(|r| (0..k).map(|_| if r == 0 { 0 } else { int8(rng) }).collect())
        .collect();
    let w = (0..n)
        .map(|_| {
            (0..k)
                .map(|_| if big { int8(rng) } else { rng.range(-3, 3) })
                .collect()
        })
        .collect();
    let bias = (0..n)
        .map(|_| {
            if big {
                rng.range(-40_000, 40_000)
            } else {
                rng.range(-60, 60)
            }
        })
        .collect();
    Case {
        a,
        w,
        bias,
        in_scale,
        in_zp: if big { rng.range(-128, 127) } else { 0 },
        w_scale,
        out_scale,
        out_zp: rng.range(-20, 20),
        fused: ["NONE", "NONE", "RELU", "RELU6"][rng.range(0, 3) as usize],
    }
}

/// Runs the oracle on `cases` (FC cases from [`Case::json`], or activation cases); one JSON
/// object per case.
pub fn oracle(python: &std::path::Path, cases: &[Value]) -> Vec<Value> {
    let tmp = tempfile::tempdir().unwrap();
    let (input, output) = (tmp.path().join("cases.json"), tmp.path().join("out.json"));
    std::fs::write(&input, serde_json::to_string(cases).unwrap()).unwrap();
    let o = run(std::process::Command::new(python)
        .arg(repo().join("tests/oracles/litert_fc.py"))
        .arg(&input)
        .arg(&output));
    assert!(o.status.success(), "the LiteRT oracle failed: {}", text(&o));
    serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap()
}
