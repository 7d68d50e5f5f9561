#!/usr/bin/env bash
# Prepares the guest kernel for VM-isolated mode from Debian's linux-image-amd64 package, without
# installing it: downloads the package (apt-get download), unpacks it, extracts the uncompressed
# vmlinux from the bzImage (QEMU boots it through its PVH entry, so the guest spends no time
# decompressing), and copies the modules the agent needs with their dependencies, in load order
# (from each module's modinfo "depends", which is what depmod writes to modules.dep). Module signatures are stripped: checking them costs boot time under TCG and
# the guest loads only what this script chose. Result, in $1 (default /var/cache/ocelot/vm/kernel):
#   vmlinux, version, modules/<name>.ko, modules/order
# Idempotent: a no-op when the result is there.
set -euo pipefail
dest=${1:-/var/cache/ocelot/vm/kernel}
# (modules/order without virtio_net: prepared before VM containers had a network; redone.)
if [ -f "$dest/vmlinux" ] && grep -qx virtio_net "$dest/modules/order" 2>/dev/null; then exit 0; fi
command -v python3 >/dev/null || { echo "vm/setup-kernel.sh: needs python3" >&2; exit 1; }
work=$(mktemp -d /tmp/ocelot-kernel.XXXXXX)
chmod 755 "$work"  # apt-get download runs as _apt
trap 'rm -rf "$work"' EXIT
cd "$work"
pkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'; }
name=$(pkg)
if [ -z "$name" ]; then apt-get update -qq; name=$(pkg); fi
[ -n "$name" ] || { echo "vm/setup-kernel.sh: no linux-image-amd64 in the apt sources" >&2; exit 1; }
apt-get -o APT::Sandbox::User=root download "$name" >/dev/null
dpkg-deb -x ./*.deb root
version=$(ls root/lib/modules | head -1)
rm -rf "$dest.tmp" && mkdir -p "$dest.tmp/modules"
python3 - "root/boot/vmlinuz-$version" "root/lib/modules/$version" "$dest.tmp" <<'PY'
import lzma, os, sys
vmlinuz, moddir, out = sys.argv[1:4]

# The bzImage carries the kernel as an XZ stream: the ELF vmlinux inside is what PVH boots.
data = open(vmlinuz, "rb").read()
at = data.find(b"\xfd7zXZ\x00")
if at < 0:
    sys.exit("no XZ payload in " + vmlinuz)
elf = lzma.LZMADecompressor().decompress(data[at:])
if elf[:4] != b"\x7fELF":
    sys.exit("the XZ payload of %s is not an ELF kernel" % vmlinuz)
open(os.path.join(out, "vmlinux"), "wb").write(elf)

# What the agent needs: the virtio-mmio transport, virtio-serial ports, 9p over virtio, and the
# NIC of a container with a network (vm/vmm/network.h).
wanted = ["virtio_mmio", "virtio_console", "9pnet_virtio", "9p", "virtio_net"]
# Dependencies as depmod reads them (Debian's package ships no modules.dep, and the machine may
# have no depmod): the "depends=" entry of each module's .modinfo section.
paths = {}
for d, _, files in os.walk(moddir):
    for f in files:
        if ".ko" in f:
            paths[f.split(".ko")[0].replace("-", "_")] = os.path.join(d, f)
def load(m):
    raw = open(paths[m], "rb").read()
    return lzma.decompress(raw) if paths[m].endswith(".xz") else raw
def depends(m):
    for field in load(m).split(b"\0"):
        if field.startswith(b"depends="):
            return [x.replace("-", "_") for x in field[8:].decode().split(",") if x]
    return []
order = []
def visit(m, stack=()):
    if m in order or m in stack or m not in paths:  # not in paths: built into the kernel
        return
    for d in depends(m):
        visit(d, stack + (m,))
    order.append(m)
for m in wanted:
    visit(m)

MAGIC = b"~Module signature appended~\n"
for m in order:
    raw = load(m)
    if raw.endswith(MAGIC):
        # struct module_signature (12 bytes, sig_len big-endian at its end) precedes the magic.
        sig_len = int.from_bytes(raw[-len(MAGIC) - 4:-len(MAGIC)], "big")
        raw = raw[: -len(MAGIC) - 12 - sig_len]
    open(os.path.join(out, "modules", m + ".ko"), "wb").write(raw)
open(os.path.join(out, "modules", "order"), "w").write("".join(m + "\n" for m in order))
PY
echo "$version" > "$dest.tmp/version"
rm -rf "$dest" && mv "$dest.tmp" "$dest"
echo "guest kernel $version ready in $dest"
