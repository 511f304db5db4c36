#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs `cargo test` (unit tests,
# the integration tests that launch `mpirun -n 1..4`, and the batch-script tests on a
# real one-node Slurm that tests/slurm.rs starts and stops with scripts/local-slurm.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-slurm
source scripts/env.sh
start=$SECONDS
cargo build --release --quiet --bins
cargo test --release "$@"
echo "test suite finished in $((SECONDS - start)) s"
