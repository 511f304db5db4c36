#!/usr/bin/env bash
# tessera's md against LAMMPS (Debian's `lmp`) on LAMMPS's own Lennard-Jones benchmark
# (bench/in.lj: fcc at density 0.8442, T 1.44, lj/cut 2.5, skin 0.3, lists every 20 steps
# without check, NVE, dt 0.005), both run in the same script on the same machine.
#
#   scripts/bench-md.sh                              # 32,000 and 256,000 atoms, 1 and 2 ranks, 3 reps
#   scripts/bench-md.sh --cells 8 --reps 1 --steps 20   # smoke test
#
# Flags: --cells N[,N...]   fcc unit cells per axis (4 N^3 atoms; default 20,40)
#        --ranks N[,N...]   MPI rank counts (default 1,2)
#        --steps N          time steps per run (default 100)
#        --reps N           repetitions; medians are reported (default 3)
#
# Reported per case: atom-steps/s of the time loop (LAMMPS: atoms x steps / "Loop time";
# tessera: the run report's time-loop rate), the ratio tessera / LAMMPS of the medians,
# each code's time split as it reports it (LAMMPS: Pair, Neigh, Comm, rest; tessera: pair,
# neighbour = wrap + migration + ghost build + bins + lists, comm = ghost refresh, rest),
# and memory per atom: the sum over ranks of peak resident memory (LAMMPS: /usr/bin/time
# around each rank; tessera: its run report, VmHWM) divided by the atoms, and its marginal
# value between the smallest and largest size (which removes the fixed cost of MPI and the
# binary). tessera runs in its bitwise-reproducible mode (the only
# one). Every repetition and the medians go to runs/bench-md/ as CSV.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "bench-md: $*" >&2; exit 1; }

CELLS=20,40 RANKS=1,2 STEPS=100 REPS=3
while (($#)); do
    case $1 in
        --cells) CELLS=${2:?--cells needs a value}; shift 2 ;;
        --ranks) RANKS=${2:?--ranks needs a value}; shift 2 ;;
        --steps) STEPS=${2:?--steps needs a value}; shift 2 ;;
        --reps) REPS=${2:?--reps needs a value}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
done
IFS=, read -r -a CELL_LIST <<<"$CELLS"
IFS=, read -r -a RANK_LIST <<<"$RANKS"
for c in "${CELL_LIST[@]}"; do [[ $c =~ ^[1-9][0-9]*$ ]] || die "--cells takes whole numbers, got '$c'"; done
for r in "${RANK_LIST[@]}"; do [[ $r =~ ^[1-9][0-9]*$ ]] || die "--ranks takes whole numbers, got '$r'"; done
[[ $STEPS =~ ^[1-9][0-9]*$ ]] || die "--steps must be a positive integer, got '$STEPS'"
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "--reps must be a positive integer, got '$REPS'"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RESULTS=runs/bench-md
mkdir -p "$RESULTS"

# shellcheck source=env.sh
source scripts/env.sh
SECONDS=0
if ! command -v mpirun >/dev/null || ! command -v cargo >/dev/null; then
    echo "== installing what is missing (scripts/setup.sh)"
    scripts/setup.sh
fi
if ! command -v lmp >/dev/null; then
    echo "== installing LAMMPS (apt-get install lammps)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q lammps >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q lammps >/dev/null; }
fi
[[ -x /usr/bin/time ]] || { export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q time >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q time >/dev/null; }; }
echo "== building (cargo build --release --bin md)"
cargo build --release --quiet --bin md

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cat >"$WORK/in.lj" <<'EOF'
# LAMMPS bench/in.lj with the box size as a variable
units           lj
atom_style      atomic
lattice         fcc 0.8442
region          box block 0 ${n} 0 ${n} 0 ${n}
create_box      1 box
create_atoms    1 box
mass            1 1.0
velocity        all create 1.44 87287 loop geom
pair_style      lj/cut 2.5
pair_coeff      1 1 1.0 1.0 2.5
neighbor        0.3 bin
neigh_modify    delay 0 every 20 check no
fix             1 all nve
run             ${steps}
EOF

STAMP=$(date +%Y%m%d-%H%M%S)
RAW=$RESULTS/raw-$STAMP.csv
CSV=$RESULTS/results-$STAMP.csv
echo "code,atoms,ranks,rep,loop_seconds,atom_steps_per_s,pair_s,neigh_s,comm_s,rest_s,rss_kib_sum" >"$RAW"

echo "bench-md: cells ${CELL_LIST[*]}, ranks ${RANK_LIST[*]}, $STEPS steps, $REPS repetitions"
echo "  $(lmp -h 2>/dev/null | grep -m1 -i 'Large-scale' | sed 's/^ *//') ($(command -v lmp)); machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
for n in "${CELL_LIST[@]}"; do
    atoms=$((4 * n * n * n))
    for ranks in "${RANK_LIST[@]}"; do
        MPIRUN=(mpirun -n "$ranks")
        if ((ranks > $(nproc))); then MPIRUN+=(--oversubscribe); fi
        for rep in $(seq 1 "$REPS"); do
            # LAMMPS
            "${MPIRUN[@]}" /usr/bin/time -f "rss_kib %M" lmp -in "$WORK/in.lj" -var n "$n" -var steps "$STEPS" \
                -log none -screen "$WORK/lmp.out" >/dev/null 2>"$WORK/lmp.err" || { cat "$WORK/lmp.out" "$WORK/lmp.err" >&2; die "lmp failed"; }
            python3 - "$WORK/lmp.out" "$WORK/lmp.err" "$atoms" "$ranks" "$rep" "$STEPS" >>"$RAW" <<'PY'
import re, sys
out, err, atoms, ranks, rep, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6])
text = open(out).read()
loop = float(re.search(r"Loop time of (\S+) on", text).group(1))
split = {k: float(v) for k, v in re.findall(r"^(Pair|Neigh|Comm|Output|Modify|Other)\s*\|\s*\S+\s*\|\s*(\S+)", text, re.M)}
found = [int(x) for x in re.findall(r"rss_kib (\d+)", open(err).read())]
rss = sum(found) if len(found) == int(ranks) else float("nan")  # a rank's line can be lost at exit
rest = loop - split["Pair"] - split["Neigh"] - split["Comm"]
print(f"lammps,{atoms},{ranks},{rep},{loop},{atoms * steps / loop},{split['Pair']},{split['Neigh']},{split['Comm']},{rest},{rss}")
PY
            # tessera
            "${MPIRUN[@]}" target/release/md --lattice fcc --density 0.8442 \
                --cells "${n}x${n}x${n}" --temperature 1.44 --steps "$STEPS" --thermo 0 --progress 0 \
                --no-checkpoint --out "$WORK/md" --report "$WORK/md.json" >"$WORK/md.out" 2>"$WORK/md.err" \
                || { cat "$WORK/md.out" "$WORK/md.err" >&2; die "md failed"; }
            python3 - "$WORK/md.json" "$WORK/md.err" "$atoms" "$ranks" "$rep" "$STEPS" >>"$RAW" <<'PY'
import json, re, sys
report, err, atoms, ranks, rep, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6])
r = json.load(open(report))
perf = r["performance"]
rate = perf["rates"]["time_loop"] * 1e6
loop = atoms * steps / rate
ph = {k: v["mean"] for k, v in perf["seconds"]["phases"].items()}
rest = loop - ph["pair"] - ph["neighbour"] - ph["comm"]
rss = perf["memory"]["peak_resident_bytes_sum_over_ranks"] / 1024
print(f"tessera,{atoms},{ranks},{rep},{loop},{rate},{ph['pair']},{ph['neighbour']},{ph['comm']},{rest},{rss}")
PY
            tail -2 "$RAW" | awk -F, '{printf "  %-7s %7d atoms %d rank(s) rep %d: %7.3f s  %6.3f Matom-steps/s\n", $1, $2, $3, $4, $5, $6 / 1e6}'
        done
    done
done

echo
python3 - "$RAW" "$CSV" "$STEPS" "$REPS" <<'PY'
import csv, statistics, sys
raw, out, steps, reps = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
rows = list(csv.DictReader(open(raw)))
def med(code, atoms, ranks, key):
    vals = [float(r[key]) for r in rows if (r["code"], r["atoms"], r["ranks"]) == (code, atoms, ranks)]
    vals = [v for v in vals if v == v] or [float("nan")]
    return statistics.median(vals)
cases = sorted({(int(r["atoms"]), int(r["ranks"])) for r in rows})
print(f"Median over {reps} repetitions of {steps} steps (Matom-steps/s of the time loop; split in seconds: pair / neighbour / comm / rest)")
print(f"{'atoms':>8} {'ranks':>5} {'LAMMPS':>8} {'tessera':>8} {'ratio':>6}   {'LAMMPS split':<27} {'tessera split':<27} {'KiB/atom L':>10} {'KiB/atom t':>10}")
with open(out, "w") as f:
    f.write("atoms,ranks,lammps_Matom_steps_per_s,tessera_Matom_steps_per_s,ratio,lammps_pair_s,lammps_neigh_s,lammps_comm_s,lammps_rest_s,tessera_pair_s,tessera_neigh_s,tessera_comm_s,tessera_rest_s,lammps_kib_per_atom,tessera_kib_per_atom,steps,reps\n")
    for atoms, ranks in cases:
        a, n = str(atoms), str(ranks)
        l, t = med("lammps", a, n, "atom_steps_per_s") / 1e6, med("tessera", a, n, "atom_steps_per_s") / 1e6
        ls = [med("lammps", a, n, k) for k in ("pair_s", "neigh_s", "comm_s", "rest_s")]
        ts = [med("tessera", a, n, k) for k in ("pair_s", "neigh_s", "comm_s", "rest_s")]
        lm, tm = med("lammps", a, n, "rss_kib_sum") / atoms, med("tessera", a, n, "rss_kib_sum") / atoms
        print(f"{atoms:>8} {ranks:>5} {l:>8.3f} {t:>8.3f} {t / l:>6.2f}   {' / '.join(f'{x:.3f}' for x in ls):<27} {' / '.join(f'{x:.3f}' for x in ts):<27} {lm:>10.2f} {tm:>10.2f}")
        f.write(f"{atoms},{ranks},{l:.4f},{t:.4f},{t / l:.4f},{','.join(f'{x:.4f}' for x in ls)},{','.join(f'{x:.4f}' for x in ts)},{lm:.3f},{tm:.3f},{steps},{reps}\n")
sizes = sorted({c[0] for c in cases})
if len(sizes) >= 2:
    small, big = str(sizes[0]), str(sizes[-1])
    for ranks in sorted({c[1] for c in cases}):
        n = str(ranks)
        for code in ("lammps", "tessera"):
            d = (med(code, big, n, "rss_kib_sum") - med(code, small, n, "rss_kib_sum")) * 1024 / (int(big) - int(small))
            print(f"  marginal memory, {ranks} rank(s), {code:<7}: {d:.0f} bytes per atom (between {small} and {big} atoms)")
PY
echo
echo "bench-md: done in ${SECONDS} s; $CSV (medians), $RAW (every repetition)"
