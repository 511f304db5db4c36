#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs `cargo test` (unit tests
# and the integration tests that launch `mpirun -n 1..4`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
start=$SECONDS
cargo build --release --quiet --bins
cargo test --release "$@"
echo "test suite finished in $((SECONDS - start)) s"
