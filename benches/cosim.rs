//! Co-simulation benchmark (needs Verilator on PATH: `. .tools/env.sh`).
//!
//! - cycles measured in the RTL against the manifest formula and SCALE-Sim, and utilization,
//!   for 16x16 with M=N=K=256 and (M, K, N) = (64, 40, 48), both dataflows, plus OS shapes with
//!   K >= 8 * max(R, C);
//! - Verilator speed on a 16x16 array: the raw model (one FFI step per cycle) and the whole
//!   testbench loop (model comparison included);
//! - cold build, cached start (checksum verified) and two concurrent cold runs of an 8x8 model.
//!
//! Run: `cargo bench --bench cosim` (under `cargo test` it only checks one small case).

use std::time::Instant;

use npugen::config::{ArrayConfig, Config, Dataflow};
use npugen::rng::Rng;
use npugen::sim::array_dut::ArrayDut;
use npugen::sim::gemm::{cosim_gemm, GemmJob, GemmOptions, GemmReport};
use npugen::sim::operands::random_matrix;
use npugen::sim::run::{run, RunOptions};
use npugen::sim::tiling::plan;
use npugen::sim::verilator::{build_model, TraceFormat, Verilated};

fn cfg(n: u32, df: Dataflow) -> Config {
    Config {
        name: format!("bench{n}_{}", df.as_str()),
        array: Some(ArrayConfig {
            rows: n,
            cols: n,
            dataflow: df,
            ..ArrayConfig::default()
        }),
        postproc: None,
        lif: None,
        npu: None,
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let cache = std::env::temp_dir().join("npugen-bench-cache");
    let opts = GemmOptions::new(cache.clone());
    let mut rng = Rng::new(2026);
    let only_speed = std::env::var("NPUGEN_BENCH_SPEED_ONLY").is_ok();
    let sizes: &[u32] = if only_speed {
        &[]
    } else if full {
        &[16, 8]
    } else {
        &[2]
    };
    let shapes: &[(usize, usize, usize)] = if full {
        &[(256, 256, 256), (64, 40, 48), (64, 128, 64), (64, 256, 64)]
    } else {
        &[(3, 4, 5)]
    };
    println!("| array | dataflow | M, K, N | RTL cycles | formula | SCALE-Sim | RTL / SCALE-Sim | utilization | matches model |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for &n in sizes {
        for df in [Dataflow::Os, Dataflow::Ws] {
            let c = cfg(n, df);
            let design = npugen::generate(&c).expect("valid");
            for &(m, k, nn) in shapes {
                if n == 8 && (m, k, nn) == (256, 256, 256) {
                    continue;
                }
                let a = random_matrix(&mut rng, m, k, 8, true);
                let b = random_matrix(&mut rng, k, nn, 8, true);
                let job = GemmJob {
                    array: c.array(),
                    post: None,
                    a: &a,
                    b: &b,
                    params: None,
                };
                let out = cosim_gemm(&job, &design, &opts).expect("runs");
                let r = GemmReport::new(c.array(), None, (m, k, nn), &out, None);
                println!(
                    "| {n}x{n} | {} | {m}, {k}, {nn} | {} | {} | {} | {:.3} | {:.3} | {} |",
                    df.as_str(),
                    r.cycles,
                    r.formula_cycles,
                    r.scalesim_cycles,
                    r.cycles as f64 / r.scalesim_cycles as f64,
                    r.utilization,
                    r.matches_model
                );
                assert!(
                    r.matches_model,
                    "{n}x{n} {} ({m}, {k}, {nn}): RTL != model",
                    df.as_str()
                );
            }
        }
    }

    // Verilator speed on 16x16 (NPUGEN_BENCH_SPEED_N overrides; 2x2 as a smoke test).
    let speed_n = std::env::var("NPUGEN_BENCH_SPEED_N")
        .ok()
        .and_then(|v| v.parse().ok());
    let n = if full { speed_n.unwrap_or(16) } else { 2 };
    let c = cfg(n, Dataflow::Os);
    let a_cfg = c.array().clone();
    let design = npugen::generate(&c).expect("valid");
    let build = build_model(&design, TraceFormat::Vcd, &cache).expect("builds");
    println!();
    println!("{} ({})", build.verilator_version, build.lib.display());
    let mut sim = Verilated::load(&build).expect("loads");
    let cycles: u64 = if full { 2_000_000 } else { 1000 };
    let words = sim.inputs_mut().len();
    let t = Instant::now();
    for i in 0..cycles {
        // rst low after 2 cycles, valid beats with changing data, tready high.
        for (w, x) in sim.inputs_mut().iter_mut().enumerate() {
            *x = (i as u32).wrapping_mul(2_654_435_761).rotate_left(w as u32) | 1;
        }
        sim.inputs_mut()[0] = u32::from(i < 2);
        sim.step();
        std::hint::black_box(sim.outputs());
    }
    let raw = cycles as f64 / t.elapsed().as_secs_f64();
    println!("raw Verilated {n}x{n} OS model: {cycles} cycles in {:.2} s = {:.0} cycles/s ({words} input words)", t.elapsed().as_secs_f64(), raw);
    let (m, k, nn) = if full { (256, 256, 256) } else { (4, 4, 4) };
    let am = random_matrix(&mut rng, m, k, 8, true);
    let bm = random_matrix(&mut rng, k, nn, 8, true);
    let p = plan(&a_cfg, &am, &bm);
    let mut dut =
        ArrayDut::new(Verilated::load(&build).expect("loads"), &a_cfg, None).expect("ports");
    let t = Instant::now();
    let res = run(&a_cfg, &p, &mut dut, None, &RunOptions::default()).expect("runs");
    let secs = t.elapsed().as_secs_f64();
    println!("testbench loop without model, {m}x{k}x{nn} GEMM: {} cycles in {secs:.2} s = {:.0} cycles/s", res.total_cycles, res.total_cycles as f64 / secs);
    let mut dut =
        ArrayDut::new(Verilated::load(&build).expect("loads"), &a_cfg, None).expect("ports");
    let mut model = npugen::model::ArrayModel::new(&a_cfg);
    let t = Instant::now();
    let res = run(
        &a_cfg,
        &p,
        &mut dut,
        Some(&mut model),
        &RunOptions::default(),
    )
    .expect("runs");
    let secs = t.elapsed().as_secs_f64();
    println!("testbench loop with model comparison: {} cycles in {secs:.2} s = {:.0} cycles/s (mismatch: {:?})", res.total_cycles, res.total_cycles as f64 / secs, res.mismatch);

    // Cold build and cached start of an 8x8 model.
    let n = if full { 8 } else { 2 };
    let c = cfg(n, Dataflow::Os);
    let design = npugen::generate(&c).expect("valid");
    let cold = std::env::temp_dir().join(format!("npugen-cold-{}", std::process::id()));
    let t = Instant::now();
    let b = build_model(&design, TraceFormat::Vcd, &cold).expect("builds");
    let _sim = Verilated::load(&b).expect("loads");
    println!(
        "{n}x{n} model cold build + load: {:.2} s (cached: {})",
        t.elapsed().as_secs_f64(),
        b.cached
    );
    let t = Instant::now();
    let b = build_model(&design, TraceFormat::Vcd, &cold).expect("cached");
    let _sim2 = Verilated::load(&b).expect("loads");
    println!(
        "{n}x{n} model cached start (key hash, lock, checksum of the library, load): {:.3} s (cached: {})",
        t.elapsed().as_secs_f64(),
        b.cached
    );
    let _ = std::fs::remove_dir_all(&cold);

    // Two runs needing the same model at once, on an empty cache: one builds, the other waits
    // on the entry's lock and loads the result (one build's time, not two).
    let cold2 = std::env::temp_dir().join(format!("npugen-cold2-{}", std::process::id()));
    let t = Instant::now();
    let built: Vec<bool> = std::thread::scope(|s| {
        let jobs: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let b = build_model(&design, TraceFormat::Vcd, &cold2).expect("builds");
                    let _sim = Verilated::load(&b).expect("loads");
                    !b.cached
                })
            })
            .collect();
        jobs.into_iter().map(|j| j.join().expect("joins")).collect()
    });
    println!(
        "{n}x{n} model, two concurrent cold runs: {:.2} s wall, {} build(s)",
        t.elapsed().as_secs_f64(),
        built.iter().filter(|b| **b).count()
    );
    assert_eq!(built.iter().filter(|b| **b).count(), 1, "exactly one build");
    let _ = std::fs::remove_dir_all(&cold2);
}
