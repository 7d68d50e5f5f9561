#!/usr/bin/env python3
"""A real image for the callers: Debian 12 built with mmdebstrap from Debian's archive (no registry
is reachable here), with what real images run: python3, a web server (nginx-light), curl, procps,
and a non-root user `app` (uid 1000, home /home/app). Cached by its recipe under
/var/cache/ocelot/images (about 25 s to build, 230 MB), then packed as an OCI archive
(`podman load`, `ctr images import`) beside the plain rootfs tar (`docker import`).

  usage: debian_image.py OUT_DIR     -> OUT_DIR/debian-oci.tar, OUT_DIR/debian-rootfs.tar"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_image  # noqa: E402  (the OCI archive writer the busybox image uses too)

NAME = "docker.io/library/debian:ocelot-test"
SUITE = "bookworm"
PACKAGES = ["python3", "nginx-light", "procps", "curl"]
# nginx-light's default site serves "Welcome to nginx!" on port 80.
HOOKS = ['chroot "$1" useradd --create-home --uid 1000 --user-group app']
CACHE = "/var/cache/ocelot/images"


def recipe():
    return json.dumps({"suite": SUITE, "variant": "minbase", "packages": PACKAGES, "hooks": HOOKS}, sort_keys=True)


def rootfs_tar():
    """The cached tar of the image's root filesystem, built when the recipe changed."""
    key = hashlib.sha256(recipe().encode()).hexdigest()[:16]
    path = os.path.join(CACHE, "debian-%s-%s.tar" % (SUITE, key))
    if os.path.exists(path):
        return path
    os.makedirs(CACHE, exist_ok=True)
    tmp = path + ".tmp-%d" % os.getpid()
    cmd = ["mmdebstrap", "--quiet", "--variant=minbase", "--include=" + ",".join(PACKAGES), "--format=tar"]
    cmd += ["--customize-hook=" + h for h in HOOKS]
    cmd += [SUITE, tmp]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        raise RuntimeError("mmdebstrap failed (%d): %s" % (p.returncode, p.stderr.strip()[-2000:]))
    os.rename(tmp, path)
    for old in os.listdir(CACHE):  # earlier recipes' images are never used again
        if old.startswith("debian-") and os.path.join(CACHE, old) != path:
            os.unlink(os.path.join(CACHE, old))
    return path


def blob_from_file(layout, src, media):
    h = hashlib.sha256()
    size = 0
    with open(src, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    d = h.hexdigest()
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    os.link(src, os.path.join(layout, "blobs", "sha256", d))  # same directory tree: no copy
    return {"mediaType": media, "digest": "sha256:" + d, "size": size}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    src = rootfs_tar()
    plain = os.path.join(out, "debian-rootfs.tar")
    shutil.copy(src, plain)
    layout = tempfile.mkdtemp(dir=out)
    try:
        ld = blob_from_file(layout, plain, "application/vnd.oci.image.layer.v1.tar")
        make_image.write_oci_archive(os.path.join(out, "debian-oci.tar"), ld, NAME, ["bash"], layout)
    finally:
        shutil.rmtree(layout)


if __name__ == "__main__":
    main()
