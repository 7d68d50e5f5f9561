#!/bin/bash
# Runs inside the host matrix's guest (Debian 12, systemd as PID 1, pure cgroup v2), started by the
# image's ocelot-host-test.service from the host's share. The repository is shared read-only at
# /mnt/repo (with the host's build), the cached test image at /var/cache/ocelot/images; each step's
# output goes to /mnt/host/results/<step>.log and one line per step to results/summary. The guest
# powers off when this ends (the service's ExecStopPost).
set -u
R=/mnt/host/results
mkdir -p "$R" /mnt/repo /var/cache/ocelot/images
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000 repo /mnt/repo || { echo "mount repo failed" > "$R/summary"; exit 1; }
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000 images /var/cache/ocelot/images
export PYTHONDONTWRITEBYTECODE=1 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
cd /mnt/repo
B=/mnt/repo/${OCELOT_BUILD:-build}
steps=$(cat /mnt/host/steps)
# Each integration step's selection (run.py --only, --only-systemd): -k patterns, all tests when empty.
only=()
for k in $(cat /mnt/host/only 2>/dev/null); do only+=(-k "$k"); done
only_systemd=()
for k in $(cat /mnt/host/only-systemd 2>/dev/null); do only_systemd+=(-k "$k"); done
step() {
  local name=$1
  shift
  case " $steps " in *" $name "*) ;; *) return 0 ;; esac
  local start=$(date +%s)
  timeout "${STEP_TIMEOUT:-1800}" "$@" > "$R/$name.log" 2>&1
  local rc=$?
  echo "$name $rc $(( $(date +%s) - start ))s" >> "$R/summary"
  tail -1 "$R/$name.log" >> "$R/summary.tails"
}
{
  echo "init: $(ps -p 1 -o comm=)"
  echo "cgroup: $(stat -fc %T /sys/fs/cgroup)"
  echo "kernel: $(uname -r)"
  echo "systemd: $(systemctl --version | head -1)"
  echo "state: $(systemctl is-system-running)"
} > "$R/host-shape"
step integration python3 tests/integration/run.py --ocelot "$B/ocelot" --probe "$B/ocelot-probe" --tier container "${only[@]}"
step integration-systemd env OCELOT_EXTRA_ARGS=--systemd-cgroup \
  python3 tests/integration/run.py --ocelot "$B/ocelot" --probe "$B/ocelot-probe" --tier container "${only_systemd[@]}"
step systemd python3 tests/host/test_systemd.py --ocelot "$B/ocelot" --probe "$B/ocelot-probe"
step callers python3 tests/callers/run.py --ocelot "$B/ocelot" --probe "$B/ocelot-probe" --systemd --no-real-image --no-vm
step callers-runc python3 tests/callers/run.py --runtime /usr/sbin/runc --name runc --probe "$B/ocelot-probe" \
  --systemd --no-real-image
# Checkpoint and restore on systemd and pure v2 (cgroupfs and --systemd-cgroup, and podman with its
# systemd cgroup manager): Debian's criu when `criu check` passes on this kernel, else the one
# make checkpoint-test built on the host (shared with the repository); no build in the guest.
step checkpoint bash tests/host/checkpoint_step.sh "$B"
# Not in the default steps (about 15 minutes under TCG): runtime-tools, built on the host by
# make conformance, on pure cgroup v2 (the cgroup programs that fail on a hybrid host for its
# reasons must pass here; tests/conformance/runtime-tools.expected has the v2 lines).
step conformance python3 tests/conformance/runtime_tools.py --suite /mnt/repo/build-conformance/runtime-tools-260e151 \
  --runtime "$B/ocelot" --name ocelot --timeout 600
echo finished > "$R/finished"
