#!/bin/sh
# SCALE-Sim 3.0.0's cycles for one GEMM, for the npu figures in BENCHMARKS.md:
#   benches/scalesim_gemm.sh ROWS COLS DATAFLOW M K N BYTES_PER_CYCLE IFMAP_KB FILTER_KB OFMAP_KB
# User bandwidth mode, word size 1 byte (INT8): SCALE-Sim gives each of its three DRAM
# interfaces (ifmap, filter, ofmap) its own BYTES_PER_CYCLE; the npu's AXI memory model shares
# one budget between reads and writes. Prints SCALE-Sim's COMPUTE_REPORT row: Total Cycles
# (incl. prefetch), Total Cycles, Stall Cycles, utilization. Run from the repository root; the
# first run makes the pinned venv .tools/scalesim (SCALE-Sim 3.0.0 crashes with numpy 2, so
# numpy 1.26.4, on Python 3.11; about two minutes). SCALESIM_PY overrides its python.
set -eu
[ $# -eq 10 ] || { sed -n 2,3p "$0"; exit 2; }
R=$1 C=$2 DF=$3 M=$4 K=$5 N=$6 BW=$7 IF=$8 FI=$9 OF=${10}
PY=${SCALESIM_PY:-$(pwd)/.tools/scalesim/bin/python}
if [ ! -x "$PY" ]; then
  base=$(ls -d "$HOME"/.pyenv/versions/3.11.* 2>/dev/null | tail -1)
  "${base:+$base/bin/}python3" -m venv .tools/scalesim
  .tools/scalesim/bin/pip install -q scalesim==3.0.0 numpy==1.26.4
fi
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
cat > "$D/npu.cfg" <<CFG
[general]
run_name = npu_gemm

[run_presets]
InterfaceBandwidth: USER
UseRamulatorTrace: False

[architecture_presets]
ArrayHeight:    $R
ArrayWidth:     $C
IfmapSramSzkB:    $IF
FilterSramSzkB:   $FI
OfmapSramSzkB:    $OF
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : $BW
Dataflow : $DF
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: $BW
IfmapSRAMBankNum: 1
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: $BW
FilterSRAMBankNum: 1
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40
CFG
printf 'Layer, M, N, K,\ngemm, %s, %s, %s,\n' "$M" "$N" "$K" > "$D/gemm.csv"
printf 'Layer,\n' > "$D/layout.csv"
(cd "$D" && "$PY" -m scalesim.scale -c npu.cfg -t gemm.csv -l layout.csv -i gemm -p out > log.txt 2>&1) \
  || { cat "$D/log.txt"; exit 1; }
cat "$D"/out/npu_gemm/COMPUTE_REPORT.csv
