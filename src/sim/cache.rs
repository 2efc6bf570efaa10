//! Where compiled simulation models are kept, and the content hash that names them.

use std::fs::File;
use std::path::{Path, PathBuf};

/// The 128-bit FNV-1a offset basis and prime.
const FNV_BASIS: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
const FNV_PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

/// Feeds `bytes` into a running 128-bit FNV-1a hash.
fn fnv1a_128(mut h: u128, bytes: &[u8]) -> u128 {
    for &b in bytes {
        h ^= u128::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// 128-bit FNV-1a over length-prefixed parts, as 32 hex digits: a stable cache key (the same
/// inputs give the same key on every run and machine).
pub(crate) fn content_key(parts: &[&[u8]]) -> String {
    let mut h = FNV_BASIS;
    for p in parts {
        h = fnv1a_128(h, &(p.len() as u64).to_le_bytes());
        h = fnv1a_128(h, p);
    }
    format!("{h:032x}")
}

/// The cache folder: `$NPUGEN_CACHE_DIR`, else `$XDG_CACHE_HOME/npugen`, else
/// `~/.cache/npugen`, else a folder in the system temp directory.
pub fn cache_root() -> PathBuf {
    if let Some(d) = std::env::var_os("NPUGEN_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("npugen");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(h).join(".cache").join("npugen");
    }
    std::env::temp_dir().join("npugen-cache")
}

/// Creates the cache folder; the error names it and says how to choose another.
pub(crate) fn ensure_root(cache: &Path) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| {
        format!(
            "cannot use the simulation cache folder {}: {e} (set NPUGEN_CACHE_DIR to a writable folder)",
            cache.display()
        )
    };
    if cache.exists() && !cache.is_dir() {
        return Err(fail(&"it exists and is not a folder"));
    }
    std::fs::create_dir_all(cache).map_err(|e| fail(&e))?;
    // A read-only folder shows here, not later in the middle of a build.
    let probe = cache.join(format!(".probe-{}", std::process::id()));
    File::create(&probe).map_err(|e| fail(&e))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// An exclusive lock on one cache entry, held while it is checked or built: a second process
/// that needs the same model waits and then finds it built. Released on drop.
#[derive(Debug)]
pub struct EntryLock {
    _file: File,
}

/// Takes the lock of entry `key` (waiting for another holder; `on_wait` is called once first).
pub(crate) fn lock_entry(
    cache: &Path,
    key: &str,
    on_wait: impl FnOnce(),
) -> Result<EntryLock, String> {
    let path = cache.join(format!("sim-{key}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open the cache lock {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            on_wait();
            file.lock()
                .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(format!("cannot lock {}: {e}", path.display()))
        }
    }
    Ok(EntryLock { _file: file })
}

/// Name of the checksum file written beside a built library.
const SUM_FILE: &str = "libnpusim.sum";

/// Size and content hash of a file, as recorded in the checksum file.
fn fingerprint(bytes: &[u8]) -> String {
    format!("{} {}\n", bytes.len(), content_key(&[bytes]))
}

/// Records the checksum of `lib` (in its folder), at build time.
pub(crate) fn write_checksum(lib: &Path) -> Result<(), String> {
    let bytes = std::fs::read(lib).map_err(|e| format!("cannot read {}: {e}", lib.display()))?;
    let sum = lib.with_file_name(SUM_FILE);
    std::fs::write(&sum, fingerprint(&bytes))
        .map_err(|e| format!("cannot write {}: {e}", sum.display()))
}

/// Checks `lib` against its recorded checksum; `Err` says what is wrong.
pub(crate) fn verify(lib: &Path) -> Result<(), String> {
    let want = std::fs::read_to_string(lib.with_file_name(SUM_FILE))
        .map_err(|_| "no checksum recorded".to_string())?;
    let bytes = std::fs::read(lib).map_err(|e| format!("cannot read the library: {e}"))?;
    let got = fingerprint(&bytes);
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "library is {} bytes with hash {}, the build recorded {}",
            bytes.len(),
            got.split_whitespace().nth(1).unwrap_or(""),
            want.trim()
        ))
    }
}

/// Removes the work folders `tmp-<key>-<pid>` of builds whose process is gone (killed
/// builds); returns how many. Only where `/proc` shows which processes live.
pub(crate) fn remove_stale(cache: &Path) -> usize {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return 0;
    }
    let Ok(dir) = std::fs::read_dir(cache) else {
        return 0;
    };
    let mut removed = 0;
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("tmp-")
            .and_then(|r| r.rsplit('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !proc.join(pid.to_string()).exists() && std::fs::remove_dir_all(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_separate_parts() {
        // The published FNV-1a-128 test vectors ("" and "a").
        assert_eq!(
            format!("{:032x}", fnv1a_128(FNV_BASIS, b"")),
            "6c62272e07bb014262b821756295c58d"
        );
        assert_eq!(
            format!("{:032x}", fnv1a_128(FNV_BASIS, b"a")),
            "d228cb696f1a8caf78912b704e4a8964"
        );
        assert_eq!(content_key(&[]), "6c62272e07bb014262b821756295c58d");
        // Length framing: the same bytes split differently give another key.
        assert_ne!(content_key(&[b"a", b"bc"]), content_key(&[b"ab", b"c"]));
    }

    #[test]
    fn damaged_libraries_fail_verification() {
        let d = tempfile::tempdir().unwrap();
        let lib = d.path().join("libnpusim.so");
        assert!(verify(&lib).is_err());
        std::fs::write(&lib, vec![7u8; 8192]).unwrap();
        write_checksum(&lib).unwrap();
        verify(&lib).unwrap();
        // Truncated, then one flipped byte: both refused.
        std::fs::write(&lib, vec![7u8; 4096]).unwrap();
        assert!(verify(&lib).unwrap_err().contains("4096 bytes"));
        let mut bytes = vec![7u8; 8192];
        bytes[100] ^= 1;
        std::fs::write(&lib, bytes).unwrap();
        assert!(verify(&lib).is_err());
    }

    #[test]
    fn stale_work_folders_of_dead_builds_are_removed() {
        let d = tempfile::tempdir().unwrap();
        let mine = d.path().join(format!("tmp-abc-{}", std::process::id()));
        // PIDs above the kernel's pid_max (4194304) never run.
        let dead = d.path().join("tmp-abc-4294967");
        std::fs::create_dir(&mine).unwrap();
        std::fs::create_dir(&dead).unwrap();
        assert_eq!(remove_stale(d.path()), 1);
        assert!(mine.exists() && !dead.exists());
    }

    #[test]
    fn cache_folder_errors_name_the_folder() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("plain-file");
        std::fs::write(&file, "x").unwrap();
        let e = ensure_root(&file).unwrap_err();
        assert!(
            e.contains(&file.display().to_string()) && e.contains("NPUGEN_CACHE_DIR"),
            "{e}"
        );
    }

    #[test]
    fn second_lock_waits_for_the_first() {
        let d = tempfile::tempdir().unwrap();
        let first = lock_entry(d.path(), "k", || panic!("nothing holds it yet")).unwrap();
        let waited = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            let h = s.spawn(|| {
                lock_entry(d.path(), "k", || {
                    waited.store(true, std::sync::atomic::Ordering::SeqCst)
                })
                .unwrap()
            });
            std::thread::sleep(std::time::Duration::from_millis(100));
            drop(first);
            h.join().unwrap();
        });
        assert!(waited.load(std::sync::atomic::Ordering::SeqCst));
    }
}
