//! Generation benchmark: config -> IR -> checked -> Verilog text (the `generate` pipeline,
//! check and emit on two threads as in the CLI), for square arrays from 8x8 to 256x256 (TPU v1
//! size), both dataflows. Prints the median wall time, time per PE (linear growth shows as a
//! flat column) and the size of the emitted Verilog.
//!
//! Run: `cargo bench --bench generate`

use std::time::{Duration, Instant};

use npugen::commands::generate_files;
use npugen::config::{ArrayConfig, Config, Dataflow};

fn cfg(n: u32, dataflow: Dataflow) -> Config {
    Config {
        name: format!("npu{n}x{n}"),
        array: Some(ArrayConfig {
            rows: n,
            cols: n,
            dataflow,
            ..ArrayConfig::default()
        }),
        postproc: None,
        lif: None,
        npu: None,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes --bench; under `cargo test` this is a quick smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let sizes: &[u32] = if full {
        &[8, 16, 32, 64, 128, 256]
    } else {
        &[8]
    };
    println!("| dataflow | array | median time | us per PE | Verilog bytes | bytes per PE |");
    println!("|---|---|---|---|---|---|");
    for dataflow in [Dataflow::Os, Dataflow::Ws] {
        for &n in sizes {
            let c = cfg(n, dataflow);
            let runs = if !full {
                1
            } else if n >= 128 {
                7
            } else {
                21
            };
            let mut times = Vec::new();
            let mut bytes = 0;
            for _ in 0..runs {
                let t = Instant::now();
                let (_, files) = generate_files(&c, false).expect("valid");
                times.push(t.elapsed());
                bytes = files[0].contents.len();
                std::hint::black_box(files);
            }
            let med = median(times);
            let pes = f64::from(n * n);
            println!(
                "| {} | {n}x{n} | {:.1} ms | {:.2} | {} | {:.0} |",
                dataflow.as_str(),
                med.as_secs_f64() * 1e3,
                med.as_secs_f64() * 1e6 / pes,
                bytes,
                bytes as f64 / pes
            );
        }
    }
}
