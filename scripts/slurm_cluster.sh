#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine, for auglab's SLURM tests and for
# trying cluster sweeps by hand: munge, MariaDB + slurmdbd (so `sacct` answers, as on a
# real cluster), slurmctld and slurmd, as plain processes (no systemd, no cgroups).
#
#   bash scripts/slurm_cluster.sh start    # install if missing, configure, start, wait for idle
#   eval "$(bash scripts/slurm_cluster.sh env)"   # SLURM_CONF for sbatch/squeue/sacct
#   bash scripts/slurm_cluster.sh status
#   bash scripts/slurm_cluster.sh stop     # stop every daemon it started, by pid
#
# State (config, spools, logs, database, pid files) lives in $AUGLAB_SLURM_DIR
# (default /tmp/auglab-slurm); `start` clears it first: every start is a fresh cluster.
# Needs root, or passwordless sudo, and apt-get for the install; without them `start`
# exits 3 with one line saying why (the tests then skip, except in CI).
#
# Two partitions share the node: `debug` (default) and `high`, whose jobs preempt
# `debug`'s. A preempted job gets its --signal at once (submitit's USR2) and is
# requeued after GraceTime. Settings chosen from ../shared/docs/SLURM.md.
set -euo pipefail

STATE=${AUGLAB_SLURM_DIR:-/tmp/auglab-slurm}
CLUSTER=auglab
PORT_BASE=${AUGLAB_SLURM_PORT_BASE:-16817}   # slurmctld, slurmd, slurmdbd, MariaDB: +0..+3
GRACE_S=${AUGLAB_SLURM_GRACE_S:-60}           # a preempted job's time to stop before the kill
PACKAGES=(munge slurmctld slurmd slurm-client slurmdbd mariadb-server)
BINARIES=(munged slurmctld slurmd sbatch sacct sacctmgr slurmdbd mariadbd mariadb-install-db)

say() { echo "slurm_cluster: $*" >&2; }
die() { say "$1"; exit "${2:-1}"; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}

can_be_root() { [ "$(id -u)" = 0 ] || { command -v sudo >/dev/null && sudo -n true 2>/dev/null; }; }

install_missing() {
    local missing=()
    for b in "${BINARIES[@]}"; do
        command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || missing+=("$b")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    can_be_root || die "no SLURM here (missing ${missing[*]}) and no root or passwordless sudo to install it" 3
    command -v apt-get >/dev/null || die "no SLURM here (missing ${missing[*]}) and no apt-get to install it" 3
    say "installing ${PACKAGES[*]} (about 30 s)"
    # policy-rc.d keeps the packages from starting services: this script starts them.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${PACKAGES[@]}" >"$STATE.apt.log" 2>&1 \
        || { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$STATE.apt.log" 2>&1 \
             && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${PACKAGES[@]}" >>"$STATE.apt.log" 2>&1; } \
        || die "apt-get install ${PACKAGES[*]} failed: see $STATE.apt.log" 3
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local limit=$1 what=$2; shift 2
    local end=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || die "$what did not come up within ${limit}s: see $STATE/log"
        sleep 0.3
    done
}

write_config() {
    local host cores mem_mb slurm_version
    host=$(hostname -s)
    cores=$(nproc)
    mem_mb=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
    slurm_version=$(slurmctld -V | awk '{print $2}')
    # 22.05 takes the preemption signal switch in SlurmctldParameters; 23.02 on moved it.
    local preempt_signal="SlurmctldParameters=preempt_send_user_signal"
    case $slurm_version in 2[3-9].*) preempt_signal="PreemptParameters=send_user_signal" ;; esac
    cat >"$STATE/slurm.conf" <<EOF
# Written by scripts/slurm_cluster.sh for $host ($cores cores, ${mem_mb} MB): one node, no cgroups.
ClusterName=$CLUSTER
SlurmctldHost=$host
SlurmctldPort=$PORT_BASE
SlurmdPort=$((PORT_BASE + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# A requeued job may start again after ~6 s instead of ~120 s (the credential lifetime).
AuthInfo=cred_expire=5
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$((PORT_BASE + 2))
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
KillWait=10
MinJobAge=600
InactiveLimit=0
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
$preempt_signal
NodeName=$host CPUs=$cores RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP PriorityTier=1 GraceTime=$GRACE_S
PartitionName=high Nodes=$host MaxTime=INFINITE State=UP PriorityTier=10 PreemptMode=OFF
EOF
    cat >"$STATE/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdHost=localhost
DbdPort=$((PORT_BASE + 2))
SlurmUser=root
PidFile=$STATE/run/slurmdbd.pid
LogFile=$STATE/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$((PORT_BASE + 3))
StorageUser=root
StorageLoc=slurm_acct_db
EOF
    chmod 600 "$STATE/slurmdbd.conf"
}

start_munge() {
    if pgrep -x munged >/dev/null; then return 0; fi
    as_root mkdir -p /run/munge /var/log/munge /var/lib/munge
    as_root chown munge:munge /run/munge /var/log/munge /var/lib/munge
    [ -f /etc/munge/munge.key ] || as_root /usr/sbin/mungekey --create
    as_root runuser -u munge -- /usr/sbin/munged
    wait_for 10 munged munge -n
}

start_database() {
    local db=$STATE/mysql
    mkdir -p "$db"
    touch "$STATE/log/mariadb.log"
    chown mysql:mysql "$db" "$STATE/run" "$STATE/log/mariadb.log"
    mariadb-install-db --user=mysql --datadir="$db" --auth-root-authentication-method=normal \
        --skip-test-db >"$STATE/log/mariadb-install.log" 2>&1
    mariadbd --user=mysql --datadir="$db" --bind-address=127.0.0.1 --port=$((PORT_BASE + 3)) \
        --socket="$STATE/run/mysql.sock" --pid-file="$STATE/run/mariadb.pid" \
        --log-error="$STATE/log/mariadb.log" --skip-log-bin --innodb-buffer-pool-size=32M \
        </dev/null >>"$STATE/log/mariadb.log" 2>&1 &
    wait_for 30 MariaDB mariadb --protocol=tcp -h 127.0.0.1 -P $((PORT_BASE + 3)) -u root -e "select 1"
}

node_idle() { sinfo -h -o %t | grep -qx idle; }

start() {
    stop_quietly
    install_missing
    if [ "$(id -u)" != 0 ]; then  # the daemons run as root
        can_be_root || die "starting SLURM's daemons needs root or passwordless sudo" 3
        exec sudo -n -E bash "$0" start
    fi
    rm -rf "$STATE"
    mkdir -p "$STATE"/{ctld,d,run,log}
    write_config
    export SLURM_CONF=$STATE/slurm.conf
    start_munge
    start_database
    slurmdbd </dev/null >/dev/null 2>&1  # reads slurmdbd.conf beside $SLURM_CONF
    wait_for 30 slurmdbd sacctmgr -i show cluster
    sacctmgr -i add cluster $CLUSTER >/dev/null 2>&1 || true
    slurmctld -f "$STATE/slurm.conf" </dev/null >/dev/null 2>&1
    slurmd -f "$STATE/slurm.conf" </dev/null >/dev/null 2>&1
    wait_for 60 "the node (idle in sinfo)" node_idle
    chmod -R a+rX "$STATE"
    say "up: $(sinfo -h -o '%P %t %c cores' | tr '\n' ' ')- export SLURM_CONF=$SLURM_CONF"
}

stop_pid() {  # stop_pid NAME: TERM the daemon in $STATE/run/NAME.pid, wait until it is gone
    local file=$STATE/run/$1.pid pid
    [ -f "$file" ] || return 0
    pid=$(cat "$file" 2>/dev/null) || return 0
    [ -n "$pid" ] || return 0
    as_root kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 100); do
        as_root kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.2
    done
    as_root kill -9 "$pid" 2>/dev/null || true
}

stop_quietly() {
    # Jobs first (their processes are children of slurmstepd), then the daemons.
    if [ -f "$STATE/slurm.conf" ] && [ -f "$STATE/run/slurmctld.pid" ]; then
        SLURM_CONF=$STATE/slurm.conf timeout 10 scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
        [ "$(id -u)" = 0 ] || SLURM_CONF=$STATE/slurm.conf timeout 10 sudo -n scancel --full --quiet 2>/dev/null || true
    fi
    stop_pid slurmd
    stop_pid slurmctld
    stop_pid slurmdbd
    stop_pid mariadb
}

stop() {
    stop_quietly
    say "stopped (munged, shared with the system, is left running)"
}

status() {
    [ -f "$STATE/slurm.conf" ] || die "no cluster configured in $STATE: run $0 start" 1
    export SLURM_CONF=$STATE/slurm.conf
    sinfo
    squeue
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    env) echo "export SLURM_CONF=$STATE/slurm.conf" ;;
    *) die "usage: $0 start|stop|status|env" 2 ;;
esac
