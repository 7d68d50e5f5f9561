#!/usr/bin/env bash
# Start-to-exit of `run` for /bin/true on one busybox bundle with the `ocelot spec` config, in one
# hyperfine run: the floor (bench/floor.c: only the work any runtime must do for this config on this
# host), ocelot, Debian's runc, and crun where installed. Prints each median and the ratios
# ocelot/floor, runc/ocelot (and crun/ocelot); then the peak RSS of each runtime (/usr/bin/time -v).
# Needs root, a C compiler, hyperfine and runc (make bench installs them).
#   usage: bench/startup.sh [OCELOT_BINARY] [RUNS]
set -euo pipefail
ocelot=$(readlink -f "${1:-build/ocelot}")
runs=${2:-100}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/ocelot-bench.XXXXXX)
# The runtimes' state roots on a tmpfs, as /run is on a systemd host (/run/runc, /run/ocelot): a
# runtime writes its state on every start, and on a disk (this development VM's /run is ext4)
# that costs each runtime about 2 ms the floor never pays. STATE_ON_DISK=1 keeps them on disk.
mkdir "$work/state"
[ "${STATE_ON_DISK:-0}" = 1 ] || mount -t tmpfs -o mode=0700 ocelot-bench-state "$work/state"
trap 'umount "$work/state" 2>/dev/null; rm -rf "$work"' EXIT
cc -O2 -Wall -Wno-format-truncation -o "$work/floor" "$here/bench/floor.c"
"$here/examples/make-bundle.sh" "$ocelot" "$work/bundle" /bin/true >/dev/null
cmds=(-n floor "$work/floor $work/bundle/rootfs /bin/true"
      -n ocelot "$ocelot --root $work/state/ocelot run --bundle $work/bundle bench-ocelot")
command -v runc >/dev/null && cmds+=(-n runc "runc --root $work/state/runc run --bundle $work/bundle bench-runc")
command -v crun >/dev/null && cmds+=(-n crun "crun --root $work/state/crun run --bundle $work/bundle bench-crun")
hyperfine -N --warmup 10 --runs "$runs" --export-json "$work/result.json" "${cmds[@]}" >&2
python3 - "$work/result.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
def line(name):
    x = r[name]
    return "%-6s median %6.2f ms  mean %6.2f ms  user %5.2f ms  sys %5.2f ms" % (
        name, x["median"] * 1e3, x["mean"] * 1e3, x["user"] * 1e3, x["system"] * 1e3)
f, o = r["floor"], r["ocelot"]
print(line("floor"))
print(line("ocelot") + "  -> ocelot/floor = %.2fx" % (o["median"] / f["median"]))
for other in ("runc", "crun"):
    if other in r:
        print(line(other) + "  -> %s/ocelot = %.2fx" % (other, r[other]["median"] / o["median"]))
PY
# Peak RSS of the runtime process itself (the container is a separate process and not counted:
# /usr/bin/time reports the largest of the waited-for children only when they are waited for by it).
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
if [ -x /usr/bin/time ]; then
  echo "peak RSS: ocelot $(rss "$ocelot" --root "$work/state/ocelot" run --bundle "$work/bundle" rss-ocelot) KiB" \
       "$(command -v runc >/dev/null && echo ", runc $(rss runc --root "$work/state/runc" run --bundle "$work/bundle" rss-runc) KiB")"
fi
