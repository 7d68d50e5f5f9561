#!/usr/bin/env bash
# Builds an OCI bundle whose rootfs is Debian's static busybox (package busybox-static), with a
# config.json made by `ocelot spec`, adjusted to run non-interactively.
#   usage: examples/make-bundle.sh OCELOT_BINARY BUNDLE_DIR [ARGS...]   (default args: echo hello)
set -euo pipefail
ocelot=$1
bundle=$2
shift 2
[ -x /bin/busybox ] || { echo "make-bundle: /bin/busybox is missing: apt-get install busybox-static" >&2; exit 1; }
rm -rf "$bundle"
mkdir -p "$bundle/rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root}
cp /bin/busybox "$bundle/rootfs/bin/busybox"
# One hard link per applet, as busybox --install would make.
for applet in $(/bin/busybox --list); do
  [ -e "$bundle/rootfs/bin/$applet" ] || ln "$bundle/rootfs/bin/busybox" "$bundle/rootfs/bin/$applet"
done
echo "root:x:0:0:root:/root:/bin/sh" > "$bundle/rootfs/etc/passwd"
echo "root:x:0:" > "$bundle/rootfs/etc/group"
chmod 1777 "$bundle/rootfs/tmp"
"$ocelot" spec --bundle "$bundle"
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(echo "hello from an ocelot container")
# Not interactive: no terminal, and the requested command (python3 writes the JSON: any quoting).
sed -i -e 's/"terminal": true/"terminal": false/' "$bundle/config.json"
python3 - "$bundle/config.json" "${args[@]}" <<'PY'
import json, sys
p, args = sys.argv[1], sys.argv[2:]
c = json.load(open(p))
c["process"]["args"] = args
json.dump(c, open(p, "w"), indent="\t")
PY
