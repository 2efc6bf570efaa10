//! One GEMM through the Verilated RTL, checked against the golden model on every cycle and
//! against the plain matrix product at the end; the `simulate` command and the tests use it.

use std::path::PathBuf;

use serde::Serialize;

use super::array_dut::ArrayDut;
use super::run::{run, RunError, RunOptions, RunResult};
use super::stream::Stalls;
use super::tiling::{assemble, macs, plan_with_params, GemmPlan};
use super::verilator::{build_model, ModelBuild, SimError, TraceFormat, Verilated};
use crate::config::{ArrayConfig, PostprocConfig};
use crate::model::params::ColumnParams;
use crate::model::postproc::postprocess_matrix;
use crate::model::{matmul, ArrayModel, Matrix};
use crate::rtl::Design;
use crate::timing;

/// How to co-simulate.
#[derive(Clone, Debug)]
pub struct GemmOptions {
    /// Folder of cached models.
    pub cache: PathBuf,
    /// Random gaps and back-pressure (`None`: full speed).
    pub stalls: Option<Stalls>,
    /// Write a waveform of the whole run here.
    pub vcd: Option<PathBuf>,
    /// On a mismatch, re-run with tracing and write the waveform here (if `vcd` is unset).
    pub vcd_on_mismatch: Option<PathBuf>,
    /// The waveform format of both (the model is built for it).
    pub trace: TraceFormat,
}

impl GemmOptions {
    /// Full speed (no stalls), no waveforms, models cached in `cache`.
    pub fn new(cache: PathBuf) -> GemmOptions {
        GemmOptions {
            cache,
            stalls: None,
            vcd: None,
            vcd_on_mismatch: None,
            trace: TraceFormat::Vcd,
        }
    }
}

/// What a co-simulated GEMM produced.
#[derive(Debug)]
pub struct GemmOutcome {
    /// C (or Y, post-processed) as reassembled from the RTL's output rows.
    pub c: Matrix,
    /// The run (cycles, first mismatch).
    pub run: RunResult,
    /// The model build used.
    pub build: ModelBuild,
    /// Folds streamed.
    pub folds: usize,
    /// Whether the result equals the reference (A * B, post-processed if configured).
    pub matches_reference: bool,
    /// Where a waveform was written, if any.
    pub vcd: Option<PathBuf>,
}

impl GemmOutcome {
    /// The RTL agreed with the golden model on every cycle and with the plain product.
    pub fn matches_model(&self) -> bool {
        self.run.mismatch.is_none() && self.matches_reference
    }
}

/// Errors of a co-simulation (tool, build, hang).
#[derive(Debug, thiserror::Error)]
pub enum GemmError {
    /// Building or loading the model.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// The run hung.
    #[error("the RTL hung: {0}")]
    Hang(#[from] RunError),
}

/// One GEMM to co-simulate: the array (and post-processing, for an npu_core), A, B and the
/// run-time parameters (npu_core only: one record per output column).
#[derive(Clone, Copy, Debug)]
pub struct GemmJob<'a> {
    /// The array's config.
    pub array: &'a ArrayConfig,
    /// Post-processing (an npu_core), if any.
    pub post: Option<&'a PostprocConfig>,
    /// A, M x K.
    pub a: &'a Matrix,
    /// B, K x N.
    pub b: &'a Matrix,
    /// The N columns' parameters ([`crate::model::postproc::column_params`]; required with
    /// `post`).
    pub params: Option<&'a [ColumnParams]>,
}

impl GemmJob<'_> {
    /// The expected result: A * B wrapped to the accumulator, post-processed if configured.
    pub fn reference(&self) -> Matrix {
        let c = matmul(self.a, self.b, self.array.acc_bits(), self.array.signed);
        match (self.post, self.params) {
            (Some(p), Some(params)) => postprocess_matrix(p, &c, params),
            _ => c,
        }
    }

    fn plan(&self) -> GemmPlan {
        plan_with_params(self.array, self.a, self.b, self.post.and(self.params))
    }
}

/// One run of the planned streams `p` through the model of `design` (built or cached).
fn one_run(
    job: &GemmJob,
    p: &GemmPlan,
    design: &Design,
    opts: &GemmOptions,
    vcd: Option<&PathBuf>,
) -> Result<(RunResult, ModelBuild), GemmError> {
    let build = build_model(design, opts.trace, &opts.cache)?;
    let mut sim = Verilated::load(&build)?;
    if let Some(path) = vcd {
        sim.open_trace(path)?;
    }
    let mut dut = ArrayDut::new(sim, job.array, job.post)?;
    let mut model = ArrayModel::with_post(job.array, job.post);
    let run_opts = RunOptions {
        stalls: opts.stalls,
        ..RunOptions::default()
    };
    let res = run(job.array, p, &mut dut, Some(&mut model), &run_opts)?;
    Ok((res, build))
}

/// Co-simulates `job` on `design` (generated from the job's config).
pub fn cosim_gemm(
    job: &GemmJob,
    design: &Design,
    opts: &GemmOptions,
) -> Result<GemmOutcome, GemmError> {
    // Planned once: the run, the reassembly and a traced re-run all use the same streams.
    let plan = job.plan();
    let (run_res, build) = one_run(job, &plan, design, opts, opts.vcd.as_ref())?;
    let c = assemble(job.array, &plan, &run_res.rows);
    // Exactly the planned rows: an extra or repeated row is a failure even if C is right.
    let matches_reference = c == job.reference() && run_res.rows.len() == plan.rows.len();
    let mut vcd = opts.vcd.clone();
    if (run_res.mismatch.is_some() || !matches_reference) && vcd.is_none() {
        if let Some(path) = &opts.vcd_on_mismatch {
            // The run is deterministic: the traced re-run (same model, no new build) shows
            // the same failure.
            one_run(job, &plan, design, opts, Some(path))?;
            vcd = Some(path.clone());
        }
    }
    Ok(GemmOutcome {
        c,
        run: run_res,
        build,
        folds: plan.folds,
        matches_reference,
        vcd,
    })
}

/// The `run.json` report of a co-simulated GEMM.
#[derive(Clone, Debug, Serialize)]
pub struct GemmReport {
    /// Rows of A and C.
    pub m: usize,
    /// Columns of A, rows of B.
    pub k: usize,
    /// Columns of B and C.
    pub n: usize,
    /// PE rows.
    pub rows: u32,
    /// PE columns.
    pub cols: u32,
    /// "os" or "ws".
    pub dataflow: &'static str,
    /// Cycles counted in the RTL simulation, first input beat to last output beat.
    pub cycles: u64,
    /// M * N * K.
    pub macs: u64,
    /// macs / (rows * cols * cycles).
    pub utilization: f64,
    /// SCALE-Sim v3's compute cycles for the same shape.
    pub scalesim_cycles: u64,
    /// The manifest formula's cycles (equal to `cycles` at full speed).
    pub formula_cycles: u64,
    /// Folds streamed.
    pub folds: usize,
    /// RTL == golden model on every cycle, and C == A * B.
    pub matches_model: bool,
    /// Verilator's version line.
    pub verilator: String,
    /// Whether the compiled model came from the cache, and the seconds to get it.
    pub model_cached: bool,
    /// Seconds to build (or find) the compiled model.
    pub model_seconds: f64,
    /// Seed of random operands or stalls, if any.
    pub seed: Option<u64>,
}

impl GemmReport {
    /// The report of an outcome (`post`: an npu_core, whose latency the formula includes).
    pub fn new(
        cfg: &ArrayConfig,
        post: Option<&PostprocConfig>,
        shape: (usize, usize, usize),
        out: &GemmOutcome,
        seed: Option<u64>,
    ) -> GemmReport {
        let (m, k, n) = shape;
        let cycles = out.run.cycles();
        let macs = macs(shape);
        GemmReport {
            m,
            k,
            n,
            rows: cfg.rows,
            cols: cfg.cols,
            dataflow: cfg.dataflow.as_str(),
            cycles,
            macs,
            utilization: macs as f64 / (f64::from(cfg.rows * cfg.cols) * cycles.max(1) as f64),
            scalesim_cycles: timing::scalesim_cycles(cfg, m as u64, k as u64, n as u64),
            formula_cycles: timing::gemm_cycles(cfg, m as u64, k as u64, n as u64)
                + u64::from(timing::post_latency(post)),
            folds: out.folds,
            matches_model: out.matches_model(),
            verilator: out.build.verilator_version.clone(),
            model_cached: out.build.cached,
            model_seconds: out.build.seconds,
            seed,
        }
    }
}
