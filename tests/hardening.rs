//! Regression tests for the defects a hostile or first-time user found (issue "Hardening and
//! first-run fixes"), each named after the defect. They run the real binary in a temp folder.

mod common;

use std::path::Path;

use common::{listing, npugen, npy_bytes, run, text, tool};
use npugen::flow::tools::ToolKind;

const SMALL: &str = "name = \"hard2x2\"\n[array]\nrows = 2\ncols = 2\n";

/// `npugen simulate small.toml ARGS` in `d`, with the tests' shared model cache.
fn simulate(d: &Path, args: &[&str]) -> std::process::Output {
    run(in_dir(d, &common::sim_cache())
        .args(["simulate", "small.toml"])
        .args(args))
}

fn in_dir(dir: &Path, cache: &Path) -> std::process::Command {
    let mut c = npugen();
    c.current_dir(dir).env("NPUGEN_CACHE_DIR", cache);
    c
}

/// `.npy` bytes with a raw header dict (any text) and no data.
fn npy_header_only(dict: &str) -> Vec<u8> {
    let mut h = dict.as_bytes().to_vec();
    h.push(b'\n');
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend_from_slice(&(h.len() as u16).to_le_bytes());
    v.extend_from_slice(&h);
    v
}

#[test]
fn vcd_in_a_missing_folder_is_written_and_an_unwritable_vcd_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("small.toml"), SMALL).unwrap();
    // Checked before any work, so no Verilator is needed for the refusal.
    let o = simulate(d, &["--random", "3,3,3", "--vcd", "/proc/w.vcd"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("cannot write /proc/w.vcd"),
        "{}",
        text(&o)
    );
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    let o = simulate(d, &["--random", "3,3,3", "--seed", "5"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = simulate(
        d,
        &["--random", "3,3,3", "--seed", "5", "--vcd", "x/nodir/w.vcd"],
    );
    assert!(o.status.success(), "{}", text(&o));
    // Regression: the traced model was a second full build.
    assert!(text(&o).contains("(cached in"), "{}", text(&o));
    let vcd = std::fs::read_to_string(d.join("x/nodir/w.vcd")).unwrap();
    // A real timescale: 1 ps units, a 10 ns clock (edges 5000 units apart).
    assert!(vcd.contains("$timescale 1ps $end"), "{}", &vcd[..200]);
    assert!(vcd.contains("\n#5000\n") && vcd.contains("\n#10000\n"));
    assert_eq!(listing(&d.join("x/nodir")), ["w.vcd"]);
}

#[test]
fn failed_generate_leaves_no_partial_output() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(out.join("npu8x8.json")).unwrap();
    std::fs::write(out.join("npu8x8.v"), "older output").unwrap();
    let o = run(npugen()
        .args(["generate", "--out", "out"])
        .current_dir(tmp.path()));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("out/npu8x8.json"), "{}", text(&o));
    assert_eq!(
        listing(&out),
        ["npu8x8.json", "npu8x8.v"],
        "no temp file, no .f"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("npu8x8.v")).unwrap(),
        "older output",
        "the older file is not replaced"
    );
}

#[test]
fn failed_simulate_leaves_no_report_and_no_temp_file() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("small.toml"), SMALL).unwrap();
    std::fs::create_dir_all(d.join("s/Cdir")).unwrap();
    let o = simulate(
        d,
        &[
            "--random", "3,3,3", "--out", "s/Cdir", "--report", "s/r.json",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("s/Cdir"), "{}", text(&o));
    assert_eq!(listing(&d.join("s")), ["Cdir"]);
    assert!(
        listing(d).iter().all(|n| !n.contains(".tmp")),
        "{:?}",
        listing(d)
    );
}

#[test]
fn corrupt_cached_model_is_rebuilt_and_concurrent_cold_runs_build_once() {
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let cache = d.join("cache");
    std::fs::write(d.join("small.toml"), SMALL).unwrap();
    let sim = || {
        let mut c = in_dir(d, &cache);
        c.args(["simulate", "small.toml", "--random", "3,3,3", "--seed", "3"]);
        c
    };
    // A killed build's work folder (a pid no process can have) is removed.
    std::fs::create_dir_all(cache.join("tmp-0123-4294967")).unwrap();
    // Two cold runs at once: one builds, the other waits for it and loads its model.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| run(&mut sim()));
        let b = s.spawn(|| run(&mut sim()));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(a.status.success(), "{}", text(&a));
    assert!(b.status.success(), "{}", text(&b));
    let both = format!("{}{}", text(&a), text(&b));
    // Regression: the build was silent for up to a minute.
    assert!(
        both.contains("npugen: building the Verilator model of hard2x2"),
        "{both}"
    );
    assert_eq!(both.matches("(cached in").count(), 1, "{both}");
    assert_eq!(both.matches("(built in").count(), 1, "{both}");
    assert!(!cache.join("tmp-0123-4294967").exists());
    let entry = listing(&cache)
        .into_iter()
        .find(|n| n.starts_with("sim-") && !n.ends_with(".lock"))
        .expect("one cached model");
    let lib = cache.join(&entry).join("libnpusim.so");
    // Truncated (was a bus error): detected, said, rebuilt.
    let f = std::fs::OpenOptions::new().write(true).open(&lib).unwrap();
    f.set_len(4096).unwrap();
    drop(f);
    let o = run(&mut sim());
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("is damaged"), "{}", text(&o));
    assert!(text(&o).contains("(built in"), "{}", text(&o));
    // The rebuilt entry verifies: the next run loads it.
    let o = run(&mut sim());
    assert!(text(&o).contains("(cached in"), "{}", text(&o));
}

#[test]
fn cache_folder_errors_name_the_folder() {
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("small.toml"), SMALL).unwrap();
    std::fs::write(d.join("not-a-dir"), "x").unwrap();
    let o =
        run(in_dir(d, &d.join("not-a-dir")).args(["simulate", "small.toml", "--random", "2,2,2"]));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("not-a-dir") && t.contains("NPUGEN_CACHE_DIR"),
        "{t}"
    );
}

#[test]
fn npy_descr_with_a_multibyte_character_exits_2_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("e.npy"),
        npy_header_only("{'descr': 'éi1', 'fortran_order': False, 'shape': (1, 1), }"),
    )
    .unwrap();
    std::fs::write(d.join("b.npy"), npy_bytes("|i1", 1, 1, &[1])).unwrap();
    let o = run(in_dir(d, &common::sim_cache()).args(["simulate", "--a", "e.npy", "--b", "b.npy"]));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("e.npy: dtype"), "{}", text(&o));
}

#[test]
fn npy_shapes_whose_size_overflows_exit_2_with_the_real_byte_count() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let shape = |s: &str, descr: &str| {
        npy_header_only(&format!(
            "{{'descr': '{descr}', 'fortran_order': False, 'shape': {s}, }}"
        ))
    };
    std::fs::write(
        d.join("huge.npy"),
        shape("(1000000000000, 1000000000000)", "|i1"),
    )
    .unwrap();
    std::fs::write(d.join("wrap.npy"), shape("(4294967296, 4294967296)", "|i1")).unwrap();
    std::fs::write(d.join("cap.npy"), shape("(4611686018427387904, 3)", "<i4")).unwrap();
    for (a, needs) in [
        ("huge.npy", "needs 1000000000000000000000000"),
        ("wrap.npy", "needs 18446744073709551616"),
        ("cap.npy", "needs 55340232221128654848"),
    ] {
        let o = run(in_dir(d, &common::sim_cache()).args(["simulate", "--a", a, "--b", a]));
        assert_eq!(o.status.code(), Some(2), "{a}: {}", text(&o));
        assert!(text(&o).contains(needs), "{a}: {}", text(&o));
    }
    // The spiking core's spike trains are read the same way.
    std::fs::write(
        d.join("snn.toml"),
        "[lif]\nneurons = 4\naxons = 4\nparallel = 2\n",
    )
    .unwrap();
    std::fs::write(d.join("sp.npy"), shape("(4611686018427387904, 4)", "|u1")).unwrap();
    std::fs::write(d.join("w.npy"), npy_bytes("|i1", 4, 4, &[0; 16])).unwrap();
    let o = run(in_dir(d, &common::sim_cache()).args([
        "lif",
        "snn.toml",
        "--spikes",
        "sp.npy",
        "--weights",
        "w.npy",
        "--out",
        "run",
    ]));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("needs 18446744073709551616"),
        "{}",
        text(&o)
    );
    assert!(!d.join("run").exists());
}

#[test]
fn a_run_too_large_for_memory_exits_2_with_the_figure() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("small.toml"), SMALL).unwrap();
    let o = simulate(d, &["--random", "65536,65536,65536", "--out", "c.npy"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("65536 x 65536 x 65536 GEMM") && t.contains("bytes"),
        "{t}"
    );
    assert!(t.contains("of memory") && t.contains("available"), "{t}");
    assert_eq!(listing(d), ["small.toml"]);
    // The limit can be set: a small GEMM against a 1 KiB budget is refused the same way.
    let o = run(in_dir(d, &common::sim_cache())
        .env("NPUGEN_MEM_LIMIT", "1024")
        .args(["simulate", "small.toml", "--random", "4,4,4"]));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn verilog_and_systemverilog_keywords_are_refused_as_names() {
    let tmp = tempfile::tempdir().unwrap();
    for k in [
        "wand",
        "tri0",
        "nmos",
        "uwire",
        "bufif0",
        "vectored",
        "pull0",
        "trireg",
        "always_ff",
        "always_comb",
        "assert",
        "var",
        "static",
        "virtual",
    ] {
        let p = tmp.path().join("k.toml");
        std::fs::write(&p, format!("name = \"{k}\"\n")).unwrap();
        let o = run(npugen()
            .args(["generate", "k.toml", "--out", "out"])
            .current_dir(tmp.path()));
        assert_eq!(o.status.code(), Some(2), "{k}: {}", text(&o));
        assert!(
            text(&o).contains(&format!("name = \"{k}\"")),
            "{k}: {}",
            text(&o)
        );
        assert!(!tmp.path().join("out").exists());
    }
}

#[test]
fn config_type_errors_name_field_value_and_range() {
    let tmp = tempfile::tempdir().unwrap();
    for (toml, want) in [
        (
            "[array]\nrows = -1\n",
            "array.rows = -1 is not allowed: allowed an integer in 1..=256",
        ),
        (
            "[lif]\nvth = -1\n",
            "lif.vth = -1 is not allowed: allowed an integer in 0..=131071",
        ),
        (
            "[postproc]\nscale = \"0.01\"\n",
            "postproc.scale = \"0.01\" is not allowed: allowed a positive number",
        ),
    ] {
        std::fs::write(tmp.path().join("c.toml"), toml).unwrap();
        let o = run(npugen()
            .args(["generate", "c.toml", "--out", "out"])
            .current_dir(tmp.path()));
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains(want), "{}", text(&o));
    }
}

#[test]
fn synth_part_names_the_sections_the_config_has() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("a.toml"), SMALL).unwrap();
    let o = run(npugen()
        .args([
            "synth", "a.toml", "--part", "lif", "--target", "xc7", "--out", "o",
        ])
        .current_dir(tmp.path()));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("\"lif\" is not a design of this config: it has [array], so allowed: \"array\""),
        "{t}"
    );
    assert!(!tmp.path().join("o").exists());
}

#[test]
fn fst_waveforms_are_written_for_long_runs() {
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("small.toml"), SMALL).unwrap();
    let o = simulate(
        d,
        &["--random", "5,3,4", "--seed", "2", "--fst", "w/run.fst"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let fst = std::fs::read(d.join("w/run.fst")).unwrap();
    // An FST file starts with its header block (type 0); a VCD would be text.
    assert!(
        fst.len() > 64 && fst[0] == 0,
        "{:?}",
        &fst[..fst.len().min(16)]
    );
    assert!(!String::from_utf8_lossy(&fst).contains("$timescale"));
    assert_eq!(listing(&d.join("w")), ["run.fst"]);
    let o = simulate(
        d,
        &["--random", "2,2,2", "--vcd", "a.vcd", "--fst", "b.fst"],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "--vcd and --fst together: {}",
        text(&o)
    );
}
