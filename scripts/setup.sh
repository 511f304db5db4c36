#!/usr/bin/env bash
# Installs the system packages tessera needs (Debian/Ubuntu), only those missing, then
# checks the Rust toolchain. Safe to run again: a second run installs nothing.
#
# Where MPI and HDF5 come from elsewhere (a cluster's environment modules), skip the
# packages with TESSERA_SKIP_APT=1 after `module load` of an MPI and a parallel HDF5
# (see README, "On a cluster").
#
#   scripts/setup.sh [--with-slurm]
set -euo pipefail

PACKAGES=(libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools libclang-dev
          libopenblas-dev pkg-config)
# --with-slurm: also Slurm's daemons and client, for the batch-script tests (a real
# one-node Slurm, scripts/local-slurm.sh)
[[ "${1:-}" == --with-slurm ]] && PACKAGES+=(slurmctld slurmd slurm-client)

if [[ "${TESSERA_SKIP_APT:-0}" != 1 ]] && command -v dpkg-query >/dev/null; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    # install from the current lists; refresh them first if a package is not found
    if ! $sudo apt-get install -y -qq "${missing[@]}" >/tmp/tessera-apt.log 2>&1; then
      $sudo apt-get update -qq >>/tmp/tessera-apt.log 2>&1
      $sudo apt-get install -y -qq "${missing[@]}" >>/tmp/tessera-apt.log 2>&1 || {
        echo "setup: apt-get install failed, see /tmp/tessera-apt.log" >&2; exit 1; }
    fi
  fi
fi

if ! command -v cargo >/dev/null; then
  [[ -x "$HOME/.cargo/bin/cargo" ]] && export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null || {
  echo "setup: cargo not found: install a Rust toolchain >= 1.89 (https://rustup.rs)" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "setup: mpirun not found (load an MPI module?)" >&2; exit 1; }
