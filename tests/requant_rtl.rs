//! Each rounding mode's RTL datapath against the golden model, on the values where the modes
//! differ: one npu_core per mode runs a GEMM whose 256 output columns each get their own
//! run-time parameters (scale, bias, zero point, bounds), so one Verilator build covers
//! power-of-two scales (every odd sum a tie), near-ties, scales >= 1 (left shifts, int32
//! overflow), tiny scales (all zeros), and sums at INT32_MIN / INT32_MAX.

mod common;

use common::{sim_cache, tool};
use npugen::config::Config;
use npugen::flow::tools::ToolKind;
use npugen::model::postproc::column_params;
use npugen::model::requant::Rounding;
use npugen::model::Matrix;
use npugen::rng::{seed_from_env, Rng};
use npugen::sim::gemm::{cosim_gemm, GemmJob, GemmOptions};

/// Output columns of the GEMM: each one a different parameter record.
const N: usize = 256;

/// A per-column scale for column `n`: the hard cases first, then random ones.
fn scale_of(rng: &mut Rng, n: usize, mode: Rounding) -> f64 {
    let max_exp = if mode == Rounding::Xnnpack { 7 } else { 12 };
    match n % 8 {
        0 => 2f64.powi(-(rng.range(1, 8) as i32)),
        1 => 2f64.powi(rng.range(0, max_exp) as i32),
        2 => (rng.range(1, 1 << 20) as f64) * 2f64.powi(-20 - rng.range(0, 12) as i32),
        3 => 2f64.powi(-(rng.range(34, 60) as i32)),
        4 => 1.0 + rng.range(1, 1000) as f64 / 1000.0,
        // Just above and below a power of two: the product rounds into or out of a tie.
        5 => 2f64.powi(-(rng.range(1, 10) as i32)) * (1.0 + 2f64.powi(-(rng.range(18, 24) as i32))),
        6 => 2f64.powi(-(rng.range(1, 10) as i32)) * (1.0 - 2f64.powi(-(rng.range(18, 24) as i32))),
        _ => rng.range(1, 1 << 23) as f64 * 2f64.powi(-30),
    }
}

/// A bias putting column `n`'s sums near the int32 limits, zero, or anywhere.
fn bias_of(rng: &mut Rng, n: usize) -> i128 {
    match n % 5 {
        0 => i128::from(i32::MAX) - i128::from(rng.range(0, 20_000)),
        1 => i128::from(i32::MIN) + i128::from(rng.range(0, 20_000)),
        2 => i128::from(rng.range(-100, 100)),
        3 => i128::from(rng.range(-(1 << 30), 1 << 30)),
        _ => i128::from(rng.range(-(1 << 20), 1 << 20)),
    }
}

#[test]
fn every_rounding_mode_rtl_matches_the_model_on_hard_values() {
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    let seed = seed_from_env("NPUGEN_SEED");
    println!("seed = {seed} (replay with NPUGEN_SEED={seed})");
    let modes = [
        Rounding::Reference,
        Rounding::Optimized,
        Rounding::Xnnpack,
        Rounding::Gemmlowp,
    ];
    let failures = common::parallel(&modes, |&mode| check_mode(mode, seed));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn check_mode(mode: Rounding, seed: u64) -> Result<(), String> {
    let mut rng = Rng::new(seed ^ mode as u64);
    // 16-bit outputs keep most results unclamped; the zero point and bounds vary per column.
    let scales = "input_scale = 1.0\nweight_scale = 1.0\noutput_scale = 1.0";
    let toml = format!(
        "name = \"rq_{}\"\n[array]\nrows = 2\ncols = 4\n[postproc]\nout_bits = 16\nrounding = \"{}\"\n{scales}\nzero_point = -7\n",
        mode.as_str(),
        mode.as_str()
    );
    let cfg = Config::load(&toml, "t").map_err(|e| e.to_string())?;
    let post = cfg.postproc.as_ref().expect("npu_core");
    // K = 1: each sum is a[m] * b[n] + bias[n]; a holds the corners.
    let m = 12;
    let a_vals = [127i128, -128, 1, -1, 0, 64, -65, 3, -3, 100, -100, 17];
    let a = Matrix::from_rows(m, 1, a_vals.to_vec());
    let b = Matrix::from_rows(
        1,
        N,
        (0..N).map(|n| [127, -128, 1, -1, 77][n % 5]).collect(),
    );
    let bias: Vec<i128> = (0..N).map(|n| bias_of(&mut rng, n)).collect();
    let per_column: Vec<f64> = (0..N).map(|n| scale_of(&mut rng, n, mode)).collect();
    let mut params =
        column_params(post, &b, &bias, Some(&per_column)).map_err(|e| format!("{mode:?}: {e}"))?;
    // Run-time zero points and bounds differ per column too.
    for (n, p) in params.iter_mut().enumerate() {
        p.zero_point = [-7, 0, 300, -32768, 32767][n % 5];
        if n % 3 == 0 {
            (p.lo, p.hi) = (-1000, 5000);
        }
        if n % 7 == 0 {
            (p.lo, p.hi) = (p.zero_point, i32::from(i16::MAX));
        }
        // Bounds the wrong way round: every output is hi.
        if n % 11 == 0 {
            (p.lo, p.hi) = (100, -100);
        }
    }
    let design = npugen::generate(&cfg).map_err(|e| e.to_string())?;
    let job = GemmJob {
        array: cfg.array(),
        post: Some(post),
        a: &a,
        b: &b,
        params: Some(&params),
    };
    let out = cosim_gemm(&job, &design, &GemmOptions::new(sim_cache()))
        .map_err(|e| format!("{mode:?}: {e}"))?;
    if let Some(mm) = &out.run.mismatch {
        return Err(format!("{mode:?} (seed {seed}): {mm}"));
    }
    if !out.matches_reference {
        return Err(format!(
            "{mode:?} (seed {seed}): differs from the reference"
        ));
    }
    // The values must be spread: not all clamped, not all zero.
    let distinct: std::collections::BTreeSet<i128> = out.c.data.iter().copied().collect();
    if distinct.len() < 150 {
        return Err(format!(
            "{mode:?}: only {} distinct outputs: the test lost its spread",
            distinct.len()
        ));
    }
    Ok(())
}
