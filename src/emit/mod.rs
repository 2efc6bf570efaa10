//! Emitters: read the IR (and the config it came from) and produce files. Nothing here builds
//! hardware.

pub mod constraints;
pub mod fusesoc;
pub mod manifest;
pub mod npu_manifest;
pub mod outputs;
pub mod scripts;
pub mod template;
pub mod testbench;
pub mod verilog;

use std::path::Path;

use crate::config::Config;
use crate::error::Result;
use crate::gen::Part;
use crate::rtl::Design;
pub use outputs::Outputs;

/// One generated file: a name relative to the output folder and its contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputFile {
    /// File name (no directories).
    pub name: String,
    /// Full contents.
    pub contents: String,
}

/// Sort key that orders embedded numbers by value: `pe_r2_c10` after `pe_r2_c9`. One byte
/// string per name (compared with memcmp): text is copied, and each run of digits becomes its
/// length (without leading zeros) followed by the digits, so longer numbers sort later.
pub(crate) fn natural_key(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut key = Vec::with_capacity(bytes.len() + 4);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let digits = &bytes[start..i];
            let first = digits
                .iter()
                .position(|&d| d != b'0')
                .unwrap_or(digits.len() - 1);
            let digits = &digits[first..];
            key.push(digits.len().min(255) as u8);
            key.extend_from_slice(digits);
        } else {
            key.push(bytes[i]);
            i += 1;
        }
    }
    key
}

/// The files `generate` writes for a design: `<top>.v` (all modules; or, with `split`, one
/// `<module>.v` per module), `<top>.f` (the file list) and `<top>.json` (the manifest).
pub fn design_files(
    cfg: &Config,
    part: Part,
    design: &Design,
    split: bool,
) -> Result<Vec<OutputFile>> {
    let mut files = Vec::new();
    if split {
        for m in &design.modules {
            files.push(OutputFile {
                name: format!("{}.v", m.name),
                contents: verilog::module_to_verilog(&design.header, m),
            });
        }
    } else {
        files.push(OutputFile {
            name: format!("{}.v", design.top),
            contents: verilog::design_to_verilog(design),
        });
    }
    let sources: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
    let mut list = String::new();
    for line in &design.header[..1] {
        list.push_str(&format!("// {line}\n"));
    }
    list.push_str("// Verilog sources of the design, relative to this file (verilator -F, or run from here).\n");
    for s in &sources {
        list.push_str(s);
        list.push('\n');
    }
    files.push(OutputFile {
        name: format!("{}.f", design.top),
        contents: list,
    });
    let manifest = match part {
        Part::Array if cfg.npu.is_some() => {
            files.push(OutputFile {
                name: format!("{}_regs.h", cfg.name),
                contents: crate::npu::c_header::c_header(cfg)?,
            });
            Some(npu_manifest::npu_manifest_json(cfg, design, &sources)?)
        }
        Part::Array => Some(manifest::manifest_json(cfg, design, &sources)),
        Part::Lif => Some(manifest::lif_manifest_json(cfg, design, &sources)),
        // Memories alone, for synthesis: no interface to describe.
        Part::Buffers => None,
    };
    if let Some(manifest) = manifest {
        files.push(OutputFile {
            name: format!("{}.json", design.top),
            contents: manifest,
        });
    }
    Ok(files)
}

/// Writes `files` into `dir` (created if missing), all or nothing: every destination is
/// checked first, the contents go to temporary files, and all are renamed into place at the
/// end (see [`outputs::Outputs`]). On an error no file is replaced and no temporary is left.
pub fn write_files(dir: &Path, files: &[OutputFile]) -> Result<()> {
    let mut out = Outputs::new();
    for f in files {
        out.reserve(&dir.join(&f.name))?;
    }
    for f in files {
        out.write(&dir.join(&f.name), f.contents.as_bytes())?;
    }
    out.commit()
}

/// Writes one file through a temporary name in the same folder and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut out = Outputs::new();
    out.write(path, bytes)?;
    out.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec!["pe_r10_c0", "pe_r2_c10", "pe_r2_c9", "a", "pe_r2_c1"];
        v.sort_by_key(|s| natural_key(s));
        assert_eq!(v, ["a", "pe_r2_c1", "pe_r2_c9", "pe_r2_c10", "pe_r10_c0"]);
    }

    #[test]
    fn writes_atomically_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("sub");
        let files = vec![OutputFile {
            name: "x.v".into(),
            contents: "hello\n".into(),
        }];
        write_files(&out, &files).unwrap();
        let names: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["x.v"]);
        assert_eq!(std::fs::read_to_string(out.join("x.v")).unwrap(), "hello\n");
    }
}
