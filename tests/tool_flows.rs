//! The generated files in the third-party flows a user has, run as written: FuseSoC/edalize
//! on the emitted cores (lint, synthesis on ECP5 and iCE40, the testbench under Icarus and
//! Verilator), Verilator's standard `--binary` flow on the emitted testbench, and cocotb
//! testbenches on Verilator's make flow (which needs the patched verilated.mk): the array's
//! streams, and the whole npu against cocotbext-axi's AXI4 RAM and AXI4-Lite master.

mod common;

use std::path::Path;
use std::process::Command;

use common::{npugen, program, run, text, tool};
use npugen::flow::tools::ToolKind;

fn write(dir: &Path, name: &str, body: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), body).unwrap();
}

fn fusesoc(dir: &Path, args: &[&str]) -> std::process::Output {
    run(Command::new("fusesoc")
        .current_dir(dir)
        .args(["--cores-root", "."])
        .args(args))
}

#[test]
fn fusesoc_synth_cores_lint_and_build_the_harness_bitstream() {
    if program("fusesoc").is_none() || tool(ToolKind::YowaspYosys).is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(
        d,
        "c.toml",
        "name = \"fs2x2\"\n[array]\nrows = 2\ncols = 2\npipeline = 2\n",
    );
    for (target, tool_dir, bitstream) in [
        ("ecp5-25k", "synth-trellis", "bit"),
        ("ice40-up5k", "synth-icestorm", "bin"),
    ] {
        let out = d.join(target);
        let o = run(npugen()
            .current_dir(d)
            .args(["synth", "c.toml", "--no-pnr", "--target", target, "--out"])
            .arg(&out));
        assert!(o.status.success(), "{target}: {}", text(&o));
        let core = "npugen:generated:fs2x2:0.1.0";
        let o = fusesoc(&out, &["core-info", core]);
        assert!(o.status.success(), "{target}: {}", text(&o));
        for t in ["default", "lint", "synth"] {
            assert!(text(&o).contains(t), "{target}: target {t}: {}", text(&o));
        }
        // Regression: `--tool=verilator` failed ("undefined reference to main").
        let o = fusesoc(&out, &["run", "--target", "lint", core]);
        assert!(o.status.success(), "{target} lint: {}", text(&o));
        // Regression: nextpnr ran with no device, package or frequency.
        let o = fusesoc(&out, &["run", "--target", "synth", core]);
        assert!(o.status.success(), "{target} synth: {}", text(&o));
        let build = out
            .join("build/npugen_generated_fs2x2_0.1.0")
            .join(tool_dir);
        let bit = build.join(format!("npugen_generated_fs2x2_0.1.0.{bitstream}"));
        assert!(
            bit.is_file(),
            "{target}: no bitstream in {}",
            build.display()
        );
        let log = std::fs::read_to_string(build.join("next.log")).unwrap();
        assert!(log.contains("Max frequency for clock"), "{target}: {log}");
    }
}

#[test]
fn fusesoc_testbench_core_simulates_under_icarus_and_verilator() {
    if program("fusesoc").is_none()
        || tool(ToolKind::Iverilog).is_none()
        || tool(ToolKind::Verilator).is_none()
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(
        d,
        "c.toml",
        "name = \"fstb\"\n[array]\nrows = 2\ncols = 3\ndataflow = \"ws\"\n",
    );
    let o = run(npugen().current_dir(d).args([
        "testbench",
        "c.toml",
        "--random",
        "5,4,7",
        "--seed",
        "3",
        "--out",
        "tb",
    ]));
    assert!(o.status.success(), "{}", text(&o));
    let tb = d.join("tb");
    let core = "npugen:generated:fstb_tb:0.1.0";
    for tool in ["icarus", "verilator"] {
        let o = fusesoc(&tb, &["run", "--target", "sim", "--tool", tool, core]);
        assert!(o.status.success(), "{tool}: {}", text(&o));
        assert!(text(&o).contains("PASS: "), "{tool}: {}", text(&o));
    }
}

#[test]
fn verilator_binary_flow_runs_the_emitted_testbench_with_a_waveform() {
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(
        d,
        "c.toml",
        "name = \"vbin\"\n[array]\nrows = 2\ncols = 2\n",
    );
    let o = run(npugen().current_dir(d).args([
        "testbench",
        "c.toml",
        "--random",
        "4,3,4",
        "--seed",
        "9",
        "--out",
        "tb",
    ]));
    assert!(o.status.success(), "{}", text(&o));
    let tb = d.join("tb");
    // The standard flow, as a user types it (regression: verilated.mk named a g++ that does
    // not exist here).
    let o = run(Command::new("verilator").current_dir(&tb).args([
        "--binary",
        "--trace",
        "-Wno-fatal",
        "-Wno-lint",
        "-Wno-style",
        "-F",
        "vbin_tb.f",
        "--top-module",
        "tb_vbin",
    ]));
    assert!(o.status.success(), "verilator --binary: {}", text(&o));
    let o = run(Command::new(tb.join("obj_dir/Vtb_vbin"))
        .current_dir(&tb)
        .arg("+dump"));
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("PASS: "), "{}", text(&o));
    let vcd = std::fs::read_to_string(tb.join("tb_vbin.vcd")).expect("+dump wrote a waveform");
    assert!(vcd.contains("c_tdata"), "{}", &vcd[..vcd.len().min(400)]);
}

/// Whether cocotb on Verilator's make flow can run (a failure under CI when it cannot).
fn cocotb_tools() -> bool {
    tool(ToolKind::Verilator).is_some()
        && program("cocotb-config").is_some()
        && program("make").is_some()
}

/// Runs `make` (a cocotb Makefile) in `d` with `envs`; asserts that `test` ran and passed.
fn run_cocotb(d: &Path, envs: &[(&str, String)], test: &str) {
    let o = run(Command::new("make")
        .current_dir(d)
        .envs(envs.iter().map(|(k, v)| (k, v))));
    assert!(o.status.success(), "{}", text(&o));
    let results = std::fs::read_to_string(d.join("results.xml")).unwrap();
    assert!(results.contains(test), "{results}");
    assert!(!results.contains("<failure"), "{results}");
}

#[test]
fn cocotb_testbench_runs_on_verilators_make_flow() {
    if !cocotb_tools() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(
        d,
        "c.toml",
        "name = \"cc2x3\"\n[array]\nrows = 2\ncols = 3\n",
    );
    let o = run(npugen()
        .current_dir(d)
        .args(["generate", "c.toml", "--out", "."]));
    assert!(o.status.success(), "{}", text(&o));
    let py = std::fs::read_to_string(common::repo().join("tests/cocotb/test_array.py")).unwrap();
    write(d, "test_array.py", &py);
    write(
        d,
        "Makefile",
        "SIM ?= verilator\nTOPLEVEL_LANG = verilog\nVERILOG_SOURCES = $(CURDIR)/cc2x3.v\n\
         COCOTB_TOPLEVEL = cc2x3\nCOCOTB_TEST_MODULES = test_array\n\
         include $(shell cocotb-config --makefiles)/Makefile.sim\n",
    );
    let seed = npugen::rng::seed_from_env("NPUGEN_SEED");
    println!("seed = {seed} (replay with NPUGEN_SEED={seed})");
    let envs = [
        ("NPU_ROWS", "2".to_string()),
        ("NPU_COLS", "3".to_string()),
        ("NPU_K", "5".to_string()),
        ("NPU_BITS", "8".to_string()),
        ("NPU_ACC", "32".to_string()),
        ("NPU_SEED", seed.to_string()),
    ];
    run_cocotb(d, &envs, "one_tile_matches_a_plain_product");
}

#[test]
fn cocotb_axi_models_run_a_gemm_program_on_the_npu() {
    use npugen::model::npu::{Dram, NpuModel};
    use npugen::npu::host::GemmImage;
    use npugen::npu::program::{gemm, GemmShape};
    if !cocotb_tools() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let toml = "name = \"ccnpu\"\n[array]\nrows = 2\ncols = 3\n[postproc]\nzero_point = 4\n\
                [npu]\nact_kib = 1\nweight_kib = 1\nout_kib = 1\nparam_rows = 4\nacc_rows = 8\n";
    write(d, "c.toml", toml);
    let o = run(npugen()
        .current_dir(d)
        .args(["generate", "c.toml", "--out", "."]));
    assert!(o.status.success(), "{}", text(&o));
    // The job: a GEMM program (K chunks, several column blocks) and its image, from the
    // library; the expected result from the golden model (checked against A * B in npu_gemm).
    let cfg = npugen::config::Config::load(toml, "c.toml").unwrap();
    let g = npugen::npu::Geometry::new(&cfg).unwrap();
    let seed = npugen::rng::seed_from_env("NPUGEN_SEED");
    println!("seed = {seed} (replay with NPUGEN_SEED={seed})");
    let mut rng = npugen::rng::Rng::new(seed);
    let shape = GemmShape { m: 5, k: 40, n: 7 };
    let a = npugen::sim::operands::random_matrix(&mut rng, 5, 40, 8, true);
    let b = npugen::sim::operands::random_matrix(&mut rng, 40, 7, 8, true);
    let bias: Vec<i128> = (0..7).map(|j| 700 * j - 2000).collect();
    let p = cfg.postproc.as_ref().unwrap();
    let params = npugen::model::postproc::column_params(p, &b, &bias, None).unwrap();
    let prog = gemm(&g, shape).unwrap();
    let image = GemmImage::new(&g, shape, prog.instrs.len());
    let (dram, regs) = image.write(&g, &prog, &a, &b, &params);
    let mut out = Dram::of(dram.bytes.clone());
    let done = NpuModel::new(&cfg).unwrap().run(&mut out, &regs);
    assert_eq!(done.error, npugen::npu::regs::ErrorCode::None);
    let c_len = (shape.m * shape.n * g.out_bytes) as usize;
    let c = image.c as usize;
    std::fs::write(d.join("image.bin"), &dram.bytes).unwrap();
    std::fs::write(d.join("expected.bin"), &out.bytes[c..c + c_len]).unwrap();
    let job = serde_json::json!({
        "manifest": "ccnpu.json",
        "prog_addr": regs.prog_addr,
        "prog_len": regs.prog_len,
        "bases": regs.bases,
        "c_addr": image.c,
        "max_cycles": 200_000,
    });
    write(d, "job.json", &job.to_string());
    let py = std::fs::read_to_string(common::repo().join("tests/cocotb/test_npu.py")).unwrap();
    write(d, "test_npu.py", &py);
    write(
        d,
        "Makefile",
        "SIM ?= verilator\nTOPLEVEL_LANG = verilog\n\
         VERILOG_SOURCES = $(CURDIR)/ccnpu.v\n\
         COCOTB_TOPLEVEL = ccnpu\nCOCOTB_TEST_MODULES = test_npu\n\
         include $(shell cocotb-config --makefiles)/Makefile.sim\n",
    );
    run_cocotb(d, &[], "gemm_program_matches_the_golden_model");
}
