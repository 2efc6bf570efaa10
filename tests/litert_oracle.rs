//! The requantization golden model (`npugen::model::requant`) against the LiteRT interpreter
//! itself: random int8 FULLY_CONNECTED models (per-tensor and per-channel scales, exact ties at
//! power-of-two scales, near-ties, effective scales >= 1, input and output zero points, fused
//! RELU and RELU6) are built and run by `tests/oracles/litert_fc.py` under LiteRT's three CPU
//! paths; every output must equal the model's prediction in the matching mode.

mod common;

use common::{litert_python, repo, run, text};
use npugen::model::requant::{fused_bounds, requantize, Rounding, Scales};
use npugen::rng::{seed_from_env, Rng};
use serde_json::{json, Value};

/// One FC case, as the oracle reads it.
struct Case {
    a: Vec<Vec<i64>>,
    w: Vec<Vec<i64>>,
    bias: Vec<i64>,
    in_scale: f32,
    in_zp: i64,
    w_scale: Vec<f32>,
    out_scale: f32,
    out_zp: i64,
    fused: &'static str,
}

impl Case {
    fn json(&self) -> Value {
        json!({
            "a": self.a, "w": self.w, "bias": self.bias,
            "in_scale": self.in_scale, "in_zp": self.in_zp,
            "w_scale": self.w_scale, "out_scale": self.out_scale,
            "out_zp": self.out_zp, "fused": self.fused,
        })
    }

    /// acc + bias of output (m, n): sum((a - in_zp) * w) + bias, in int32.
    fn x(&self, m: usize, n: usize) -> i32 {
        let dot: i64 = self.a[m]
            .iter()
            .zip(&self.w[n])
            .map(|(a, w)| (a - self.in_zp) * w)
            .sum();
        (dot + self.bias[n]) as i32
    }

    fn scales(&self, n: usize) -> Scales {
        Scales {
            input: self.in_scale,
            weight: self.w_scale[if self.w_scale.len() == 1 { 0 } else { n }],
            output: self.out_scale,
        }
    }

    fn predict(&self, m: usize, n: usize, mode: Rounding) -> i64 {
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
fn scale_at(rng: &mut Rng, lo: i64, hi: i64) -> f32 {
    let e = rng.range(lo, hi) as i32;
    let mant = 1.0 + rng.range(0, (1 << 23) - 1) as f32 / (1u32 << 23) as f32;
    mant * 2f32.powi(-e)
}

/// 2^-e, e random in `lo..=hi`.
fn pow2(rng: &mut Rng, lo: i64, hi: i64) -> f32 {
    2f32.powi(-(rng.range(lo, hi) as i32))
}

/// Every output an exact tie: eff = 2^-k, x = (2j + 1) * 2^(k-1) for j in -40..40 (row 0
/// has a = 0, so x is the bias).
fn exact_ties(k: i32) -> Case {
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
fn case(rng: &mut Rng, kind: usize) -> Case {
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

#[test]
fn requantization_model_is_bit_exact_with_every_litert_path() {
    let Some(python) = litert_python() else {
        return;
    };
    let seed = seed_from_env("NPUGEN_TEST_SEED");
    eprintln!("litert oracle seed {seed} (NPUGEN_TEST_SEED to repeat)");
    let mut rng = Rng::new(seed);
    let mut cases: Vec<Case> = (0..64).map(|i| case(&mut rng, i % 8)).collect();
    cases.extend((1..=3).map(exact_ties));
    let got = oracle(&python, &cases.iter().map(Case::json).collect::<Vec<_>>());
    let paths = [
        ("ref", Rounding::Reference),
        ("optimized", Rounding::Optimized),
        ("xnnpack", Rounding::Xnnpack),
    ];
    let mut compared = [0usize; 3];
    let mut gemmlowp_differs = 0;
    // wrong[path][mode]: outputs of a LiteRT path another mode mispredicts.
    let mut wrong = [[0usize; 4]; 3];
    let mut failures = Vec::new();
    for (ci, (c, g)) in cases.iter().zip(&got).enumerate() {
        for (pi, (key, mode)) in paths.iter().enumerate() {
            let Some(rows) = g[key].as_array() else {
                continue; // XNNPACK declined this model; AUTO ran the builtin kernels
            };
            for (mi, row) in rows.iter().enumerate() {
                for (ni, v) in row.as_array().unwrap().iter().enumerate() {
                    let want = v.as_i64().unwrap();
                    let pred = c.predict(mi, ni, *mode);
                    compared[pi] += 1;
                    gemmlowp_differs += usize::from(c.predict(mi, ni, Rounding::Gemmlowp) != want);
                    for (k, other) in Rounding::ALL.iter().enumerate() {
                        wrong[pi][k] += usize::from(c.predict(mi, ni, *other) != want);
                    }
                    if pred != want && failures.len() < 12 {
                        failures.push(format!(
                            "case {ci} ({}) {key}: out[{mi}][{ni}] x = {} scales {:?} zp {}: LiteRT {want}, model {pred}",
                            c.fused,
                            c.x(mi, ni),
                            c.scales(ni),
                            c.out_zp
                        ));
                    }
                }
            }
        }
    }
    eprintln!("compared with LiteRT: reference {}, optimized {}, xnnpack {} outputs; gemmlowp rounding differs on {gemmlowp_differs}", compared[0], compared[1], compared[2]);
    assert!(failures.is_empty(), "seed {seed}:\n{}", failures.join("\n"));
    assert!(
        compared.iter().all(|&n| n >= 3000),
        "too few outputs compared: {compared:?}"
    );
    // The cases must tell the roundings apart, or the comparison above proves little.
    assert!(
        gemmlowp_differs > 0,
        "no case separates gemmlowp from LiteRT"
    );
    // Every path is mispredicted by every mode but its own, so a swapped mode would fail.
    for (pi, (key, own)) in paths.iter().enumerate() {
        for (k, other) in Rounding::ALL.iter().enumerate() {
            if other != own {
                eprintln!("{key}: {other:?} mispredicts {}", wrong[pi][k]);
                assert!(
                    wrong[pi][k] > 0,
                    "seed {seed}: no output separates {key} from {other:?}"
                );
            }
        }
    }
}

/// Runs the oracle on `cases` (FC cases from [`Case::json`], or activation cases); one JSON
/// object per case.
fn oracle(python: &std::path::Path, cases: &[Value]) -> Vec<Value> {
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

#[test]
fn xnnpack_refuses_scales_of_256_and_more() {
    let Some(python) = litert_python() else {
        return;
    };
    // float32 scales around 256: in * w / out with out = 2^-8 * (1 + d ulp).
    let cases: Vec<Case> = [-2i32, -1, 0, 1, 2, 40]
        .iter()
        .map(|&d| Case {
            a: vec![vec![0], vec![1]],
            w: vec![vec![1], vec![-1]],
            bias: vec![0, 0],
            in_scale: 1.0,
            in_zp: 0,
            w_scale: vec![1.0],
            out_scale: 2f32.powi(-8) * (1.0 + f32::EPSILON * d as f32),
            out_zp: 0,
            fused: "NONE",
        })
        .collect();
    let got = oracle(&python, &cases.iter().map(Case::json).collect::<Vec<_>>());
    let mut seen = [false; 2];
    for (c, g) in cases.iter().zip(&got) {
        let accepts = c.scales(0).xnnpack_accepts();
        seen[usize::from(accepts)] = true;
        assert_eq!(
            g["xnnpack_refused"].is_null(),
            accepts,
            "out_scale {:e} (float32 scale {}): LiteRT {}",
            c.out_scale,
            c.scales(0).xnnpack(),
            g["xnnpack_refused"]
        );
    }
    assert_eq!(seen, [true, true], "the cases must straddle 256");
}

#[test]
fn activation_tables_match_litert_on_every_int8_input() {
    // npu_core's sigmoid/tanh ROM for an int8 output (zero point = the table input's zero
    // point, lut_input_scale = its scale) against LiteRT's LOGISTIC and TANH run on all 256
    // int8 inputs, under every path (XNNPACK builds tables of its own).
    let Some(python) = litert_python() else {
        return;
    };
    use npugen::config::{Activation, PostprocConfig};
    let seed = seed_from_env("NPUGEN_TEST_SEED");
    let mut rng = Rng::new(seed);
    let mut params: Vec<(&str, f32, i64)> = Vec::new();
    for op in ["LOGISTIC", "TANH"] {
        for s in [0.0625f32, 0.05, 0.03, 0.1] {
            params.push((op, s, 0));
        }
        for _ in 0..4 {
            params.push((op, scale_at(&mut rng, 3, 7), rng.range(-128, 127)));
        }
    }
    let cases: Vec<Value> = params
        .iter()
        .map(|(op, s, zp)| json!({"op": op, "in_scale": s, "in_zp": zp}))
        .collect();
    let got = oracle(&python, &cases);
    for ((op, s, zp), g) in params.iter().zip(&got) {
        let p = PostprocConfig {
            zero_point: *zp as i32,
            activation: if *op == "LOGISTIC" {
                Activation::Sigmoid
            } else {
                Activation::Tanh
            },
            lut_input_scale: Some(f64::from(*s)),
            ..PostprocConfig::default()
        };
        let table = npugen::model::postproc::activation_table(&p);
        for key in ["ref", "optimized", "xnnpack"] {
            let Some(rows) = g[key].as_array() else {
                continue;
            };
            let lite: Vec<i64> = rows[0]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect();
            let diff: Vec<usize> = (0..256).filter(|&i| lite[i] != table[i]).collect();
            assert!(
                diff.is_empty(),
                "seed {seed}: {op} scale {s} zp {zp} {key}: {} of 256 inputs differ, first q = {}: LiteRT {}, npugen {}",
                diff.len(),
                diff[0] as i64 - 128,
                lite[diff[0]],
                table[diff[0]]
            );
        }
    }
    eprintln!(
        "activation tables: {} x 256 inputs equal under every LiteRT path",
        params.len()
    );
}
