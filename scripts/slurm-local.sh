#!/usr/bin/env bash
# A single-node Slurm cluster on loopback, for oplab's HPC tests (needs root and Debian's
# slurmctld, slurmd, slurm-client and munge; `make test-hpc` installs them).
#   scripts/slurm-local.sh start   # prints `export SLURM_CONF=...` for clients
#   scripts/slurm-local.sh stop
set -euo pipefail
base=${SLURM_LOCAL_DIR:-/tmp/oplab-slurm}
conf=$base/slurm.conf
cmd=${1:-start}

stop() {
  for p in slurmd slurmctld; do
    if [ -f "$base/$p.pid" ]; then kill "$(cat "$base/$p.pid")" 2>/dev/null || true; fi
    pkill -f "$p -f $conf" 2>/dev/null || true
  done
}

if [ "$cmd" = stop ]; then stop; exit 0; fi
[ "$(id -u)" -eq 0 ] || { echo "slurm-local.sh must run as root" >&2; exit 1; }
stop
mkdir -p "$base"/{state,spool,log}

# munge: one key, daemon running.
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge 2>/dev/null || true
chmod 400 /etc/munge/munge.key
mkdir -p /run/munge && chown munge:munge /run/munge
if ! pgrep -x munged >/dev/null; then
  runuser -u munge -- /usr/sbin/munged
fi

host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
cat > "$conf" <<CONF
ClusterName=oplabtest
SlurmctldHost=$host
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$base/state
SlurmdSpoolDir=$base/spool
SlurmctldPidFile=$base/slurmctld.pid
SlurmdPidFile=$base/slurmd.pid
SlurmctldLogFile=$base/log/slurmctld.log
SlurmdLogFile=$base/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
grep -q "$host" /etc/hosts || echo "127.0.0.1 $host" >> /etc/hosts
slurmctld -f "$conf"
slurmd -f "$conf"
export SLURM_CONF=$conf
for _ in $(seq 1 60); do
  if sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
    echo "export SLURM_CONF=$conf"
    exit 0
  fi
  scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
  sleep 1
done
echo "slurm-local.sh: the node did not become idle; see $base/log/" >&2
sinfo >&2 || true
exit 1
