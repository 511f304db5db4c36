#!/usr/bin/env bash
# Every stencil kernel's update rate and effective bandwidth against a STREAM triad
# measured in the same run, at 1 and 2 ranks x 1 and 2 threads, and the effect of
# overlap (--no-overlap) and of deep halos (--steps-per-exchange 4) at 2 ranks.
#
#   scripts/bench-stencils.sh                # full run (about 5 minutes on 2 cores)
#   BENCH_QUICK=1 scripts/bench-stencils.sh  # smoke test: small grids, few steps
#
# Rates are the binaries' own "Glups in the time loop" (compute + halo exchange + residual
# norms; no set-up, no I/O: runs use --no-checkpoint). Effective bandwidth = Glups x the
# bytes one update must move at least (each input level read once, the output written
# once; Poisson's right-hand side comes from cached tables; SOR counts its two sweeps).
# "% triad" relates it to the STREAM triad bandwidth with as many threads as the run uses
# in total (capped at the 2 cores). 2 ranks x 2 threads oversubscribes the 2 cores.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

QUICK=${BENCH_QUICK:-0}
if [[ $QUICK == 1 ]]; then
    N2=512 N3=64 NL=1024 SCALE=1 STREAM_ARGS=(--size-mib 64 --reps 4)
else
    N2=4096 N3=256 NL=8192 SCALE=6 STREAM_ARGS=(--size-mib 512 --reps 8)
fi
# name | binary | bytes per update | arguments (steps are multiplied by SCALE)
CASES=(
    "heat-5pt|heat|16|--size ${N2}x${N2} --steps 10"
    "heat-9pt|heat|16|--size ${N2}x${N2} --stencil compact --steps 10"
    "heat-4th|heat|16|--size ${N2}x${N2} --stencil fourth --bc periodic --steps 10"
    "heat-7pt-3d|heat|16|--size ${N3}x${N3}x${N3} --steps 10"
    "heat-27pt-3d|heat|16|--size ${N3}x${N3}x${N3} --stencil compact --steps 5"
    "wave|wave|24|--size ${N2}x${N2} --steps 10"
    "poisson-jacobi|poisson|16|--size $((N2 - 1))x$((N2 - 1)) --method jacobi --steps 10 --check-every 100000"
    "poisson-sor|poisson|32|--size $((N2 - 1))x$((N2 - 1)) --method sor --steps 5 --check-every 100000"
    "advect-lw|advect|16|--size ${N2}x${N2} --steps 10"
    "life|life|2|--size ${NL}x${NL} --pattern soup --steps 10"
    "allen-cahn|allen-cahn|16|--size ${N2}x${N2} --steps 10"
)
# ranks threads extra-flags label
CONFIGS=(
    "1|1||1 rank"
    "1|2||1 rank x 2 threads"
    "2|1||2 ranks"
    "2|2||2 ranks x 2 threads"
    "2|1|--no-overlap|2 ranks, overlap off"
    "2|1|--steps-per-exchange 4|2 ranks, exchange every 4 steps"
)

SECONDS=0
echo "== building (cargo build --release)"
cargo build --release --quiet --bins

TMP=$(mktemp -d /tmp/bench-stencils.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

declare -A TRIAD=()
stream() {
    local t=$1 out
    out=$(target/release/stream --threads "$t" "${STREAM_ARGS[@]}" 2>&1) || { echo "$out" >&2; exit 1; }
    grep -q "Solution validates" <<<"$out" || { echo "$out" >&2; exit 1; }
    sed -n 's/^triad_gbs=//p' <<<"$out"
}
echo "== STREAM triad (start)"
for t in 1 2; do TRIAD[$t]=$(stream "$t"); echo "  $t thread(s): ${TRIAD[$t]} GB/s"; done

# run NAME BIN ARGS...: prints "glups" of one run (Poisson may stop unconverged: exit 1)
run() {
    local ranks=$1 threads=$2 bin=$3; shift 3
    local bind=core out rc=0
    [[ $threads -gt 1 ]] && bind=none
    out=$(mpirun --oversubscribe -n "$ranks" --bind-to "$bind" "target/release/$bin" "$@" \
        --threads "$threads" --no-checkpoint --out "$TMP/out" --progress 0 2>&1) || rc=$?
    if [[ $rc -ne 0 && ! ($bin == poisson && $rc -eq 1) ]]; then
        echo "$out" >&2
        echo "bench-stencils: $bin $* failed (exit $rc)" >&2
        exit 1
    fi
    sed -nE 's/.* ([0-9.]+) Glups in the time loop.*/\1/p' <<<"$out"
}

RESULTS="$TMP/results"
: >"$RESULTS"
echo "== kernels"
for c in "${CASES[@]}"; do
    IFS='|' read -r name bin bytes args <<<"$c"
    read -ra argv <<<"$args"
    # scale the step count
    for i in "${!argv[@]}"; do
        [[ ${argv[$i]} == --steps ]] && argv[$((i + 1))]=$((argv[i + 1] * SCALE))
    done
    for cfg in "${CONFIGS[@]}"; do
        IFS='|' read -r ranks threads extra label <<<"$cfg"
        read -ra extra_argv <<<"$extra"
        glups=$(run "$ranks" "$threads" "$bin" "${argv[@]}" "${extra_argv[@]}")
        used=$((ranks * threads > 2 ? 2 : ranks * threads))
        echo "$name|$label|$glups" >>"$RESULTS"
        awk -v n="$name" -v l="$label" -v g="$glups" -v b="$bytes" -v t="${TRIAD[$used]}" \
            'BEGIN { printf "  %-15s %-32s %8.3f Glups %7.1f GB/s %5.0f%% of triad (%.1f GB/s)\n",
                     n, l, g, g * b, 100 * g * b / t, t }'
    done
done

echo "== STREAM triad (end)"
for t in 1 2; do echo "  $t thread(s): $(stream "$t") GB/s"; done

echo
echo "== overlap and deep halos at 2 ranks (time-loop rate relative to the plain 2-rank run)"
for c in "${CASES[@]}"; do
    IFS='|' read -r name _ <<<"$c"
    rate() { awk -F'|' -v n="$name" -v l="$1" '$1 == n && $2 == l { print $3 }' "$RESULTS"; }
    base=$(rate "2 ranks")
    off=$(rate "2 ranks, overlap off")
    deep=$(rate "2 ranks, exchange every 4 steps")
    awk -v n="$name" -v b="$base" -v o="$off" -v d="$deep" \
        'BEGIN { printf "  %-15s overlap off: %5.2fx   exchange every 4 steps: %5.2fx\n", n, o / b, d / b }'
done
echo "bench-stencils: done in ${SECONDS} s"
