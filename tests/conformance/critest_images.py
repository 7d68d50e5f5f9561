#!/usr/bin/env python3
"""The images critest pulls, made here from local files: none of them can be pulled on this
machine. Each is an OCI image (uncompressed layers, mtimes 0, so digests are stable) under the
name and tag critest's source uses (cri-tools v1.26.1: pkg/framework/util.go, pkg/validate/*.go,
images/*/Dockerfile), stored for registry.py: OUT/blobs/sha256/<hex> and OUT/refs.json
({"repo": {"tag": "sha256:..."}}, repo without the registry host).

The base layer is Debian's dynamic busybox (its .deb, unpacked; busybox-static's shell runs
applets internally, so a masked /bin/ls would never be executed) with the C library it links,
and the passwd and group of the upstream busybox image. Where critest only checks behaviour
the images are stand-ins, each named so: an "nginx" (a shell script by that name, so its comm
and pidof say nginx) that writes /var/run/nginx.pid, has "master process" in its command line
and serves HTTP 200 with busybox httpd; an "httpd-foreground" that logs httpd's command line
and serves; a setuid-root "nnp" (nnp.c) printing its effective uid; a pause (pause.c).

    critest_images.py OUT CACHE_DIR      (CACHE_DIR keeps the downloaded busybox .deb)
"""
import glob
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
E2E = "e2e-test-images/"                 # registry.k8s.io/e2e-test-images/...
STAGING = "k8s-staging-cri-tools/"       # gcr.io/k8s-staging-cri-tools/...
PAUSE = ("pause", "3.9")                 # registry.k8s.io/pause:3.9, containerd's sandbox_image here
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""
GROUP = """root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
mail:x:12:
www-data:x:33:
users:x:100:
nogroup:x:65533:
nobody:x:65534:
"""

NGINX = r"""#!/bin/sh
# A stand-in for nginx (ocelot's critest tier): critest checks that it serves HTTP 200, writes
# /var/run/nginx.pid and shows "master process" in its command line. It re-executes itself with
# those words as its first argument, so the process stays "nginx" (its comm) at the same pid.
[ "$1" = "master process" ] || exec /usr/sbin/nginx "master process" "$@"
port=$(sed -n 's/^[[:space:]]*listen[[:space:]]*\([0-9]*\);.*/\1/p' /etc/nginx/conf.d/default.conf | head -n 1)
echo $$ > /var/run/nginx.pid
httpd -f -p "${port:-80}" -h /usr/share/nginx/html &
child=$!
trap 'kill $child; exit 0' TERM INT QUIT
wait $child
"""
HTTPD = r"""#!/bin/sh
# A stand-in for the httpd image's httpd-foreground (ocelot's critest tier): critest looks for
# httpd's command line in the log and for HTTP 200 on port 80.
echo "AH00094: Command line: 'httpd -D FOREGROUND'"
exec httpd -f -v -p 80 -h /usr/local/apache2/htdocs
"""
class Tar:
    """An uncompressed layer with deterministic metadata."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.t = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.GNU_FORMAT)

    def dir(self, name, mode=0o755):
        i = tarfile.TarInfo(name)
        i.type, i.mode = tarfile.DIRTYPE, mode
        self.t.addfile(i)

    def file(self, name, data, mode=0o644):
        data = data.encode() if isinstance(data, str) else data
        i = tarfile.TarInfo(name)
        i.size, i.mode = len(data), mode
        self.t.addfile(i, io.BytesIO(data))

    def symlink(self, name, target):
        i = tarfile.TarInfo(name)
        i.type, i.linkname, i.mode = tarfile.SYMTYPE, target, 0o777
        self.t.addfile(i)

    def hardlink(self, name, target):
        i = tarfile.TarInfo(name)
        i.type, i.linkname, i.mode = tarfile.LNKTYPE, target, 0o755
        self.t.addfile(i)

    def bytes(self):
        self.t.close()
        return self.buf.getvalue()


def busybox_deb(cache):
    """Debian's dynamic busybox .deb (downloaded once into cache, apt-get's own archive first)."""
    os.makedirs(cache, exist_ok=True)
    have = glob.glob(os.path.join(cache, "busybox_*.deb")) or \
        [p for p in glob.glob("/var/cache/apt/archives/busybox_*.deb")]
    if have:
        return have[0]
    if subprocess.run(["apt-get", "download", "busybox"], cwd=cache, capture_output=True).returncode != 0:
        # A fresh machine may have no package lists yet.
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(["apt-get", "download", "busybox"], cwd=cache, check=True, capture_output=True)
    have = glob.glob(os.path.join(cache, "busybox_*.deb"))
    if not have:
        raise SystemExit("critest images: apt-get download busybox gave no .deb in " + cache)
    return have[0]


def shared_libraries(binary):
    """The host files a dynamic binary loads (ldd), as (path in the image, real file on the host)."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libs = []
    for line in out.splitlines():
        parts = line.split()
        path = parts[2] if "=>" in parts and len(parts) > 2 and parts[2].startswith("/") else \
            (parts[0] if parts and parts[0].startswith("/") else None)
        if path:
            libs.append((path, os.path.realpath(path)))
    return libs


# Tools the upstream busybox image has and Debian's busybox lacks (procps and util-linux have
# them): critest runs `pgrep` and `ipcs` in its containers. Copied from the host with their libraries.
HOST_TOOLS = ("/usr/bin/pgrep", "/usr/bin/pkill", "/usr/bin/ipcs")


def base_layer(cache, work):
    deb = busybox_deb(cache)
    unpacked = os.path.join(work, "busybox-deb")
    subprocess.run(["dpkg-deb", "-x", deb, unpacked], check=True)
    busybox = os.path.join(unpacked, "bin", "busybox")
    applets = subprocess.run([busybox, "--list-full"], capture_output=True, text=True, check=True).stdout.split()
    t = Tar()
    for d in ("bin", "sbin", "etc", "proc", "sys", "dev", "root", "run", "var", "var/run", "var/www", "home", "usr",
              "usr/bin", "usr/sbin", "usr/local", "usr/local/bin", "lib", "lib/x86_64-linux-gnu", "lib64"):
        t.dir(d)
    t.dir("tmp", 0o1777)
    t.file("bin/busybox", open(busybox, "rb").read(), 0o755)
    tools = {"usr/bin/" + os.path.basename(p): p for p in HOST_TOOLS}
    for a in applets:
        # Hard links, as in the upstream image: a masked /bin/ls must not mask busybox itself.
        if a != "bin/busybox" and a not in tools:
            t.hardlink(a, "bin/busybox")
    libs = {}
    for binary in (busybox,) + HOST_TOOLS:
        for path, real in shared_libraries(binary):
            libs.setdefault(path, real)
    for name, path in tools.items():
        t.file(name, open(path, "rb").read(), 0o755)
    seen = set()
    for path, real in sorted(libs.items()):
        name = path.lstrip("/")
        if name.startswith("lib64/"):  # the loader's path: a link to the real file, as on Debian
            t.symlink(name, "/lib/x86_64-linux-gnu/" + os.path.basename(real))
            name = "lib/x86_64-linux-gnu/" + os.path.basename(real)
        if name not in seen:
            seen.add(name)
            t.file(name, open(real, "rb").read(), 0o755)
    t.file("etc/passwd", PASSWD)
    t.file("etc/group", GROUP)
    return t.bytes()


def compiled(work, source):
    """A small C program of the tier's (nnp.c, pause.c), linked against the image's C library."""
    out = os.path.join(work, os.path.splitext(source)[0])
    subprocess.run(["gcc", "-O2", "-o", out, os.path.join(HERE, source)], check=True)
    return open(out, "rb").read()


def extra_layers(work):
    """{(repo, tag): (files layer or None, image config fields)}: what each image adds to the base."""
    images = {}

    def image(repo, tag, add=None, **config):
        layer = None
        if add:
            t = Tar()
            add(t)
            layer = t.bytes()
        images[(repo, tag)] = (layer, config)

    image(E2E + "busybox", "1.29-2", Cmd=["sh"])

    def nginx(port):
        def add(t):
            for d in ("etc/nginx", "etc/nginx/conf.d", "usr/share/nginx", "usr/share/nginx/html"):
                t.dir(d)
            t.file("usr/sbin/nginx", NGINX, 0o755)
            t.file("etc/nginx/conf.d/default.conf", "server {\n    listen       %d;\n    server_name  localhost;\n}\n" % port)
            t.file("usr/share/nginx/html/index.html", "<h1>Welcome to nginx (ocelot's stand-in)</h1>\n")
        return add

    image(E2E + "nginx", "1.14-2", nginx(80), Cmd=["nginx", "-g", "daemon off;"], StopSignal="SIGTERM")
    image(STAGING + "hostnet-nginx-amd64", "latest", nginx(12003), Cmd=["nginx", "-g", "daemon off;"])

    def httpd(t):
        for d in ("usr/local/apache2", "usr/local/apache2/htdocs"):
            t.dir(d)
        t.file("usr/local/bin/httpd-foreground", HTTPD, 0o755)
        t.file("usr/local/apache2/htdocs/index.html", "<html><body><h1>It works!</h1></body></html>\n")
    image(E2E + "httpd", "2.4.39-4", httpd, Cmd=["httpd-foreground"])

    nnp = compiled(work, "nnp.c")
    image(E2E + "nonewprivs", "1.3", lambda t: t.file("usr/local/bin/nnp", nnp, 0o4755), Cmd=["nnp"])

    for name, user in (("test-image-user-uid", "1002"), ("test-image-user-username", "www-data"),
                       ("test-image-user-uid-group", "1003:1004"), ("test-image-user-username-group", "www-data:1004")):
        image(STAGING + name, "latest", Cmd=["sh"], User=user)

    def predefined_group(t):
        t.file("etc/passwd", PASSWD + "default-user:x:1000:1000:Linux User,,,:/home/default-user:/bin/sh\n")
        t.file("etc/group", GROUP + "default-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n")
        t.dir("home/default-user")
    image(STAGING + "test-image-predefined-group", "latest", predefined_group, Cmd=["sh"], User="1000")

    # images/image-test: busybox with one file named after the image (so each has its own digest).
    tests = [("test-image-latest", "latest"), ("test-image-tag", "test"), ("test-image-tag", "all"),
             ("test-image-1", "latest"), ("test-image-2", "latest"), ("test-image-3", "latest"),
             ("test-image-tags", "1"), ("test-image-tags", "2"), ("test-image-tags", "3")]
    for name, tag in tests:
        marker = "%s-%s" % (name, tag)
        image(STAGING + name, tag, lambda t, m=marker: t.file(m, m + "\n"), Cmd=["sh"])
    # test-image-tag:test and :all are one image under two tags upstream; test-image-tags:1-3 too.
    images[(STAGING + "test-image-tag", "all")] = images[(STAGING + "test-image-tag", "test")]
    images[(STAGING + "test-image-tags", "2")] = images[(STAGING + "test-image-tags", "1")]
    images[(STAGING + "test-image-tags", "3")] = images[(STAGING + "test-image-tags", "1")]

    pause = compiled(work, "pause.c")
    image(PAUSE[0], PAUSE[1], lambda t: t.file("pause", pause, 0o755), Entrypoint=["/pause"])
    return images


class Store:
    def __init__(self, out):
        self.out = out
        self.refs = {}
        os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)

    def blob(self, data, media):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.out, "blobs", "sha256", digest), "wb") as f:
            f.write(data)
        return {"mediaType": media, "digest": "sha256:" + digest, "size": len(data)}

    def image(self, repo, tag, layers, fields):
        config = {"architecture": "amd64", "os": "linux", "config": dict({"Env": [PATH_ENV]}, **fields),
                  "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}}
        cd = self.blob(json.dumps(config, sort_keys=True).encode(), "application/vnd.oci.image.config.v1+json")
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": cd, "layers": layers}
        md = self.blob(json.dumps(manifest, sort_keys=True).encode(), "application/vnd.oci.image.manifest.v1+json")
        self.refs.setdefault(repo, {})[tag] = md["digest"]

    def save(self):
        with open(os.path.join(self.out, "refs.json"), "w") as f:
            json.dump(self.refs, f, indent=1, sort_keys=True)


def main():
    out, cache = sys.argv[1], sys.argv[2]
    store = Store(out)
    with tempfile.TemporaryDirectory() as work:
        base = store.blob(base_layer(cache, work), "application/vnd.oci.image.layer.v1.tar")
        for (repo, tag), (layer, fields) in extra_layers(work).items():
            layers = [base] + ([store.blob(layer, "application/vnd.oci.image.layer.v1.tar")] if layer else [])
            store.image(repo, tag, layers, fields)
    store.save()
    print("critest images: %d references in %s" % (sum(len(t) for t in store.refs.values()), out))


if __name__ == "__main__":
    main()
