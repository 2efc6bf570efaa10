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
cargo test --all-targets
cargo test --doc
