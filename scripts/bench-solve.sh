#!/usr/bin/env bash
# tessera's solve against PETSc (scripts/petsc/poisson.c, Debian's PETSc with hypre) on
# the 3D Poisson problem (7-point stencil, h = 1/(N+1), zero initial guess), both run in
# the same script on the same machine, beside a STREAM triad and the dot benchmark of the
# same run.
#
#   scripts/bench-solve.sh                              # 127^3 unknowns (h = 1/128), 1 and 2 ranks, 3 reps
#   scripts/bench-solve.sh --size 31 --reps 1           # smoke test
#
# Flags: --size N          tessera unknowns per axis (default 127); PETSc gets -n N+1 intervals.
#                          Multigrid needs N+1 to halve down to 4 or less: 31, 63, 127, 255
#        --ranks N[,N...]  MPI rank counts (default 1,2)
#        --reps N          repetitions; medians are reported (default 3)
#        --rtol X          relative tolerance on the unpreconditioned residual (default 1e-8)
#        --skip-petsc      tessera only (no PETSc build or runs; no ratios to PETSc)
#
# Per rank count R (mpirun -n R, --bind-to core while R <= cores):
#   CG + Jacobi: tessera and PETSc (-ksp_type cg -pc_type jacobi), iterations (must be
#     equal: MISMATCH otherwise), seconds per iteration (solve_s / its), ratio
#     tessera / PETSc (goal <= 1.0).
#   CG + multigrid: tessera's geometric V-cycle against PETSc's GAMG and hypre's BoomerAMG
#     (defaults): iterations, set-up, solve and total = set-up + solve seconds (set-up:
#     tessera's operator + preconditioner; PETSc's assembly + KSPSetUp; the right-hand side
#     is in neither). Goals: tessera total / GAMG total <= 0.5, tessera total / BoomerAMG
#     total < 1, tessera MG iterations <= 12.
#   Dot: solve --bench-dot 16777216, the reproducible dot against a plain vectorised dot +
#     MPI_Allreduce on 16M entries per rank (goal: ratio <= 1.5).
#   Rates: the operator's GFLOP/s and GB/s (from the CG + Jacobi runs) and the V-cycle's (by
#     solve's cost model, from the CG + MG runs), beside the STREAM triad GB/s (stream
#     --size-mib 512 --threads R, run once per rank count in this script).
# All PETSc runs use -ksp_norm_type unpreconditioned (tessera stops on ||b - Ax|| too),
# -ksp_max_it 100000 (tessera: --steps 100000) and OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=1.
# Ratios are of the medians (the dot ratio: the median of the binary's own ratios). Every
# repetition is appended to runs/bench-solve/runs.csv, the medians to
# runs/bench-solve/summary.csv; the rows of one invocation share its stamp.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "bench-solve: $*" >&2; exit 1; }

SIZE=127 RANKS=1,2 REPS=3 RTOL=1e-8 SKIP_PETSC=0
while (($#)); do
    case $1 in
        --size) SIZE=${2:?--size needs a value}; shift 2 ;;
        --ranks) RANKS=${2:?--ranks needs a value}; shift 2 ;;
        --reps) REPS=${2:?--reps needs a value}; shift 2 ;;
        --rtol) RTOL=${2:?--rtol needs a value}; shift 2 ;;
        --skip-petsc) SKIP_PETSC=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
done
IFS=, read -r -a RANK_LIST <<<"$RANKS"
((${#RANK_LIST[@]})) || die "--ranks needs at least one rank count"
for r in "${RANK_LIST[@]}"; do [[ $r =~ ^[1-9][0-9]*$ ]] || die "--ranks takes whole numbers, got '$r'"; done
[[ $SIZE =~ ^[1-9][0-9]*$ ]] || die "--size must be a positive integer (unknowns per axis), got '$SIZE'"
m=$((SIZE + 1))
while ((m > 4 && m % 2 == 0)); do m=$((m / 2)); done
((m <= 4)) || die "--size $SIZE: multigrid needs size + 1 to halve down to 4 or less (31, 63, 127, 255, ...)"
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "--reps must be a positive integer, got '$REPS'"
if ! [[ $RTOL =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$ ]] || ! awk -v x="$RTOL" 'BEGIN { exit !(x > 0 && x < 1) }'; then
    die "--rtol must be a number between 0 and 1, got '$RTOL'"
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RESULTS=runs/bench-solve
RAW=$RESULTS/runs.csv
CSV=$RESULTS/summary.csv
COLS=(its setup_s solve_s total_s per_it_s op_gflops op_gbs pc_gflops pc_gbs pc_ms dot_plain_s dot_repro_s dot_ratio triad_gbs)
RAW_HEADER="stamp,size,ranks,rep,case,$(IFS=,; echo "${COLS[*]}")"
CSV_HEADER="stamp,commit,size,petsc_n,ranks,reps,rtol,jacobi_its_tessera,jacobi_its_petsc,jacobi_s_per_it_tessera,jacobi_s_per_it_petsc,jacobi_ratio,mg_its,mg_setup_s,mg_solve_s,mg_total_s,gamg_its,gamg_setup_s,gamg_solve_s,gamg_total_s,boomeramg_its,boomeramg_setup_s,boomeramg_solve_s,boomeramg_total_s,mg_over_gamg,mg_over_boomeramg,dot_ratio,op_gflops,op_gbs,vcycle_gflops,vcycle_gbs,vcycle_ms,triad_gbs"
mkdir -p "$RESULTS"
for f in "$RAW:$RAW_HEADER" "$CSV:$CSV_HEADER"; do
    file=${f%%:*} header=${f#*:}
    if [[ -s $file ]]; then
        [[ $(head -1 "$file") == "$header" ]] || die "$file has other columns (an older version of this script?); move it away first"
    else
        echo "$header" >"$file"
    fi
done

# shellcheck source=scripts/env.sh
source scripts/env.sh
SECONDS=0
if ! command -v mpirun >/dev/null || ! command -v cargo >/dev/null; then
    echo "== installing what is missing (scripts/setup.sh)"
    scripts/setup.sh
fi
# always (a no-op when up to date): never benchmark a stale binary
cargo build --release --quiet --bin solve --bin stream
PETSC=target/petsc/poisson
if ((!SKIP_PETSC)) && [[ ! -x $PETSC || scripts/petsc/poisson.c -nt $PETSC ]]; then
    echo "== building the PETSc reference (scripts/petsc/build.sh)"
    scripts/petsc/build.sh "$PETSC" >/dev/null
fi
# PETSc single-threaded, and OpenMPI's ROMIO instead of ompio (as scripts/petsc/README.md)
PETSC_ENV=(env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 OMPI_MCA_io=^ompio)

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
STAMP=$(date +%Y%m%d-%H%M%S)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || COMMIT+="+dirty"
N=$SIZE PN=$((SIZE + 1)) DOT_N=16777216
TESSERA_ARGS=(--size "${N}x${N}x${N}" --ksp cg --rtol "$RTOL" --steps 100000 --no-checkpoint --out "$WORK/out" --progress 0 --monitor 0)
PETSC_ARGS=(-n "$PN" -ksp_type cg -ksp_rtol "$RTOL" -ksp_norm_type unpreconditioned -ksp_max_it 100000)

# record CASE KEY=VALUE...: appends one row of this repetition to $RAW (missing keys stay empty)
record() {
    local case=$1 kv c line
    shift
    local -A v=()
    for kv in "$@"; do v[${kv%%=*}]=${kv#*=}; done
    line="$STAMP,$N,$ranks,$rep,$case"
    for c in "${COLS[@]}"; do line+=",${v[$c]:-}"; done
    echo "$line" >>"$RAW"
}
# field KEY LINE: the value of KEY=VALUE in a RESULT line
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
# calc EXPR A B: awk arithmetic on a and b
calc() { awk -v a="$2" -v b="$3" "BEGIN { printf \"%.6g\", $1 }"; }

# tessera PC: one solve run, recorded as tessera-cg-PC; sets ITS for the caller
tessera() {
    local pc=$1 out line setup solve
    out=$("${MPIRUN[@]}" target/release/solve "${TESSERA_ARGS[@]}" --pc "$pc" 2>&1) \
        || { echo "$out" >&2; die "solve --pc $pc failed on $ranks rank(s) (not converged?)"; }
    line=$(grep -m1 '^RESULT ' <<<"$out") || { echo "$out" >&2; die "solve printed no RESULT line"; }
    ITS=$(field its "$line") setup=$(field setup_s "$line") solve=$(field solve_s "$line")
    record "tessera-cg-$pc" its="$ITS" setup_s="$setup" solve_s="$solve" total_s="$(calc 'a + b' "$setup" "$solve")" \
        per_it_s="$(calc 'a / b' "$solve" "$ITS")" op_gflops="$(field op_gflops "$line")" op_gbs="$(field op_gbs "$line")" \
        pc_gflops="$(field pc_gflops "$line")" pc_gbs="$(field pc_gbs "$line")" pc_ms="$(field pc_ms "$line")"
    printf '  %-20s %d rank(s) rep %d: %6d its  set-up %8.4f s  solve %8.4f s  %.3e s/it\n' \
        "tessera CG+$pc" "$ranks" "$rep" "$ITS" "$setup" "$solve" "$(calc 'a / b' "$solve" "$ITS")"
}
# petsc NAME PETSC-OPTIONS...: one poisson run, recorded as petsc-cg-NAME; sets ITS
petsc() {
    local name=$1 out line setup solve reason
    shift
    out=$("${PETSC_ENV[@]}" "${MPIRUN[@]}" "$PETSC" "${PETSC_ARGS[@]}" "$@" 2>&1) \
        || { echo "$out" >&2; die "PETSc $name failed on $ranks rank(s)"; }
    line=$(grep -m1 '^RESULT ' <<<"$out") || { echo "$out" >&2; die "PETSc printed no RESULT line"; }
    ITS=$(field its "$line") setup=$(field setup_s "$line") solve=$(field solve_s "$line") reason=$(field reason "$line")
    if ! [[ $reason =~ ^[1-9][0-9]*$ ]]; then echo "$out" >&2; die "PETSc $name did not converge (reason '$reason')"; fi
    record "petsc-cg-$name" its="$ITS" setup_s="$setup" solve_s="$solve" total_s="$(calc 'a + b' "$setup" "$solve")" \
        per_it_s="$(calc 'a / b' "$solve" "$ITS")"
    printf '  %-20s %d rank(s) rep %d: %6d its  set-up %8.4f s  solve %8.4f s  %.3e s/it\n' \
        "PETSc CG+$name" "$ranks" "$rep" "$ITS" "$setup" "$solve" "$(calc 'a / b' "$solve" "$ITS")"
}

echo "bench-solve: ${N}^3 unknowns (h = 1/$PN; PETSc -n $PN), ranks ${RANK_LIST[*]}, $REPS repetitions, rtol $RTOL, stamp $STAMP"
petsc_version=skipped
((SKIP_PETSC)) || petsc_version="$(pkg-config --modversion PETSc 2>/dev/null || echo unknown) ($PETSC)"
echo "  tessera $COMMIT; PETSc $petsc_version; machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
for ranks in "${RANK_LIST[@]}"; do
    MPIRUN=(mpirun -n "$ranks" --bind-to core)
    if ((ranks > $(nproc))); then MPIRUN=(mpirun -n "$ranks" --oversubscribe --bind-to none); fi
    rep=1
    out=$(target/release/stream --size-mib 512 --threads "$ranks" 2>&1) || { echo "$out" >&2; die "stream failed"; }
    grep -q "Solution validates" <<<"$out" || { echo "$out" >&2; die "stream did not validate"; }
    triad=$(sed -n 's/^triad_gbs=//p' <<<"$out")
    record stream triad_gbs="$triad"
    printf '  %-20s %d thread(s): triad %.2f GB/s (median)\n' "STREAM" "$ranks" "$triad"
    for rep in $(seq 1 "$REPS"); do
        tessera jacobi
        if ((!SKIP_PETSC)); then
            t_its=$ITS
            petsc jacobi -pc_type jacobi
            ((t_its == ITS)) || echo "  MISMATCH: CG+Jacobi iterations differ: tessera $t_its, PETSc $ITS ($ranks rank(s))" >&2
        fi
        tessera mg
        if ((!SKIP_PETSC)); then
            petsc gamg -pc_type gamg
            petsc boomeramg -pc_type hypre -pc_hypre_type boomeramg
        fi
        out=$("${MPIRUN[@]}" target/release/solve --bench-dot "$DOT_N" 2>&1) || { echo "$out" >&2; die "solve --bench-dot failed"; }
        line=$(grep -m1 '^RESULT ' <<<"$out") || { echo "$out" >&2; die "solve --bench-dot printed no RESULT line"; }
        record dot dot_plain_s="$(field plain_s "$line")" dot_repro_s="$(field reproducible_s "$line")" dot_ratio="$(field ratio "$line")"
        printf '  %-20s %d rank(s) rep %d: reproducible / plain = %s\n' "dot ($DOT_N/rank)" "$ranks" "$rep" "$(field ratio "$line")"
    done
done

echo
python3 - "$RAW" "$CSV" "$STAMP" "$COMMIT" "$N" "$PN" "$REPS" "$RTOL" "$SKIP_PETSC" <<'PY'
import csv, statistics, sys
raw, out, stamp, commit, n, pn, reps, rtol, skip = sys.argv[1:]
rows = [r for r in csv.DictReader(open(raw)) if r["stamp"] == stamp]
nan = float("nan")
def med(ranks, case, key):
    vals = [float(r[key]) for r in rows if (r["ranks"], r["case"]) == (ranks, case) and r[key] != ""]
    return statistics.median(vals) if vals else nan
def ratio(a, b):
    return a / b if b == b and b != 0 else nan
def f(x, spec):
    return "-" if x != x else format(x, spec)
def goal(x, ok):
    return "-" if x != x else ("met" if ok(x) else "NOT MET")

rank_list = sorted({int(r["ranks"]) for r in rows})
print(f"Median over {reps} repetition(s): {n}^3 unknowns (h = 1/{pn}; PETSc -n {pn}), rtol {rtol}, stamp {stamp}, tessera {commit}")
print("  total = set-up + solve; s/it = solve / its; rates of tessera's operator (from CG+Jacobi) and V-cycle (cost model, from CG+MG)")
goals, warnings = [], []
with open(out, "a") as fo:
    for ranks in rank_list:
        R = str(ranks)
        m = {case: {k: med(R, case, k) for k in ("its", "setup_s", "solve_s", "total_s", "per_it_s")}
             for case in ("tessera-cg-jacobi", "petsc-cg-jacobi", "tessera-cg-mg", "petsc-cg-gamg", "petsc-cg-boomeramg")}
        tj, pj, mg, ga, bo = (m[c] for c in ("tessera-cg-jacobi", "petsc-cg-jacobi", "tessera-cg-mg", "petsc-cg-gamg", "petsc-cg-boomeramg"))
        op_gf, op_gb = med(R, "tessera-cg-jacobi", "op_gflops"), med(R, "tessera-cg-jacobi", "op_gbs")
        vc_gf, vc_gb, vc_ms = (med(R, "tessera-cg-mg", k) for k in ("pc_gflops", "pc_gbs", "pc_ms"))
        triad, dot = med(R, "stream", "triad_gbs"), med(R, "dot", "dot_ratio")
        jr = ratio(tj["per_it_s"], pj["per_it_s"])
        rg, rb = ratio(mg["total_s"], ga["total_s"]), ratio(mg["total_s"], bo["total_s"])

        print(f"\n{ranks} rank(s)    {'its':>6} {'set-up s':>10} {'solve s':>10} {'total s':>10} {'s/it':>10}")
        for label, c in (("tessera CG+Jacobi", tj), ("PETSc CG+Jacobi", pj), ("tessera CG+MG", mg),
                         ("PETSc CG+GAMG", ga), ("PETSc CG+BoomerAMG", bo)):
            if c["its"] != c["its"]:
                continue
            print(f"  {label:<19} {c['its']:>5.0f} {c['setup_s']:>10.4f} {c['solve_s']:>10.4f} {c['total_s']:>10.4f} {c['per_it_s']:>10.3e}")
        print(f"  operator {f(op_gf, '.2f')} GFLOP/s {f(op_gb, '.2f')} GB/s ({f(100 * ratio(op_gb, triad), '.0f')}% of triad); "
              f"V-cycle {f(vc_gf, '.2f')} GFLOP/s {f(vc_gb, '.2f')} GB/s, {f(vc_ms, '.3f')} ms each; "
              f"STREAM triad {f(triad, '.2f')} GB/s ({ranks} thread(s))")
        if tj["its"] == tj["its"] and pj["its"] == pj["its"] and tj["its"] != pj["its"]:
            warnings.append(f"MISMATCH: CG+Jacobi iterations differ on {ranks} rank(s): tessera {tj['its']:.0f}, PETSc {pj['its']:.0f}")
        jits = "-" if pj["its"] != pj["its"] else f"{tj['its']:.0f} vs {pj['its']:.0f}"
        goals.append((ranks, [
            ("CG+Jacobi iterations tessera = PETSc", jits,
             "-" if pj["its"] != pj["its"] else ("met" if tj["its"] == pj["its"] else "MISMATCH")),
            ("CG+Jacobi s/it tessera / PETSc <= 1.0", f(jr, ".3f"), goal(jr, lambda x: x <= 1.0)),
            ("total tessera MG / GAMG <= 0.5", f(rg, ".3f"), goal(rg, lambda x: x <= 0.5)),
            ("total tessera MG / BoomerAMG < 1", f(rb, ".3f"), goal(rb, lambda x: x < 1.0)),
            ("tessera MG iterations <= 12", f(mg["its"], ".0f"), goal(mg["its"], lambda x: x <= 12)),
            ("dot reproducible / plain <= 1.5", f(dot, ".3f"), goal(dot, lambda x: x <= 1.5)),
        ]))
        vals = [tj["its"], pj["its"], tj["per_it_s"], pj["per_it_s"], jr, mg["its"], mg["setup_s"], mg["solve_s"], mg["total_s"],
                ga["its"], ga["setup_s"], ga["solve_s"], ga["total_s"], bo["its"], bo["setup_s"], bo["solve_s"], bo["total_s"],
                rg, rb, dot, op_gf, op_gb, vc_gf, vc_gb, vc_ms, triad]
        fo.write(",".join([stamp, commit, n, pn, R, reps, rtol] + ["" if v != v else f"{v:.6g}" for v in vals]) + "\n")

print(f"\n{'goal':<40}" + "".join(f"{str(r) + ' rank(s)':>22}" for r, _ in goals))
for i, (name, _, _) in enumerate(goals[0][1]):
    print(f"{name:<40}" + "".join(f"{g[i][1] + ' ' + g[i][2] if g[i][1] != '-' else '-':>22}" for _, g in goals))
for w in warnings:
    print(w)
    print("bench-solve: " + w, file=sys.stderr)
PY
echo
echo "bench-solve: done in ${SECONDS} s; $CSV (medians), $RAW (every repetition), stamp $STAMP"
