//! The emitted self-checking testbench passes under Icarus Verilog for a 4x4 design (both
//! dataflows, several folds, with gaps and back-pressure) and fails for a broken design.

mod common;

use common::{break_pe, npugen, run, text, tool};
use npugen::config::Config;
use npugen::emit::{testbench::testbench, write_files};
use npugen::flow::tools::ToolKind;
use npugen::rng::Rng;
use npugen::sim::iverilog::run_emitted;
use npugen::sim::operands::random_matrix;
use npugen::sim::vectors::vectors;

fn config(name: &str, dataflow: &str) -> String {
    format!("name = \"{name}\"\n[array]\nrows = 4\ncols = 4\ndataflow = \"{dataflow}\"\n")
}

#[test]
fn emitted_testbench_passes_under_iverilog() {
    if tool(ToolKind::Iverilog).is_none() {
        return;
    }
    for df in ["os", "ws"] {
        let tmp = tempfile::tempdir().unwrap();
        let name = format!("tb4x4_{df}");
        std::fs::write(tmp.path().join("c.toml"), config(&name, df)).unwrap();
        let o = run(npugen().current_dir(tmp.path()).args([
            "testbench",
            "c.toml",
            "--random",
            "16,16,16",
            "--seed",
            "5",
            "--out",
            "tb",
        ]));
        assert!(o.status.success(), "{}", text(&o));
        // +dump writes the whole run's waveform (regression: no waveform from the testbench).
        let r = run_emitted(&tmp.path().join("tb"), &name, &["+dump"]).unwrap();
        assert!(r.passed, "{df}: {}", r.output);
        assert_eq!(r.exit_code, Some(0));
        let vcd = std::fs::read_to_string(tmp.path().join(format!("tb/tb_{name}.vcd"))).unwrap();
        assert!(vcd.contains("$timescale") && vcd.contains("c_tdata"));
        assert!(!tmp.path().join(format!("tb/tb_{name}_fail.vcd")).exists());
    }
}

#[test]
fn emitted_testbench_fails_for_a_broken_design() {
    if tool(ToolKind::Iverilog).is_none() {
        return;
    }
    for df in ["os", "ws"] {
        let name = format!("tbbad_{df}");
        let cfg = Config::load(&config(&name, df), "test").unwrap();
        let a = cfg.array();
        let mut rng = Rng::new(11);
        let am = random_matrix(&mut rng, 6, 5, 8, true);
        let bm = random_matrix(&mut rng, 5, 6, 8, true);
        let v = vectors(a, None, &am, &bm, None).unwrap();
        let mut design = npugen::generate(&cfg).unwrap();
        break_pe(&mut design);
        let tmp = tempfile::tempdir().unwrap();
        write_files(tmp.path(), &testbench(&cfg, &design, &v, 1)).unwrap();
        let r = run_emitted(tmp.path(), &name, &[]).unwrap();
        assert!(!r.passed, "{df}: the broken design passed:\n{}", r.output);
        assert_ne!(r.exit_code, Some(0), "{}", r.output);
        assert!(r.output.contains("FAIL: result row 0"), "{}", r.output);
        assert!(r.output.contains("lane"), "{}", r.output);
        assert_eq!(r.output.matches("FAIL").count(), 1, "{}", r.output);
        assert!(!r.output.contains("PASS"), "{}", r.output);
        // A failure always leaves a waveform, even without +dump.
        let fail = tmp.path().join(format!("tb_{name}_fail.vcd"));
        assert!(std::fs::read_to_string(fail).unwrap().contains("c_tdata"));
    }
}

#[test]
fn emitted_npu_core_testbench_passes_under_iverilog() {
    if tool(ToolKind::Iverilog).is_none() {
        return;
    }
    for (df, k) in [("os", 16), ("ws", 4)] {
        let tmp = tempfile::tempdir().unwrap();
        let name = format!("tbcore_{df}");
        let toml = format!(
            "{}[postproc]\nscale = 0.004\nzero_point = 2\nactivation = \"tanh\"\nlut_input_scale = 0.02\n",
            config(&name, df)
        );
        std::fs::write(tmp.path().join("c.toml"), toml).unwrap();
        let shape = format!("9,{k},10");
        let o = run(npugen().current_dir(tmp.path()).args([
            "testbench",
            "c.toml",
            "--random",
            &shape,
            "--seed",
            "8",
            "--out",
            "tb",
        ]));
        assert!(o.status.success(), "{}", text(&o));
        assert!(tmp.path().join(format!("tb/{name}_params.hex")).exists());
        let r = run_emitted(&tmp.path().join("tb"), &name, &[]).unwrap();
        assert!(r.passed, "{df}: {}", r.output);
    }
}

#[test]
fn emitted_testbench_fails_on_a_row_after_the_last_expected_one() {
    // Regression: the testbench printed PASS on the last expected row, so an extra row was
    // never seen. Dropping the last expected row makes the design's real last row "extra".
    if tool(ToolKind::Iverilog).is_none() {
        return;
    }
    let name = "tbextra";
    let cfg = Config::load(&config(name, "os"), "test").unwrap();
    let mut rng = Rng::new(12);
    let am = random_matrix(&mut rng, 4, 3, 8, true);
    let bm = random_matrix(&mut rng, 3, 4, 8, true);
    let mut v = vectors(cfg.array(), None, &am, &bm, None).unwrap();
    v.c.pop();
    let design = npugen::generate(&cfg).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    write_files(tmp.path(), &testbench(&cfg, &design, &v, 1)).unwrap();
    let r = run_emitted(tmp.path(), name, &[]).unwrap();
    assert!(!r.passed, "an extra row passed:\n{}", r.output);
    assert!(
        r.output.contains("FAIL: an extra result row"),
        "{}",
        r.output
    );
    assert!(tmp.path().join(format!("tb_{name}_fail.vcd")).is_file());
}
