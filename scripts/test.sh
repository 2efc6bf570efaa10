#!/usr/bin/env bash
# The test command (README, .ci/run): installs the pinned tools, then runs every check.
# Under CI=true a test whose tool is missing fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh
# shellcheck disable=SC1091
. .tools/env.sh
cargo fmt --check
cargo clippy --all-targets -- -D warnings
# Tool-gated tests that skip (local runs only; under CI they fail) list themselves here.
skips=target/npugen-skipped-tests.txt
rm -f "$skips"
cargo test --all-targets
cargo test --doc
if [ -s "$skips" ]; then
  echo "[test] $(wc -l < "$skips") test(s) SKIPPED for missing tools (run with CI=true to fail instead):"
  sed 's/^/[test]   /' "$skips"
else
  echo "[test] no test skipped"
fi
