#!/usr/bin/env python3
"""Builds a busybox image without a registry: a rootfs from Debian's busybox-static (plus the
test probe) packed as an OCI image archive (oci-archive: `podman load`, `ctr images import`) and
as a plain rootfs tar (`docker import`).
  usage: make_image.py OUT_DIR PROBE [NAME CMD...]   -> OUT_DIR/<file>-oci.tar, OUT_DIR/rootfs.tar
  NAME defaults to docker.io/library/busybox:local and CMD to sh; the archive is named after the
  image's last path element (busybox-oci.tar, pause-oci.tar)."""
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile


def rootfs_tar(probe):
    """The rootfs as an uncompressed tar (bytes), with deterministic metadata."""
    buf = io.BytesIO()
    applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True, check=True).stdout.split()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        def add_dir(name, mode=0o755):
            i = tarfile.TarInfo(name)
            i.type, i.mode = tarfile.DIRTYPE, mode
            t.addfile(i)

        def add_file(name, data, mode=0o644):
            i = tarfile.TarInfo(name)
            i.size, i.mode = len(data), mode
            t.addfile(i, io.BytesIO(data))

        for d in ("bin", "etc", "proc", "sys", "dev", "root", "run", "var", "var/tmp", "home", "usr", "usr/bin"):
            add_dir(d)
        add_dir("tmp", 0o1777)
        busybox = open("/bin/busybox", "rb").read()
        add_file("bin/busybox", busybox, 0o755)
        for a in applets:
            if a == "busybox":
                continue
            i = tarfile.TarInfo("bin/" + a)
            i.type, i.linkname, i.mode = tarfile.LNKTYPE, "bin/busybox", 0o755  # a link entry sets the shared inode's mode
            t.addfile(i)
        add_file("bin/ocelot-probe", open(probe, "rb").read(), 0o755)
        add_file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n")
        add_file("etc/group", b"root:x:0:\nnobody:x:65534:\n")
        add_file("etc/not-executable", b"#!/bin/sh\necho no\n", 0o644)
    return buf.getvalue()


def blob(layout, data, media):
    d = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(layout, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return {"mediaType": media, "digest": "sha256:" + d, "size": len(data)}


def write_oci_archive(path, layer_blob, name, cmd, layout):
    """An OCI image archive at path: one layer (a blob() already in layout), a config with PATH and
    cmd, and the index naming it `name` for podman (ref.name) and containerd (image.name)."""
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": cmd},
              "rootfs": {"type": "layers", "diff_ids": [layer_blob["digest"]]}}
    cd = blob(layout, json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": cd,
                "layers": [layer_blob]}
    md = blob(layout, json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")
    md["annotations"] = {"org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1], "io.containerd.image.name": name}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [md]}, f)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with tarfile.open(path, "w") as t:
        for entry in ("oci-layout", "index.json", "blobs"):
            t.add(os.path.join(layout, entry), arcname=entry)


def main():
    out, probe = sys.argv[1], sys.argv[2]
    name = sys.argv[3] if len(sys.argv) > 3 else "docker.io/library/busybox:local"
    cmd = sys.argv[4:] or ["sh"]
    short = name.rsplit("/", 1)[-1].split(":")[0]
    os.makedirs(out, exist_ok=True)
    layer = rootfs_tar(probe)
    with open(os.path.join(out, "rootfs.tar"), "wb") as f:
        f.write(layer)
    layout = tempfile.mkdtemp()
    try:
        ld = blob(layout, layer, "application/vnd.oci.image.layer.v1.tar")
        write_oci_archive(os.path.join(out, short + "-oci.tar"), ld, name, cmd, layout)
    finally:
        shutil.rmtree(layout)


if __name__ == "__main__":
    main()
