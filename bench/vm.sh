#!/usr/bin/env bash
# Boot-to-exit of `ocelot run` for /bin/true on one busybox bundle: VM isolation (a QEMU guest;
# KVM where usable, else TCG) next to container isolation, measured by hyperfine. Also prints what
# the guest itself reports: kernel release and time from its boot to the workload's exit.
# Needs root, hyperfine and `make vm-setup` (make bench-vm does both).
#   usage: bench/vm.sh [OCELOT_BINARY] [VM_RUNS] [CONTAINER_RUNS]
set -euo pipefail
ocelot=$(readlink -f "${1:-build/ocelot}")
vm_runs=${2:-10}
ct_runs=${3:-100}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/ocelot-bench-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
command -v hyperfine >/dev/null || { echo "bench/vm.sh: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
"$here/examples/make-bundle.sh" "$ocelot" "$work/bundle" /bin/true >/dev/null
# One run first: builds the cached initramfs and shows which accelerator is used.
"$ocelot" --root "$work/root" --debug --isolation=vm run --bundle "$work/bundle" warm 2>&1 | grep -o "created in .*" || true
hyperfine -N --warmup 1 --runs "$vm_runs" --export-json "$work/vm.json" \
  -n vm "$ocelot --root $work/root --log $work/log --isolation=vm run --bundle $work/bundle bench-vm" >&2
hyperfine -N --warmup 5 --runs "$ct_runs" --export-json "$work/ct.json" \
  -n container "$ocelot --root $work/root run --bundle $work/bundle bench-ct" >&2
"$here/examples/make-bundle.sh" "$ocelot" "$work/uname" cat /proc/version >/dev/null
echo "host kernel:  $(uname -r)"
echo "guest kernel: $("$ocelot" --root "$work/root" --log "$work/log" --isolation=vm run --bundle "$work/uname" uname | awk '{print $3}')"
python3 - "$work/vm.json" "$work/ct.json" <<'PY'
import json, sys
vm = json.load(open(sys.argv[1]))["results"][0]
ct = json.load(open(sys.argv[2]))["results"][0]
for name, r in (("vm", vm), ("container", ct)):
    print("%-9s run /bin/true: mean %8.1f ms, median %8.1f ms (min %.1f, max %.1f, sd %.1f, %d runs)"
          % (name, r["mean"] * 1e3, r["median"] * 1e3, r["min"] * 1e3, r["max"] * 1e3, r["stddev"] * 1e3, len(r["times"])))
print("vm/container: %.0fx (median)" % (vm["median"] / ct["median"]))
PY
