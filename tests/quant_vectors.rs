//! The npu_core's constants against data computed outside npugen: `tests/data/quant_vectors.json`
//! (written by scripts/make-quant-vectors.py, plain Python) holds TFLite's QuantizeMultiplier
//! results and the LOGISTIC/TANH tables. The golden model, the parameter records a driver
//! writes (multiplier and exponent) and the generated Verilog (every ROM word) must equal it,
//! so a wrong table or multiplier can no longer hide behind the model and the generator
//! sharing one function.

use npugen::config::{Activation, Config, PostprocConfig};
use npugen::model::postproc::activation_table;
use npugen::model::requant::{quantize_multiplier, ColumnScale, Rounding, Scaling};
use serde_json::Value;

fn data() -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/quant_vectors.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// The Verilog of an npu_core with these `[array]` and `[postproc]` lines.
fn verilog(array: &str, post: &str) -> String {
    let cfg = Config::load(
        &format!("name = \"qv\"\n[array]\n{array}\n[postproc]\n{post}\n"),
        "t",
    )
    .unwrap();
    npugen::emit::verilog::design_to_verilog(&npugen::generate(&cfg).unwrap())
}

#[test]
fn quantize_multiplier_matches_the_data_in_the_model_and_the_records() {
    let d = data();
    let entries = d["quantize_multiplier"].as_array().unwrap();
    assert!(entries.len() >= 10);
    for e in entries {
        let scale = e["scale"].as_f64().unwrap();
        let (m, sh) = (
            e["multiplier"].as_i64().unwrap(),
            e["shift"].as_u64().unwrap() as u32,
        );
        let q = quantize_multiplier(scale);
        assert_eq!(
            (i64::from(q.m), -q.exponent),
            (m, sh as i32),
            "model, scale {scale}"
        );
        // The parameter record a driver gets: M and the exponent -shift, in both Q31 modes.
        for mode in [Rounding::Gemmlowp, Rounding::Optimized] {
            let s = Scaling::encode(ColumnScale::Effective(scale), mode).unwrap();
            assert_eq!(
                (s.mult, s.exp),
                (m as u64, -(sh as i32)),
                "{mode:?} record, scale {scale}"
            );
        }
    }
}

#[test]
fn activation_tables_match_the_data_in_the_model_and_the_rtl_rom() {
    for t in data()["tables"].as_array().unwrap() {
        let act = t["activation"].as_str().unwrap();
        let (bits, signed) = (
            t["out_bits"].as_u64().unwrap() as u32,
            t["out_signed"].as_bool().unwrap(),
        );
        let (zp, step) = (
            t["zero_point"].as_i64().unwrap(),
            t["lut_input_scale"].as_f64().unwrap(),
        );
        let want: Vec<i64> = t["table"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        let p = PostprocConfig {
            out_bits: bits,
            out_signed: signed,
            zero_point: zp as i32,
            activation: if act == "sigmoid" {
                Activation::Sigmoid
            } else {
                Activation::Tanh
            },
            lut_input_scale: Some(step),
            ..PostprocConfig::default()
        };
        let label = format!("{act} {bits}-bit signed={signed} zp={zp} step={step}");
        assert_eq!(activation_table(&p), want, "model: {label}");
        // The ROM in the generated Verilog: word i holds the output for input code lo + i,
        // stored as out_bits unsigned.
        let v = verilog(
            "rows = 1\ncols = 1",
            &format!(
                "scale = 0.01\nout_bits = {bits}\nout_signed = {signed}\nzero_point = {zp}\nactivation = \"{act}\"\nlut_input_scale = {step:e}"
            ),
        );
        let mask = (1i64 << bits) - 1;
        for (i, w) in want.iter().enumerate() {
            let line = format!("lut0[{i}] = {bits}'h{:x};", w & mask);
            assert!(v.contains(&line), "RTL ROM: {label}: missing {line}");
        }
        assert!(
            !v.contains(&format!("lut0[{}] =", want.len())),
            "{label}: ROM too deep"
        );
    }
}
