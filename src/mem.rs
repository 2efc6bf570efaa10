//! Memory budget checks: a command that would need more memory than the machine has is refused
//! up front, with the figure, instead of aborting inside an allocation.

use crate::error::{Error, Result};

/// Bytes of one matrix element in memory (`i128`).
pub const ELEMENT_BYTES: u128 = 16;

/// Bytes a `rows` x `cols` matrix of `i128` takes (exact, never wraps).
pub(crate) fn matrix_bytes(rows: usize, cols: usize) -> u128 {
    rows as u128 * cols as u128 * ELEMENT_BYTES
}

/// Memory the process may still allocate: `NPUGEN_MEM_LIMIT` (bytes) if set, else Linux's
/// `MemAvailable`, else unknown (`None`, no check).
pub fn available() -> Option<u128> {
    if let Some(v) = std::env::var("NPUGEN_MEM_LIMIT")
        .ok()
        .and_then(|v| v.trim().parse::<u128>().ok())
    {
        return Some(v);
    }
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// `bytes` in the largest binary unit that keeps it >= 1 (`64.0 GiB`).
pub(crate) fn human(bytes: u128) -> String {
    let units = [
        "bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB",
    ];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// Refuses (exit code 2) when `bytes` exceed the available memory; `what` names the work.
pub fn check(what: &str, bytes: u128) -> Result<()> {
    match available() {
        Some(avail) if bytes > avail => Err(Error::input(
            what,
            format!(
                "needs {bytes} bytes ({}) of memory, {avail} bytes ({}) are available",
                human(bytes),
                human(avail)
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_never_wrap() {
        assert_eq!(matrix_bytes(1 << 32, 1 << 32), 1u128 << 68);
        assert_eq!(human(1023), "1023 bytes");
        assert_eq!(human(64 << 30), "64.0 GiB");
    }

    #[test]
    fn refuses_more_than_available() {
        // Larger than any machine: 2^100 bytes.
        if available().is_some() {
            let e = check("work", 1u128 << 100).unwrap_err().to_string();
            assert!(
                e.starts_with("work: needs 1267650600228229401496703205376 bytes"),
                "{e}"
            );
            assert_eq!(
                check("work", 1u128 << 100).unwrap_err().exit_code(),
                2,
                "bad input, not a tool failure"
            );
        }
        assert!(check("small", 16).is_ok());
    }
}
