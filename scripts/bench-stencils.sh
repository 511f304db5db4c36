#!/usr/bin/env bash
# Every stencil kernel's rate, step by step and with temporal blocking (--time-block T),
# against the streaming bound, a plain C loop and the kernel's own rate in cache, all
# measured in the same run, at 1 and 2 ranks (one thread each), medians of several runs.
#
#   scripts/bench-stencils.sh                 # 8192^2 and 512^3 (about 20 minutes on 2 cores)
#   BENCH_QUICK=1 scripts/bench-stencils.sh   # smoke test: 1024^2 and 128^3, 1 repetition
#   BENCH_REPS=5 BENCH_TIME_BLOCK=16 BENCH_ONLY=heat-5pt,heat-7pt-3d scripts/bench-stencils.sh
#   BENCH_STEPS_2D=72 BENCH_STEPS_3D=48 ...   # longer runs (default 3 and 2 time blocks)
#
# Rate: the binaries' "Glups in the time loop" (compute + halo exchange + residual norms;
# no set-up, no I/O: --no-checkpoint), the median of BENCH_REPS runs (default 3); the
# fastest and slowest are kept in the raw CSV. Streaming bound: the STREAM triad bandwidth
# (median of runs at the start and the end, threads = ranks) divided by the bytes one update
# must move at least when every step sweeps the whole block (each input level read once,
# the output written once: 16 B for a one-level f64 kernel, 24 B for the wave's two levels,
# 2 B for Life's bytes; SOR sweeps twice per step). No code that sweeps the block once per
# step can beat it; temporal blocking can, by doing several steps per sweep from cache.
# In cache: each kernel step by step at 1 rank on a small block whose time levels fit the
# level-2 cache (2D 16x1024, 3D 8x8x512, Life 16x8192), so that memory bandwidth does not
# limit it, "Glups in the update" (a block this small would otherwise be timed mostly
# refreshing its ghosts), with --no-overlap (one sweep over the block, not an interior and
# a shell of short rows): the rate its arithmetic allows one core, about the most temporal
# blocking can reach per core.
# C loop: benches/c/stencil_loop.c (mpicc -O3 -march=native; the heat 5-point and 7-point
# FTCS update on slabs over MPI, 3D blocked over j), against heat's standard stencil.
#
# Results: runs/bench-stencils/results-STAMP.csv (medians), raw-STAMP.csv (every run),
# chart-STAMP.png (scripts/bench-stencils-chart.py; matplotlib installed by pip if missing,
# no chart without it).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

QUICK=${BENCH_QUICK:-0}
REPS=${BENCH_REPS:-3}
T=${BENCH_TIME_BLOCK:-8}
ONLY=${BENCH_ONLY:-}
JBLOCK=${BENCH_C_JBLOCK:-128}
if [[ $QUICK == 1 ]]; then
    N2=1024 N3=128 NL=2048 REPS=1 STREAM_ARGS=(--size-mib 128 --reps 4)
else
    N2=8192 N3=512 NL=16384 STREAM_ARGS=(--size-mib 512 --reps 8)
fi
# steps: whole time blocks (more with BENCH_STEPS_2D / BENCH_STEPS_3D, e.g. so that the
# tile tuner's four trial blocks are a small part of a run)
S2=${BENCH_STEPS_2D:-$((3 * T))} S3=${BENCH_STEPS_3D:-$((2 * T))}
for v in REPS T JBLOCK S2 S3; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench-stencils: $v must be a positive integer, got '${!v}'" >&2; exit 2; }
done
# in cache: block sizes and steps (about 0.3 s per run here)
C2="--size 16x1024" C3="--size 8x8x512" CP="--size 15x1023" CL="--size 16x8192"
CS2=$((QUICK == 1 ? 2000 : 20000)) CS3=$((QUICK == 1 ? 500 : 5000))
# name | binary | bytes per update | arguments (the kernel's options, then the size and steps
# of the big block | of the block in cache)
CASES=(
    "heat-5pt|heat|16||--size ${N2}x${N2} --steps $S2|$C2 --steps $CS2"
    "heat-9pt|heat|16|--stencil compact|--size ${N2}x${N2} --steps $S2|$C2 --steps $CS2"
    "heat-4th|heat|16|--stencil fourth --bc periodic|--size ${N2}x${N2} --steps $S2|$C2 --steps $CS2"
    "heat-7pt-3d|heat|16||--size ${N3}x${N3}x${N3} --steps $S3|$C3 --steps $CS3"
    "heat-27pt-3d|heat|16|--stencil compact|--size ${N3}x${N3}x${N3} --steps $S3|$C3 --steps $CS3"
    "wave|wave|24||--size ${N2}x${N2} --steps $S2|$C2 --steps $CS2"
    "poisson-jacobi|poisson|16|--method jacobi --check-every 100000|--size $((N2 - 1))x$((N2 - 1)) --steps $S2|$CP --steps $CS2"
    "poisson-sor|poisson|32|--method sor --check-every 100000|--size $((N2 - 1))x$((N2 - 1)) --steps $S2|$CP --steps $CS2"
    "advect-lw|advect|16||--size ${N2}x${N2} --steps $S2|$C2 --steps $CS2"
    "life|life|2|--pattern soup|--size ${NL}x${NL} --steps $S2|$CL --steps $CS2"
    "allen-cahn|allen-cahn|16||--size ${N2}x${N2} --steps $S2|$C2 --steps $CS2"
)
RANKS=(1 2)
MODES=("single|" "blocked|--time-block $T")

SECONDS=0
if ! command -v mpicc >/dev/null || ! command -v cargo >/dev/null; then
    echo "== installing what is missing (scripts/setup.sh)"
    scripts/setup.sh
fi
python3 -c "import matplotlib" 2>/dev/null || {
    echo "== installing matplotlib for the chart (pip)"
    python3 -m pip install -q matplotlib >/dev/null 2>&1 ||
        python3 -m pip install -q --break-system-packages matplotlib >/dev/null 2>&1 ||
        echo "bench-stencils: no matplotlib: no chart" >&2
}
echo "== building (cargo build --release; mpicc -O3 -march=native benches/c/stencil_loop.c)"
cargo build --release --quiet --bins
WORK=$(mktemp -d /tmp/bench-stencils.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mpicc -O3 -march=native -o "$WORK/stencil_loop" benches/c/stencil_loop.c -lm

RESULTS=runs/bench-stencils
mkdir -p "$RESULTS"
STAMP=$(date +%Y%m%d-%H%M%S)
RAW=$RESULTS/raw-$STAMP.csv CSV=$RESULTS/results-$STAMP.csv
echo "kernel,ranks,mode,rep,glups" >"$RAW"

# median of the numbers on stdin (mean of the two middle ones for an even count)
median() {
    sort -g | awk '{v[NR] = $1} END {
        if (NR == 0) { print "nan"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
    }'
}

declare -A TRIAD_RAW=()
stream() {
    local t=$1 out
    out=$(target/release/stream --threads "$t" "${STREAM_ARGS[@]}" 2>&1) || { echo "$out" >&2; exit 1; }
    grep -q "Solution validates" <<<"$out" || { echo "$out" >&2; exit 1; }
    TRIAD_RAW[$t]="${TRIAD_RAW[$t]:-} $(sed -n 's/^triad_gbs=//p' <<<"$out")"
}
echo "== STREAM triad (start)"
for t in "${RANKS[@]}"; do stream "$t"; echo "  $t thread(s):${TRIAD_RAW[$t]} GB/s"; done

# tessera RANKS BIN ARGS...: "Glups in the time loop" of one run (Poisson may stop
# unconverged: exit 1 with its figures printed); with METRIC=update, "Glups in the update"
# (the kernel alone, without the halo exchange)
tessera() {
    local ranks=$1 bin=$2 out rc=0
    shift 2
    out=$(mpirun --oversubscribe -n "$ranks" --bind-to core "target/release/$bin" "$@" \
        --no-checkpoint --out "$WORK/out" --progress 0 2>&1) || rc=$?
    if [[ $rc -ne 0 && ! ($bin == poisson && $rc -eq 1) ]]; then
        echo "$out" >&2
        echo "bench-stencils: $bin $* failed (exit $rc)" >&2
        exit 1
    fi
    local metric="time loop"
    [[ ${METRIC:-} == update ]] && metric=update
    sed -nE "s/.* ([0-9.]+) Glups in the $metric.*/\1/p" <<<"$out"
}

declare -A MED=() LO=() HI=()
record() { # KEY: median, fastest and slowest of the numbers in $RUNS
    MED[$1]=$(tr ' ' '\n' <<<"$RUNS" | grep . | median)
    LO[$1]=$(tr ' ' '\n' <<<"$RUNS" | grep . | sort -g | head -1)
    HI[$1]=$(tr ' ' '\n' <<<"$RUNS" | grep . | sort -g | tail -1)
}

echo "== C loop (benches/c/stencil_loop.c, 3D j blocks of $JBLOCK rows), $REPS run(s) each"
for d in 2 3; do
    n=$([[ $d == 2 ]] && echo "$N2" || echo "$N3")
    steps=$([[ $d == 2 ]] && echo "$S2" || echo "$S3")
    for r in "${RANKS[@]}"; do
        RUNS=""
        for ((i = 1; i <= REPS; i++)); do
            g=$(mpirun -n "$r" --bind-to core "$WORK/stencil_loop" "$d" "$n" "$steps" "$JBLOCK" |
                sed -n 's/^glups=\([0-9.]*\).*/\1/p')
            RUNS+=" $g"
            echo "c-loop-${d}d,$r,single,$i,$g" >>"$RAW"
        done
        record "c$d $r"
        printf '  %dD %s^%d, %d rank(s): %s Glups (runs:%s)\n' "$d" "$n" "$d" "$r" "${MED["c$d $r"]}" "$RUNS"
    done
done

echo "== kernels: single-step, --time-block $T and (1 rank) in cache, $REPS run(s) each"
for c in "${CASES[@]}"; do
    IFS='|' read -r name bin bytes options big small <<<"$c"
    [[ -n $ONLY && ",$ONLY," != *",$name,"* ]] && continue
    read -ra argv <<<"$options $big"
    read -ra cache_argv <<<"$options $small"
    for r in "${RANKS[@]}"; do
        declare -A MODE_RUNS=()
        modes=("${MODES[@]}")
        [[ $r == 1 ]] && modes+=("in-cache|")
        # the modes alternate run by run, so drifts of the machine hit all of them
        for ((i = 1; i <= REPS; i++)); do
            for m in "${modes[@]}"; do
                IFS='|' read -r mode extra <<<"$m"
                read -ra extra_argv <<<"$extra"
                if [[ $mode == in-cache ]]; then
                    g=$(METRIC=update tessera "$r" "$bin" "${cache_argv[@]}" --no-overlap)
                else
                    g=$(tessera "$r" "$bin" "${argv[@]}" "${extra_argv[@]}")
                fi
                MODE_RUNS[$mode]="${MODE_RUNS[$mode]:-} $g"
                echo "$name,$r,$mode,$i,$g" >>"$RAW"
            done
        done
        for m in "${modes[@]}"; do
            mode=${m%%|*}
            RUNS=${MODE_RUNS[$mode]}
            record "$name $r $mode"
            printf '  %-15s %d rank(s) %-8s %8.3f Glups (runs:%s)\n' "$name" "$r" "$mode" "${MED["$name $r $mode"]}" "$RUNS"
        done
        unset MODE_RUNS
    done
done

echo "== STREAM triad (end)"
declare -A TRIAD=()
for t in "${RANKS[@]}"; do
    stream "$t"
    TRIAD[$t]=$(tr ' ' '\n' <<<"${TRIAD_RAW[$t]}" | grep . | median)
    echo "  $t thread(s):${TRIAD_RAW[$t]} GB/s -> median ${TRIAD[$t]}"
done

echo
echo "Rates in Glups (median of $REPS); bound = triad / bytes per update; C = benches/c/stencil_loop.c"
echo "(in cache: 1 rank, a block that fits the L2 cache; xbound against the 1-rank bound)"
printf '%-15s %5s %9s %9s %8s %9s %8s %8s %9s %8s %9s %9s\n' kernel ranks bound single '%bound' blocked 'xbound' 'xsingle' 'in cache' 'xbound' 'C loop' 'xC(s/b)'
echo "kernel,ranks,bytes_per_update,triad_gbs,bound_glups,single_glups,single_min,single_max,blocked_glups,blocked_min,blocked_max,time_block,c_loop_glups,incache_glups,incache_min,incache_max" >"$CSV"
for c in "${CASES[@]}"; do
    IFS='|' read -r name bin bytes _ <<<"$c"
    [[ -n $ONLY && ",$ONLY," != *",$name,"* ]] && continue
    for r in "${RANKS[@]}"; do
        cref=""
        [[ $name == heat-5pt ]] && cref=${MED["c2 $r"]}
        [[ $name == heat-7pt-3d ]] && cref=${MED["c3 $r"]}
        s=${MED["$name $r single"]} b=${MED["$name $r blocked"]} k=${MED["$name $r in-cache"]:-}
        awk -v n="$name" -v r="$r" -v by="$bytes" -v t="${TRIAD[$r]}" -v s="$s" -v b="$b" -v k="$k" -v c="$cref" 'BEGIN {
            bound = t / by
            ks = k == "" ? sprintf("%9s %8s", "", "") : sprintf("%9.3f %7.2fx", k, k / bound)
            cs = c == "" ? "" : sprintf("%9.3f %4.2f/%4.2f", c, s / c, b / c)
            printf "%-15s %5d %9.3f %9.3f %7.0f%% %9.3f %7.2fx %7.2fx %s %s\n", n, r, bound, s, 100 * s / bound, b, b / bound, b / s, ks, cs
        }'
        echo "$name,$r,$bytes,${TRIAD[$r]},$(awk -v t="${TRIAD[$r]}" -v by="$bytes" 'BEGIN { printf "%.4f", t / by }'),$s,${LO["$name $r single"]},${HI["$name $r single"]},$b,${LO["$name $r blocked"]},${HI["$name $r blocked"]},$T,$cref,$k,${LO["$name $r in-cache"]:-},${HI["$name $r in-cache"]:-}" >>"$CSV"
    done
done
echo
echo "CSV: $CSV (every run: $RAW)"
MACHINE="$(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
python3 scripts/bench-stencils-chart.py "$CSV" --note "$MACHINE; run $STAMP; time block $T" \
    -o "$RESULTS/chart-$STAMP.png" || echo "bench-stencils: no chart" >&2
echo "bench-stencils: done in ${SECONDS} s"
