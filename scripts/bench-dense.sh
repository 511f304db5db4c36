#!/usr/bin/env bash
# tessera's distributed dense product (`dense gemm`, SUMMA over OpenBLAS dgemm) against
# ScaLAPACK's pdgemm (Debian's libscalapack-openmpi, a small C program built here:
# benches/c/pdgemm.c, block 128, the same process grids) and OpenBLAS dgemm on as many
# threads as ranks (benches/c/dgemm.c), all run in this script on the same matrices.
# Then tessera's tall-skinny QR (`dense tsqr`, by TSQR and by CholeskyQR2) against
# ScaLAPACK's pdgeqrf + pdorgqr (benches/c/pdgeqrf.c, a P x 1 grid, one block of rows per
# rank as tessera's row partition, at each column block of --pdgeqrf-nb) and LAPACK
# dgeqrf + dorgqr on one core (benches/c/dgeqrf.c), on the same generated matrix (issue 13).
#
#   scripts/bench-dense.sh                      # 4096^2 and 4000000 x 32, 1 and 2 ranks, 3 reps
#   scripts/bench-dense.sh --size 1024 --rows 100000 --reps 1 # smoke test
#   scripts/bench-dense.sh --only tsqr          # the QR part only
#
# Flags: --size N          matrix order of the products (default 4096)
#        --rows M          rows of the tall matrix of the QR part (default 4000000)
#        --cols N          its columns (default 32)
#        --ranks N[,N...]  rank counts = OpenBLAS thread counts of dgemm (default 1,2)
#        --reps N          runs per case; medians are reported (default 3)
#        --only gemm|tsqr  one part only (default both)
#        --pdgeqrf-nb NB[,NB...]  pdgeqrf's column blocks, each run and reported on its own
#                          (default: --cols, i.e. one block, then 16 and 8 where smaller than
#                          --cols, so 32,16,8; duplicates dropped). Smaller blocks let it
#                          update by dgemm: at 4000000 x 32 on 1 rank NB 8 factors in 1.55 s,
#                          NB 32 in 2.26 s
#
# GEMM: each run times its product twice and keeps the faster (the first warms caches and
# pages); the medians over runs are reported in GFLOP/s (2 N^3 flops), with the ratios
# tessera / pdgemm and tessera / dgemm. One BLAS thread per rank for the MPI codes.
# QR: seconds to factor and to factor and form the explicit M x N Q, medians over runs.
# `dense tsqr --repeat 2` times two factorisations per run and reports the faster (factor
# and Q times both from that one; CholeskyQR2 forms Q as it factors: its factor time is
# its whole time); the C references time two per run and keep the faster of each step.
# pdgeqrf runs once per column block per repetition (raw CSV code pdgeqrf-nb<NB>); dgeqrf
# runs on one core once per repetition; its medians stand on every row of the table. For
# each rank count the ratios are taken against pdgeqrf's fastest column block, chosen
# apart for each ratio: pdgeqrf / tsqr of the factor times uses the NB with the lowest
# median factor time, and of the factor+Q times (the speed-up over pdgeqrf; the goal is
# 2) the NB with the lowest median factor+Q time; the table names both. Results: one row
# per rank count in results-tsqr-STAMP.csv, pdgeqrf's medians at every NB (with the same
# ratios at that NB) in results-tsqr-pdgeqrf-STAMP.csv. One BLAS thread per rank throughout.
# Chart: runs/bench-dense/chart-STAMP.png (scripts/bench-dense-chart.py, from this run's CSVs;
# matplotlib installed by pip if missing, no chart without it): GEMM GFLOP/s and QR seconds
# (factor, with the time to form Q stacked on it) per rank count, one panel per part run.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "bench-dense: $*" >&2; exit 1; }

SIZE=4096 ROWS=4000000 COLS=32 RANKS=1,2 REPS=3 ONLY= PDGEQRF_NB=
while (($#)); do
    case $1 in
        --size) SIZE=${2:?--size needs a value}; shift 2 ;;
        --rows) ROWS=${2:?--rows needs a value}; shift 2 ;;
        --cols) COLS=${2:?--cols needs a value}; shift 2 ;;
        --ranks) RANKS=${2:?--ranks needs a value}; shift 2 ;;
        --reps) REPS=${2:?--reps needs a value}; shift 2 ;;
        --only) ONLY=${2:?--only needs a value}; shift 2 ;;
        --pdgeqrf-nb) PDGEQRF_NB=${2:?--pdgeqrf-nb needs a value}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
done
IFS=, read -r -a RANK_LIST <<<"$RANKS"
for r in "${RANK_LIST[@]}"; do [[ $r =~ ^[1-9][0-9]*$ ]] || die "--ranks takes whole numbers, got '$r'"; done
for v in "$SIZE" "$ROWS" "$COLS" "$REPS"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || die "--size, --rows, --cols and --reps take positive whole numbers, got '$v'"
done
# pdgeqrf's column blocks: by default --cols (one block), then 16 and 8 where smaller
if [[ -z $PDGEQRF_NB ]]; then
    PDGEQRF_NB=$COLS
    for nb in 16 8; do
        if ((nb < COLS)); then PDGEQRF_NB+=,$nb; fi
    done
fi
IFS=, read -r -a nb_args <<<"$PDGEQRF_NB"
NB_LIST=()
for nb in "${nb_args[@]}"; do
    [[ $nb =~ ^[1-9][0-9]*$ ]] || die "--pdgeqrf-nb takes positive whole numbers, got '$nb'"
    [[ " ${NB_LIST[*]} " == *" $nb "* ]] || NB_LIST+=("$nb")
done
((${#NB_LIST[@]})) || die "--pdgeqrf-nb takes positive whole numbers, got '$PDGEQRF_NB'"
[[ -z $ONLY || $ONLY == gemm || $ONLY == tsqr ]] || die "--only takes gemm or tsqr, got '$ONLY'"
if [[ $ONLY != gemm ]]; then
    for r in "${RANK_LIST[@]}"; do
        ((ROWS >= COLS * r)) || die "--rows $ROWS by --cols $COLS on $r ranks: every rank needs at least as many rows as there are columns"
    done
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RESULTS=runs/bench-dense
mkdir -p "$RESULTS"

# shellcheck source=env.sh
source scripts/env.sh
if ! command -v mpicc >/dev/null || ! command -v cargo >/dev/null; then
    echo "== installing what is missing (scripts/setup.sh)"
    scripts/setup.sh
fi
if ! [[ -e /usr/lib/x86_64-linux-gnu/libscalapack-openmpi.so ]]; then
    echo "== installing ScaLAPACK (apt-get install libscalapack-openmpi-dev)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q libscalapack-openmpi-dev >/dev/null \
        || { apt-get update -q >/dev/null && apt-get install -y -q libscalapack-openmpi-dev >/dev/null; }
fi
python3 -c "import matplotlib" 2>/dev/null || {
    echo "== installing matplotlib for the chart (pip)"
    python3 -m pip install -q matplotlib >/dev/null || echo "bench-dense: no matplotlib: no chart" >&2
}
echo "== building (cargo build --release --bin dense; the C references)"
cargo build --release --quiet --bin dense
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
OPENBLAS_INCLUDE=/usr/include/x86_64-linux-gnu/openblas-pthread
if [[ $ONLY != tsqr ]]; then
    mpicc -O2 -o "$WORK/pdgemm" benches/c/pdgemm.c -lscalapack-openmpi -lopenblas -lm
    gcc -O2 -o "$WORK/dgemm" benches/c/dgemm.c -I"$OPENBLAS_INCLUDE" -lopenblas -lm
fi
if [[ $ONLY != gemm ]]; then
    mpicc -O2 -o "$WORK/pdgeqrf" benches/c/pdgeqrf.c -lscalapack-openmpi -lopenblas -lm
    gcc -O2 -o "$WORK/dgeqrf" benches/c/dgeqrf.c -I"$OPENBLAS_INCLUDE" -lopenblas -lm
fi

STAMP=$(date +%Y%m%d-%H%M%S)
MACHINE="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "bench-dense: ranks ${RANK_LIST[*]}, $REPS repetitions; $MACHINE"

# mpirun for $1 ranks, in the array MPIRUN
mpirun_for() {
    MPIRUN=(mpirun -n "$1")
    if (($1 > $(nproc))); then MPIRUN+=(--oversubscribe); fi
}

bench_gemm() {
    local RAW=$RESULTS/raw-$STAMP.csv CSV=$RESULTS/results-$STAMP.csv ranks rows cols rep c
    echo "code,size,ranks,rep,seconds,gflops" >"$RAW"
    echo "== GEMM: N $SIZE"
    for ranks in "${RANK_LIST[@]}"; do
        mpirun_for "$ranks"
        # the process grid: the squarest with rows >= cols (dense's default), for both codes
        cols=1
        for ((c = 1; c * c <= ranks; c++)); do ((ranks % c == 0)) && cols=$c; done
        rows=$((ranks / cols))
        for rep in $(seq 1 "$REPS"); do
            OPENBLAS_NUM_THREADS=1 "${MPIRUN[@]}" target/release/dense gemm --size "$SIZE" --procs "${rows}x${cols}" --repeat 2 >"$WORK/t.out" \
                || { cat "$WORK/t.out" >&2; die "dense gemm failed"; }
            grep -q "Solution validates" "$WORK/t.out" || die "dense gemm did not validate"
            awk -v n="$SIZE" -v p="$ranks" -v rep="$rep" '/ time /{printf "tessera,%s,%s,%s,%s,%s\n", n, p, rep, $2, $4}' "$WORK/t.out" >>"$RAW"
            OPENBLAS_NUM_THREADS=1 "${MPIRUN[@]}" "$WORK/pdgemm" "$SIZE" 128 "$rows" "$cols" 2 >"$WORK/p.out" || die "pdgemm failed"
            awk -v rep="$rep" -v p="$ranks" '{printf "pdgemm,%s,%s,%s,%s,%s\n", $3, p, rep, $9, $11}' "$WORK/p.out" >>"$RAW"
            "$WORK/dgemm" "$SIZE" "$ranks" 2 >"$WORK/d.out" || die "dgemm failed"
            awk -v rep="$rep" -v p="$ranks" '{printf "dgemm,%s,%s,%s,%s,%s\n", $3, p, rep, $7, $9}' "$WORK/d.out" >>"$RAW"
            tail -3 "$RAW" | awk -F, '{printf "  %-8s N %5d  %d rank(s)/thread(s) rep %d: %8.3f s  %7.2f GFLOP/s\n", $1, $2, $3, $4, $5, $6}'
        done
    done

    echo
    python3 - "$RAW" "$CSV" "$REPS" <<'PY'
import csv, statistics, sys
raw, out, reps = sys.argv[1:4]
rows = list(csv.DictReader(open(raw)))
def med(code, p):
    v = [float(r["gflops"]) for r in rows if r["code"] == code and int(r["ranks"]) == p]
    return statistics.median(v) if v else float("nan")
ranks = sorted({int(r["ranks"]) for r in rows})
size = rows[0]["size"]
print(f"Median GFLOP/s over {reps} runs, N = {size}")
print(f"{'ranks':>5} {'tessera':>9} {'pdgemm':>9} {'dgemm (threads = ranks)':>24} {'/ pdgemm':>9} {'/ dgemm':>8}")
with open(out, "w") as f:
    f.write("size,ranks,tessera_gflops,pdgemm_gflops,dgemm_gflops,ratio_pdgemm,ratio_dgemm,reps\n")
    for p in ranks:
        t, s, d = med("tessera", p), med("pdgemm", p), med("dgemm", p)
        print(f"{p:>5} {t:>9.2f} {s:>9.2f} {d:>24.2f} {t / s:>9.3f} {t / d:>8.3f}")
        f.write(f"{size},{p},{t:.6g},{s:.6g},{d:.6g},{t / s:.6g},{t / d:.6g},{reps}\n")
PY
    echo "results: $CSV (raw: $RAW)"
}

# One raw CSV row (code,rows,cols,ranks,rep,factor_s,q_s,total_s) from a QR program's
# output $2, appended to $1 and shown; code, ranks and rep in $3..$5. `dense tsqr`'s line
#   time 0.1715 s: factor 0.1000 s, explicit Q 0.0715 s; 4.78 GFLOP/s ...
# and the C programs'
#   pdgeqrf M 4000000 N 32 ranks 2 mb 2000000 nb 32 reps 2 factor 0.1234 s q 0.2345 s
# are read by field names.
qr_row() {
    local raw=$1 out=$2 code=$3 ranks=$4 rep=$5 row
    row=$(awk -v code="$code" -v m="$ROWS" -v n="$COLS" -v p="$ranks" -v rep="$rep" '
        function num(s) { return s ~ /^[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$/ }
        $1 == "time" && code ~ /^tessera/ {
            for (k = 1; k < NF; k++) {
                if ($k == "time") total = $(k + 1)
                else if ($k == "factor") factor = $(k + 1)
                else if ($k == "Q") q = $(k + 1)
            }
        }
        ($1 == "pdgeqrf" || $1 == "dgeqrf") && $2 == "M" {
            for (k = 1; k < NF; k++) {
                if ($k == "factor") factor = $(k + 1)
                else if ($k == "q") q = $(k + 1)
            }
            if (num(factor) && num(q)) total = sprintf("%.6f", factor + q)
        }
        END {
            if (!(num(factor) && num(q) && num(total))) exit 1
            printf "%s,%s,%s,%s,%s,%s,%s,%s\n", code, m, n, p, rep, factor, q, total
        }' "$out") || { cat "$out" >&2; die "$code: no factor and Q times in its output (above)"; }
    echo "$row" >>"$raw"
    awk -F, '{printf "  %-16s %d x %d  %d rank(s) rep %d: factor %8.4f s  Q %8.4f s  together %8.4f s\n", $1, $2, $3, $4, $5, $6, $7, $8}' <<<"$row"
}

bench_tsqr() {
    local RAW=$RESULTS/raw-tsqr-$STAMP.csv CSV=$RESULTS/results-tsqr-$STAMP.csv
    local NB_CSV=$RESULTS/results-tsqr-pdgeqrf-$STAMP.csv ranks rep method nb
    echo "code,rows,cols,ranks,rep,factor_seconds,q_seconds,total_seconds" >"$RAW"
    echo "== QR: A $ROWS x $COLS; pdgeqrf's column blocks ${NB_LIST[*]}"
    for ranks in "${RANK_LIST[@]}"; do
        mpirun_for "$ranks"
        for rep in $(seq 1 "$REPS"); do
            for method in tsqr cholqr2; do
                OPENBLAS_NUM_THREADS=1 "${MPIRUN[@]}" target/release/dense tsqr --rows "$ROWS" --cols "$COLS" --method "$method" --repeat 2 >"$WORK/t.out" \
                    || { cat "$WORK/t.out" >&2; die "dense tsqr --method $method failed"; }
                grep -q "Solution validates" "$WORK/t.out" || die "dense tsqr --method $method did not validate"
                qr_row "$RAW" "$WORK/t.out" "tessera-$method" "$ranks" "$rep"
            done
            # one block of rows per rank (tessera's row partition), at each column block
            for nb in "${NB_LIST[@]}"; do
                OPENBLAS_NUM_THREADS=1 "${MPIRUN[@]}" "$WORK/pdgeqrf" "$ROWS" "$COLS" 2 $(((ROWS + ranks - 1) / ranks)) "$nb" >"$WORK/p.out" \
                    || { cat "$WORK/p.out" >&2; die "pdgeqrf (column block $nb) failed or failed its check"; }
                grep -q "^pdgeqrf check .* ok$" "$WORK/p.out" || { cat "$WORK/p.out" >&2; die "pdgeqrf (column block $nb) did not pass its check"; }
                qr_row "$RAW" "$WORK/p.out" "pdgeqrf-nb$nb" "$ranks" "$rep"
            done
            if ((ranks == RANK_LIST[0])); then
                OPENBLAS_NUM_THREADS=1 "$WORK/dgeqrf" "$ROWS" "$COLS" 2 >"$WORK/d.out" \
                    || { cat "$WORK/d.out" >&2; die "dgeqrf failed or failed its check"; }
                grep -q "^dgeqrf check .* ok$" "$WORK/d.out" || { cat "$WORK/d.out" >&2; die "dgeqrf did not pass its check"; }
                qr_row "$RAW" "$WORK/d.out" dgeqrf 1 "$rep"
            fi
        done
    done

    echo
    python3 - "$RAW" "$CSV" "$NB_CSV" "$REPS" "$(IFS=,; echo "${NB_LIST[*]}")" "${RANK_LIST[@]}" <<'PY'
import csv, math, statistics, sys
raw, out, out_nb, reps, nbs = sys.argv[1:6]
nbs = nbs.split(",")
ranks = [int(p) for p in sys.argv[6:]]
rows = list(csv.DictReader(open(raw)))
def med(code, p, what):
    v = [float(r[what + "_seconds"]) for r in rows if r["code"] == code and int(r["ranks"]) == p]
    return statistics.median(v) if v else math.nan
def pdgeqrf(p, nb, what):
    return med(f"pdgeqrf-nb{nb}", p, what)
def fastest(p, what):
    # pdgeqrf's column block with the lowest median time on p ranks (the first listed on a tie)
    return min(nbs, key=lambda nb: (lambda t: math.inf if math.isnan(t) else t)(pdgeqrf(p, nb, what)))
m, n = rows[0]["rows"], rows[0]["cols"]

print(f"Median seconds over {reps} runs, A {m} x {n}: factor, and factor with the explicit Q")
print("ScaLAPACK pdgeqrf (+ pdorgqr) at each column block NB; * marks the fastest on its rank count")
print(f"{'':5}" + "".join(f"  {' NB ' + nb + ' ':-^21}" for nb in nbs))
print(f"{'ranks':>5}" + f"  {'factor':>9}  {'with Q':>9} " * len(nbs))
with open(out_nb, "w") as f:
    f.write("rows,cols,ranks,pdgeqrf_nb,pdgeqrf_factor_s,pdgeqrf_total_s,"
            "ratio_factor_pdgeqrf_tsqr,speedup_over_pdgeqrf,fastest_factor,fastest_total,reps\n")
    for p in ranks:
        best_f, best_t = fastest(p, "factor"), fastest(p, "total")
        tf, tt = med("tessera-tsqr", p, "factor"), med("tessera-tsqr", p, "total")
        line = f"{p:>5}"
        for nb in nbs:
            pf, pt = pdgeqrf(p, nb, "factor"), pdgeqrf(p, nb, "total")
            line += f"  {pf:>9.4f}{'*' if nb == best_f else ' '} {pt:>9.4f}{'*' if nb == best_t else ' '}"
            f.write(f"{m},{n},{p},{nb},{pf:.6g},{pt:.6g},{pf / tf:.6g},{pt / tt:.6g},"
                    f"{int(nb == best_f)},{int(nb == best_t)},{reps}\n")
        print(line)
print()

print(f"{'':5} {'tessera tsqr':>17} {'tessera cholqr2':>17} {'ScaLAPACK, fastest NB':>24} {'LAPACK, 1 core':>19} "
      f"{'pdgeqrf / tsqr, fastest NB':>27}")
print(f"{'ranks':>5} {'factor':>8} {'with Q':>8} {'factor':>8} {'with Q':>8} {'NB':>4} {'pdgeqrf':>8} {'+pdorgqr':>10} "
      f"{'dgeqrf':>8} {'+dorgqr':>10} {'factor':>8} {'NB':>4} {'with Q':>8} {'NB':>4}")
with open(out, "w") as f:
    f.write("rows,cols,ranks,tsqr_factor_s,tsqr_total_s,cholqr2_factor_s,cholqr2_total_s,"
            "pdgeqrf_best_nb,pdgeqrf_factor_s,pdgeqrf_total_s,pdgeqrf_best_factor_nb,pdgeqrf_best_factor_s,"
            "dgeqrf_1core_factor_s,dgeqrf_1core_total_s,ratio_factor_pdgeqrf_tsqr,speedup_over_pdgeqrf,"
            "reps,pdgeqrf_nbs\n")
    for p in ranks:
        tf, tt, cf, ct = (med(c, p, w) for c in ("tessera-tsqr", "tessera-cholqr2") for w in ("factor", "total"))
        df, dt = med("dgeqrf", 1, "factor"), med("dgeqrf", 1, "total")
        # the ratios against pdgeqrf's fastest column block, for each time its own
        nb_t, nb_f = fastest(p, "total"), fastest(p, "factor")
        pf, pt, pbf = pdgeqrf(p, nb_t, "factor"), pdgeqrf(p, nb_t, "total"), pdgeqrf(p, nb_f, "factor")
        rf, rt = pbf / tf, pt / tt
        print(f"{p:>5} {tf:>8.4f} {tt:>8.4f} {cf:>8.4f} {ct:>8.4f} {nb_t:>4} {pf:>8.4f} {pt:>10.4f} "
              f"{df:>8.4f} {dt:>10.4f} {rf:>8.3f} {nb_f:>4} {rt:>8.3f} {nb_t:>4}")
        f.write(f"{m},{n},{p},{tf:.6g},{tt:.6g},{cf:.6g},{ct:.6g},{nb_t},{pf:.6g},{pt:.6g},{nb_f},{pbf:.6g},"
                f"{df:.6g},{dt:.6g},{rf:.6g},{rt:.6g},{reps},{' '.join(nbs)}\n")
print("cholqr2 forms Q as it factors (factor = with Q); dgeqrf is one core beside every rank count;")
print("ScaLAPACK: at its NB fastest with Q; pdgeqrf / tsqr: pdgeqrf's median at its NB fastest for that time")
print("over tsqr's (factor; with Q); with Q it is the speed-up over pdgeqrf (goal >= 2)")
PY
    echo "results: $CSV (per column block: $NB_CSV; raw: $RAW)"
}

if [[ $ONLY != tsqr ]]; then bench_gemm; fi
if [[ $ONLY != gemm ]]; then
    [[ $ONLY == tsqr ]] || echo
    bench_tsqr
fi

# the chart of this run's CSVs: a panel for each part run (no failure without matplotlib)
CHART_ARGS=(--note "$MACHINE; run $STAMP" -o "$RESULTS/chart-$STAMP.png")
if [[ $ONLY != tsqr ]]; then
    CHART_ARGS+=(--gemm "$RESULTS/results-$STAMP.csv" --gemm-raw "$RESULTS/raw-$STAMP.csv")
fi
if [[ $ONLY != gemm ]]; then
    CHART_ARGS+=(--tsqr "$RESULTS/results-tsqr-$STAMP.csv" --tsqr-raw "$RESULTS/raw-tsqr-$STAMP.csv")
fi
echo
python3 scripts/bench-dense-chart.py "${CHART_ARGS[@]}" || echo "bench-dense: the chart failed (the results above stand)" >&2
