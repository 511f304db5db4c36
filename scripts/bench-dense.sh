#!/usr/bin/env bash
# tessera's distributed dense product (`dense gemm`, SUMMA over OpenBLAS dgemm) against
# ScaLAPACK's pdgemm (Debian's libscalapack-openmpi, a small C program built here:
# benches/c/pdgemm.c, block 128, the same process grids) and OpenBLAS dgemm on as many
# threads as ranks (benches/c/dgemm.c), all run in this script on the same matrices.
#
#   scripts/bench-dense.sh                      # 4096^2, 1 and 2 ranks, 3 reps
#   scripts/bench-dense.sh --size 1024 --reps 1 # smoke test
#
# Flags: --size N          matrix order (default 4096)
#        --ranks N[,N...]  rank counts = OpenBLAS thread counts (default 1,2)
#        --reps N          runs per case; medians are reported (default 3)
#
# Each run times its product twice and keeps the faster (the first warms caches and
# pages); the medians over runs are reported in GFLOP/s (2 N^3 flops), with the ratios
# tessera / pdgemm and tessera / dgemm. One BLAS thread per rank for the MPI codes.
# TSQR against pdgeqrf is not in the script yet (issue 13 is in progress).
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "bench-dense: $*" >&2; exit 1; }

SIZE=4096 RANKS=1,2 REPS=3
while (($#)); do
    case $1 in
        --size) SIZE=${2:?--size needs a value}; shift 2 ;;
        --ranks) RANKS=${2:?--ranks needs a value}; shift 2 ;;
        --reps) REPS=${2:?--reps needs a value}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
done
IFS=, read -r -a RANK_LIST <<<"$RANKS"
for r in "${RANK_LIST[@]}"; do [[ $r =~ ^[1-9][0-9]*$ ]] || die "--ranks takes whole numbers, got '$r'"; done
for v in "$SIZE" "$REPS"; do [[ $v =~ ^[1-9][0-9]*$ ]] || die "--size and --reps take positive whole numbers, got '$v'"; done
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
echo "== building (cargo build --release --bin dense; the C references)"
cargo build --release --quiet --bin dense
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mpicc -O2 -o "$WORK/pdgemm" benches/c/pdgemm.c -lscalapack-openmpi -lopenblas -lm
gcc -O2 -o "$WORK/dgemm" benches/c/dgemm.c -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas -lm

STAMP=$(date +%Y%m%d-%H%M%S)
RAW=$RESULTS/raw-$STAMP.csv
CSV=$RESULTS/results-$STAMP.csv
echo "code,size,ranks,rep,seconds,gflops" >"$RAW"
echo "bench-dense: N $SIZE, ranks ${RANK_LIST[*]}, $REPS repetitions; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"

for ranks in "${RANK_LIST[@]}"; do
    MPIRUN=(mpirun -n "$ranks")
    if ((ranks > $(nproc))); then MPIRUN+=(--oversubscribe); fi
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
