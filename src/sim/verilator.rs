//! Verilating a design, compiling it (C++ at -O2, whatever the cargo profile) with the `cc`
//! crate into a shared library with the C shim, caching it by content hash, and loading it.
//!
//! Cache key: Verilator version and root, Verilator flags, the Verilog, the shim, the compiler
//! version and the npugen version. A second run of the same design loads the cached library.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::cache::content_key;
use super::ports::PortLayout;
use super::shim::{shim_source, ABI_VERSION, PREFIX};
use crate::emit::verilog::modules_to_verilog;
use crate::flow::tools::{find, ToolError, ToolKind};
use crate::rtl::Design;

/// Errors of the simulation harness.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Verilator missing or too old.
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// A step of the build failed.
    #[error("{step} failed: {detail}")]
    Build {
        /// What was being done.
        step: &'static str,
        /// Tool output or error.
        detail: String,
    },
    /// The compiled library could not be loaded or lacks the shim.
    #[error("cannot load {}: {detail}", path.display())]
    Load {
        /// The library.
        path: PathBuf,
        /// The loader's message.
        detail: String,
    },
}

/// The waveform format a model is built for. Every model is built with tracing compiled in
/// (it costs nothing until a waveform is opened), so `--vcd` or a mismatch never needs a
/// second build; FST needs its own model, built only when asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    /// Value change dump (`--trace`).
    Vcd,
    /// Fast signal trace (`--trace-fst`), compressed, for long runs.
    Fst,
}

impl TraceFormat {
    fn flag(self) -> &'static str {
        match self {
            TraceFormat::Vcd => "--trace",
            TraceFormat::Fst => "--trace-fst",
        }
    }
}

/// A compiled model on disk.
#[derive(Clone, Debug)]
pub struct ModelBuild {
    /// The shared library.
    pub lib: PathBuf,
    /// Its port layout.
    pub layout: PortLayout,
    /// Verilator's version line.
    pub verilator_version: String,
    /// Whether it came from the cache.
    pub cached: bool,
    /// Seconds spent (building, or finding it in the cache).
    pub seconds: f64,
    /// The waveform format it writes.
    pub trace: TraceFormat,
}

/// Half a clock period in simulation time units (1 ps): the waveform shows a 10 ns clock.
pub const HALF_PERIOD_PS: u64 = 5000;

/// Verilator flags used for every model.
const VERILATOR_FLAGS: &[&str] = &[
    "--cc",
    "-O3",
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "--noassert",
    "-DNPUGEN_POISON_COLLISIONS",
    "-Wno-fatal",
    "-Wno-lint",
    "-Wno-style",
];

fn run_tool(step: &'static str, cmd: &mut Command) -> Result<String, SimError> {
    let out = cmd.output().map_err(|e| SimError::Build {
        step,
        detail: format!("cannot start {cmd:?}: {e}"),
    })?;
    let text = crate::flow::tools::output_text(&out);
    if out.status.success() {
        Ok(text)
    } else {
        Err(SimError::Build { step, detail: text })
    }
}

/// `VM_*` defines and source files listed in Verilator's `<prefix>_classes.mk`.
fn parse_classes_mk(text: &str) -> (Vec<(String, String)>, Vec<String>, Vec<String>) {
    let mut defines = Vec::new();
    let (mut classes, mut globals) = (Vec::new(), Vec::new());
    let mut current: Option<&str> = None;
    for line in text.lines() {
        let l = line.trim();
        if let Some((k, v)) = l.split_once(" = ") {
            if k.starts_with("VM_") && v.trim().parse::<i64>().is_ok() {
                defines.push((k.trim().to_string(), v.trim().to_string()));
            }
            current = None;
        } else if let Some(k) = l.strip_suffix(" += \\") {
            current = Some(if k.starts_with("VM_GLOBAL") { "g" } else { "c" });
        } else if let Some(name) = l.strip_suffix(" \\") {
            match current {
                Some("g") => globals.push(name.trim().to_string()),
                Some(_) => classes.push(name.trim().to_string()),
                None => {}
            }
        } else if l.is_empty() {
            current = None;
        }
    }
    (defines, classes, globals)
}

fn compiler_version() -> String {
    let compiler = cc::Build::new()
        .cpp(true)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .target(env!("NPUGEN_TARGET"))
        .host(env!("NPUGEN_TARGET"))
        .opt_level(2)
        .try_get_compiler();
    match compiler {
        Ok(c) => Command::new(c.path())
            .arg("--version")
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Builds (or finds in `cache`, see [`super::cache::cache_root`]) the simulation library of
/// `design`, traced in `trace` format. A cached library is checked against the checksum
/// recorded when it was built and rebuilt if damaged; concurrent builds of one model wait
/// for each other; work folders of killed builds are removed.
pub fn build_model(
    design: &Design,
    trace: TraceFormat,
    cache: &Path,
) -> Result<ModelBuild, SimError> {
    let start = Instant::now();
    let verilator = find(ToolKind::Verilator)?;
    let root = run_tool(
        "verilator --getenv VERILATOR_ROOT",
        Command::new(&verilator.path).args(["--getenv", "VERILATOR_ROOT"]),
    )?
    .trim()
    .to_string();
    let layout = PortLayout::of(design.top_module());
    let verilog = modules_to_verilog(design);
    let shim = shim_source(&layout);
    // Everything the library depends on.
    let key = content_key(&[
        verilator.version.as_bytes(),
        root.as_bytes(),
        VERILATOR_FLAGS.join(" ").as_bytes(),
        trace.flag().as_bytes(),
        verilog.as_bytes(),
        shim.as_bytes(),
        compiler_version().as_bytes(),
        crate::gen::VERSION.as_bytes(),
    ]);
    let cache_err = |detail: String| SimError::Build {
        step: "using the model cache",
        detail,
    };
    super::cache::ensure_root(cache).map_err(cache_err)?;
    let _lock = super::cache::lock_entry(cache, &key, || {
        eprintln!("npugen: waiting for another npugen that is building the same model");
    })
    .map_err(cache_err)?;
    super::cache::remove_stale(cache);
    let dir = cache.join(format!("sim-{key}"));
    let lib = dir.join("libnpusim.so");
    let done = |cached| ModelBuild {
        lib: lib.clone(),
        layout: layout.clone(),
        verilator_version: verilator.label(),
        cached,
        seconds: start.elapsed().as_secs_f64(),
        trace,
    };
    if dir.exists() {
        match super::cache::verify(&lib) {
            Ok(()) => return Ok(done(true)),
            Err(why) => {
                eprintln!(
                    "npugen: the cached model {} is damaged ({why}); rebuilding it",
                    dir.display()
                );
                std::fs::remove_dir_all(&dir)
                    .map_err(|e| cache_err(format!("cannot remove {}: {e}", dir.display())))?;
            }
        }
    }
    let work = cache.join(format!("tmp-{key}-{}", std::process::id()));
    let sources = Sources {
        verilator: &verilator.path,
        root: &root,
        design,
        verilog: &verilog,
        shim: &shim,
        trace,
    };
    build_into(&work, &dir, &sources).inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&work);
    })?;
    Ok(done(false))
}

/// What a model is built from.
struct Sources<'a> {
    verilator: &'a Path,
    /// `VERILATOR_ROOT`.
    root: &'a str,
    design: &'a Design,
    verilog: &'a str,
    shim: &'a str,
    trace: TraceFormat,
}

/// Builds the library in `work` with a heartbeat, records its checksum and publishes the
/// folder as `dir` (atomically: the entry lock keeps other npugen processes out).
fn build_into(work: &Path, dir: &Path, src: &Sources) -> Result<(), SimError> {
    let cache_err = |detail: String| SimError::Build {
        step: "using the model cache",
        detail,
    };
    let _ = std::fs::remove_dir_all(work);
    let beat = crate::progress::Heartbeat::start(
        &format!(
            "building the Verilator model of {} ({} modules; cached for later runs)",
            src.design.top,
            src.design.modules.len()
        ),
        std::time::Duration::from_secs(10),
    );
    let result = compile_in(work, src)
        .and_then(|()| super::cache::write_checksum(&work.join("libnpusim.so")).map_err(cache_err));
    beat.finish();
    result?;
    std::fs::rename(work, dir).map_err(|e| {
        cache_err(format!(
            "cannot move {} to {}: {e}",
            work.display(),
            dir.display()
        ))
    })
}

/// Verilates the design in `work`, compiles the C++ with the shim and links `libnpusim.so`.
fn compile_in(work: &Path, src: &Sources) -> Result<(), SimError> {
    let io = |e: std::io::Error| SimError::Build {
        step: "writing the model sources",
        detail: format!("in {}: {e}", work.display()),
    };
    std::fs::create_dir_all(work).map_err(io)?;
    std::fs::write(work.join("npu.v"), src.verilog).map_err(io)?;
    std::fs::write(work.join("shim.cpp"), src.shim).map_err(io)?;
    let mut cmd = Command::new(src.verilator);
    cmd.current_dir(work).args(VERILATOR_FLAGS).args([
        "--prefix",
        PREFIX,
        "--top-module",
        &src.design.top,
        "--Mdir",
        "obj",
    ]);
    cmd.arg(src.trace.flag());
    cmd.arg("npu.v");
    run_tool("verilator", &mut cmd)?;
    let mk = std::fs::read_to_string(work.join(format!("obj/{PREFIX}_classes.mk"))).map_err(io)?;
    let (objects, compiler) = compile_cpp(work, src.root, &mk)?;
    let mut link = compiler.to_command();
    link.arg("-shared")
        .arg("-o")
        .arg(work.join("libnpusim.so"))
        .args(&objects)
        .arg("-pthread");
    if src.trace == TraceFormat::Fst {
        // Verilator's FST writer compresses with zlib (and lz4 from 5.04x on).
        link.arg("-lz");
        if Path::new(src.root).join("include/fstcpp").exists() {
            link.arg("-llz4");
        }
    }
    run_tool("linking the model", &mut link)?;
    Ok(())
}

/// Compiles the Verilated classes (listed in `classes_mk`), Verilator's runtime and the shim
/// to position-independent objects; returns them and the compiler to link with.
fn compile_cpp(
    work: &Path,
    root: &str,
    classes_mk: &str,
) -> Result<(Vec<std::path::PathBuf>, cc::Tool), SimError> {
    let (defines, classes, globals) = parse_classes_mk(classes_mk);
    let include = Path::new(root).join("include");
    let mut b = cc::Build::new();
    b.cpp(true)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .target(env!("NPUGEN_TARGET"))
        .host(env!("NPUGEN_TARGET"))
        .opt_level(2)
        .debug(false)
        .pic(true)
        .warnings(false)
        .out_dir(work.join("objs"))
        .include(work.join("obj"))
        .include(&include)
        .include(include.join("vltstd"))
        .flag_if_supported("-faligned-new")
        .flag_if_supported("-fno-var-tracking")
        .flag_if_supported("-fno-semantic-interposition")
        .flag_if_supported("-fvisibility=hidden");
    for (k, v) in &defines {
        b.define(k, v.as_str());
    }
    for k in [
        "VM_SC",
        "VM_COVERAGE",
        "VM_TIMING",
        "VM_TRACE_FST",
        "VM_TRACE_SAIF",
        "VM_VPI",
    ] {
        if !defines.iter().any(|(d, _)| d == k) {
            b.define(k, "0");
        }
    }
    for c in &classes {
        b.file(work.join("obj").join(format!("{c}.cpp")));
    }
    for g in &globals {
        b.file(include.join(format!("{g}.cpp")));
    }
    b.file(work.join("shim.cpp"));
    let objects = b.try_compile_intermediates().map_err(|e| SimError::Build {
        step: "compiling the Verilated model (C++)",
        detail: e.to_string(),
    })?;
    let compiler = b.try_get_compiler().map_err(|e| SimError::Build {
        step: "finding the C++ compiler",
        detail: e.to_string(),
    })?;
    Ok((objects, compiler))
}

type NewFn = unsafe extern "C" fn(i32) -> *mut std::ffi::c_void;
type FreeFn = unsafe extern "C" fn(*mut std::ffi::c_void);
type StepFn = unsafe extern "C" fn(*mut std::ffi::c_void, *const u32, *mut u32);
type TraceFn = unsafe extern "C" fn(*mut std::ffi::c_void, *const std::ffi::c_char) -> i32;
type AbiFn = unsafe extern "C" fn() -> i32;

/// A loaded Verilated model: one instance, with its own VerilatedContext.
pub struct Verilated {
    // Keeps the library mapped while the function pointers below are in use.
    _lib: libloading::Library,
    handle: *mut std::ffi::c_void,
    free: FreeFn,
    step: StepFn,
    trace_open: TraceFn,
    /// Port layout.
    pub layout: PortLayout,
    // The word arrays handed to C on every step: private, so safe code cannot resize them
    // below what the shim reads and writes (`layout.in_words` / `out_words`).
    inputs: Vec<u32>,
    outputs: Vec<u32>,
}

impl Verilated {
    /// Loads a built model and creates an instance (with VCD support if built with it).
    pub fn load(build: &ModelBuild) -> Result<Verilated, SimError> {
        let err = |detail: String| SimError::Load {
            path: build.lib.clone(),
            detail,
        };
        // SAFETY: the library is one npugen compiled from its own shim; its symbols have the
        // signatures declared above, checked through the ABI version.
        unsafe {
            let lib = libloading::Library::new(&build.lib).map_err(|e| err(e.to_string()))?;
            let abi: AbiFn = *lib
                .get::<AbiFn>(b"npu_abi\0")
                .map_err(|e| err(e.to_string()))?;
            if abi() != ABI_VERSION {
                return Err(err(format!("shim ABI {} != {ABI_VERSION}", abi())));
            }
            let new: NewFn = *lib.get(b"npu_new\0").map_err(|e| err(e.to_string()))?;
            let free: FreeFn = *lib.get(b"npu_free\0").map_err(|e| err(e.to_string()))?;
            let step: StepFn = *lib.get(b"npu_step\0").map_err(|e| err(e.to_string()))?;
            let trace_open: TraceFn = *lib
                .get(b"npu_trace_open\0")
                .map_err(|e| err(e.to_string()))?;
            let handle = new(1);
            if handle.is_null() {
                return Err(err("npu_new returned no model".into()));
            }
            Ok(Verilated {
                _lib: lib,
                handle,
                free,
                step,
                trace_open,
                inputs: vec![0; build.layout.in_words],
                outputs: vec![0; build.layout.out_words],
                layout: build.layout.clone(),
            })
        }
    }

    /// Starts writing a VCD waveform (the model must be built with tracing).
    pub(crate) fn open_trace(&mut self, path: &Path) -> Result<(), SimError> {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).map_err(|e| {
            SimError::Load {
                path: path.to_path_buf(),
                detail: e.to_string(),
            }
        })?;
        // SAFETY: handle is live; the shim copies the path.
        let ok = unsafe { (self.trace_open)(self.handle, c.as_ptr()) };
        if ok == 1 {
            Ok(())
        } else {
            Err(SimError::Build {
                step: "opening a waveform",
                detail: format!("cannot open {} for writing", path.display()),
            })
        }
    }

    /// The input words (every input port but `clk`, see [`PortLayout`]), written by the
    /// caller before [`Verilated::step`]. A slice: its length cannot change.
    pub fn inputs_mut(&mut self) -> &mut [u32] {
        &mut self.inputs
    }

    /// The output words, valid after [`Verilated::step`].
    pub fn outputs(&self) -> &[u32] {
        &self.outputs
    }

    /// One clock cycle (one FFI call, on the hot path) with the current
    /// [`Verilated::inputs_mut`]; fills
    /// [`Verilated::outputs`].
    pub fn step(&mut self) {
        let (inp, out) = (self.inputs.as_ptr(), self.outputs.as_mut_ptr());
        // SAFETY: the handle is live (from npu_new, checked non-null, freed only in Drop); the
        // arrays were sized from the layout the shim was generated for in `load` and are
        // private, so nothing can resize them (`inputs_mut` hands out a fixed-length slice).
        unsafe { (self.step)(self.handle, inp, out) }
    }
}

impl Drop for Verilated {
    fn drop(&mut self) {
        // SAFETY: handle came from npu_new and is freed once.
        unsafe { (self.free)(self.handle) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_mk_parsing() {
        let mk = "VM_TRACE = 1\nVM_SC = 0\nVM_CLASSES_FAST += \\\n  Vnpu \\\n  Vnpu___024root__0 \\\n\nVM_GLOBAL_FAST += \\\n  verilated \\\n  verilated_threads \\\n\n";
        let (d, c, g) = parse_classes_mk(mk);
        assert_eq!(
            d,
            vec![
                ("VM_TRACE".into(), "1".into()),
                ("VM_SC".into(), "0".into())
            ]
        );
        assert_eq!(c, vec!["Vnpu", "Vnpu___024root__0"]);
        assert_eq!(g, vec!["verilated", "verilated_threads"]);
    }
}
