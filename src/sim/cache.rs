//! Where compiled simulation models are kept, and the content hash that names them.

use std::path::PathBuf;

/// 128-bit FNV-1a over length-prefixed parts, as 32 hex digits: a stable cache key (the same
/// inputs give the same key on every run and machine).
pub fn content_key(parts: &[&[u8]]) -> String {
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u128::from(b);
            h = h.wrapping_mul(PRIME);
        }
    };
    for p in parts {
        eat(&(p.len() as u64).to_le_bytes());
        eat(p);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_separate_parts() {
        assert_eq!(content_key(&[b"a", b"bc"]), content_key(&[b"a", b"bc"]));
        assert_ne!(content_key(&[b"a", b"bc"]), content_key(&[b"ab", b"c"]));
        assert_eq!(content_key(&[]).len(), 32);
    }
}
