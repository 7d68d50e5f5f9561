#!/usr/bin/env bash
# The smallest linux.resources.memory.limit under which `run` of /bin/true still succeeds, for
# ocelot and (when installed) runc and crun, on the same busybox bundle.
#   usage: bench/min-memory.sh [OCELOT_BINARY]
set -uo pipefail
ocelot=$(readlink -f "${1:-build/ocelot}")
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/ocelot-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$here/examples/make-bundle.sh" "$ocelot" "$work/bundle" /bin/true >/dev/null
limits="65536 131072 163840 196608 229376 262144 524288 1048576 2097152 4194304 8388608"
for rt in ocelot runc crun; do
  bin=$ocelot
  [ "$rt" = ocelot ] || bin=$(command -v "$rt") || continue
  smallest=""
  for lim in $limits; do
    python3 - "$work/bundle/config.json" "$lim" <<'PY'
import json, sys
p, lim = sys.argv[1], int(sys.argv[2])
c = json.load(open(p))
c["linux"].setdefault("resources", {})["memory"] = {"limit": lim, "swap": lim}
json.dump(c, open(p, "w"))
PY
    ok=0
    for i in 1 2 3; do  # must succeed three times out of three
      "$bin" --root "$work/root-$rt" run --bundle "$work/bundle" "mm-$rt-$lim-$i" >/dev/null 2>&1 && ok=$((ok + 1))
      "$bin" --root "$work/root-$rt" delete --force "mm-$rt-$lim-$i" >/dev/null 2>&1
    done
    printf '%-7s limit %8d bytes: %d/3 started\n' "$rt" "$lim" "$ok"
    if [ $ok -eq 3 ] && [ -z "$smallest" ]; then smallest=$lim; fi
  done
  echo "$rt: smallest memory limit that starts /bin/true: ${smallest:-none} bytes"
done
