#!/usr/bin/env python3
"""The host matrix's guest: a Debian 12 system as our users run one, built with mmdebstrap from
Debian's archive: systemd as PID 1, a pure cgroup v2 hierarchy, and exactly the packages the
Makefile's tier lists name (`make print-packages`), nothing installed by hand. A package a test
needs that no list names is missing there, as on a user's fresh machine.

The root file system is a raw ext4 disk made without a loop device (mke2fs -d); the kernel and
initramfs are Debian's linux-image-amd64, as installed in the image. Cached by its recipe under
/var/cache/ocelot/host-test/<key>/ (disk.raw, vmlinuz, initrd.img); each run boots a copy-on-write
overlay of it, so the cached disk never changes.

  usage: image.py PACKAGE...      prints the cache directory"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

SUITE = "bookworm"
CACHE = "/var/cache/ocelot/host-test"
# The system itself: what makes it a systemd host that boots under QEMU.
BASE = ["systemd", "systemd-sysv", "dbus", "linux-image-amd64", "initramfs-tools", "kmod", "e2fsprogs",
        "ca-certificates"]
DISK_SIZE = "6G"
# Inside the image: the test runner runs at boot from the host's share, writes its output there,
# and powers the guest off; the daemons the callers tier starts privately are not started by
# systemd (their packages enable them).
HOOKS = [
    'echo ocelot-host > "$1/etc/hostname"',
    'printf "/dev/vda / ext4 rw,discard 0 1\\n" > "$1/etc/fstab"',
    'chroot "$1" systemctl mask docker.service docker.socket containerd.service systemd-networkd-wait-online.service'
    ' apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer',
    'chroot "$1" passwd -d root',
    'mkdir -p "$1/mnt/host"',
    """cat > "$1/etc/systemd/system/ocelot-host-test.service" <<'EOF'
[Unit]
Description=ocelot's host-matrix tests (tests/host/guest.sh from the host's share)
After=basic.target dbus.service systemd-logind.service
Wants=dbus.service

[Install]
WantedBy=multi-user.target

[Service]
Type=oneshot
ExecStartPre=/bin/mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 host /mnt/host
ExecStart=/bin/bash /mnt/host/guest.sh
ExecStopPost=/bin/systemctl --no-block poweroff
StandardOutput=journal+console
TimeoutStartSec=infinity
EOF""",
    'chroot "$1" systemctl enable ocelot-host-test.service',
]


def key(packages):
    recipe = json.dumps({"suite": SUITE, "base": BASE, "packages": sorted(set(packages)), "hooks": HOOKS,
                         "size": DISK_SIZE}, sort_keys=True)
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def build(packages, out):
    work = tempfile.mkdtemp(prefix="ocelot-host-image-", dir=os.path.dirname(out))
    try:
        root = os.path.join(work, "root")
        cmd = ["mmdebstrap", "--quiet", "--variant=apt", "--include=" + ",".join(sorted(set(BASE + packages))),
               "--format=directory"] + ["--customize-hook=" + h for h in HOOKS] + [SUITE, root]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if p.returncode != 0:
            raise RuntimeError("mmdebstrap failed (%d): %s" % (p.returncode, p.stderr.strip()[-3000:]))
        tmp = os.path.join(work, "out")
        os.makedirs(tmp)
        boot = os.path.join(root, "boot")
        vmlinuz = sorted(f for f in os.listdir(boot) if f.startswith("vmlinuz-"))[-1]
        initrd = sorted(f for f in os.listdir(boot) if f.startswith("initrd.img-"))[-1]
        shutil.copy(os.path.join(boot, vmlinuz), os.path.join(tmp, "vmlinuz"))
        shutil.copy(os.path.join(boot, initrd), os.path.join(tmp, "initrd.img"))
        subprocess.run(["mke2fs", "-q", "-t", "ext4", "-L", "root", "-d", root, os.path.join(tmp, "disk.raw"), DISK_SIZE],
                       check=True, capture_output=True, timeout=900)
        with open(os.path.join(tmp, "packages"), "w") as f:
            f.write("\n".join(sorted(set(packages))) + "\n")
        os.rename(tmp, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def ensure(packages):
    os.makedirs(CACHE, exist_ok=True)
    out = os.path.join(CACHE, key(packages))
    if not os.path.exists(os.path.join(out, "disk.raw")):
        build(packages, out)
        for old in os.listdir(CACHE):  # earlier recipes' images are never booted again
            path = os.path.join(CACHE, old)
            if path != out and os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
    return out


if __name__ == "__main__":
    print(ensure(sys.argv[1:]))
