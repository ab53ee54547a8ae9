#!/usr/bin/env bash
# Install and start a single-node SLURM (munge auth) for the dask-jobqueue tests.
# Idempotent; prints why when it cannot (the SLURM tests then skip with that reason).
set -uo pipefail

if ! command -v slurmctld >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq slurm-wlm munge >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1; apt-get install -y -qq slurm-wlm munge >/dev/null; } \
    || { echo "slurm-wlm unavailable: SLURM tests will skip"; exit 0; }
fi

# munge: a key, its directories owned by munge, the daemon running as munge
mkdir -p /etc/munge /var/run/munge /var/log/munge /var/lib/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown -R munge:munge /etc/munge /var/run/munge /var/log/munge /var/lib/munge
chmod 400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  su -s /bin/sh munge -c "munged" || runuser -u munge -- munged
  sleep 1
fi
munge -n | unmunge | grep -q "STATUS: *Success" || { echo "munge does not work"; exit 0; }

host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=afkit-ci
SlurmctldHost=${host}
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmUser=root
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/var/run/slurmctld.pid
SlurmdPidFile=/var/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=${host} CPUs=${cpus} RealMemory=${mem} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
CONF

if ! sinfo -h >/dev/null 2>&1; then
  slurmctld
  slurmd
fi
for _ in $(seq 1 30); do
  if sinfo -h -o "%P %a %T" 2>/dev/null | grep -q "idle\|mix\|alloc"; then
    sinfo
    exit 0
  fi
  sleep 1
done
echo "SLURM did not come up:"; tail -5 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log 2>/dev/null
exit 0
