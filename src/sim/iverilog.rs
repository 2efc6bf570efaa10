//! Running an emitted testbench under Icarus Verilog (`iverilog -g2005`, then `vvp`).

use std::path::Path;
use std::process::Command;

use crate::flow::tools::{find, ToolError, ToolKind};

/// Outcome of a testbench run.
#[derive(Clone, Debug)]
pub struct TbResult {
    /// `vvp` exited with 0 and printed PASS.
    pub passed: bool,
    /// `vvp`'s exit code.
    pub exit_code: Option<i32>,
    /// Compiler and simulator output.
    pub output: String,
}

/// Runs the testbench `npugen testbench` wrote into `dir` for design `name`: its file list
/// `<name>_tb.f` and its top `tb_<name>` (see [`crate::emit::testbench`]).
pub fn run_emitted(dir: &Path, name: &str, plusargs: &[&str]) -> Result<TbResult, ToolError> {
    run_testbench(
        dir,
        &format!("{name}_tb.f"),
        &format!("tb_{name}"),
        plusargs,
    )
}

/// Compiles the file list `filelist` (relative to `dir`) with top `top` and runs it in `dir`
/// with `plusargs` (such as `+dump`).
pub(crate) fn run_testbench(
    dir: &Path,
    filelist: &str,
    top: &str,
    plusargs: &[&str],
) -> Result<TbResult, ToolError> {
    let iverilog = find(ToolKind::Iverilog)?;
    let vvp = find(ToolKind::Vvp)?;
    let mut output = String::new();
    let text = crate::flow::tools::output_text;
    let compile = Command::new(&iverilog.path)
        .current_dir(dir)
        .args(["-g2005", "-o", "tb.vvp", "-s", top, "-c", filelist])
        .output();
    let compile = match compile {
        Ok(o) => o,
        Err(_) => return Err(ToolError::Missing("iverilog")),
    };
    output.push_str(&text(&compile));
    if !compile.status.success() {
        return Ok(TbResult {
            passed: false,
            exit_code: compile.status.code(),
            output,
        });
    }
    let run = Command::new(&vvp.path)
        .current_dir(dir)
        .args(["-n", "tb.vvp"])
        .args(plusargs)
        .output()
        .map_err(|_| ToolError::Missing("vvp"))?;
    output.push_str(&text(&run));
    Ok(TbResult {
        passed: run.status.success() && output.contains("PASS"),
        exit_code: run.status.code(),
        output,
    })
}
