#!/usr/bin/env bash
# A real one-node Slurm on this machine, for trying and testing the batch scripts:
# slurmctld + slurmd from Debian (installed when missing), no munge (auth/none), PMIx for
# MPI, state and logs under $TESSERA_SLURM_DIR (default /tmp/tessera-slurm).
#
#   scripts/local-slurm.sh start    # idempotent: does nothing if ours is already running
#   scripts/local-slurm.sh status   # is it up, and the queue
#   scripts/local-slurm.sh stop     # ends only the daemons this script started
#   eval "$(scripts/local-slurm.sh env)"   # point sbatch/squeue/scontrol at it
#
# Over-sized requests fail at submission (EnforcePartLimits=ALL) instead of pending.
set -euo pipefail

DIR=${TESSERA_SLURM_DIR:-/tmp/tessera-slurm}
CONF=$DIR/slurm.conf
export SLURM_CONF=$CONF

log() { echo "local-slurm: $*" >&2; }

install_slurm() {
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null && return
    log "installing slurmctld slurmd slurm-client (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    local sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
    $sudo apt-get install -y --no-install-recommends slurmctld slurmd slurm-client >/dev/null 2>&1 || {
        $sudo apt-get update >/dev/null
        $sudo apt-get install -y --no-install-recommends slurmctld slurmd slurm-client >/dev/null
    }
}

# pid of our daemon NAME if it is running (from its pid file, checked against /proc)
running() {
    local pid
    pid=$(cat "$DIR/$1.pid" 2>/dev/null) || return 1
    [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$1 .*-f $CONF" || return 1
    # a zombie (stopped, not yet reaped) is not running
    [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] || return 1
    echo "$pid"
}

write_conf() {
    local host cpus mem
    host=$(hostname -s)
    cpus=$(nproc)
    mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
    mkdir -p "$DIR/state" "$DIR/spool"
    cat >"$CONF" <<CONF
# written by tessera scripts/local-slurm.sh
ClusterName=tessera-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=${TESSERA_SLURMCTLD_PORT:-16817}
SlurmdPort=${TESSERA_SLURMD_PORT:-16818}
SlurmUser=$(id -un)
AuthType=auth/none
CredType=cred/none
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
EnforcePartLimits=ALL
ReturnToService=2
KillWait=5
MinJobAge=600
InactiveLimit=0
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

start() {
    exec 9>"$DIR.lock"
    flock 9 # one start at a time (tests may call it concurrently)
    if running slurmctld >/dev/null && running slurmd >/dev/null; then
        log "already running ($CONF)"
        return
    fi
    install_slurm
    mkdir -p "$DIR"
    write_conf
    running slurmctld >/dev/null || slurmctld -f "$CONF" -i
    running slurmd >/dev/null || slurmd -f "$CONF"
    local host; host=$(hostname -s)
    for _ in $(seq 1 100); do
        if sinfo -h -n "$host" -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
            log "up: node $host, $(nproc) CPUs, partition local ($CONF)"
            return
        fi
        sleep 0.2
    done
    log "the node did not come up; see $DIR/slurmctld.log and $DIR/slurmd.log"
    exit 1
}

stop() {
    local name pid
    for name in slurmd slurmctld; do
        if pid=$(running "$name"); then
            kill "$pid"
            for _ in $(seq 1 50); do running "$name" >/dev/null || break; sleep 0.1; done
            if running "$name" >/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
            log "stopped $name ($pid)"
        fi
    done
}

status() {
    if running slurmctld >/dev/null && running slurmd >/dev/null; then
        log "running ($CONF)"
        sinfo
        squeue
    else
        log "not running"
        return 1
    fi
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
env) echo "export SLURM_CONF=$CONF" ;;
*) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
