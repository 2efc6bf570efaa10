//! `npugen simulate` through the real binary, on .npy files written by the test.

mod common;

use common::{npugen, npy_bytes, npy_f32, run, sim_cmd, text, tool};
use npugen::flow::tools::ToolKind;
use npugen::model::{matmul, Matrix};

#[test]
fn simulate_npy_end_to_end() {
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("cfg.toml"),
        "name = \"cli_ws\"\n[array]\nrows = 3\ncols = 4\ndataflow = \"ws\"\n",
    )
    .unwrap();
    // A: 10 x 7 int8, B: 7 x 9 int16 (values fit 8-bit signed), corners included.
    let a: Vec<i64> = (0..70)
        .map(|i| [-128, 127, 0, -1, 5, -77, 100][i % 7])
        .collect();
    let b: Vec<i64> = (0..63)
        .map(|i| [-128, 127, 3, -9, 0, 64, -1, 2, 99][i % 9])
        .collect();
    std::fs::write(d.join("A.npy"), npy_bytes("|i1", 10, 7, &a)).unwrap();
    std::fs::write(d.join("B.npy"), npy_bytes("<i2", 7, 9, &b)).unwrap();
    let o = run(sim_cmd(d).args([
        "simulate", "cfg.toml", "--a", "A.npy", "--b", "B.npy", "--out", "C.npy", "--report",
        "run.json",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let c = npugen::npy::read(&d.join("C.npy")).unwrap();
    let am = Matrix::from_rows(10, 7, a.iter().map(|&x| i128::from(x)).collect());
    let bm = Matrix::from_rows(7, 9, b.iter().map(|&x| i128::from(x)).collect());
    assert_eq!(c, matmul(&am, &bm, 32, true));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("run.json")).unwrap()).unwrap();
    for key in [
        "m",
        "k",
        "n",
        "rows",
        "cols",
        "dataflow",
        "cycles",
        "macs",
        "utilization",
        "scalesim_cycles",
        "matches_model",
    ] {
        assert!(!r[key].is_null(), "run.json lacks {key}: {r}");
    }
    assert_eq!(
        (r["m"].as_u64(), r["k"].as_u64(), r["n"].as_u64()),
        (Some(10), Some(7), Some(9))
    );
    assert_eq!(r["matches_model"], true);
    assert_eq!(r["cycles"], r["formula_cycles"]);
    let util = r["utilization"].as_f64().unwrap();
    let want = 630.0 / (12.0 * r["cycles"].as_f64().unwrap());
    assert!((util - want).abs() < 1e-9);

    // Random operands with stalls, and an explicit waveform.
    let o = run(sim_cmd(d).args([
        "simulate", "cfg.toml", "--random", "4,5,6", "--seed", "9", "--stalls", "50,50", "--vcd",
        "w.vcd",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("seed 9"));
    assert!(std::fs::read_to_string(d.join("w.vcd"))
        .unwrap()
        .contains("$enddefinitions"));
}

#[test]
fn bad_operands_exit_2_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("A.npy"),
        npy_bytes("<i2", 2, 3, &[1, 2, 3, 4, 5, 200]),
    )
    .unwrap();
    std::fs::write(
        d.join("A_ok.npy"),
        npy_bytes("|i1", 2, 3, &[1, 2, 3, 4, 5, 6]),
    )
    .unwrap();
    std::fs::write(d.join("B.npy"), npy_bytes("|i1", 3, 2, &[1, 2, 3, 4, 5, 6])).unwrap();
    std::fs::write(d.join("B_bad.npy"), npy_bytes("|i1", 4, 2, &[0; 8])).unwrap();
    let mut f = npy_bytes("<i4", 3, 2, &[0; 6]);
    let at = f.windows(3).position(|w| w == b"<i4").unwrap();
    f[at + 1] = b'f';
    std::fs::write(d.join("B_float.npy"), f).unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--a", "A.npy", "--b", "B.npy"],
            &["A.npy", "element (1, 2) = 200", "-128..=127"],
        ),
        (&["--a", "A_ok.npy", "--b", "B_bad.npy"], &["do not chain"]),
        (
            &["--a", "A_ok.npy", "--b", "B_float.npy"],
            &["B_float.npy", "not an integer type"],
        ),
        (
            &["--a", "missing.npy", "--b", "B.npy"],
            &["missing.npy", "no such file"],
        ),
        (&["--random", "3,0,2"], &["--random", "dimension 0"]),
        (&["--random", "3,x"], &["--random", "3 comma-separated"]),
        (&["--random", "2,2,2", "--stalls", "0,50"], &["--stalls"]),
    ];
    for (args, needles) in cases {
        let o = run(npugen()
            .current_dir(d)
            .arg("simulate")
            .args(*args)
            .args(["--out", "C.npy", "--report", "run.json"]));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        for n in *needles {
            assert!(err.contains(n), "{args:?}: {n:?} not in {err:?}");
        }
        assert!(
            !d.join("C.npy").exists() && !d.join("run.json").exists(),
            "{args:?}"
        );
    }
    // C as int64 needs acc_bits <= 64.
    std::fs::write(
        d.join("wide.toml"),
        "[array]\ninput_bits = 32\nweight_bits = 32\nacc_bits = 96\n",
    )
    .unwrap();
    let o = run(npugen().current_dir(d).args([
        "simulate",
        "wide.toml",
        "--random",
        "2,2,2",
        "--out",
        "C.npy",
    ]));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("array.acc_bits = 96"));
}

#[test]
fn missing_verilator_names_the_install_script() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(npugen()
        .current_dir(tmp.path())
        .env("PATH", tmp.path())
        .env_remove("VERILATOR_ROOT")
        .args(["simulate", "--random", "2,2,2"]));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("verilator not found") && err.contains("scripts/install-tools.sh"),
        "{err}"
    );
}

#[test]
fn simulate_npu_core_with_bias() {
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let toml = "name = \"cli_core\"\n[array]\nrows = 2\ncols = 3\n[postproc]\nscale = 0.01\nzero_point = -3\nactivation = \"relu\"\n";
    std::fs::write(d.join("core.toml"), toml).unwrap();
    let a: Vec<i64> = (0..20).map(|i| (i * 37 % 255) - 128).collect();
    let b: Vec<i64> = (0..20).map(|i| (i * 53 % 255) - 128).collect();
    let bias: Vec<i64> = vec![100, -2000, 0, 7];
    std::fs::write(d.join("A.npy"), npy_bytes("|i1", 5, 4, &a)).unwrap();
    std::fs::write(d.join("B.npy"), npy_bytes("|i1", 4, 5, &b)).unwrap();
    std::fs::write(d.join("bias4.npy"), npy_bytes("<i4", 1, 4, &bias)).unwrap();
    let bias5: Vec<i64> = vec![100, -2000, 0, 7, 123_456];
    std::fs::write(d.join("bias.npy"), npy_bytes("<i4", 1, 5, &bias5)).unwrap();
    // `simulate core.toml` on A, B and the 5-value bias, with `extra` flags.
    let core = |extra: &[&str]| {
        let base = ["simulate", "core.toml", "--a", "A.npy", "--b", "B.npy"];
        run(sim_cmd(d)
            .args(base)
            .args(["--bias", "bias.npy"])
            .args(extra))
    };
    let o = core(&["--out", "Y.npy", "--report", "run.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let raw = std::fs::read(d.join("Y.npy")).unwrap();
    assert!(
        String::from_utf8_lossy(&raw[..80]).contains("'|i1'"),
        "Y is int8"
    );
    let y = npugen::npy::read(&d.join("Y.npy")).unwrap();
    let cfg = npugen::Config::load(toml, "core").unwrap();
    let am = Matrix::from_rows(5, 4, a.iter().map(|&x| i128::from(x)).collect());
    let bm = Matrix::from_rows(4, 5, b.iter().map(|&x| i128::from(x)).collect());
    let c = matmul(&am, &bm, 32, true);
    let bias_i: Vec<i128> = bias5.iter().map(|&x| i128::from(x)).collect();
    let post = cfg.postproc.as_ref().unwrap();
    let params = npugen::model::postproc::column_params(post, &bm, &bias_i, None).unwrap();
    let want = npugen::model::postproc::postprocess_matrix(post, &c, &params);
    assert_eq!(y, want);
    assert!(
        y.data.iter().all(|&v| v >= -3),
        "relu clamps at the zero point"
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("run.json")).unwrap()).unwrap();
    assert_eq!(r["cycles"], r["formula_cycles"]);
    // Wrong bias length, and a weight-stationary core with K > rows: exit 2.
    let o = run(sim_cmd(d).args([
        "simulate",
        "core.toml",
        "--a",
        "A.npy",
        "--b",
        "B.npy",
        "--bias",
        "bias4.npy",
    ]));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("bias4.npy: shape (1, 4) is not N = 5"));
    std::fs::write(
        d.join("ws.toml"),
        toml.replace("cols = 3", "cols = 3\ndataflow = \"ws\""),
    )
    .unwrap();
    let o = run(sim_cmd(d).args(["simulate", "ws.toml", "--random", "3,4,3"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("K = 4 is more than array.rows = 2"));
    let o = run(sim_cmd(d).args(["simulate", "--random", "2,2,2", "--bias", "bias.npy"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--bias: needs a [postproc] section"));
    // --scale: per-column scales change the result; a wrong length, an integer dtype or a
    // non-positive value is refused (exit 2, nothing written).
    std::fs::write(d.join("S.npy"), npy_f32(&[0.5, 0.01, 0.02, 0.001, 3.0])).unwrap();
    std::fs::write(d.join("S4.npy"), npy_f32(&[0.5, 0.01, 0.02, 0.001])).unwrap();
    std::fs::write(d.join("Sneg.npy"), npy_f32(&[0.5, 0.01, -0.02, 0.001, 3.0])).unwrap();
    let scaled = |s: &str, out: &str| core(&["--scale", s, "--out", out]);
    let o = scaled("S.npy", "YS.npy");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let ys = npugen::npy::read(&d.join("YS.npy")).unwrap();
    let per_column = [0.5, 0.01, 0.02, 0.001, 3.0f32].map(f64::from);
    let params =
        npugen::model::postproc::column_params(post, &bm, &bias_i, Some(&per_column)).unwrap();
    assert_eq!(
        ys,
        npugen::model::postproc::postprocess_matrix(post, &c, &params)
    );
    assert_ne!(ys, y, "the per-column scales must change the result");
    for (file, msg) in [
        ("S4.npy", "S4.npy: 4 values, not N = 5"),
        ("bias.npy", "is not float32 or float64"),
        (
            "Sneg.npy",
            "element 2 = -0.019999999552965164 is not a positive number",
        ),
    ] {
        let o = scaled(file, "Ybad.npy");
        assert_eq!(o.status.code(), Some(2), "{file}: {}", text(&o));
        assert!(text(&o).contains(msg), "{file}: {}", text(&o));
        assert!(!d.join("Ybad.npy").exists(), "{file}: nothing written");
    }
    let o = run(sim_cmd(d).args(["simulate", "--random", "2,2,2", "--scale", "S.npy"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--scale: needs a [postproc] section"));
}

/// With `[npu]` the GEMM runs as a program on the whole npu (this config is the one
/// `npu_gemm.rs` builds for 128 bits, so the model is shared).
#[test]
fn simulate_runs_a_gemm_program_on_the_npu() {
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let toml = "name = \"npu_r\"\n[array]\nrows = 2\ncols = 3\n[postproc]\nzero_point = -3\n[npu]\nact_kib = 1\nweight_kib = 1\nparam_rows = 8\nacc_rows = 16\naxi_data_bits = 128\n";
    std::fs::write(d.join("npu.toml"), toml).unwrap();
    let (m, k, n) = (9usize, 20usize, 7usize);
    let a: Vec<i64> = (0..m * k)
        .map(|i| [-128, 127, 0, -1, 5, -77, 100][i % 7])
        .collect();
    let b: Vec<i64> = (0..k * n).map(|i| [-128, 127, 3, -9, 0][i % 5]).collect();
    let bias: Vec<i64> = (0..n as i64).map(|j| 1000 * j - 3000).collect();
    std::fs::write(d.join("A.npy"), npy_bytes("|i1", m, k, &a)).unwrap();
    std::fs::write(d.join("B.npy"), npy_bytes("|i1", k, n, &b)).unwrap();
    std::fs::write(d.join("bias.npy"), npy_bytes("<i4", 1, n, &bias)).unwrap();
    let o = run(sim_cmd(d).args([
        "simulate",
        "npu.toml",
        "--a",
        "A.npy",
        "--b",
        "B.npy",
        "--bias",
        "bias.npy",
        "--out",
        "Y.npy",
        "--report",
        "r.json",
        "--mem-bandwidth",
        "6",
        "--stalls",
        "70,100",
        "--seed",
        "5",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let config = npugen::config::Config::load(toml, "npu.toml").unwrap();
    let p = config.postproc.as_ref().unwrap();
    let am = Matrix::from_rows(m, k, a.iter().map(|&x| i128::from(x)).collect());
    let bm = Matrix::from_rows(k, n, b.iter().map(|&x| i128::from(x)).collect());
    let bias: Vec<i128> = bias.iter().map(|&x| i128::from(x)).collect();
    let params = npugen::model::postproc::column_params(p, &bm, &bias, None).unwrap();
    let want = npugen::model::postproc::postprocess_matrix(p, &matmul(&am, &bm, 32, true), &params);
    assert_eq!(npugen::npy::read(&d.join("Y.npy")).unwrap(), want);
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("r.json")).unwrap()).unwrap();
    for key in [
        "cycles",
        "macs",
        "utilization",
        "matches_model",
        "dma_read_bytes",
        "dma_write_bytes",
        "instructions",
        "counters",
        "mem_bandwidth",
    ] {
        assert!(!r[key].is_null(), "r.json lacks {key}: {r}");
    }
    assert_eq!(r["matches_model"], true);
    assert_eq!(r["macs"], (m * k * n) as u64);
    assert_eq!(r["mem_bandwidth"], 6);
    assert_eq!(r["mem_offer_percent"], 70);
    // What the program's instructions say it moves.
    let g = npugen::npu::Geometry::new(&config).unwrap();
    let shape = npugen::npu::program::GemmShape {
        m: m as u32,
        k: k as u32,
        n: n as u32,
    };
    let prog = npugen::npu::program::gemm(&g, shape).unwrap();
    let counts = prog.counts(&g);
    assert_eq!(r["dma_read_bytes"], counts.dma_rd_bytes);
    assert_eq!(r["dma_write_bytes"], counts.dma_wr_bytes);
    assert_eq!(r["instructions"], prog.instrs.len() as u64);
    let cycles = r["cycles"].as_u64().unwrap();
    assert_eq!(r["counters"]["CYCLES"], cycles);
    let u = r["utilization"].as_f64().unwrap();
    assert!((u - (m * k * n) as f64 / (6.0 * cycles as f64)).abs() < 1e-12);
    // Bad input: exit 2, nothing written.
    std::fs::write(d.join("plain.toml"), "[array]\n").unwrap();
    for (cfg, bw, msg) in [
        ("npu.toml", "0", "--mem-bandwidth"),
        ("npu.toml", "1025", "1..=1024"),
        ("plain.toml", "8", "needs an [npu] section"),
    ] {
        let o = run(sim_cmd(d).args([
            "simulate",
            cfg,
            "--random",
            "2,2,2",
            "--mem-bandwidth",
            bw,
            "--report",
            "bad.json",
        ]));
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains(msg), "{}", text(&o));
        assert!(!d.join("bad.json").exists());
    }
}
