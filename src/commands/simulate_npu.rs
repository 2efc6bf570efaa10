//! `npugen simulate` on a config with `[npu]`: the GEMM runs as a program. The host side lays
//! A, B, the post-processing records and the program out in a simulated DRAM, writes the
//! registers, starts the npu and waits for its interrupt; the result is read back from DRAM.
//! The golden model runs the same program on its own copy of the DRAM; the RTL's DRAM
//! afterwards must equal it byte for byte, the counters the model defines must equal its
//! counters, and the result must equal the plain reference (A * B, post-processed).

use serde::Serialize;

use super::simulate::{out_type, RunFiles};
use crate::cli::SimulateArgs;
use crate::error::{Error, Result};
use crate::model::npu::{Dram, NpuModel};
use crate::model::postproc::postprocess_matrix;
use crate::model::{matmul, Matrix};
use crate::npu::host::GemmImage;
use crate::npu::program::{gemm, GemmShape};
use crate::npu::regs::{ErrorCode, COUNTERS};
use crate::npu::Geometry;
use crate::sim::cache::cache_root;
use crate::sim::npu::axi_mem::MemTiming;
use crate::sim::verilator::{build_model, Verilated};

/// Cycles from an accepted burst to its first beat in the memory model.
const MEM_LATENCY: u64 = 8;

/// The report `--report` writes.
#[derive(Serialize)]
struct NpuReport {
    m: u32,
    k: u32,
    n: u32,
    rows: u32,
    cols: u32,
    dataflow: &'static str,
    /// CYCLES: from start to done, every fetch and DMA included.
    cycles: u64,
    /// M * N * K.
    macs: u64,
    /// macs / (rows * cols * cycles).
    utilization: f64,
    /// The RTL's DRAM, status and counters equal the golden model's, and C the reference.
    matches_model: bool,
    /// Bytes LOAD read (DMA_RD_BYTES).
    dma_read_bytes: u64,
    /// Bytes STORE wrote (DMA_WR_BYTES).
    dma_write_bytes: u64,
    /// Instructions executed, FINISH included.
    instructions: u64,
    /// Every performance counter, by register name.
    counters: std::collections::BTreeMap<&'static str, u64>,
    /// The memory model's bytes per cycle.
    mem_bandwidth: u32,
    /// The memory model's latency, cycles.
    mem_latency: u64,
    /// Percent of cycles the memory offers each handshake (`--stalls`), 100 without.
    mem_offer_percent: u32,
    /// Verilator's version line.
    verilator: String,
    /// Whether the compiled model came from the cache, and the seconds to get it.
    model_cached: bool,
    model_seconds: f64,
    seed: u64,
}

/// A generous cycle limit: every beat moved at the memory's rate, every array beat, the
/// memory latency per burst, all slowed by the offer rate; ten times that.
fn cycle_limit(c: &crate::model::npu::Counters, bw: u32, offer: u32, g: &Geometry) -> u64 {
    let bytes = c.dma_rd_bytes + c.dma_wr_bytes + c.fetch_bytes;
    let beats = bytes / u64::from(g.axi_bytes.min(bw)).max(1) + c.macs / u64::from(g.cols);
    let bursts = c.instructions * 8 * MEM_LATENCY;
    10 * (beats + bursts) * 100 / u64::from(offer.max(1)) + 100_000
}

/// Runs the command; returns the exit code (1 when the RTL and the model disagree).
pub fn simulate(args: SimulateArgs) -> Result<i32> {
    let cfg = &args.gemm.config;
    let g = Geometry::new(cfg)?;
    let post = cfg.postproc.as_ref();
    let out_ty = match &args.out {
        Some(_) => Some(out_type(cfg)?),
        None => None,
    };
    let (a, b, params) = super::operands::gemm_inputs(&args.gemm)?;
    let shape = GemmShape {
        m: a.rows as u32,
        k: a.cols as u32,
        n: b.cols as u32,
    };
    let prog = gemm(&g, shape)?;
    let image = GemmImage::new(&g, shape, prog.instrs.len());
    let params = params.unwrap_or_default();
    crate::mem::check(
        &format!(
            "a {} x {} x {} GEMM's DRAM image",
            shape.m, shape.k, shape.n
        ),
        2 * u128::from(image.size),
    )?;
    let (dram, regs) = image.write(&g, &prog, &a, &b, &params);
    // The reference and the golden model.
    let acc = matmul(&a, &b, g.acc_bits, g.signed);
    let reference: Matrix = match post {
        Some(p) => postprocess_matrix(p, &acc, &params),
        None => acc,
    };
    let mut model_dram = Dram::of(dram.bytes.clone());
    let want = NpuModel::new(cfg)?.run(&mut model_dram, &regs);
    if want.error != ErrorCode::None {
        return Err(Error::Internal(format!(
            "the golden model ended the GEMM program with {:?} at {}",
            want.error, want.pc
        )));
    }
    let design = crate::gen::build_part(cfg, crate::gen::Part::Array)?;
    crate::gen::check(&design)?;
    let mut files = RunFiles::declare(&args)?;
    let build =
        build_model(&design, files.trace, &cache_root()).map_err(|e| Error::Tool(e.to_string()))?;
    let bw = args.mem_bandwidth.unwrap_or(g.axi_bytes);
    let offer = args.stalls.map_or(100, |(o, _)| u32::from(o));
    let timing = MemTiming {
        latency: MEM_LATENCY,
        bytes_per_cycle: bw,
        offer,
        seed: args.gemm.seed,
        slverr: None,
    };
    let limit = cycle_limit(&want.counters, bw, offer, &g);
    let run_once = |wave: Option<&std::path::Path>| -> Result<crate::sim::npu::RtlOutcome> {
        let mut sim = Verilated::load(&build).map_err(|e| Error::Tool(e.to_string()))?;
        if let Some(w) = wave {
            sim.open_trace(w).map_err(|e| Error::Tool(e.to_string()))?;
        }
        crate::sim::npu::run(
            &mut sim,
            g.axi_bytes,
            dram.bytes.clone(),
            &regs,
            timing.clone(),
            limit,
        )
        .map_err(|e| Error::Tool(e.to_string()))
    };
    let got = run_once(files.wave.as_ref().map(|(_, t)| t.as_path()))?;
    let result = image.result(&g, &Dram::of(got.dram.clone()));
    let counter_ok = [
        ("INSTRUCTIONS", want.counters.instructions),
        ("DMA_RD_BYTES", want.counters.dma_rd_bytes),
        ("DMA_WR_BYTES", want.counters.dma_wr_bytes),
        ("FETCH_BYTES", want.counters.fetch_bytes),
    ]
    .iter()
    .all(|(n, v)| got.counter(n) == *v);
    let mut problems = got.violations.clone();
    if got.code() != Some(ErrorCode::None) {
        problems.push(format!(
            "the npu ended with error {:#x} at instruction {}",
            got.error, got.pc
        ));
    }
    if got.dram != model_dram.bytes {
        let at = got
            .dram
            .iter()
            .zip(&model_dram.bytes)
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        problems.push(format!(
            "DRAM differs from the golden model's from byte {at:#x}"
        ));
    }
    if !counter_ok {
        problems.push("a counter differs from the golden model's".into());
    }
    if result != reference {
        problems.push("the result differs from the reference".into());
    }
    let matches = problems.is_empty();
    let mut traced = false;
    if !matches && files.wave.is_none() {
        if let Some((_, tmp)) = &files.mismatch {
            traced = run_once(Some(tmp)).is_ok();
        }
    }
    let cycles = got.counter("CYCLES");
    let macs = u64::from(shape.m) * u64::from(shape.k) * u64::from(shape.n);
    let report = NpuReport {
        m: shape.m,
        k: shape.k,
        n: shape.n,
        rows: g.rows,
        cols: g.cols,
        dataflow: g.dataflow.as_str(),
        cycles,
        macs,
        utilization: macs as f64 / (f64::from(g.rows * g.cols) * cycles.max(1) as f64),
        matches_model: matches,
        dma_read_bytes: got.counter("DMA_RD_BYTES"),
        dma_write_bytes: got.counter("DMA_WR_BYTES"),
        instructions: got.counter("INSTRUCTIONS"),
        counters: COUNTERS.iter().map(|(n, _)| (*n, got.counter(n))).collect(),
        mem_bandwidth: bw,
        mem_latency: MEM_LATENCY,
        mem_offer_percent: offer,
        verilator: build.verilator_version.clone(),
        model_cached: build.cached,
        model_seconds: build.seconds,
        seed: args.gemm.seed,
    };
    print_summary(cfg, &report, prog.instrs.len());
    files.stage(&args, &report, &result, out_ty)?;
    let shown = files.commit(traced)?;
    if matches {
        return Ok(0);
    }
    for p in &problems {
        eprintln!("npugen: RTL and golden model disagree: {p}");
    }
    if let Some(v) = shown {
        eprintln!("npugen: waveform written to {}", v.display());
    }
    Ok(1)
}

fn print_summary(cfg: &crate::config::Config, r: &NpuReport, instrs: usize) {
    println!(
        "{}: {} x {} x {} GEMM on the npu ({} x {} {}), {instrs} instructions (seed {})",
        cfg.name,
        r.m,
        r.k,
        r.n,
        r.rows,
        r.cols,
        r.dataflow.to_uppercase(),
        r.seed
    );
    println!(
        "  cycles       {} (memory: {} B/cycle, latency {}, offered {}%)",
        r.cycles, r.mem_bandwidth, r.mem_latency, r.mem_offer_percent
    );
    println!("  utilization  {:.3}", r.utilization);
    println!(
        "  DMA          read {} bytes, write {} bytes",
        r.dma_read_bytes, r.dma_write_bytes
    );
    let how = if r.model_cached { "cached" } else { "built" };
    println!(
        "  model        {} ({how} in {:.2} s)",
        r.verilator, r.model_seconds
    );
    println!(
        "  matches the golden model (DRAM, status, counters) and the reference: {}",
        if r.matches_model { "yes" } else { "NO" }
    );
}
