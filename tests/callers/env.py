"""The callers' world, private to one test run: containerd and dockerd on their own sockets,
roots and state dirs, podman with its own storage, and a busybox image built from a local rootfs
(no registry is reachable). Daemons are stopped by the pids this module started them with, also
when a test fails; shims are found through the pid files containerd wrote in our state dir."""
import glob
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
IMAGE = "docker.io/library/busybox:local"
DEBIAN = "docker.io/library/debian:ocelot-test"  # tests/callers/debian_image.py
DOCKER = "/usr/bin/docker"  # Debian's client (another docker may come first in PATH)


def sh(cmd, check=True, timeout=120, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    return p


def wait_for(path, proc, seconds, what):
    end = time.time() + seconds
    while time.time() < end:
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %s before its socket appeared" % (what, proc.returncode))
        time.sleep(0.05)
    raise RuntimeError("%s did not create %s in %d s" % (what, path, seconds))


def criu_path(world_dir):
    """PATH with the CRIU the checkpoint tier found or built (OCELOT_CRIU) first (a link in the
    world's directory), or PATH as it is: a runtime that a caller runs finds criu on PATH, as runc
    does, and podman asks it for its version."""
    path = os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    criu = os.environ.get("OCELOT_CRIU", "")
    if not criu:
        return path
    bindir = os.path.join(world_dir, "criu-bin")
    os.makedirs(bindir, exist_ok=True)
    if not os.path.lexists(bindir + "/criu"):
        os.symlink(criu, bindir + "/criu")
    return bindir + ":" + path


class World:
    def __init__(self, runtime, probe, tag, systemd=False, real_image=True):
        self.runtime = runtime  # the OCI runtime under test (ocelot, or runc to show fairness)
        self.name = tag         # "ocelot" or "runc": the runtime's name for podman and docker
        self.dir = tempfile.mkdtemp(prefix="oc-callers-")
        self.procs = []
        self.probe = probe
        # systemd: each caller's systemd cgroup manager (a systemd host: make host-test)
        self.systemd = systemd
        self.real_image = real_image

    # -- setup --------------------------------------------------------------------------------
    def start(self):
        d = self.dir
        sh(["python3", os.path.join(HERE, "make_image.py"), os.path.join(d, "img"), self.probe])
        if self.real_image:
            sh(["python3", os.path.join(HERE, "debian_image.py"), os.path.join(d, "img")], timeout=900)
        self.start_containerd()
        self.start_dockerd()
        self.setup_podman()
        return self

    def start_containerd(self):
        d = self.dir
        self.cd_sock = os.path.join(d, "cd.sock")
        # The example's runtime handler, with this build's path, merged into a private config.
        example = open(os.path.join(REPO, "examples", "kubernetes", "containerd.toml")).read()
        example = example.replace("/usr/local/bin/ocelot", self.runtime).replace("version = 2\n", "")
        cfg = os.path.join(d, "containerd.toml")
        with open(cfg, "w") as f:
            f.write('version = 2\nroot = "%s/cd-root"\nstate = "%s/cd-state"\n[grpc]\n  address = "%s"\n'
                    '[ttrpc]\n  address = "%s.ttrpc"\n%s' % (d, d, self.cd_sock, self.cd_sock, example))
        self.cd_config = cfg
        log = open(os.path.join(d, "containerd.log"), "w")
        p = subprocess.Popen(["containerd", "--config", cfg], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                             env=dict(os.environ, PATH=criu_path(d)))
        self.procs.append(("containerd", p))
        wait_for(self.cd_sock, p, 30, "containerd")
        sh(self.ctr("images", "import", os.path.join(d, "img", "busybox-oci.tar")))
        if self.real_image:
            sh(self.ctr("images", "import", os.path.join(d, "img", "debian-oci.tar")), timeout=300)

    def start_dockerd(self):
        d = self.dir
        conf = json.load(open(os.path.join(REPO, "examples", "docker", "daemon.json")))
        conf["runtimes"] = {"ocelot": {"path": self.runtime}}
        if self.systemd:
            conf["exec-opts"] = ["native.cgroupdriver=systemd"]
        conf.update({"iptables": False, "bridge": "none",
                     "default-ulimits": {"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 1024},
                                         "nproc": {"Name": "nproc", "Soft": 4096, "Hard": 4096}}})
        with open(os.path.join(d, "daemon.json"), "w") as f:
            json.dump(conf, f)
        self.docker_sock = os.path.join(d, "docker.sock")
        log = open(os.path.join(d, "dockerd.log"), "w")
        p = subprocess.Popen(["dockerd", "--config-file", os.path.join(d, "daemon.json"), "--data-root", d + "/docker",
                              "--exec-root", d + "/dexec", "--host", "unix://" + self.docker_sock, "--pidfile", d + "/docker.pid",
                              "--containerd", self.cd_sock, "--containerd-namespace", "moby-test"],
                             stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        self.procs.append(("dockerd", p))
        wait_for(self.docker_sock, p, 60, "dockerd")
        for _ in range(100):
            if sh(self.docker("info"), check=False).returncode == 0:
                break
            time.sleep(0.1)
        sh(self.docker("import", "-c", 'CMD ["sh"]', "-c", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                       os.path.join(d, "img", "rootfs.tar"), "busybox:local"))
        if self.real_image:
            sh(self.docker("import", "-c", 'CMD ["bash"]', "-c", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                           os.path.join(d, "img", "debian-rootfs.tar"), DEBIAN), timeout=300)

    def setup_podman(self):
        d = self.dir
        text = open(os.path.join(REPO, "examples", "podman", "containers.conf")).read()
        text = text.replace("/usr/local/bin/ocelot", self.runtime).replace('runtime = "ocelot"', 'runtime = "%s"' % self.name)
        if self.name != "ocelot":
            text = text.replace("ocelot = [", "%s = [" % self.name, 1)
        # On a systemd host its cgroup manager (machine.slice:libpod:ID), else cgroupfs; no journal,
        # no network stack for containers.
        manager = "systemd" if self.systemd else "cgroupfs"
        text = text.replace("[engine]\n", '[engine]\ncgroup_manager = "%s"\nevents_logger = "file"\n' % manager)
        with open(os.path.join(d, "containers.conf"), "w") as f:
            f.write(text)
        self.podman_env = dict(os.environ, CONTAINERS_CONF=os.path.join(d, "containers.conf"))
        sh(self.podman("load", "-q", "-i", os.path.join(d, "img", "busybox-oci.tar")), env=self.podman_env)
        if self.real_image:
            sh(self.podman("load", "-q", "-i", os.path.join(d, "img", "debian-oci.tar")), env=self.podman_env, timeout=300)

    # -- the three callers ------------------------------------------------------------------------
    def podman(self, *args):
        d = self.dir
        return ["podman", "--root", d + "/pm-storage", "--runroot", d + "/pm-run", "--tmpdir", d + "/pm-tmp"] + list(args)

    def ctr(self, *args):
        return ["ctr", "--address", self.cd_sock] + list(args)

    def ctr_runtime(self, name):
        """ctr run's flags for the runtime under test (and, on a systemd host, its systemd cgroup
        manager with a unit for the task)."""
        flags = ["--runc-binary", self.runtime]
        if self.systemd:
            flags += ["--runc-systemd-cgroup", "--cgroup", "system.slice:ocelot-ctr:%s" % name]
        return flags

    def docker(self, *args):
        return [DOCKER, "-H", "unix://" + self.docker_sock] + list(args)

    # -- teardown -----------------------------------------------------------------------------------
    def stop(self):
        d = self.dir
        try:
            sh(self.docker("ps", "-aq"), check=False)
            ids = sh(self.docker("ps", "-aq"), check=False).stdout.split()
            if ids:
                sh(self.docker("rm", "-f", *ids), check=False)
            sh(self.podman("rm", "-af", "-t", "0"), check=False, env=self.podman_env)
            for ns in ("default", "moby-test"):
                for t in sh(self.ctr("-n", ns, "tasks", "ls", "-q"), check=False).stdout.split():
                    sh(self.ctr("-n", ns, "tasks", "kill", "-s", "KILL", t), check=False)
                    time.sleep(0.2)
                    sh(self.ctr("-n", ns, "tasks", "delete", "-f", t), check=False)
                for c in sh(self.ctr("-n", ns, "containers", "ls", "-q"), check=False).stdout.split():
                    sh(self.ctr("-n", ns, "containers", "rm", c), check=False)
        except Exception:  # noqa: BLE001 - teardown goes on regardless
            pass
        # Our daemons, by the pids we started them with, newest first.
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        # Shims we caused: containerd wrote their pids under our state dir.
        for f in glob.glob(d + "/cd-state/**/shim.pid", recursive=True):
            try:
                os.kill(int(open(f).read()), signal.SIGKILL)
            except (ValueError, ProcessLookupError):
                pass
        with open("/proc/self/mountinfo") as f:
            mounts = sorted((l.split()[4] for l in f if d in l.split()[4]), key=len, reverse=True)
        for m in mounts:
            subprocess.run(["umount", "-l", m], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)
