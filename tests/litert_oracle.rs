//! The requantization golden model (`npugen::model::requant`) against the LiteRT interpreter
//! itself: random int8 FULLY_CONNECTED models (per-tensor and per-channel scales, exact ties at
//! power-of-two scales, near-ties, effective scales >= 1, input and output zero points, fused
//! RELU and RELU6) are built and run by `tests/oracles/litert_fc.py` under LiteRT's three CPU
//! paths; every output must equal the model's prediction in the matching mode.

mod common;

use common::litert::{case, exact_ties, oracle, scale_at, Case, PATHS};
use common::litert_python;
use npugen::model::requant::Rounding;
use npugen::rng::{seed_from_env, Rng};
use serde_json::{json, Value};

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
    let mut compared = [0usize; 3];
    let mut gemmlowp_differs = 0;
    // wrong[path][mode]: outputs of a LiteRT path another mode mispredicts.
    let mut wrong = [[0usize; 4]; 3];
    let mut failures = Vec::new();
    for (ci, (c, g)) in cases.iter().zip(&got).enumerate() {
        for (pi, (key, mode)) in PATHS.iter().enumerate() {
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
    for (pi, (key, own)) in PATHS.iter().enumerate() {
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
    // npu_core's activation ROM for an int8 output against LiteRT's LOGISTIC, TANH and
    // LEAKY_RELU run on all 256 int8 inputs, under every path (XNNPACK has kernels of its
    // own). Sigmoid/tanh: zero point = the table input's, lut_input_scale = its scale.
    // Leaky ReLU: the layer's output scale and zero point at both ends, as after an FC; the
    // table depends on the path, so each path is compared with its own mode's table.
    let Some(python) = litert_python() else {
        return;
    };
    use npugen::config::{Activation, PostprocConfig};
    let seed = seed_from_env("NPUGEN_TEST_SEED");
    let mut rng = Rng::new(seed);
    // (op, input scale, zero point, alpha)
    let mut params: Vec<(&str, f32, i64, f32)> = Vec::new();
    for op in ["LOGISTIC", "TANH"] {
        for s in [0.0625f32, 0.05, 0.03, 0.1] {
            params.push((op, s, 0, 0.0));
        }
        for _ in 0..4 {
            params.push((op, scale_at(&mut rng, 3, 7), rng.range(-128, 127), 0.0));
        }
    }
    for alpha in [0.1f32, 0.125, 0.01, 0.2, 0.3, 0.5, 0.0625, 0.9] {
        let s = scale_at(&mut rng, 1, 9);
        params.push(("LEAKY_RELU", s, rng.range(-100, 100), alpha));
    }
    let cases: Vec<Value> = params
        .iter()
        .map(|(op, s, zp, alpha)| json!({"op": op, "in_scale": s, "in_zp": zp, "alpha": alpha}))
        .collect();
    let got = oracle(&python, &cases);
    let mut compared = 0;
    for ((op, s, zp, alpha), g) in params.iter().zip(&got) {
        for (key, rounding) in PATHS {
            let Some(rows) = g[key].as_array() else {
                assert!(*op != "LEAKY_RELU", "{key} did not run LEAKY_RELU");
                continue;
            };
            let p = match *op {
                "LEAKY_RELU" => PostprocConfig {
                    zero_point: *zp as i32,
                    activation: Activation::LeakyRelu,
                    output_scale: Some(f64::from(*s)),
                    scale: None,
                    input_scale: Some(1.0),
                    weight_scale: Some(npugen::config::Scale::PerTensor(1.0)),
                    leaky_alpha: Some(f64::from(*alpha)),
                    rounding,
                    ..PostprocConfig::default()
                },
                _ => PostprocConfig {
                    zero_point: *zp as i32,
                    activation: if *op == "LOGISTIC" {
                        Activation::Sigmoid
                    } else {
                        Activation::Tanh
                    },
                    lut_input_scale: Some(f64::from(*s)),
                    rounding,
                    ..PostprocConfig::default()
                },
            };
            let table = npugen::model::postproc::activation_table(&p);
            let lite: Vec<i64> = rows[0]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect();
            compared += 1;
            let diff: Vec<usize> = (0..256).filter(|&i| lite[i] != table[i]).collect();
            assert!(
                diff.is_empty(),
                "seed {seed}: {op} scale {s} zp {zp} alpha {alpha} {key}: {} of 256 inputs differ, first q = {}: LiteRT {}, npugen {}",
                diff.len(),
                diff[0] as i64 - 128,
                lite[diff[0]],
                table[diff[0]]
            );
        }
    }
    // The XNNPACK leaky table must differ from the reference one somewhere, or the
    // per-path tables prove nothing.
    let leaky = |rounding| {
        let p = PostprocConfig {
            activation: Activation::LeakyRelu,
            leaky_alpha: Some(0.1),
            rounding,
            ..PostprocConfig::default()
        };
        npugen::model::postproc::activation_table(&p)
    };
    assert_ne!(leaky(Rounding::Reference), leaky(Rounding::Xnnpack));
    eprintln!("activation tables: {compared} x 256 inputs equal LiteRT's on their paths");
}
