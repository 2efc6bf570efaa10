//! Neuron-datapath benchmark (needs Verilator: `. .tools/env.sh`).
//!
//! - post-processing adds no stall cycles: the same GEMM on the array and on the npu_core,
//!   cycles measured in the RTL, differ by the pipeline latency only;
//! - the spiking core: cycles per time step measured in the RTL against
//!   (spiking axons + 1) * ceil(neurons / parallel), for a 256 x 256 core and several
//!   `parallel`, at several input spike rates.
//!
//! Run: `cargo bench --bench neuron` (under `cargo test` it only checks one small case).

use npugen::config::{Config, LifConfig};
use npugen::model::lif::{first_difference, params_of, run_core};
use npugen::model::Matrix;
use npugen::rng::Rng;
use npugen::sim::gemm::{cosim_gemm, GemmJob, GemmOptions};
use npugen::sim::lif::run_lif;
use npugen::sim::operands::random_matrix;
use npugen::sim::verilator::{build_model, TraceFormat, Verilated};

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let cache = std::env::temp_dir().join("npugen-bench-cache");
    let opts = GemmOptions::new(cache.clone());
    let mut rng = Rng::new(2026);
    println!(
        "| array | dataflow | M, K, N | array cycles | npu_core cycles | difference | matches |"
    );
    println!("|---|---|---|---|---|---|---|");
    let cases: &[(u32, &str, (usize, usize, usize))] = if full {
        &[
            (16, "os", (256, 256, 256)),
            (16, "os", (64, 40, 48)),
            (16, "ws", (256, 16, 256)),
            (8, "ws", (100, 8, 30)),
        ]
    } else {
        &[(2, "os", (3, 4, 5))]
    };
    for &(n, df, (m, k, nn)) in cases {
        let text = format!(
            "name = \"pp{n}{df}\"\n[array]\nrows = {n}\ncols = {n}\ndataflow = \"{df}\"\n[postproc]\nscale = 0.0009\nzero_point = -3\nactivation = \"relu\"\n"
        );
        let core = Config::load(&text, "bench").expect("valid");
        let plain = Config {
            postproc: None,
            name: format!("plain{n}{df}"),
            ..core.clone()
        };
        let a = random_matrix(&mut rng, m, k, 8, true);
        let b = random_matrix(&mut rng, k, nn, 8, true);
        let bias: Vec<i128> = (0..nn)
            .map(|_| i128::from(rng.range(-5000, 5000)))
            .collect();
        let mut cycles = Vec::new();
        let mut ok = true;
        for c in [&plain, &core] {
            let design = npugen::generate(c).expect("valid");
            let params = c.postproc.as_ref().map(|p| {
                npugen::model::postproc::column_params(p, &b, &bias, None).expect("valid")
            });
            let job = GemmJob {
                array: c.array(),
                post: c.postproc.as_ref(),
                a: &a,
                b: &b,
                params: params.as_deref(),
            };
            let out = cosim_gemm(&job, &design, &opts).expect("runs");
            ok &= out.matches_model();
            cycles.push(out.run.cycles());
        }
        println!(
            "| {n}x{n} | {df} | {m}, {k}, {nn} | {} | {} | {} | {ok} |",
            cycles[0],
            cycles[1],
            cycles[1] as i64 - cycles[0] as i64
        );
    }

    println!();
    println!("| neurons x axons | parallel | groups G | input spike rate | mean S per step | measured cycles/step (mean) | formula (S+1)*G [+1 if G=1] (mean) | all steps equal | matches model |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let (neurons, axons, steps) = if full { (256, 256, 8) } else { (8, 4, 3) };
    let parallels: &[u32] = if full { &[1, 4, 16, 64, 256] } else { &[2] };
    for &p in parallels {
        let l = LifConfig {
            neurons,
            axons,
            parallel: p,
            ..LifConfig::default()
        };
        let c = Config {
            name: format!("snn{neurons}p{p}"),
            array: None,
            postproc: None,
            lif: Some(l.clone()),
            npu: None,
        };
        let design = npugen::gen::generate_lif(&c).expect("valid");
        let build = build_model(&design, TraceFormat::Vcd, &cache).expect("builds");
        for rate in [2i64, 10, 30] {
            let s = Matrix::from_rows(
                steps,
                axons as usize,
                (0..steps * axons as usize)
                    .map(|_| i128::from(rng.range(0, 99) < rate))
                    .collect(),
            );
            let w = Matrix::from_rows(
                axons as usize,
                neurons as usize,
                (0..(axons * neurons) as usize)
                    .map(|_| i128::from(rng.range(-128, 127)))
                    .collect(),
            );
            let want = run_core(&params_of(&l, None), &s, &w);
            let mut sim = Verilated::load(&build).expect("loads");
            let got = run_lif(&l, &mut sim, &s, &w, None, None).expect("runs");
            let mean = |v: &[u64]| v.iter().sum::<u64>() as f64 / v.len().max(1) as f64;
            let spiking: f64 = (1..steps)
                .map(|t| (0..axons as usize).filter(|&a| s.at(t, a) != 0).count() as f64)
                .sum::<f64>()
                / (steps - 1) as f64;
            println!(
                "| {neurons} x {axons} | {p} | {} | {rate}% | {spiking:.1} | {:.1} | {:.1} | {} | {} |",
                l.groups(),
                mean(&got.step_cycles),
                mean(&got.formula_cycles),
                got.step_cycles == got.formula_cycles,
                first_difference(&want, &got.trace).is_none()
            );
        }
    }
}
