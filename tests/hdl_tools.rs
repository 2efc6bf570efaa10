//! The emitted Verilog passes the real tools: `verilator --lint-only -Wall` (no waivers),
//! `iverilog -g2005 -Wall` and Yosys `synth; check -assert` with no latch cells, for every
//! example config, a seeded random sample of 20 valid configs, and the npu's designs.

mod common;

use std::path::Path;
use std::process::Command;

use common::{examples, random_config, run, text, tool};
use npugen::config::Config;
use npugen::emit::{design_files, write_files};
use npugen::flow::tools::{Tool, ToolKind};
use npugen::gen::Part;
use npugen::rng::{seed_from_env, Rng};
use npugen::rtl::Design;

struct Tools {
    verilator: Tool,
    iverilog: Tool,
    yosys: Tool,
}

/// Yosys commands that fail on any latch (before and after technology mapping).
const NO_LATCHES: &str =
    "select -assert-none t:$dlatch t:$adlatch t:$dlatchsr t:$_DLATCH_* t:$_DLATCHSR_*";

fn check_config(tools: &Tools, cfg: &Config, dir: &Path) -> Result<(), String> {
    for part in npugen::gen::parts(cfg) {
        let design = npugen::gen::build_part(cfg, part).map_err(|e| e.to_string())?;
        npugen::gen::check(&design).map_err(|e| e.to_string())?;
        let dir = dir.join(&design.top);
        check_design(tools, cfg, part, &design, &dir)?;
    }
    Ok(())
}

fn check_design(
    tools: &Tools,
    cfg: &Config,
    part: Part,
    design: &Design,
    dir: &Path,
) -> Result<(), String> {
    let split = dir.join("split");
    let bundle = dir.join("bundle");
    write_files(
        &split,
        &design_files(cfg, part, design, true).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    write_files(
        &bundle,
        &design_files(cfg, part, design, false).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let top = &design.top;
    let v = bundle.join(format!("{top}.v"));

    // Verilator: one module per file (its DECLFILENAME style rule), -Wall, no waivers.
    let o = run(Command::new(&tools.verilator.path)
        .args(["--lint-only", "-Wall", "--top-module", top, "-F"])
        .arg(split.join(format!("{top}.f"))));
    let t = text(&o);
    if !o.status.success() || t.contains("%Warning") || t.contains("%Error") {
        return Err(format!("verilator -Wall: {t}"));
    }
    check_bundle(tools, top, &v, dir, Synth::Full)
}

/// Icarus (`-g2005 -Wall`, silent) and Yosys (`synth; check -assert`, no latches, no warning)
/// on the one-file form `v` of a design whose top is `top`.
/// How far Yosys synthesises.
#[derive(Clone, Copy, PartialEq)]
enum Synth {
    /// `synth` to gates.
    Full,
    /// `synth -run :fine`: elaboration, coarse-grain optimisation and memory extraction, not
    /// the mapping to gates (which for the npu's buffers, as flip-flops without an FPGA's
    /// block RAM, takes minutes and checks nothing more).
    Coarse,
}

fn check_bundle(
    tools: &Tools,
    top: &str,
    v: &Path,
    dir: &Path,
    depth: Synth,
) -> Result<(), String> {
    let o = run(Command::new(&tools.iverilog.path)
        .args(["-g2005", "-Wall", "-o"])
        .arg(dir.join("a.out"))
        .arg(v));
    if !o.status.success() || !text(&o).trim().is_empty() {
        return Err(format!("iverilog -g2005 -Wall: {}", text(&o)));
    }
    let stop = if depth == Synth::Coarse {
        " -run :fine"
    } else {
        ""
    };
    let script = format!(
        "read_verilog {}; hierarchy -top {top}; proc; {NO_LATCHES}; synth -top {top}{stop}; check -assert; {NO_LATCHES}",
        v.display()
    );
    let o = run(Command::new(&tools.yosys.path).args(["-q", "-p", &script]));
    let t = text(&o);
    if !o.status.success() || t.contains("Warning") {
        return Err(format!("yosys: {t}"));
    }
    Ok(())
}

/// The three tools, or `None` after reporting why the test is skipped (a failure under CI).
fn tools() -> Option<Tools> {
    let (Some(verilator), Some(iverilog), Some(yosys)) = (
        tool(ToolKind::Verilator),
        tool(ToolKind::Iverilog),
        tool(ToolKind::Yosys),
    ) else {
        return None;
    };
    Some(Tools {
        verilator,
        iverilog,
        yosys,
    })
}

fn check_all(configs: Vec<(String, Config)>) {
    let Some(tools) = tools() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let jobs: Vec<(usize, &(String, Config))> = configs.iter().enumerate().collect();
    let failures = common::parallel(&jobs, |(i, (label, cfg))| {
        check_config(&tools, cfg, &tmp.path().join(i.to_string()))
            .map_err(|e| format!("{label}:\n{}\n{e}", cfg.to_toml()))
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn examples_pass_lint_iverilog_and_yosys() {
    let configs = examples()
        .into_iter()
        .map(|(p, c)| (p.display().to_string(), c))
        .collect();
    check_all(configs);
}

#[test]
fn random_configs_pass_lint_iverilog_and_yosys() {
    let seed = seed_from_env("NPUGEN_SEED");
    println!("seed = {seed} (replay with NPUGEN_SEED={seed})");
    let mut rng = Rng::new(seed);
    let configs = (0..20)
        .map(|i| {
            let c = random_config(&mut rng, i);
            (format!("random #{i} (seed {seed})"), c)
        })
        .collect();
    check_all(configs);
}

/// The whole npu (every unit inside; the units as their own tops add nothing the top's
/// modules do not already have) on two bus widths and both dataflows, with and without
/// post-processing: the same three tools, Yosys to coarse-grain cells (`npugen synth` maps
/// the npu to an FPGA's gates and block RAM in the benchmarks). `verilator` reads the
/// one-file form, so its one-module-per-file style rule (DECLFILENAME) is off, as the README
/// says of that form; nothing else is.
#[test]
fn npu_designs_pass_lint_iverilog_and_yosys() {
    use npugen::config::{ArrayConfig, Dataflow, NpuConfig, PostprocConfig};
    use npugen::npu::gen::npu_design;
    let Some(tools) = tools() else {
        return;
    };
    let mut designs = Vec::new();
    for (bits, df, post) in [(64, Dataflow::Os, false), (256, Dataflow::Ws, true)] {
        let cfg = Config {
            name: format!("npu{bits}"),
            array: Some(ArrayConfig {
                rows: 2,
                cols: 3,
                dataflow: df,
                ..ArrayConfig::default()
            }),
            postproc: post.then(PostprocConfig::default),
            lif: None,
            npu: Some(NpuConfig {
                act_kib: 1,
                weight_kib: 1,
                out_kib: 1,
                param_rows: 4,
                acc_rows: 16,
                axi_data_bits: bits,
                ..NpuConfig::default()
            }),
        };
        designs.push(npu_design(&cfg).unwrap());
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let jobs: Vec<(usize, &Design)> = designs.iter().enumerate().collect();
    let failures = common::parallel(&jobs, |(i, d)| {
        let dir = tmp.path().join(i.to_string());
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        npugen::gen::check(d).map_err(|e| e.to_string())?;
        let v = dir.join(format!("{}.v", d.top));
        std::fs::write(&v, npugen::emit::verilog::design_to_verilog(d))
            .map_err(|e| e.to_string())?;
        let o = run(Command::new(&tools.verilator.path)
            .args([
                "--lint-only",
                "-Wall",
                "-Wno-DECLFILENAME",
                "--top-module",
                &d.top,
            ])
            .arg(&v));
        let t = text(&o);
        if !o.status.success() || t.contains("%Warning") || t.contains("%Error") {
            return Err(format!("{}: verilator -Wall: {t}", d.top));
        }
        check_bundle(&tools, &d.top, &v, &dir, Synth::Coarse).map_err(|e| format!("{}: {e}", d.top))
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
