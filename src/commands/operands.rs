//! Loading GEMM operands: .npy files checked against the configured operand widths, or random
//! matrices from a seed.

use std::path::Path;

use crate::cli::{GemmArgs, Operands};
use crate::config::{ArrayConfig, PostprocConfig};
use crate::error::{Error, Result};
use crate::model::io::operand_range;
use crate::model::params::ColumnParams;
use crate::model::postproc::column_params;
use crate::model::Matrix;
use crate::rng::Rng;
use crate::sim::operands::random_matrix;

/// Reads one operand and checks every value against the field's width and signedness.
fn load(path: &Path, field: &str, bits: u32, signed: bool) -> Result<Matrix> {
    let what = path.display().to_string();
    if !path.exists() {
        return Err(Error::input(what, "no such file"));
    }
    let m = crate::npy::read(path).map_err(|e| Error::input(&what, e))?;
    if m.rows == 0 || m.cols == 0 {
        return Err(Error::input(
            &what,
            format!("shape ({}, {}) is empty", m.rows, m.cols),
        ));
    }
    let (lo, hi) = operand_range(bits, signed);
    if let Some(i) = m.data.iter().position(|v| *v < lo || *v > hi) {
        return Err(Error::input(
            &what,
            format!(
                "element ({}, {}) = {} is out of range for array.{field} = {bits}, signed = {signed}: allowed {lo}..={hi}",
                i / m.cols,
                i % m.cols,
                m.data[i]
            ),
        ));
    }
    Ok(m)
}

/// Refuses (exit code 2) a GEMM whose co-simulation would not fit in memory.
fn check_memory(cfg: &ArrayConfig, shape: (usize, usize, usize)) -> Result<()> {
    let (m, k, n) = shape;
    crate::mem::check(
        &format!(
            "a {m} x {k} x {n} GEMM on the {} x {} array",
            cfg.rows, cfg.cols
        ),
        crate::sim::tiling::gemm_memory_bytes(cfg, shape),
    )
}

/// The operands A (M x K) and B (K x N), after checking that the run fits in memory.
pub fn operands(cfg: &ArrayConfig, ops: &Operands, seed: u64) -> Result<(Matrix, Matrix)> {
    match ops {
        Operands::Files { a, b } => {
            let am = load(a, "input_bits", cfg.input_bits, cfg.signed)?;
            let bm = load(b, "weight_bits", cfg.weight_bits, cfg.signed)?;
            if am.cols != bm.rows {
                return Err(Error::input(
                    format!("{} and {}", a.display(), b.display()),
                    format!(
                        "shapes ({}, {}) and ({}, {}) do not chain: A's columns must equal B's rows",
                        am.rows, am.cols, bm.rows, bm.cols
                    ),
                ));
            }
            check_memory(cfg, (am.rows, am.cols, bm.cols))?;
            Ok((am, bm))
        }
        Operands::Random { shape: (m, k, n) } => {
            check_memory(cfg, (*m, *k, *n))?;
            let mut rng = Rng::new(seed);
            let am = random_matrix(&mut rng, *m, *k, cfg.input_bits, cfg.signed);
            let bm = random_matrix(&mut rng, *k, *n, cfg.weight_bits, cfg.signed);
            Ok((am, bm))
        }
    }
}

/// A GEMM's inputs from a command's arguments: A, B and, with post-processing, each column's
/// record (the bias from `--bias`, random with random operands, else zeros; `--scale`).
pub fn gemm_inputs(args: &GemmArgs) -> Result<(Matrix, Matrix, Option<Vec<ColumnParams>>)> {
    let post = args.config.postproc.as_ref();
    let (a, b) = operands(args.config.array(), &args.operands, args.seed)?;
    let bias = bias(
        post.is_some(),
        b.cols,
        args.bias.as_deref(),
        &args.operands,
        args.seed,
    )?;
    let params = params(post, &b, bias.as_deref(), args.scale.as_deref())?;
    Ok((a, b, params))
}

/// The npu_core bias: from `path` (N int32 values, 1-D or one row), random with random
/// operands, else zeros. `None` without post-processing.
pub fn bias(
    post: bool,
    n: usize,
    path: Option<&Path>,
    ops: &Operands,
    seed: u64,
) -> Result<Option<Vec<i128>>> {
    if !post {
        return Ok(None);
    }
    if let Some(p) = path {
        let what = p.display().to_string();
        if !p.exists() {
            return Err(Error::input(what, "no such file"));
        }
        let m = crate::npy::read(p).map_err(|e| Error::input(&what, e))?;
        if m.rows != 1 || m.cols != n {
            return Err(Error::input(
                &what,
                format!(
                    "shape ({}, {}) is not N = {n} values (B's columns)",
                    m.rows, m.cols
                ),
            ));
        }
        let (lo, hi) = (i128::from(i32::MIN), i128::from(i32::MAX));
        if let Some(i) = m.data.iter().position(|v| *v < lo || *v > hi) {
            return Err(Error::input(
                &what,
                format!(
                    "element {i} = {} is out of range: allowed {lo}..={hi} (int32)",
                    m.data[i]
                ),
            ));
        }
        return Ok(Some(m.data));
    }
    Ok(Some(match ops {
        Operands::Random { .. } => {
            let mut rng = Rng::new(seed ^ 0xb1a5);
            (0..n)
                .map(|i| match i {
                    0 => i128::from(i32::MAX),
                    1 => i128::from(i32::MIN),
                    _ => i128::from(rng.range(-(1 << 16), 1 << 16)),
                })
                .collect()
        }
        Operands::Files { .. } => vec![0; n],
    }))
}

/// Per-column scales from `path` (`--scale`): N positive float32 / float64 values.
fn scales(path: &Path, n: usize) -> Result<Vec<f64>> {
    let what = path.display().to_string();
    if !path.exists() {
        return Err(Error::input(what, "no such file"));
    }
    let v = crate::npy::read_floats(path).map_err(|e| Error::input(&what, e))?;
    if v.len() != n {
        return Err(Error::input(
            &what,
            format!("{} values, not N = {n} (B's columns)", v.len()),
        ));
    }
    if let Some(i) = v.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(Error::input(
            &what,
            format!("element {i} = {} is not a positive number", v[i]),
        ));
    }
    Ok(v)
}

/// The npu_core's run-time parameters for a GEMM with weights `b` and `bias` (`None` without
/// post-processing): the config's defaults, per-column scales from `scale_path`.
pub fn params(
    post: Option<&PostprocConfig>,
    b: &Matrix,
    bias: Option<&[i128]>,
    scale_path: Option<&Path>,
) -> Result<Option<Vec<ColumnParams>>> {
    let (Some(p), Some(bias)) = (post, bias) else {
        return Ok(None);
    };
    let per_column = scale_path.map(|s| scales(s, b.cols)).transpose()?;
    column_params(p, b, bias, per_column.as_deref()).map(Some)
}
