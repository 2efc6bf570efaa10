//! Records the target triple so the Verilator harness can drive the `cc` crate at run time.
fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=NPUGEN_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
