//! Helpers shared by the integration tests: tool discovery with the CI rule, seeded random
//! configs, the example configs and running the real binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use npugen::config::{ArrayConfig, Config, Dataflow};
use npugen::flow::tools::{find, Tool, ToolKind};
use npugen::rng::Rng;

pub mod litert;
pub mod npu;

/// Whether we run under CI, where a missing tool is a failure, not a skip (see
/// [`npugen::flow::tools::under_ci`]).
pub fn under_ci() -> bool {
    npugen::flow::tools::under_ci()
}

/// Where skipped tests are listed (scripts/test.sh prints the count at the end).
pub fn skip_log() -> PathBuf {
    repo().join("target").join("npugen-skipped-tests.txt")
}

/// Reports a skipped test: on stderr past libtest's capture (a skip shows even when the test
/// "passes"), and appended to [`skip_log`].
pub fn skip(reason: &str) {
    use std::io::Write as _;
    let test = std::thread::current()
        .name()
        .unwrap_or("(unnamed)")
        .to_string();
    let line = format!("SKIPPED (local run) {test}: {reason}\n");
    // Written to the file descriptor, not through eprintln!, which the harness captures.
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(skip_log())
    {
        let _ = f.write_all(line.as_bytes());
    }
}

/// The tool, or `None` after reporting why the test is skipped. Panics under CI.
pub fn tool(kind: ToolKind) -> Option<Tool> {
    match find(kind) {
        Ok(t) => Some(t),
        Err(e) if under_ci() => panic!("CI and a required tool is unusable: {e}"),
        Err(e) => {
            skip(&e.to_string());
            None
        }
    }
}

/// A program on `PATH` that has no [`ToolKind`] (fusesoc, cocotb-config, make), or `None`
/// after printing why the test is skipped. Panics under CI.
pub fn program(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    match found {
        Some(p) => Some(p),
        None if under_ci() => panic!(
            "CI and {name} is not on PATH (scripts/install-tools.sh installs it; . .tools/env.sh)"
        ),
        None => {
            skip(&format!(
                "{name} not on PATH; run scripts/install-tools.sh and . .tools/env.sh"
            ));
            None
        }
    }
}

/// The names in `dir`, sorted (empty if it does not exist).
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Runs a command, returning its output (panics if it cannot start).
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"))
}

/// Combined stdout and stderr of an output, lossy UTF-8.
pub fn text(o: &Output) -> String {
    npugen::flow::tools::output_text(o)
}

/// The `npugen` binary under test.
pub fn npugen() -> Command {
    Command::new(env!("CARGO_BIN_EXE_npugen"))
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `examples/*.toml`, sorted, with its parsed config.
pub fn examples() -> Vec<(PathBuf, Config)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .expect("examples/ exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable example");
            let cfg = Config::load(&text, &p.display().to_string())
                .unwrap_or_else(|e| panic!("example {} is invalid: {e}", p.display()));
            (p, cfg)
        })
        .collect()
}

/// A random valid array config, kept small enough for Yosys in CI (at most 8 x 8 PEs and
/// rows * cols * input_bits * weight_bits <= 4096), covering both dataflows, signedness,
/// every operand width and optional accumulator / FIFO sizes.
pub fn random_config(rng: &mut Rng, index: usize) -> Config {
    loop {
        let rows = rng.range(1, 8) as u32;
        let cols = rng.range(1, 8) as u32;
        let input_bits = rng.range(2, 32) as u32;
        let weight_bits = rng.range(2, 32) as u32;
        if rows * cols * input_bits * weight_bits > 4096 {
            continue;
        }
        let dataflow = *rng.pick(&[Dataflow::Os, Dataflow::Ws]);
        let product = input_bits + weight_bits;
        let acc_bits = if rng.coin() {
            Some(rng.range(i64::from(product), i64::from((product + 24).min(128))) as u32)
        } else {
            None
        };
        let mut array = ArrayConfig {
            rows,
            cols,
            dataflow,
            input_bits,
            weight_bits,
            acc_bits,
            signed: rng.coin(),
            out_fifo_depth: None,
            pipeline: rng.range(0, 3) as u32,
            dsp_pes: None,
        };
        if rng.coin() {
            let min = array.min_fifo_depth();
            array.out_fifo_depth = Some(min << rng.range(0, 2));
        }
        let postproc = random_postproc(rng, &array);
        let lif = (rng.range(0, 3) == 0).then(|| random_lif(rng));
        let cfg = Config {
            name: format!("rnd{index}_{}", dataflow.as_str()),
            array: Some(array),
            postproc,
            lif,
            npu: None,
        };
        cfg.validate().expect("random config is valid");
        return cfg;
    }
}

/// A small random `[lif]` section (any parallel, bias mode and widths).
fn random_lif(rng: &mut Rng) -> npugen::config::LifConfig {
    let neurons = rng.range(1, 12) as u32;
    npugen::config::LifConfig {
        neurons,
        axons: rng.range(1, 12) as u32,
        weight_bits: rng.range(2, 16) as u32,
        parallel: rng.range(1, i64::from(neurons)) as u32,
        du: rng.range(0, 4095) as u32,
        dv: rng.range(0, 4095) as u32,
        vth: rng.range(0, (1 << 17) - 1) as u32,
        bias_mant: rng.range(-4096, 4095) as i32,
        bias_exp: rng.range(0, 7) as u32,
        per_neuron_bias: rng.coin(),
    }
}

/// A random `[postproc]` for `array` one time in three (when its accumulator fits int32).
fn random_postproc(rng: &mut Rng, array: &ArrayConfig) -> Option<npugen::config::PostprocConfig> {
    use npugen::config::{Activation, PostprocConfig, Scale};
    let max_acc = if array.signed { 32 } else { 31 };
    if array.acc_bits() > max_acc || rng.range(0, 2) != 0 {
        return None;
    }
    let activation = *rng.pick(&[
        Activation::None,
        Activation::Relu,
        Activation::Clamp,
        Activation::LeakyRelu,
        Activation::Sigmoid,
        Activation::Tanh,
    ]);
    let out_bits = rng.range(2, 10) as u32;
    let out_signed = rng.coin();
    let scale = if rng.coin() {
        Scale::PerTensor(0.001 * rng.range(1, 900) as f64)
    } else {
        Scale::PerColumn(
            (0..array.cols)
                .map(|_| 0.0001 * rng.range(1, 9000) as f64)
                .collect(),
        )
    };
    use npugen::model::requant::Rounding;
    let rounding = *rng.pick(&Rounding::ALL);
    let three = rounding == Rounding::Xnnpack || rng.coin();
    let (scale, input_scale, weight_scale, output_scale) = if three {
        // Effective scales 0.0005 ..= 0.9: the weight scale carries the spread.
        let w = match scale {
            Scale::PerTensor(s) => Scale::PerTensor(s * 4.0),
            Scale::PerColumn(v) => Scale::PerColumn(v.iter().map(|s| s * 4.0).collect()),
        };
        (None, Some(0.125), Some(w), Some(0.5))
    } else {
        (Some(scale), None, None, None)
    };
    let p = PostprocConfig {
        out_bits,
        out_signed,
        rounding,
        scale,
        input_scale,
        weight_scale,
        output_scale,
        zero_point: 0,
        input_zero_point: 0,
        activation,
        clamp_min: None,
        clamp_max: None,
        leaky_shift: rng.range(1, 4) as u32,
        leaky_alpha: rng.coin().then(|| rng.range(1, 99) as f64 / 100.0),
        lut_input_scale: matches!(activation, Activation::Sigmoid | Activation::Tanh)
            .then_some(0.05),
    };
    Some(p)
}

/// The run-time parameters of a GEMM on an npu_core with weights `b` and `bias`: the
/// config's, a per-column scale list cycled over the N columns when its length is not N.
pub fn column_params(
    post: &npugen::config::PostprocConfig,
    b: &npugen::model::Matrix,
    bias: &[i128],
) -> Vec<npugen::model::params::ColumnParams> {
    use npugen::config::Scale;
    let list = match (&post.scale, &post.weight_scale) {
        (Some(Scale::PerColumn(v)), _) | (None, Some(Scale::PerColumn(v))) => Some(v.clone()),
        _ => None,
    };
    let cycled: Option<Vec<f64>> = list.map(|v| (0..b.cols).map(|n| v[n % v.len()]).collect());
    npugen::model::postproc::column_params(post, b, bias, cycled.as_deref())
        .expect("parameters of a valid config")
}

/// Writes `cfg` as TOML into `dir/<name>.toml` and returns the path.
pub fn write_config(dir: &Path, cfg: &Config) -> PathBuf {
    let p = dir.join(format!("{}.toml", cfg.name));
    std::fs::write(&p, cfg.to_toml()).expect("write config");
    p
}

/// The simulation model cache for tests: under `target/`, so CI starts clean and local reruns
/// reuse compiled models.
pub fn sim_cache() -> PathBuf {
    repo().join("target").join("npugen-sim-cache")
}

/// The binary in `dir`, sharing the tests' model cache.
pub fn sim_cmd(dir: &Path) -> Command {
    let mut c = npugen();
    c.current_dir(dir).env("NPUGEN_CACHE_DIR", sim_cache());
    c
}

/// Runs `jobs` on two worker threads; returns every failure message.
pub fn parallel<T: Sync>(jobs: &[T], f: impl Fn(&T) -> Result<(), String> + Sync) -> Vec<String> {
    let failures = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(job) = jobs.get(i) else { break };
                if let Err(e) = f(job) {
                    failures.lock().expect("lock").push(e);
                }
            });
        }
    });
    failures.into_inner().expect("lock")
}

/// Breaks the design's PE on purpose: flips the sign bit of its product. The design stays
/// well formed (the checker passes), so only simulation can tell.
pub fn break_pe(design: &mut npugen::rtl::Design) {
    use npugen::rtl::{Const, Expr};
    let name = format!("{}_pe", design.top);
    let pe = design.module_mut(&name).expect("pe module");
    let prod = pe
        .assigns
        .iter_mut()
        .find(|a| a.target == "prod")
        .expect("prod wire");
    let ty = prod.expr.ty();
    let msb = Expr::Const(Const::from_i128(-(1 << (ty.width - 1)), ty));
    prod.expr = prod.expr.clone().xor(msb);
    npugen::rtl::check_design(design).expect("still well formed");
}

/// `.npy` bytes with any integer dtype `descr` (e.g. `|u1`, `<i2`) and 2-D `shape`.
pub fn npy_bytes(descr: &str, rows: usize, cols: usize, values: &[i64]) -> Vec<u8> {
    let bytes: usize = descr[2..].parse().expect("size in descr");
    let mut v = npy_header(descr, &format!("({rows}, {cols})"));
    for x in values {
        v.extend_from_slice(&x.to_le_bytes()[..bytes]);
    }
    v
}

/// A 1-D float32 `.npy` file's bytes (little-endian `<f4`).
pub fn npy_f32(values: &[f32]) -> Vec<u8> {
    let mut v = npy_header("<f4", &format!("({},)", values.len()));
    for x in values {
        v.extend_from_slice(&x.to_le_bytes());
    }
    v
}

/// An `.npy` (version 1.0) magic and header for `descr` and `shape` (as Python writes it).
fn npy_header(descr: &str, shape: &str) -> Vec<u8> {
    let h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n");
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend_from_slice(&(h.len() as u16).to_le_bytes());
    v.extend_from_slice(h.as_bytes());
    v
}

/// The pinned LiteRT oracle's Python (`.tools/litert`, from scripts/install-tools.sh), or
/// `None` after reporting why the test is skipped. Panics under CI.
pub fn litert_python() -> Option<PathBuf> {
    let py = repo().join(".tools/litert/bin/python");
    if py.is_file() {
        return Some(py);
    }
    let why = format!(
        "{} is missing (the LiteRT oracle venv); run scripts/install-tools.sh",
        py.display()
    );
    if under_ci() {
        panic!("CI and {why}");
    }
    skip(&why);
    None
}
