#!/usr/bin/env bash
# The main job: the 2D heat equation on 2 MPI ranks (1024x1024 grid, 2000 steps), checked
# against its analytic solution, then a picture of the final field from its checkpoint;
# then Lennard-Jones molecular dynamics on 2 ranks (LAMMPS's 32,000-atom LJ benchmark
# system, 1000 steps, NVE), which checks its energy and momentum, and a picture of a slab
# of its atoms coloured by speed; then a linear solve on 2 ranks (the 3D Poisson problem,
# 127^3 unknowns, multigrid-preconditioned CG to rtol 1e-10), checked against its
# manufactured solution, and a plot of its residual history; then a gravitational n-body
# run on 2 ranks (a Plummer sphere of 16,384 bodies, 200 steps), which checks energy,
# momentum and angular momentum, and a picture of its bodies.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
cargo build --release --quiet --bins
out="runs/demo-$(date +%Y%m%d-%H%M%S)"
mpirun -n 2 target/release/heat --size 1024x1024 --steps 2000 --checkpoint-every 1000 --out "$out"
target/release/render "$out/heat_00002000.h5" --out "$out/heat_00002000.png"
echo "picture: $out/heat_00002000.png"
echo
mpirun -n 2 target/release/md --cells 20x20x20 --steps 1000 --thermo 100 --neigh-every 1 --neigh-check --out "$out/md"
target/release/render "$out/md/md_00001000.h5" --out "$out/md_00001000.png"
echo
mpirun -n 2 target/release/solve --size 127x127x127 --ksp cg --pc mg --rtol 1e-10 --out "$out/solve"
solved=$(ls "$out"/solve/solve_*.h5 | tail -1)
target/release/render "$solved" --out "$out/solve-residual.png"
echo
mpirun -n 2 target/release/nbody --model plummer --bodies 16384 --steps 200 --diagnostics 50 --out "$out/nbody"
target/release/render "$out/nbody/nbody_00000200.h5" --out "$out/nbody_00000200.png"
echo "pictures: $out/heat_00002000.png $out/md_00001000.png $out/solve-residual.png $out/nbody_00000200.png"
