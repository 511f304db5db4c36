#!/usr/bin/env bash
# Build the PETSc reference program scripts/petsc/poisson.c.
#
#   scripts/petsc/build.sh [OUTPUT]     # default: target/petsc/poisson
#
# Installs Debian's petsc-dev (PETSc 3.18, with hypre) if PETSc is not found, then
# compiles with PETSc's own compiler wrapper (mpicc), preprocessor/include flags and link
# line, read from $PETSC_DIR/lib/petsc/conf/variables (PETSC_DIR defaults to
# /usr/lib/petsc; PETSC_ARCH is honoured for source builds). PETSc's optimisation flags
# (Debian: -g -O2) are replaced by -O3 -march=native; override with CFLAGS=...
#
# Note: -O3 -march=native only applies to poisson.c (assembly, right-hand side); the
# solver kernels run in the prebuilt libpetsc, whichever way it was compiled.
#
# Run, e.g.:
#   export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_io=^ompio
#   mpirun -n 2 target/petsc/poisson -n 64 -ksp_type cg -pc_type jacobi \
#       -ksp_rtol 1e-8 -ksp_norm_type unpreconditioned
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

OUT=${1:-target/petsc/poisson}
SRC=scripts/petsc/poisson.c
CFLAGS=${CFLAGS:--O3 -march=native}
export PETSC_DIR=${PETSC_DIR:-/usr/lib/petsc}

if [[ ! -f $PETSC_DIR/lib/petsc/conf/variables ]]; then
    echo "build: PETSc not found under $PETSC_DIR; installing petsc-dev" >&2
    SUDO=()
    [[ $EUID -ne 0 ]] && SUDO=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get install -y petsc-dev ||
        { "${SUDO[@]}" apt-get update && "${SUDO[@]}" apt-get install -y petsc-dev; }
fi

# Value of a variable from PETSc's makefile configuration.
petsc_var() {
    make -s --no-print-directory -f - show <<EOF
include \$(PETSC_DIR)/lib/petsc/conf/variables
show: ; @echo \$($1)
EOF
}

CC=$(petsc_var PCC)
CPPFLAGS=$(petsc_var PETSC_CCPPFLAGS)
LIBS=$(petsc_var PETSC_LIB)
VERSION=$(pkg-config --modversion PETSc 2>/dev/null || echo unknown)

mkdir -p "$(dirname "$OUT")"
# shellcheck disable=SC2086  # the flag strings are word lists
set -x
$CC $CFLAGS $CPPFLAGS -o "$OUT" "$SRC" $LIBS
{ set +x; } 2>/dev/null
echo "build: $OUT (PETSc $VERSION, PETSC_DIR=$PETSC_DIR)"
