//! FPGA-flow benchmark: `npugen synth` through the binary, figures from each `report.json`
//! (needs the pinned tools: `. .tools/env.sh`).
//!
//! - ECP5-45k, 8x8 INT8 OS at 150 MHz for each `pipeline` setting: Fmax after place and route,
//!   DSPs, LUTs and FFs per PE;
//! - xc7: DSP48E1, LUTs and FFs per PE for 8x8 and 16x16;
//! - wall time of every target's flow for 4x4 and 8x8;
//! - the spiking core, 256 neurons x 256 axons: BRAM, DSP, LUT on ECP5 and xc7;
//! - `postproc`: the npu_core's post-processing stage per rounding mode (8x8 core minus the
//!   8x8 array) on xc7 and ECP5-45k; `corefmax`: the 8x8 npu_core's ECP5-85k Fmax, seeds 1-3.
//!   `NPUGEN_BENCH_BIN` runs another npugen build, `NPUGEN_BENCH_MODES` picks the modes.
//!
//! Run: `cargo bench --bench flows` (about 40 minutes; under `cargo test` it runs one 2x2
//! synthesis).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

/// One `npugen synth` run: exit code, wall seconds, report (if written), last output line.
struct Run {
    code: i32,
    secs: f64,
    report: Option<Value>,
    message: String,
}

fn synth(config: &Path, target: &str, out: &Path, extra: &[&str]) -> Run {
    let _ = std::fs::remove_dir_all(out);
    let t = Instant::now();
    // NPUGEN_BENCH_BIN runs another build (an older commit's, for before/after figures).
    let bin = std::env::var_os("NPUGEN_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_npugen")));
    let o = Command::new(bin)
        .arg("synth")
        .arg(config)
        .args(["--target", target, "--out"])
        .arg(out)
        .args(extra)
        .output()
        .expect("npugen runs");
    let secs = t.elapsed().as_secs_f64();
    let report = std::fs::read_to_string(out.join("report.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let message = text
        .lines()
        .rev()
        .find(|l| l.starts_with("npugen:"))
        .unwrap_or("")
        .to_string();
    Run {
        code: o.status.code().unwrap_or(-1),
        secs,
        report,
        message,
    }
}

fn config(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, format!("name = \"{name}\"\n{body}")).expect("write config");
    p
}

fn array(n: u32, pipeline: u32) -> String {
    format!(
        "[array]\nrows = {n}\ncols = {n}\ninput_bits = 8\nweight_bits = 8\npipeline = {pipeline}\n"
    )
}

fn num(r: &Value, k: &str) -> f64 {
    r[k].as_f64().unwrap_or(f64::NAN)
}

fn fmax(r: &Value) -> String {
    r["fmax_mhz"]
        .as_f64()
        .map(|f| format!("{f:.1}"))
        .unwrap_or_else(|| "-".into())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let full = args.iter().any(|a| a == "--bench");
    // `cargo bench --bench flows -- xc7 lif` runs only those sections.
    let names = ["ecp5", "xc7", "walltime", "lif", "postproc", "corefmax"];
    let picked: Vec<&str> = names
        .into_iter()
        .filter(|n| args.iter().any(|a| a == n))
        .collect();
    let run = |section: &str| picked.is_empty() || picked.contains(&section);
    let dir = std::env::temp_dir().join("npugen-bench-flows");
    std::fs::create_dir_all(&dir).expect("mkdir");
    if !full {
        let c = config(&dir, "smoke", &array(2, 0));
        let r = synth(&c, "xc7", &dir.join("smoke"), &["--no-pnr"]);
        match r.report {
            Some(rep) => {
                assert_eq!(rep["dsps"], 4, "{rep}");
                println!("flows smoke: 2x2 on xc7, {} s", r.secs);
            }
            None if npugen::flow::tools::under_ci() => {
                panic!("flows smoke failed under CI: {}", r.message)
            }
            None => println!("flows smoke skipped (local run): {}", r.message),
        }
        return;
    }

    if run("ecp5") {
        ecp5(&dir);
    }
    if run("xc7") {
        xc7(&dir);
    }
    if run("walltime") {
        wall_times(&dir);
    }
    if run("lif") {
        lif(&dir);
    }
    if run("postproc") {
        postproc(&dir);
    }
    if run("corefmax") {
        core_fmax(&dir);
    }
}

/// The comma-separated items of environment variable `var`, else of `default`.
fn env_list(var: &str, default: &str) -> Vec<String> {
    std::env::var(var)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .map(|m| m.trim().to_string())
        .collect()
}

/// An 8x8 INT8 OS npu_core at `pipeline = 3` rounding as `mode`, effective scale 0.002 (the
/// three scales for xnnpack; the effective one otherwise, which older builds also read).
fn core(mode: &str) -> String {
    let scales = if mode == "xnnpack" {
        "input_scale = 0.02\nweight_scale = 0.005\noutput_scale = 0.05"
    } else {
        "scale = 0.002"
    };
    format!(
        "{}[postproc]\nrounding = \"{mode}\"\n{scales}\nactivation = \"relu\"\n",
        array(8, 3)
    )
}

/// The post-processing stage per rounding mode: an 8x8 npu_core's synthesis minus the plain
/// 8x8 array's, on xc7 and ECP5-45k (Yosys counts, no place and route).
fn postproc(dir: &Path) {
    println!();
    println!("## Post-processing stage, 8 lanes (8x8 npu_core minus the 8x8 array, pipeline 3, synthesis)");
    println!("| target | rounding | LUTs | FFs | DSPs | wall s |");
    println!("|---|---|---|---|---|---|");
    // Older builds know only some modes; NPUGEN_BENCH_MODES picks them.
    let modes = env_list("NPUGEN_BENCH_MODES", "reference,optimized,xnnpack,gemmlowp");
    for target in ["xc7", "ecp5-45k"] {
        let plain = config(dir, "pp_plain", &array(8, 3));
        let base = synth(
            &plain,
            target,
            &dir.join(format!("pp_plain_{target}")),
            &["--no-pnr"],
        );
        let Some(base) = base.report else {
            println!("| {target} | (array) | failed: {} | | | |", base.message);
            continue;
        };
        for mode in &modes {
            let c = config(dir, &format!("pp_{mode}"), &core(mode));
            let r = synth(
                &c,
                target,
                &dir.join(format!("pp_{mode}_{target}")),
                &["--no-pnr"],
            );
            let Some(rep) = r.report else {
                println!("| {target} | {mode} | failed: {} | | | |", r.message);
                continue;
            };
            let d = |k: &str| num(&rep, k) - num(&base, k);
            println!(
                "| {target} | {mode} | {:.0} | {:.0} | {:.0} | {:.0} |",
                d("luts"),
                d("ffs"),
                d("dsps"),
                r.secs
            );
        }
    }
}

/// ECP5 Fmax of the 8x8 npu_core at `pipeline = 3`, nextpnr seeds 1-3, in the default
/// rounding mode (NPUGEN_BENCH_MODES picks others). On the 85k part: the core's 96-112
/// MULT18X18D (64 PEs and the post-processing) do not fit the 45k's 72.
fn core_fmax(dir: &Path) {
    println!();
    println!("## ECP5-85k, 8x8 npu_core, pipeline 3, --freq 150");
    println!("| rounding | seed | Fmax MHz | DSPs | LUTs | FFs | wall s |");
    println!("|---|---|---|---|---|---|---|");
    for mode in &env_list("NPUGEN_BENCH_MODES", "reference") {
        let c = config(dir, &format!("cf_{mode}"), &core(mode));
        // NPUGEN_BENCH_SEEDS (e.g. "2,3") runs some seeds only, to spread them over processes.
        for seed in env_list("NPUGEN_BENCH_SEEDS", "1,2,3") {
            let r = synth(
                &c,
                "ecp5-85k",
                &dir.join(format!("cf_{mode}_{seed}")),
                &["--freq", "150", "--seed", &seed],
            );
            let Some(rep) = r.report else {
                println!("| {mode} | {seed} | failed: {} | | | | |", r.message);
                continue;
            };
            println!(
                "| {mode} | {seed} | {} | {} | {} | {} | {:.0} |",
                fmax(&rep),
                rep["dsps"],
                rep["luts"],
                rep["ffs"],
                r.secs
            );
        }
    }
}

/// ECP5-45k 8x8 for each pipeline setting.
fn ecp5(dir: &Path) {
    println!("## ECP5-45k, 8x8 INT8 OS, --freq 150 (pipeline 3 also with nextpnr seeds 2 and 3)");
    println!(
        "| pipeline | seed | Fmax MHz | DSPs | LUTs/PE | FFs/PE (Yosys) | FFs moved into DSPs | wall s |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let runs = (0..=3).map(|p| (p, 1)).chain([(3, 2), (3, 3)]);
    for (p, seed) in runs {
        let c = config(dir, &format!("e8p{p}"), &array(8, p));
        let seed_arg = seed.to_string();
        let r = synth(
            &c,
            "ecp5-45k",
            &dir.join(format!("e8p{p}s{seed}")),
            &["--freq", "150", "--seed", &seed_arg],
        );
        let Some(rep) = r.report else {
            println!("| {p} | {seed} | failed: {} | | | | | |", r.message);
            continue;
        };
        let pes = num(&rep, "pes");
        println!(
            "| {p} | {seed} | {} | {} | {:.1} | {:.1} | {} | {:.0} |",
            fmax(&rep),
            rep["dsps"],
            num(&rep, "luts") / pes,
            num(&rep, "ffs") / pes,
            rep["dsp_registers_packed"].as_str().unwrap_or("-"),
            r.secs
        );
    }
}

/// xc7 resources per PE.
fn xc7(dir: &Path) {
    println!();
    println!("## xc7 (xc7a200t), INT8 OS, synthesis");
    println!("| array | pipeline | DSP48E1 | DSP48E1/PE | LUTs/PE | FFs/PE | carry/PE | wall s |");
    println!("|---|---|---|---|---|---|---|---|");
    for n in [8, 16] {
        for p in [0, 1, 2, 3] {
            let c = config(dir, &format!("x{n}p{p}"), &array(n, p));
            let r = synth(&c, "xc7", &dir.join(format!("x{n}p{p}")), &[]);
            let Some(rep) = r.report else {
                println!("| {n}x{n} | {p} | failed: {} |", r.message);
                continue;
            };
            let pes = num(&rep, "pes");
            println!(
                "| {n}x{n} | {p} | {} | {:.2} | {:.1} | {:.1} | {:.1} | {:.0} |",
                rep["dsps"],
                num(&rep, "dsps") / pes,
                num(&rep, "luts") / pes,
                num(&rep, "ffs") / pes,
                num(&rep, "carry") / pes,
                r.secs
            );
        }
    }
}

/// Every target's flow for 4x4 and 8x8.
fn wall_times(dir: &Path) {
    println!();
    println!("## Wall time of each flow (default config, INT8 OS, pipeline 0, --freq 100)");
    println!("| target | array | steps | wall s | Fmax MHz | DSPs | LUTs | outcome |");
    println!("|---|---|---|---|---|---|---|---|");
    for n in [4, 8] {
        let c = config(dir, &format!("w{n}"), &array(n, 0));
        for target in [
            "xc7",
            "xcup",
            "cyclonev",
            "max10",
            "ice40-up5k",
            "ice40-hx8k",
            "ecp5-25k",
            "ecp5-45k",
            "ecp5-85k",
        ] {
            let mut extra = vec!["--freq", "100"];
            if target == "ice40-up5k" {
                extra.extend(["--dsp-fallback", "lut"]);
            }
            let r = synth(&c, target, &dir.join(format!("w{n}-{target}")), &extra);
            let steps = if target.starts_with("ecp5") || target.starts_with("ice40") {
                "yosys + harness + nextpnr"
            } else {
                "yosys"
            };
            match r.report.filter(|rep| rep["fits"] != false) {
                Some(rep) => println!(
                    "| {target} | {n}x{n} | {steps} | {:.1} | {} | {} | {} | ok |",
                    r.secs,
                    fmax(&rep),
                    rep["dsps"],
                    rep["luts"]
                ),
                None => println!(
                    "| {target} | {n}x{n} | {steps} | {:.1} | - | - | - | exit {}: {} |",
                    r.secs, r.code, r.message
                ),
            }
        }
    }
}

/// The 256 x 256 spiking core on ECP5 and xc7.
fn lif(dir: &Path) {
    println!();
    println!("## Spiking core, 256 neurons x 256 axons, 8-bit weights, parallel 4");
    println!("| target | BRAMs | DSPs | LUTs | FFs | LUTRAM | Fmax MHz | wall s |");
    println!("|---|---|---|---|---|---|---|---|");
    let lif = config(
        dir,
        "snn256",
        "[lif]\nneurons = 256\naxons = 256\nweight_bits = 8\nparallel = 4\ndu = 410\ndv = 205\nvth = 100\n",
    );
    for target in ["ecp5-45k", "xc7"] {
        let r = synth(
            &lif,
            target,
            &dir.join(format!("snn-{target}")),
            &["--freq", "100"],
        );
        match r.report {
            Some(rep) => println!(
                "| {target} | {} | {} | {} | {} | {} | {} | {:.0} |",
                rep["brams"],
                rep["dsps"],
                rep["luts"],
                rep["ffs"],
                rep["lutram"],
                fmax(&rep),
                r.secs
            ),
            None => println!("| {target} | failed: {} |", r.message),
        }
    }
}
