#!/usr/bin/env bash
# Heat-kernel update rate against STREAM triad bandwidth, both measured in the same run.
#
#   scripts/bench-heat.sh                 # full run: 2D 8192x8192, 3D 512^3, 1 and 2 ranks
#   BENCH_REPS=5 scripts/bench-heat.sh    # repetitions per case (default 3), median taken
#   BENCH_QUICK=1 scripts/bench-heat.sh   # smoke test: 2048x2048 and 128^3, 1 repetition
#
# Runs `target/release/stream` (threads 1 and 2) at the start and again at the end, then
# `mpirun -n R --bind-to core target/release/heat ...` R times per case, and prints the
# raw figures and a table relating the heat kernel's "Glups in the update" to the triad.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

QUICK=${BENCH_QUICK:-0}
REPS=${BENCH_REPS:-3}
# case: label grid steps
if [[ $QUICK == 1 ]]; then
    REPS=1
    CASES=("2D 2048x2048 40" "3D 128x128x128 20")
    STREAM_ARGS=(--size-mib 128 --reps 6)
else
    CASES=("2D 8192x8192 40" "3D 512x512x512 20")
    STREAM_ARGS=(--size-mib 512 --reps 10)
fi
RANKS=(1 2)
if ! [[ $REPS =~ ^[1-9][0-9]*$ ]]; then
    echo "bench-heat: BENCH_REPS must be a positive integer, got '$REPS'" >&2
    exit 2
fi

SECONDS=0
echo "== building (cargo build --release)"
cargo build --release --quiet --bin heat --bin stream

TMP=$(mktemp -d /tmp/bench-heat.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# median of the numbers on stdin (mean of the two middle ones for an even count)
median() {
    sort -g | awk '{v[NR] = $1} END {
        if (NR == 0) { print "nan"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
    }'
}

# stream_run PHASE THREADS: runs the probe, appends its triad median to TRIAD_RAW[threads]
declare -A TRIAD_RAW=()
stream_run() {
    local phase=$1 threads=$2 out triad copy
    if ! out=$(target/release/stream --threads "$threads" "${STREAM_ARGS[@]}" 2>&1); then
        echo "$out" >&2
        echo "bench-heat: stream failed" >&2
        exit 1
    fi
    grep -q "Solution validates" <<<"$out" || { echo "$out" >&2; exit 1; }
    triad=$(sed -n 's/^triad_gbs=//p' <<<"$out")
    copy=$(sed -n 's/^copy_gbs=//p' <<<"$out")
    printf '  stream %-5s threads %d: triad %8.2f GB/s  copy %8.2f GB/s (medians)\n' \
        "$phase" "$threads" "$triad" "$copy"
    TRIAD_RAW[$threads]="${TRIAD_RAW[$threads]:-} $triad"
}

echo "== STREAM (start): ${STREAM_ARGS[*]}"
for t in "${RANKS[@]}"; do stream_run start "$t"; done

declare -A GLUPS_RAW=()
echo "== heat: $REPS repetition(s) per case, mpirun -n R --bind-to core"
for c in "${CASES[@]}"; do
    read -r label size steps <<<"$c"
    for r in "${RANKS[@]}"; do
        for ((i = 1; i <= REPS; i++)); do
            dir="$TMP/run"
            rm -rf "$dir"
            if ! out=$(mpirun -n "$r" --bind-to core target/release/heat --size "$size" \
                --steps "$steps" --out "$dir" --overwrite --progress 0 2>&1); then
                echo "$out" >&2
                echo "bench-heat: heat failed ($label $size, $r ranks)" >&2
                exit 1
            fi
            rm -rf "$dir"
            grep -q "Solution validates" <<<"$out" || {
                echo "$out" >&2
                echo "bench-heat: heat did not validate" >&2
                exit 1
            }
            line=$(grep -E "Glups in the update" <<<"$out")
            overall=$(sed -E 's/.* ([0-9.]+) Glups overall.*/\1/' <<<"$line")
            update=$(sed -E 's/.* ([0-9.]+) Glups in the update.*/\1/' <<<"$line")
            secs=$(sed -E 's/.* points in ([0-9.]+) s:.*/\1/' <<<"$line")
            printf '  %s %-12s ranks %d rep %d: %7.3f Glups in the update, %7.3f overall (%s steps in %s s)\n' \
                "$label" "$size" "$r" "$i" "$update" "$overall" "$steps" "$secs"
            GLUPS_RAW["$label $size $r"]="${GLUPS_RAW["$label $size $r"]:-} $update"
        done
    done
done

echo "== STREAM (end)"
for t in "${RANKS[@]}"; do stream_run end "$t"; done

echo
echo "Raw figures"
for t in "${RANKS[@]}"; do
    echo "  STREAM triad GB/s, $t thread(s), start and end:${TRIAD_RAW[$t]}"
done
for c in "${CASES[@]}"; do
    read -r label size _ <<<"$c"
    for r in "${RANKS[@]}"; do
        echo "  heat $label $size, $r rank(s), Glups in the update per rep:${GLUPS_RAW["$label $size $r"]}"
    done
done

cat <<'EOF'

Columns
  Glups     median over reps of the heat binary's "Glups in the update" (1e9 point updates per
            second of update time, the slowest rank's; halo exchange and checkpoints excluded)
  eff GB/s  Glups x 16 B: one FTCS update must read u once and write u_new once (8 + 8 bytes
            per point); the neighbours are assumed to be cache hits
  triad     STREAM triad GB/s (median of the start and end runs, threads = ranks; STREAM's
            convention: 24 B per iteration, write-allocate not counted)
  triad/16  the update rate the triad bandwidth would allow at 16 B per point, in Glups
  % triad   Glups / (triad/16) x 100
  Note: with ordinary (write-allocate) stores the hardware moves 24 B per heat update and
  32 B per triad iteration, so at equal DRAM bandwidth the expected ceiling is 16/18 = 89%.
EOF
echo
printf '%-4s %-12s %5s %8s %9s %9s %9s %8s\n' \
    case grid ranks Glups "eff GB/s" triad triad/16 "% triad"
for c in "${CASES[@]}"; do
    read -r label size _ <<<"$c"
    for r in "${RANKS[@]}"; do
        g=$(tr ' ' '\n' <<<"${GLUPS_RAW["$label $size $r"]}" | grep . | median)
        tr=$(tr ' ' '\n' <<<"${TRIAD_RAW[$r]}" | grep . | median)
        awk -v l="$label" -v s="$size" -v r="$r" -v g="$g" -v t="$tr" 'BEGIN {
            printf "%-4s %-12s %5d %8.3f %9.2f %9.2f %9.3f %7.1f%%\n",
                l, s, r, g, g * 16, t, t / 16, 100 * g / (t / 16)
        }'
    done
done
echo
echo "bench-heat: done in ${SECONDS} s"
