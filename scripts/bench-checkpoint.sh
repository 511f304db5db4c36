#!/usr/bin/env bash
# What tessera's durable, atomic checkpoint costs, against a plain C parallel-HDF5 writer of
# the same field, both measured in the same run on the same file system.
#
#   scripts/bench-checkpoint.sh                             # 1024x1024 and 4096x4096, 2 ranks, 5 reps
#   scripts/bench-checkpoint.sh --sizes 256x256 --reps 2    # smoke test
#   scripts/bench-checkpoint.sh --ranks 4 --dir /scratch/me/ckpt
#
# Flags: --sizes NXxNY[,NXxNY...]  grids, each one f64 field of NX*NY*8 bytes
#        --ranks N                 MPI ranks (default 2; --oversubscribe only when N > cores)
#        --reps N                  repetitions per measurement, the median is reported (5)
#        --dir DIR                 where the files are written (default runs/bench-checkpoint;
#                                  choose the file system to measure); a scratch directory
#                                  inside it is removed at the end
#
# For each size:
#   C write        benches/c/checkpoint_write.c (built with h5pcc): H5Fcreate through MPI-IO,
#                  one NXxNY dataset written collectively (each rank its rows), close
#   C write+fsync  the same, then every rank fsyncs the file, barrier, rename, fsync of the
#                  directory: the plain C parallel-HDF5 write-plus-fsync rate
#   tessera        `heat --checkpoint-every 1 --steps REPS`, each checkpoint's MB/s from its
#                  JSON run report: fallocate + header + collective write of /fields/u with
#                  its checksum + fsync by every rank + rename + directory fsync + XDMF sidecar
# Both use ROMIO (OMPI_MCA_io=^ompio), time with the maximum over ranks and count MB = 1e6
# bytes of field data. Medians over the repetitions; ratios are of the medians. The table is
# printed and written, with every repetition's figures, as CSV to runs/bench-checkpoint/.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "bench-checkpoint: $*" >&2; exit 1; }

SIZES=1024x1024,4096x4096 RANKS=2 REPS=5 DIR=""
while (($#)); do
    case $1 in
        --sizes) SIZES=${2:?--sizes needs a value}; shift 2 ;;
        --ranks) RANKS=${2:?--ranks needs a value}; shift 2 ;;
        --reps) REPS=${2:?--reps needs a value}; shift 2 ;;
        --dir) DIR=${2:?--dir needs a value}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
done
[[ $RANKS =~ ^[1-9][0-9]*$ ]] || die "--ranks must be a positive integer, got '$RANKS'"
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "--reps must be a positive integer, got '$REPS'"
IFS=, read -r -a SIZE_LIST <<<"$SIZES"
((${#SIZE_LIST[@]})) || die "--sizes is empty"
for s in "${SIZE_LIST[@]}"; do
    [[ $s =~ ^[1-9][0-9]*x[1-9][0-9]*$ ]] || die "a size is NXxNY (2D), got '$s'"
    ((${s%x*} >= RANKS)) || die "$s has fewer rows than the $RANKS ranks"
done
# --dir is relative to where the script is called from; then work from the repository
if [[ -n $DIR ]]; then mkdir -p "$DIR" && DIR=$(cd "$DIR" && pwd); fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)
RESULTS=$REPO/runs/bench-checkpoint
DIR=${DIR:-$RESULTS}
mkdir -p "$RESULTS" "$DIR"

# shellcheck source=env.sh
source scripts/env.sh
export OMPI_MCA_io=^ompio # ROMIO for both writers (the heat binary would choose it itself)

SECONDS=0
if ! command -v h5pcc >/dev/null || ! command -v mpirun >/dev/null || [[ ! -x target/release/heat ]]; then
    echo "== installing what is missing (scripts/setup.sh)"
    scripts/setup.sh
fi
if [[ ! -x target/release/heat ]]; then
    echo "== building (cargo build --release --bins)"
    cargo build --release --bins
fi

WORK=$(mktemp -d "$DIR/work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# (in $WORK: h5pcc leaves checkpoint_write.o in the directory it runs in)
(cd "$WORK" && h5pcc -O2 -o checkpoint_write "$REPO/benches/c/checkpoint_write.c")

MPIRUN=(mpirun -n "$RANKS")
if ((RANKS > $(nproc))); then MPIRUN+=(--oversubscribe); fi

STAMP=$(date +%Y%m%d-%H%M%S)
CSV=$RESULTS/results-$STAMP.csv
RAW=$RESULTS/raw-$STAMP.csv
echo "size,tool,variant,rep,bytes,seconds,MBps" >"$RAW"

# median of the numbers on stdin (mean of the two middle ones for an even count)
median() {
    sort -g | awk '{v[NR] = $1} END {
        if (NR == 0) { print "nan"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
    }'
}

echo "bench-checkpoint: ${SIZE_LIST[*]}, $RANKS ranks, $REPS repetitions, files in $WORK"
echo "  file system: $(df -PT "$WORK" | awk 'NR == 2 {print $1 " (" $2 ") mounted on " $7}')"
echo "  ${MPIRUN[*]}, OMPI_MCA_io=$OMPI_MCA_io"

declare -A MED=()
for size in "${SIZE_LIST[@]}"; do
    nx=${size%x*} ny=${size#*x}
    bytes=$((nx * ny * 8))
    echo "== $size ($(awk -v b="$bytes" 'BEGIN {printf "%.1f MiB", b / 1048576}') per write)"

    # C reference: REPS x (write, write+fsync), alternating
    mkdir "$WORK/c"
    out=$("${MPIRUN[@]}" "$WORK/checkpoint_write" "$WORK/c" "$nx" "$ny" "$REPS" 2>&1) || {
        echo "$out" >&2
        die "checkpoint_write failed ($size)"
    }
    rm -rf "$WORK/c"
    while read -r variant rep b secs mbps; do
        [[ $b == "$bytes" ]] || die "checkpoint_write wrote $b bytes, expected $bytes"
        printf '  %-20s rep %d: %9.4f s %9.1f MB/s\n' "C $variant" "$rep" "$secs" "$mbps"
        echo "$size,c,$variant,$rep,$b,$secs,$mbps" >>"$RAW"
    done < <(sed -nE 's/^variant=(\S+) rep=(\S+) bytes=(\S+) seconds=(\S+) MBps=(\S+)$/\1 \2 \3 \4 \5/p' <<<"$out")
    for v in write write+fsync; do
        n=$(grep -c "^variant=$v " <<<"$out" || true)
        ((n == REPS)) || { echo "$out" >&2; die "checkpoint_write printed $n '$v' lines, expected $REPS"; }
    done
    sync

    # tessera: one heat run writing a checkpoint at every one of REPS steps
    report=$WORK/heat-$size.json
    out=$("${MPIRUN[@]}" target/release/heat --size "$size" --steps "$REPS" --checkpoint-every 1 \
        --progress 0 --report "$report" --out "$WORK/heat" 2>&1) || {
        echo "$out" >&2
        die "heat failed ($size)"
    }
    rm -rf "$WORK/heat"
    # each entry of performance.checkpoints: bytes, seconds, write_bandwidth_MB_per_s
    ckpts=$(awk '
        /"checkpoints": \[/ { inside = 1; next }
        inside && /^ *\]/ { inside = 0 }
        inside && /"bytes":/ { gsub(/[",]/, ""); b = $2 }
        inside && /"seconds":/ { gsub(/[",]/, ""); s = $2 }
        inside && /"write_bandwidth_MB_per_s":/ { gsub(/[",]/, ""); m = $2 }
        inside && /^ *\}/ { print b, s, m }' "$report")
    n=$(grep -c . <<<"$ckpts" || true)
    ((n == REPS)) || { cat "$report" >&2; die "heat's report lists $n checkpoints, expected $REPS"; }
    rep=0
    while read -r b secs mbps; do
        rep=$((rep + 1))
        [[ $b == "$bytes" ]] || die "heat's checkpoint holds $b bytes of field, expected $bytes"
        printf '  %-20s rep %d: %9.4f s %9.1f MB/s\n' "tessera checkpoint" "$rep" "$secs" "$mbps"
        echo "$size,tessera,checkpoint,$rep,$b,$secs,$mbps" >>"$RAW"
    done <<<"$ckpts"
    sync

    for key in c,write c,write+fsync tessera,checkpoint; do
        MED[$size,$key]=$(awk -F, -v s="$size" -v k="$key" '$1 == s && ($2 "," $3) == k {print $7}' "$RAW" | median)
    done
done

echo
echo "Median MB/s over $REPS repetitions ($RANKS ranks; MB = 1e6 bytes of field data; ratios of the medians)"
echo "size,MiB,c_write_MBps,c_write_fsync_MBps,tessera_MBps,tessera_over_c_write_fsync,tessera_over_c_write,ranks,reps" >"$CSV"
printf '%-12s %8s %11s %15s %11s %18s %12s\n' \
    size MiB "C write" "C write+fsync" tessera "tessera/C w+fsync" "tessera/C w"
for size in "${SIZE_LIST[@]}"; do
    nx=${size%x*} ny=${size#*x}
    awk -v s="$size" -v mib="$(awk -v n="$nx" -v m="$ny" 'BEGIN {print n * m * 8 / 1048576}')" \
        -v w="${MED[$size,c,write]}" -v f="${MED[$size,c,write+fsync]}" \
        -v t="${MED[$size,tessera,checkpoint]}" -v r="$RANKS" -v n="$REPS" -v csv="$CSV" 'BEGIN {
        printf "%-12s %8.1f %11.1f %15.1f %11.1f %18.2f %12.2f\n", s, mib, w, f, t, t / f, t / w
        printf "%s,%.3f,%.2f,%.2f,%.2f,%.4f,%.4f,%d,%d\n", s, mib, w, f, t, t / f, t / w, r, n >> csv
    }'
done
echo
echo "bench-checkpoint: done in ${SECONDS} s; $CSV (medians), $RAW (every repetition)"
