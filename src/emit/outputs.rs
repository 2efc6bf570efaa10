//! All the output files of one command, committed together.
//!
//! Every destination is declared before any work: its folder is created, a destination that is
//! a folder is refused, and an empty temporary file is created beside it (which proves the
//! folder is writable). Contents go to the temporary files; [`Outputs::commit`] renames them
//! all into place at the end. A command that fails before the commit leaves no temporary file
//! and replaces none of the older outputs: dropping an uncommitted [`Outputs`] removes them.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One declared output.
#[derive(Debug)]
struct Entry {
    dest: PathBuf,
    tmp: PathBuf,
    /// Renamed into place on commit (else discarded).
    keep: bool,
}

/// The pending outputs of a command (see the module docs).
#[derive(Debug, Default)]
pub struct Outputs {
    entries: Vec<Entry>,
}

fn write_err(path: &Path, source: std::io::Error) -> Error {
    Error::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// The folder of `path` (`.` for a bare file name).
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Creates `dir` (and its parents), naming it on failure.
pub(crate) fn ensure_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(write_err(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "exists and is not a folder",
            ),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| write_err(dir, e))
}

impl Outputs {
    /// No outputs yet.
    pub fn new() -> Outputs {
        Outputs::default()
    }

    /// Declares `dest` and returns the temporary path its contents go to (for tools that
    /// write a file themselves, such as a waveform). Nothing is renamed before
    /// [`Outputs::commit`]; a declared file that is never [`Outputs::keep`]-marked or written
    /// is discarded.
    pub(crate) fn reserve(&mut self, dest: &Path) -> Result<PathBuf> {
        if let Some(e) = self.entries.iter().find(|e| e.dest == dest) {
            return Ok(e.tmp.clone());
        }
        let dir = parent_of(dest);
        ensure_dir(&dir)?;
        if dest.is_dir() {
            return Err(write_err(
                dest,
                std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a folder"),
            ));
        }
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                write_err(
                    dest,
                    std::io::Error::new(std::io::ErrorKind::InvalidInput, "names no file"),
                )
            })?;
        let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
        std::fs::File::create(&tmp).map_err(|e| write_err(dest, e))?;
        self.entries.push(Entry {
            dest: dest.to_path_buf(),
            tmp: tmp.clone(),
            keep: false,
        });
        Ok(tmp)
    }

    /// Marks a reserved file as complete: it is renamed into place on commit.
    pub fn keep(&mut self, dest: &Path) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.dest == dest) {
            e.keep = true;
        }
    }

    /// Writes `bytes` as the contents of `dest` (declaring it if needed).
    pub fn write(&mut self, dest: &Path, bytes: &[u8]) -> Result<()> {
        let tmp = self.reserve(dest)?;
        std::fs::write(&tmp, bytes).map_err(|e| write_err(dest, e))?;
        self.keep(dest);
        Ok(())
    }

    /// Renames every complete file into place and removes the rest.
    pub fn commit(mut self) -> Result<()> {
        let entries = std::mem::take(&mut self.entries);
        let mut result = Ok(());
        for e in &entries {
            if e.keep && result.is_ok() {
                if let Err(err) = std::fs::rename(&e.tmp, &e.dest) {
                    result = Err(write_err(&e.dest, err));
                }
            }
        }
        for e in &entries {
            if e.tmp.exists() {
                let _ = std::fs::remove_file(&e.tmp);
            }
        }
        result
    }
}

impl Drop for Outputs {
    fn drop(&mut self) {
        for e in &self.entries {
            let _ = std::fs::remove_file(&e.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn nothing_lands_before_commit_and_drop_cleans_up() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.txt"), "old").unwrap();
        {
            let mut o = Outputs::new();
            o.write(&d.path().join("a.txt"), b"new").unwrap();
            o.reserve(&d.path().join("b.txt")).unwrap();
            // dropped without commit
        }
        assert_eq!(names(d.path()), ["a.txt"]);
        assert_eq!(
            std::fs::read_to_string(d.path().join("a.txt")).unwrap(),
            "old"
        );
    }

    #[test]
    fn a_folder_in_the_way_is_refused_before_anything_is_written() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("x.json")).unwrap();
        let mut o = Outputs::new();
        o.write(&d.path().join("x.v"), b"v").unwrap();
        let e = o.reserve(&d.path().join("x.json")).unwrap_err();
        assert!(e.to_string().contains("x.json"), "{e}");
        drop(o);
        assert_eq!(names(d.path()), ["x.json"]);
    }

    #[test]
    fn commit_renames_kept_files_and_drops_unused_reservations() {
        let d = tempfile::tempdir().unwrap();
        let mut o = Outputs::new();
        o.write(&d.path().join("sub/a.txt"), b"a").unwrap();
        o.reserve(&d.path().join("sub/unused.vcd")).unwrap();
        o.commit().unwrap();
        assert_eq!(names(&d.path().join("sub")), ["a.txt"]);
    }
}
