//! The README's commands, run as written, so that the README cannot drift from the tool.

mod common;

use common::{npugen, npy_bytes, repo, run, text};

fn readme() -> String {
    std::fs::read_to_string(repo().join("README.md")).unwrap()
}

/// The lines of the first fenced block that contains `marker`, without the fences.
fn block_with(marker: &str) -> Vec<String> {
    let text = readme();
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("README has {marker:?}"));
    let start = text[..at].rfind("```").expect("opening fence") + 3;
    let end = at + text[at..].find("```").expect("closing fence");
    text[start..end]
        .lines()
        .skip(1)
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn worked_example_prints_what_the_readme_shows() {
    // Regression: the byte counts had gone stale.
    let lines = block_with("$ cargo run --release -- generate examples/tpu16.toml");
    let (cmd, shown) = lines.split_first().unwrap();
    let args: Vec<&str> = cmd
        .strip_prefix("$ cargo run --release -- ")
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        args,
        ["generate", "examples/tpu16.toml", "--out", "build/tpu16"]
    );
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("examples")).unwrap();
    std::fs::copy(
        repo().join("examples/tpu16.toml"),
        tmp.path().join("examples/tpu16.toml"),
    )
    .unwrap();
    let o = run(npugen().current_dir(tmp.path()).args(&args));
    assert!(o.status.success(), "{}", text(&o));
    let printed: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(&printed, shown, "update the README's worked example");
}

#[test]
fn lif_commands_run_as_written_with_the_lif_example() {
    // Regression: the README's LIF command failed with the only LIF example (no --bias).
    let lines = block_with("npugen lif examples/snn32.toml");
    let cmds: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("npugen lif"))
        .collect();
    assert_eq!(cmds.len(), 2);
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::create_dir(d.join("examples")).unwrap();
    std::fs::copy(
        repo().join("examples/snn32.toml"),
        d.join("examples/snn32.toml"),
    )
    .unwrap();
    // snn32: 16 axons, 32 neurons; 6 steps of spikes.
    let spikes: Vec<i64> = (0..6 * 16).map(|i| i64::from(i % 3 == 0)).collect();
    let weights: Vec<i64> = (0..16 * 32).map(|i| (i * 37 % 255) - 127).collect();
    let bias: Vec<i64> = (0..32).map(|i| i * 5 - 80).collect();
    std::fs::write(d.join("S.npy"), npy_bytes("|u1", 6, 16, &spikes)).unwrap();
    std::fs::write(d.join("W.npy"), npy_bytes("|i1", 16, 32, &weights)).unwrap();
    std::fs::write(d.join("B.npy"), npy_bytes("<i2", 1, 32, &bias)).unwrap();
    // The model-only form runs here; the RTL form is the same line without --model-only
    // (tests/lif.rs covers the RTL), so check that it parses by running the model-only one
    // and that both name the same files.
    let model_only = cmds.iter().find(|c| c.contains("--model-only")).unwrap();
    let rtl = cmds.iter().find(|c| !c.contains("--model-only")).unwrap();
    assert_eq!(format!("{rtl} --model-only"), **model_only);
    let args: Vec<&str> = model_only.split_whitespace().skip(1).collect();
    let o = run(npugen()
        .current_dir(d)
        .env("NPUGEN_CACHE_DIR", common::sim_cache())
        .args(&args));
    assert!(o.status.success(), "{}", text(&o));
    for f in ["u.npy", "v.npy", "spikes.npy", "report.json"] {
        assert!(d.join("run").join(f).is_file(), "{f}");
    }
}

#[test]
fn docs_link_only_inside_the_repository() {
    // Regression: the README linked ../shared/docs/REFERENCES.md, outside the repository.
    for doc in [
        "README.md",
        "BENCHMARKS.md",
        "docs/references.md",
        "docs/npu.md",
    ] {
        let text = std::fs::read_to_string(repo().join(doc)).unwrap();
        assert!(
            !text.contains("../shared"),
            "{doc} points outside the repository"
        );
        for (i, _) in text.match_indices("](") {
            let target = &text[i + 2..];
            let target = &target[..target.find(')').unwrap()];
            if target.starts_with("http") || target.starts_with('#') {
                continue;
            }
            let base = repo().join(doc).parent().unwrap().to_path_buf();
            assert!(
                base.join(target).exists(),
                "{doc} links to missing {target}"
            );
        }
    }
}

#[test]
fn readme_outputs_are_ignored_by_git() {
    // Regression: build/ and lint/ from the README's commands showed up as untracked.
    let ignore = std::fs::read_to_string(repo().join(".gitignore")).unwrap();
    for dir in ["/build", "/lint", "/target", "/.tools"] {
        assert!(ignore.lines().any(|l| l == dir), "{dir} not in .gitignore");
    }
    let readme = readme();
    assert!(readme.contains("--out build/tpu16") && readme.contains("--out lint --split"));
}
