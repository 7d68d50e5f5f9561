#!/usr/bin/env bash
# Start-to-exit time of `run` for /bin/true on the same busybox bundle with the `ocelot spec`
# config: ocelot against Debian's runc (and crun when installed), measured by hyperfine.
# Prints each mean and the ratio runc/ocelot. Needs root, hyperfine and runc (make bench installs them).
#   usage: bench/startup.sh [OCELOT_BINARY] [RUNS]
set -euo pipefail
ocelot=$(readlink -f "${1:-build/ocelot}")
runs=${2:-100}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/ocelot-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$here/examples/make-bundle.sh" "$ocelot" "$work/bundle" /bin/true >/dev/null
cmds=(-n ocelot "$ocelot --root $work/ocelot-root run --bundle $work/bundle bench-ocelot")
command -v runc >/dev/null && cmds+=(-n runc "runc --root $work/runc-root run --bundle $work/bundle bench-runc")
command -v crun >/dev/null && cmds+=(-n crun "crun --root $work/crun-root run --bundle $work/bundle bench-crun")
hyperfine -N --warmup 10 --runs "$runs" --export-json "$work/result.json" "${cmds[@]}" >&2
python3 - "$work/result.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
o = r["ocelot"]
print("ocelot run /bin/true: mean %.2f ms, median %.2f ms (min %.2f, sd %.2f)"
      % (o["mean"] * 1e3, o["median"] * 1e3, o["min"] * 1e3, o["stddev"] * 1e3))
for other in ("runc", "crun"):
    if other in r:
        m = r[other]
        print("%-6s run /bin/true: mean %.2f ms, median %.2f ms -> %s/ocelot = %.2fx (mean), %.2fx (median)"
              % (other, m["mean"] * 1e3, m["median"] * 1e3, other, m["mean"] / o["mean"], m["median"] / o["median"]))
PY
