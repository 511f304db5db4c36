#!/usr/bin/env bash
# The part every tessera batch script shares (scripts/slurm/*.sbatch run it inside the job):
#   launch.sh BINARY [ARGS...]
# - runs `srun --mpi=pmix BINARY --out $TESSERA_OUT --restart auto --max-runtime LEFT ARGS`,
#   LEFT being the job's remaining time, so the run checkpoints and stops (exit 75) before
#   the limit; Slurm's early --signal=USR1 and SIGTERM (scancel, pre-emption) do the same;
# - --restart auto: a resubmitted or requeued job resumes from the newest good checkpoint;
# - TESSERA_REQUEUE=1 and a stopped run (exit 75): the job requeues itself (submit it with
#   --requeue; --open-mode=append keeps one log).
# Environment: TESSERA_HOME (the checkout; default the submit directory), TESSERA_BIN_DIR
# (default $TESSERA_HOME/target/release), TESSERA_OUT (default runs/JOBNAME-JOBID, relative
# to TESSERA_HOME; give every job of a chained campaign the same one).
set -uo pipefail

bin=$1
shift
home=${TESSERA_HOME:-${SLURM_SUBMIT_DIR:-$PWD}}
bin_dir=${TESSERA_BIN_DIR:-$home/target/release}
out=${TESSERA_OUT:-runs/${SLURM_JOB_NAME:-$bin}-${SLURM_JOB_ID:-local}}
cd "$home" || exit 2
[[ -x $bin_dir/$bin ]] || { echo "launch.sh: $bin_dir/$bin not found: build with cargo build --release" >&2; exit 2; }

# the time this job has left, as [D-]HH:MM:SS from squeue, in seconds
limit=()
if [[ -n ${SLURM_JOB_ID:-} ]]; then
    left=$(squeue -h -j "$SLURM_JOB_ID" -o %L 2>/dev/null || true)
    if [[ $left =~ ^(([0-9]+)-)?(([0-9]+):)?([0-9]+):([0-9]+)$ ]]; then
        secs=$(( ${BASH_REMATCH[2]:-0} * 86400 + 10#${BASH_REMATCH[4]:-0} * 3600 \
                 + 10#${BASH_REMATCH[5]} * 60 + 10#${BASH_REMATCH[6]} ))
        limit=(--max-runtime "${secs}s")
    fi
fi

echo "tessera job ${SLURM_JOB_ID:-local} on $(hostname): $bin, ${SLURM_NTASKS:-1} tasks, out $out, time left ${left:-unlimited}"
srun --mpi=pmix "$bin_dir/$bin" --out "$out" --restart auto "${limit[@]}" --progress 30 "$@"
rc=$?
if [[ $rc -eq 75 ]]; then
    echo "tessera: stopped with a checkpoint in $out; resubmit (or requeue) to continue"
    if [[ ${TESSERA_REQUEUE:-0} == 1 && -n ${SLURM_JOB_ID:-} ]]; then
        scontrol requeue "$SLURM_JOB_ID" && echo "tessera: job $SLURM_JOB_ID requeued"
    fi
fi
exit "$rc"
