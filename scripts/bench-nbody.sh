#!/usr/bin/env bash
# tessera's nbody (direct-sum gravity over a ring of ranks) against a plain C+MPI ring code
# (benches/c/nbody_ring.c: array of structures, the double loop with 1.0/sqrt, a blocking
# MPI_Sendrecv_replace ring; gcc -O3 -march=native), both run in this script.
#
#   scripts/bench-nbody.sh                          # N 16384 and 65536, 1 and 2 ranks, 3 reps
#   scripts/bench-nbody.sh --bodies 4096 --reps 1   # smoke test
#
# Flags: --bodies N[,N...]  bodies (default 16384,65536)
#        --ranks N[,N...]   MPI rank counts (default 1,2)
#        --steps N          tessera's time steps per run (default 10)
#        --c-steps N        the C code's steps (default 2: its rate per interaction does not
#                           depend on the step count, and 10 steps of N = 65536 take it
#                           200 s per run)
#        --reps N           repetitions; medians are reported (default 3)
#
# tessera runs in three ways: tree + newton (the default: bitwise-reproducible order, AVX-512
# inverse square root with 2 Newton steps), arrival + newton (the fastest order, not
# reproducible across rank counts: what reproducibility costs) and tree + exact (correctly
# rounded 1/sqrt). Reported: interactions/s of the time loop (tessera: N^2 x steps over the
# loop's time from its run report; C: N^2 x (steps + 1) force evaluations over their time),
# GFLOP/s at 20 flops per interaction, the ratio to the C code, and the parallel efficiency
# rate(P) / (P rate(1)). Every repetition and the medians go to runs/bench-nbody/ as CSV,
# and a chart to runs/bench-nbody/chart-STAMP.png.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "bench-nbody: $*" >&2; exit 1; }

BODIES=16384,65536 RANKS=1,2 STEPS=10 CSTEPS=2 REPS=3
while (($#)); do
    case $1 in
        --bodies) BODIES=${2:?--bodies needs a value}; shift 2 ;;
        --ranks) RANKS=${2:?--ranks needs a value}; shift 2 ;;
        --steps) STEPS=${2:?--steps needs a value}; shift 2 ;;
        --c-steps) CSTEPS=${2:?--c-steps needs a value}; shift 2 ;;
        --reps) REPS=${2:?--reps needs a value}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
done
IFS=, read -r -a BODY_LIST <<<"$BODIES"
IFS=, read -r -a RANK_LIST <<<"$RANKS"
for b in "${BODY_LIST[@]}"; do [[ $b =~ ^[1-9][0-9]*$ ]] || die "--bodies takes whole numbers, got '$b'"; done
for r in "${RANK_LIST[@]}"; do [[ $r =~ ^[1-9][0-9]*$ ]] || die "--ranks takes whole numbers, got '$r'"; done
for v in "$STEPS" "$CSTEPS" "$REPS"; do [[ $v =~ ^[1-9][0-9]*$ ]] || die "--steps, --c-steps and --reps take positive whole numbers, got '$v'"; done
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RESULTS=runs/bench-nbody
mkdir -p "$RESULTS"

# shellcheck source=env.sh
source scripts/env.sh
if ! command -v mpicc >/dev/null || ! command -v cargo >/dev/null; then
    echo "== installing what is missing (scripts/setup.sh)"
    scripts/setup.sh
fi
python3 -c "import matplotlib" 2>/dev/null || {
    echo "== installing matplotlib for the chart (pip)"
    python3 -m pip install -q matplotlib >/dev/null || echo "bench-nbody: no matplotlib: no chart" >&2
}
echo "== building (cargo build --release --bin nbody; mpicc -O3 -march=native nbody_ring.c)"
cargo build --release --quiet --bin nbody
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mpicc -O3 -march=native -o "$WORK/nbody_ring" benches/c/nbody_ring.c -lm

STAMP=$(date +%Y%m%d-%H%M%S)
RAW=$RESULTS/raw-$STAMP.csv
CSV=$RESULTS/results-$STAMP.csv
echo "code,bodies,ranks,rep,seconds,interactions_per_s" >"$RAW"
echo "bench-nbody: bodies ${BODY_LIST[*]}, ranks ${RANK_LIST[*]}, $STEPS steps (C: $CSTEPS), $REPS repetitions"
echo "  machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); $(gcc --version | head -1)"

tessera() { # code-name bodies ranks rep -- flags
    local code=$1 n=$2 ranks=$3 rep=$4
    shift 5
    "${MPIRUN[@]}" target/release/nbody --bodies "$n" --steps "$STEPS" --diagnostics 0 --progress 0 \
        --no-checkpoint --out "$WORK/out" --report "$WORK/nb.json" "$@" >"$WORK/nb.out" 2>"$WORK/nb.err" \
        || { cat "$WORK/nb.out" "$WORK/nb.err" >&2; die "nbody $* failed"; }
    python3 - "$WORK/nb.json" "$code" "$n" "$ranks" "$rep" "$STEPS" >>"$RAW" <<'PY'
import json, sys
report, code, n, ranks, rep, steps = sys.argv[1:7]
perf = json.load(open(report))["performance"]
rate = perf["rates"]["time_loop"] * 1e9
print(f"{code},{n},{ranks},{rep},{int(n) ** 2 * int(steps) / rate},{rate}")
PY
}

for n in "${BODY_LIST[@]}"; do
    for ranks in "${RANK_LIST[@]}"; do
        MPIRUN=(mpirun -n "$ranks")
        if ((ranks > $(nproc))); then MPIRUN+=(--oversubscribe); fi
        for rep in $(seq 1 "$REPS"); do
            tessera tree-newton "$n" "$ranks" "$rep" -- --summation tree --inverse-sqrt auto
            tessera arrival-newton "$n" "$ranks" "$rep" -- --summation arrival --inverse-sqrt auto
            tessera tree-exact "$n" "$ranks" "$rep" -- --summation tree --inverse-sqrt exact
            "${MPIRUN[@]}" "$WORK/nbody_ring" "$n" "$CSTEPS" >"$WORK/c.out" || die "nbody_ring failed"
            awk -v rep="$rep" '{for (i = 1; i < NF; i++) v[$i] = $(i + 1);
                printf "c,%s,%s,%s,%s,%s\n", v["bodies"], v["ranks"], rep, v["force_seconds"], v["interactions_per_second"]}' \
                "$WORK/c.out" >>"$RAW"
            tail -4 "$RAW" | awk -F, '{printf "  %-15s N %6d  %d rank(s) rep %d: %8.3f s  %6.3f G interactions/s\n", $1, $2, $3, $4, $5, $6 / 1e9}'
        done
    done
done

echo
python3 - "$RAW" "$CSV" "$STEPS" "$REPS" "$RESULTS/chart-$STAMP.png" <<'PY'
import csv, statistics, sys
raw, out, steps, reps, chart = sys.argv[1:6]
rows = list(csv.DictReader(open(raw)))
codes = ["tree-newton", "arrival-newton", "tree-exact", "c"]
def med(code, n, ranks):
    v = [float(r["interactions_per_s"]) for r in rows if (r["code"], int(r["bodies"]), int(r["ranks"])) == (code, n, ranks)]
    return statistics.median(v) if v else float("nan")
cases = sorted({(int(r["bodies"]), int(r["ranks"])) for r in rows})
print(f"Median over {reps} repetitions (G interactions/s; GFLOP/s = 20 x that; x C = ratio to the C ring code; eff = rate(P) / (P rate(1)))")
print(f"{'bodies':>7} {'ranks':>5} {'tree+newton':>12} {'arrival+newton':>15} {'tree+exact':>11} {'C':>7} {'GFLOP/s':>8} {'x C':>6} {'tree/arrival':>12} {'eff':>6} {'eff C':>6}")
with open(out, "w") as f:
    f.write("bodies,ranks," + ",".join(f"{c}_G_per_s" for c in codes) + ",tree_newton_gflops,ratio_to_c,tree_over_arrival,exact_ratio_to_c,efficiency,c_efficiency,reps\n")
    for n, ranks in cases:
        r = {c: med(c, n, ranks) / 1e9 for c in codes}
        one = {c: med(c, n, 1) / 1e9 for c in codes}
        eff = r["tree-newton"] / (ranks * one["tree-newton"])
        ceff = r["c"] / (ranks * one["c"])
        print(f"{n:>7} {ranks:>5} {r['tree-newton']:>12.3f} {r['arrival-newton']:>15.3f} {r['tree-exact']:>11.3f} {r['c']:>7.3f} "
              f"{20 * r['tree-newton']:>8.2f} {r['tree-newton'] / r['c']:>6.2f} {r['tree-newton'] / r['arrival-newton']:>12.3f} {eff:>6.3f} {ceff:>6.3f}")
        f.write(f"{n},{ranks}," + ",".join(f"{r[c]:.6g}" for c in codes)
                + f",{20 * r['tree-newton']:.6g},{r['tree-newton'] / r['c']:.6g},{r['tree-newton'] / r['arrival-newton']:.6g},{r['tree-exact'] / r['c']:.6g},{eff:.6g},{ceff:.6g},{reps}\n")
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.exit(0)
fig, ax = plt.subplots(figsize=(8, 4.5))
width = 0.2
labels = [f"N={n}\n{p} rank{'s' if p > 1 else ''}" for n, p in cases]
names = {"tree-newton": "tessera tree + newton (reproducible)", "arrival-newton": "tessera arrival order + newton",
         "tree-exact": "tessera tree + exact 1/sqrt", "c": "plain C ring (gcc -O3 -march=native)"}
for k, c in enumerate(codes):
    ax.bar([i + (k - 1.5) * width for i in range(len(cases))], [med(c, n, p) / 1e9 for n, p in cases], width, label=names[c])
ax.set_xticks(range(len(cases)), labels)
ax.set_ylabel("G interactions / s")
ax.set_title(f"Direct-sum gravity, medians of {reps}")
top = max(med(c, n, p) for c in codes for n, p in cases) / 1e9
ax.set_ylim(0, 1.35 * top)
ax.legend(fontsize=8, loc="upper left", ncol=2)
fig.tight_layout()
fig.savefig(chart, dpi=110)
print(f"chart: {chart}")
PY
echo "results: $CSV (raw: $RAW)"
