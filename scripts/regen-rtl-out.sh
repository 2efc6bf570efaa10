#!/usr/bin/env bash
# Regenerates the reference designs in rtl-out/ (the ones the README points at): the default
# array, a 16x16 WS array, an npu_core and a spiking core.
# tests/reference_designs.rs fails when rtl-out/ is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf rtl-out
cargo run --release -q -- generate --out rtl-out                      # built-in default (npu8x8)
cargo run --release -q -- generate examples/tpu16.toml --out rtl-out  # 16x16 WS INT8
cargo run --release -q -- generate examples/core8x8_int8.toml --out rtl-out  # npu_core: 8x8 + post-processing
cargo run --release -q -- generate examples/snn32.toml --out rtl-out         # spiking LIF core
