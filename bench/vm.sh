#!/usr/bin/env bash
# VM isolation against container isolation on one busybox bundle, measured here:
#   1. boot-to-exit of `ocelot run` for /bin/true: VM from the pool (a warmed spare is ready before
#      each run: `ocelot vm-pool wait` is hyperfine's --prepare, docs/vm.md "The pool"), VM from a
#      template (--vm-pool=off, as every row below), VM from a template with a
#      NIC (the config names a network namespace with a veth, made here: docs/vm.md "Network"),
#      VM from a template with QEMU serving the files itself as uid 0 (OCELOT_VM_SHARE_HELPER=off:
#      what the unprivileged VMM's file servers cost), VM booted cold (--vm-template=off) and
#      container, side by side by hyperfine (medians);
#   2. host memory of N idle guests (PSS of their VMMs, since a template's pages are shared),
#      from one template and booted cold.
# KVM where usable, else TCG (said in the output). Needs root, hyperfine and `make vm-setup`
# (make bench-vm does both).
#   usage: bench/vm.sh [OCELOT_BINARY] [VM_RUNS] [CONTAINER_RUNS] [IDLE_GUESTS]
set -euo pipefail
ocelot=$(readlink -f "${1:-build/ocelot}")
vm_runs=${2:-10}
ct_runs=${3:-50}
guests=${4:-4}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/ocelot-bench-vm.XXXXXX)
root=$work/root
netns=ocelot-bench-$$
cleanup() {
  "$ocelot" --root "$root" vm-pool stop >/dev/null 2>&1 || true
  for c in $("$ocelot" --root "$root" list -q 2>/dev/null); do "$ocelot" --root "$root" delete -f "$c" >/dev/null 2>&1 || true; done
  ip netns del "$netns-c" 2>/dev/null || true
  ip netns del "$netns-h" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
command -v hyperfine >/dev/null || { echo "bench/vm.sh: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
"$here/examples/make-bundle.sh" "$ocelot" "$work/bundle" /bin/true >/dev/null
"$here/examples/make-bundle.sh" "$ocelot" "$work/idle" sleep 600 >/dev/null
# The NIC's bundle: the same, in a network namespace with one end of a veth (link-local, nothing
# routed out; the other end in a namespace of its own).
ip netns add "$netns-c" && ip netns add "$netns-h"
ip -n "$netns-h" link add vh type veth peer name eth0 netns "$netns-c"
ip -n "$netns-c" addr add 169.254.99.2/30 dev eth0 && ip -n "$netns-c" link set eth0 up
cp -a "$work/bundle" "$work/nic"
python3 - "$work/nic/config.json" "/run/netns/$netns-c" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for n in c["linux"]["namespaces"]:
    if n["type"] == "network":
        n["path"] = sys.argv[2]
json.dump(c, open(sys.argv[1], "w"))
PY
# One run first: builds the cached initramfs and the template, and says which accelerator is used.
"$ocelot" --root "$root" --debug --isolation=vm run --bundle "$work/bundle" warm 2>&1 | grep -o "guest .* created in .*)" || true
hyperfine -N --warmup 1 --runs "$vm_runs" --export-json "$work/pool.json" --prepare "$ocelot --root $root vm-pool wait" \
  -n "vm (pool)" "$ocelot --root $root --log $work/log --isolation=vm run --bundle $work/bundle bench-pool" >&2
"$ocelot" --root "$root" vm-pool stop >/dev/null
vm="$ocelot --root $root --log $work/log --vm-pool=off --isolation=vm run --bundle $work/bundle"
hyperfine -N --warmup 1 --runs "$vm_runs" --export-json "$work/tpl.json" -n "vm (template)" "$vm bench-tpl" \
  -n "vm (template, NIC)" "$ocelot --root $root --log $work/log --vm-pool=off --isolation=vm run --bundle $work/nic bench-nic" \
  -n "vm (template, uid 0)" "env OCELOT_VM_SHARE_HELPER=off $vm bench-root" >&2
hyperfine -N --warmup 1 --runs "$(( (vm_runs + 1) / 2 ))" --export-json "$work/cold.json" -n "vm (cold boot)" \
  "$ocelot --vm-template=off --root $root --log $work/log --isolation=vm run --bundle $work/bundle bench-cold" >&2
hyperfine -N --warmup 5 --runs "$ct_runs" --export-json "$work/ct.json" \
  -n container "$ocelot --root $root run --bundle $work/bundle bench-ct" >&2

# N idle guests at once: the PSS of their VMMs (what they cost the host together, shared pages
# split among the sharers), then the same booted cold.
idle_pss() {  # $1: extra global flags
  local pids=() total=0
  for i in $(seq 1 "$guests"); do
    # shellcheck disable=SC2086
    "$ocelot" $1 --vm-pool=off --root "$root" --log "$work/log" --isolation=vm run -d --bundle "$work/idle" "idle$i" >/dev/null 2>&1
    pids+=("$("$ocelot" --root "$root" state "idle$i" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')")
  done
  sleep 2
  for p in "${pids[@]}"; do total=$(( total + $(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup") )); done
  for i in $(seq 1 "$guests"); do "$ocelot" --root "$root" delete -f "idle$i" >/dev/null; done
  echo $(( total / guests / 1024 ))
}
pss_tpl=$(idle_pss "")
pss_cold=$(idle_pss "--vm-template=off")

echo "host kernel:  $(uname -r)"
"$here/examples/make-bundle.sh" "$ocelot" "$work/uname" uname -r >/dev/null
echo "guest kernel: $("$ocelot" --root "$root" --log "$work/log" --isolation=vm run --bundle "$work/uname" uname)"
echo "accelerator:  $(grep -q '(KVM)' <("$ocelot" --root "$root" --debug --isolation=vm run --bundle "$work/bundle" acc 2>&1) && echo KVM || echo 'TCG (software emulation: no usable /dev/kvm)')"
python3 - "$work/pool.json" "$work/tpl.json" "$work/cold.json" "$work/ct.json" <<'PY'
import json, sys
rs = [r for p in sys.argv[1:] for r in json.load(open(p))["results"]]
for r in rs:
    print("%-21s run /bin/true: median %8.1f ms (mean %.1f, min %.1f, max %.1f, %d runs)"
          % (r["command"], r["median"] * 1e3, r["mean"] * 1e3, r["min"] * 1e3, r["max"] * 1e3, len(r["times"])))
pool, tpl, nic, root, cold, ct = (r["median"] for r in rs)
print("vm from the pool / vm from a template: %.2fx   vm from the pool / container: %.0fx" % (pool / tpl, pool / ct))
print("vm from a template / vm cold: %.2fx   vm from a template / container: %.0fx   with a NIC / without: %.2fx"
      % (tpl / cold, tpl / ct, nic / tpl))
print("unprivileged VMM (a file server per share) / VMM as uid 0: %.2fx" % (tpl / root))
PY
echo "idle guests ($guests at once), host PSS per guest: from a template ${pss_tpl} MiB, cold ${pss_cold} MiB"
