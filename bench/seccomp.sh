#!/usr/bin/env bash
# What podman's default seccomp profile (/usr/share/containers/seccomp.json, converted to OCI form
# as podman does) adds to `ocelot run` of /bin/true. Target: at most 2 ms.
#   usage: bench/seccomp.sh [OCELOT_BINARY] [RUNS]
set -euo pipefail
ocelot=$(readlink -f "${1:-build/ocelot}")
runs=${2:-100}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/ocelot-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$here/examples/make-bundle.sh" "$ocelot" "$work/plain" /bin/true >/dev/null
mkdir -p "$work/seccomp"
python3 - "$work" "$here/tests/integration" <<'PY'
import json, sys
work, lib = sys.argv[1], sys.argv[2]
sys.path.insert(0, lib)
from podman_seccomp import oci_seccomp
c = json.load(open(work + "/plain/config.json"))
c["root"]["path"] = work + "/plain/rootfs"
c["linux"]["seccomp"] = oci_seccomp(c["process"]["capabilities"]["bounding"])
json.dump(c, open(work + "/seccomp/config.json", "w"))
PY
hyperfine -N --warmup 10 --runs "$runs" --export-json "$work/r.json" \
  -n plain "$ocelot --root $work/root run --bundle $work/plain b1" \
  -n podman-seccomp "$ocelot --root $work/root run --bundle $work/seccomp b2" >&2
python3 - "$work/r.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
a, b = r["plain"], r["podman-seccomp"]
print("without seccomp: mean %.2f ms, median %.2f ms" % (a["mean"] * 1e3, a["median"] * 1e3))
print("podman profile : mean %.2f ms, median %.2f ms" % (b["mean"] * 1e3, b["median"] * 1e3))
print("seccomp adds   : %.2f ms (mean), %.2f ms (median)" % ((b["mean"] - a["mean"]) * 1e3, (b["median"] - a["median"]) * 1e3))
PY
