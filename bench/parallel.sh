#!/usr/bin/env bash
# Throughput: N containers, each created, run (/bin/true) and deleted by `run`, P at a time
# (xargs -P), with ocelot and with Debian's runc on the same bundle, and the floor program
# (bench/floor.c: only the kernel work this config needs) for the machine's ceiling; interleaved
# round by round. Prints containers/s for each (the median of ROUNDS rounds) and the ratios.
# Needs root, a C compiler and runc (make bench-parallel installs it).
#   usage: bench/parallel.sh [OCELOT_BINARY] [N] [P] [ROUNDS]
set -euo pipefail
ocelot=$(readlink -f "${1:-build/ocelot}")
n=${2:-64}
p=${3:-8}
rounds=${4:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/ocelot-bench-par.XXXXXX)
# The state roots on a tmpfs, as /run is on a systemd host (bench/startup.sh says why);
# STATE_ON_DISK=1 keeps them on disk.
mkdir "$work/state"
[ "${STATE_ON_DISK:-0}" = 1 ] || mount -t tmpfs -o mode=0700 ocelot-bench-state "$work/state"
trap 'umount "$work/state" 2>/dev/null; rm -rf "$work"' EXIT
"$here/examples/make-bundle.sh" "$ocelot" "$work/bundle" /bin/true >/dev/null
cc -O2 -Wall -Wno-format-truncation -o "$work/floor" "$here/bench/floor.c"
runtimes=(floor ocelot)
command -v runc >/dev/null && runtimes+=(runc)
# One round: N ids through xargs -P; every run must exit 0. Prints the elapsed seconds.
round() {
  local bin=$1 root=$2 tag=$3 start end
  start=$EPOCHREALTIME
  if [ "$tag" = floor ]; then
    seq 1 "$n" | xargs -P "$p" -I{} "$work/floor" "$work/bundle/rootfs" /bin/true >/dev/null
  else
    seq 1 "$n" | xargs -P "$p" -I{} "$bin" --root "$root" run --bundle "$work/bundle" "$tag-{}" >/dev/null
  fi || { echo "bench/parallel.sh: a run with $bin failed" >&2; exit 1; }
  end=$EPOCHREALTIME
  python3 -c "print($end - $start)"
}
declare -A times
for r in $(seq 1 "$rounds"); do
  for rt in "${runtimes[@]}"; do
    bin=$ocelot
    [ "$rt" = runc ] && bin=$(command -v runc)
    times[$rt]+="$(round "$bin" "$work/state/$rt-root" "$([ "$rt" = floor ] && echo floor || echo "$rt$r")") "
  done
done
python3 - "$n" "$p" "${times[floor]}" "${times[ocelot]}" "${times[runc]:-}" <<'PY'
import statistics, sys
n, p = int(sys.argv[1]), int(sys.argv[2])
res = {}
for name, text in (("floor", sys.argv[3]), ("ocelot", sys.argv[4]), ("runc", sys.argv[5])):
    if text.strip():
        secs = statistics.median(float(x) for x in text.split())
        res[name] = n / secs
        print("%-6s %d containers, %d in parallel: median %.2f s -> %.0f containers/s" % (name, n, p, secs, res[name]))
print("ocelot/floor throughput: %.2f" % (res["ocelot"] / res["floor"]))
if "runc" in res:
    print("ocelot/runc throughput: %.2fx" % (res["ocelot"] / res["runc"]))
PY
# Nothing may be left: every container was deleted by its run.
for rt in ocelot runc; do
  [ -d "$work/state/$rt-root" ] || continue
  left=$(ls "$work/state/$rt-root" 2>/dev/null | wc -l)
  [ "$left" -eq 0 ] || { echo "bench/parallel.sh: $left $rt containers left behind" >&2; exit 1; }
done
