//! The npu_core itself against the LiteRT interpreter, as a user runs it: int8
//! FULLY_CONNECTED layers (per-tensor and per-channel scales with N > cols, exact ties,
//! near-ties, scales >= 1, input and output zero points, RELU and RELU6, int32 wrap) are run
//! by LiteRT under each of its CPU paths, and the same integers (A, W transposed, the bias, the
//! three scales) through `npugen simulate` on a Verilated npu_core generated for that path.
//! Every output must be equal. One generated core per path serves every layer: the scales,
//! zero points and bounds are run-time parameters (the simulation model is built once). The
//! table activations (LOGISTIC, TANH, LEAKY_RELU) after a layer are checked the same way.

mod common;

use common::litert::{case, exact_ties, oracle, Case, PATHS};
use common::{litert_python, npy_bytes, npy_f32, run, sim_cmd, text, tool};
use npugen::flow::tools::ToolKind;
use npugen::model::requant::Rounding;
use npugen::rng::{seed_from_env, Rng};

/// A float32 exactly, as TOML.
fn f(v: f32) -> String {
    format!("{:e}", f64::from(v))
}

/// The npu_core config for `c` in `mode`; per-channel weight scales go in the config, or
/// (`scale_file`) are left to `--scale`. `act` replaces the fused activation (with its
/// lines, e.g. `activation = "sigmoid"`).
fn config(c: &Case, mode: Rounding, scale_file: bool, act: Option<&str>) -> String {
    let w = if c.w_scale.len() == 1 {
        f(c.w_scale[0])
    } else if scale_file {
        "1.0".into()
    } else {
        format!(
            "[{}]",
            c.w_scale
                .iter()
                .map(|&v| f(v))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let fused = match c.fused {
        "RELU" => "activation = \"relu\"",
        "RELU6" => "activation = \"relu6\"",
        _ => "activation = \"none\"",
    };
    let act = act.unwrap_or(fused);
    format!(
        "name = \"litert_{}\"\n[array]\nrows = 4\ncols = 4\n[postproc]\nrounding = \"{}\"\ninput_scale = {}\nweight_scale = {w}\noutput_scale = {}\nzero_point = {}\ninput_zero_point = {}\n{act}\n",
        mode.as_str(),
        mode.as_str(),
        f(c.in_scale),
        f(c.out_scale),
        c.out_zp,
        c.in_zp,
    )
}

/// Sums that wrap int32: the bias near INT32_MAX plus positive products (and near INT32_MIN
/// minus them), with an input zero point.
fn wrapping() -> Case {
    let n = 6;
    Case {
        a: vec![vec![127, 127, 127, 127], vec![-128, 100, 5, 0]],
        w: (0..n).map(|j| vec![127, 127, -1 + j as i64, 3]).collect(),
        bias: (0..n)
            .map(|j| {
                if j % 2 == 0 {
                    i64::from(i32::MAX) - 1000 * j as i64
                } else {
                    i64::from(i32::MIN) + 1000 * j as i64
                }
            })
            .collect(),
        in_scale: 0.5,
        in_zp: -3,
        w_scale: vec![0.001],
        out_scale: 0.75,
        out_zp: 2,
        fused: "NONE",
    }
}

/// Writes `c`'s A, B (W transposed), bias and per-channel scales into `d`.
fn write_operands(d: &std::path::Path, c: &Case) {
    let (m, k, n) = (c.a.len(), c.a[0].len(), c.w.len());
    let a: Vec<i64> = c.a.iter().flatten().copied().collect();
    let wt: Vec<i64> = (0..k)
        .flat_map(|kk| (0..n).map(move |nn| (kk, nn)))
        .map(|(kk, nn)| c.w[nn][kk])
        .collect();
    std::fs::write(d.join("A.npy"), npy_bytes("|i1", m, k, &a)).unwrap();
    std::fs::write(d.join("B.npy"), npy_bytes("|i1", k, n, &wt)).unwrap();
    std::fs::write(d.join("bias.npy"), npy_bytes("<i4", 1, n, &c.bias)).unwrap();
    std::fs::write(d.join("S.npy"), npy_f32(&c.w_scale)).unwrap();
}

/// `npugen simulate` of `c` (operands already in `d`) on a core configured by `toml`, writing
/// Y.npy; `--scale S.npy` if `scale_file`.
fn simulate(d: &std::path::Path, toml: &str, scale_file: bool) -> std::process::Output {
    std::fs::write(d.join("core.toml"), toml).unwrap();
    let mut cmd = sim_cmd(d);
    cmd.args(["simulate", "core.toml", "--a", "A.npy", "--b", "B.npy"]);
    cmd.args(["--bias", "bias.npy", "--out", "Y.npy"]);
    if scale_file {
        cmd.args(["--scale", "S.npy"]);
    }
    run(&mut cmd)
}

/// LiteRT's Python, if both it and Verilator are there (under CI both must be).
fn tools() -> Option<std::path::PathBuf> {
    let python = litert_python()?;
    tool(ToolKind::Verilator).map(|_| python)
}

#[test]
fn npu_core_is_bit_exact_with_every_litert_path_through_simulate() {
    let Some(python) = tools() else {
        return;
    };
    let seed = seed_from_env("NPUGEN_TEST_SEED");
    eprintln!("litert npu seed {seed} (NPUGEN_TEST_SEED to repeat)");
    let mut rng = Rng::new(seed);
    let mut cases: Vec<Case> = (0..16).map(|i| case(&mut rng, i % 8)).collect();
    cases.extend((1..=3).map(exact_ties));
    let wrap = wrapping();
    // The layer must really wrap: some sum of it leaves int32.
    let wraps = (0..wrap.a.len())
        .flat_map(|m| (0..wrap.w.len()).map(move |n| (m, n)))
        .any(|(m, n)| {
            let dot: i64 = wrap.a[m]
                .iter()
                .zip(&wrap.w[n])
                .map(|(a, w)| (a - wrap.in_zp) * w)
                .sum();
            i32::try_from(dot + wrap.bias[n]).is_err()
        });
    assert!(wraps, "the wrapping layer does not wrap");
    cases.push(wrap);
    let got = oracle(&python, &cases.iter().map(Case::json).collect::<Vec<_>>());
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut compared = [0usize; 3];
    let mut failures = Vec::new();
    for (ci, (c, g)) in cases.iter().zip(&got).enumerate() {
        let (m, n) = (c.a.len(), c.w.len());
        write_operands(d, c);
        for (pi, (key, mode)) in PATHS.iter().enumerate() {
            let scale_file = c.w_scale.len() > 1 && ci % 2 == 0;
            let o = simulate(d, &config(c, *mode, scale_file, None), scale_file);
            let Some(rows) = g[key].as_array() else {
                // XNNPACK refused the layer (scale >= 256): npugen must refuse it too.
                let refused = o.status.code() == Some(2) && text(&o).contains("256");
                if !refused && failures.len() < 12 {
                    failures.push(format!(
                        "case {ci} {key}: LiteRT refused, npugen: {}",
                        text(&o)
                    ));
                }
                continue;
            };
            if o.status.code() != Some(0) {
                failures.push(format!("case {ci} {key}: simulate failed: {}", text(&o)));
                continue;
            }
            let y = npugen::npy::read(&d.join("Y.npy")).unwrap();
            assert_eq!((y.rows, y.cols), (m, n), "case {ci} {key}: Y's shape");
            for (mi, row) in rows.iter().enumerate() {
                for (ni, v) in row.as_array().unwrap().iter().enumerate() {
                    let want = i128::from(v.as_i64().unwrap());
                    compared[pi] += 1;
                    let got = y.at(mi, ni);
                    if got != want && failures.len() < 12 {
                        failures.push(format!(
                            "case {ci} ({}) {key}: out[{mi}][{ni}] x = {} scales {:?}: LiteRT {want}, npu_core {got}",
                            c.fused,
                            c.x(mi, ni),
                            c.scales(ni),
                        ));
                    }
                }
            }
        }
    }
    eprintln!(
        "npu_core against LiteRT: reference {}, optimized {}, xnnpack {} outputs",
        compared[0], compared[1], compared[2]
    );
    assert!(failures.is_empty(), "seed {seed}:\n{}", failures.join("\n"));
    assert!(
        compared.iter().all(|&n| n >= 1000),
        "too few outputs compared: {compared:?}"
    );
}

/// An FC layer followed by LOGISTIC, TANH or LEAKY_RELU in LiteRT (each op run by LiteRT, the
/// second on the first's own int8 output) against the npu_core with that table activation,
/// through `npugen simulate`, on every path.
#[test]
fn table_activations_after_a_layer_are_bit_exact_through_simulate() {
    let Some(python) = tools() else {
        return;
    };
    let seed = seed_from_env("NPUGEN_TEST_SEED");
    eprintln!("litert activation seed {seed} (NPUGEN_TEST_SEED to repeat)");
    let mut rng = Rng::new(seed);
    // One random per-channel layer with an output scale the activations care about.
    let mut c = case(&mut rng, 1);
    c.fused = "NONE";
    c.out_scale = 0.0625 * (1.0 + rng.range(0, 100) as f32 / 128.0);
    let fc = oracle(&python, &[c.json()]).remove(0);
    let acts = [
        ("LOGISTIC", "activation = \"sigmoid\"", 0.0f32),
        ("TANH", "activation = \"tanh\"", 0.0),
        (
            "LEAKY_RELU",
            "activation = \"leaky_relu\"\nleaky_alpha = 0.1",
            0.1,
        ),
    ];
    let act_cases: Vec<serde_json::Value> = acts
        .iter()
        .map(|(op, _, alpha)| {
            serde_json::json!({"op": op, "in_scale": c.out_scale, "in_zp": c.out_zp, "alpha": alpha})
        })
        .collect();
    let tables = oracle(&python, &act_cases);
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write_operands(d, &c);
    let mut compared = 0;
    let mut failures = Vec::new();
    for (key, mode) in PATHS {
        let layer = fc[key].as_array().expect("LiteRT ran the layer");
        for ((op, lines, _), table) in acts.iter().zip(&tables) {
            let table = table[key][0].as_array().expect("LiteRT ran the activation");
            let o = simulate(d, &config(&c, mode, false, Some(lines)), false);
            assert_eq!(o.status.code(), Some(0), "{key} {op}: {}", text(&o));
            let y = npugen::npy::read(&d.join("Y.npy")).unwrap();
            for (mi, row) in layer.iter().enumerate() {
                for (ni, v) in row.as_array().unwrap().iter().enumerate() {
                    let fc_out = v.as_i64().unwrap();
                    let want = i128::from(table[(fc_out + 128) as usize].as_i64().unwrap());
                    compared += 1;
                    if y.at(mi, ni) != want && failures.len() < 12 {
                        failures.push(format!(
                            "{key} {op}: out[{mi}][{ni}] (FC {fc_out}): LiteRT {want}, npu_core {}",
                            y.at(mi, ni)
                        ));
                    }
                }
            }
        }
    }
    eprintln!("table activations after a layer: {compared} outputs equal LiteRT's");
    assert!(failures.is_empty(), "seed {seed}:\n{}", failures.join("\n"));
    assert!(compared >= 900, "too few outputs compared: {compared}");
}
