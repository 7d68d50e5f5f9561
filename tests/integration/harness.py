"""Shared pieces of the integration tests: run the real ocelot binary as root on generated bundles.

Every test gets its own --root and temp dir; tearDown force-deletes what the test made and then
asserts that nothing is left: no state dir, no cgroup in any hierarchy, no mount under the test's
directories. A busybox rootfs (with the static probe) is built once per run and shared read-only.
"""
import json
import math
import os
import shutil
import subprocess
import tempfile
import time
import unittest

OCELOT = os.environ.get("OCELOT", "build/ocelot")
# Global flags put before every command, e.g. "--vm-template=off" (make vm-test runs the VM tier
# with and without templates).
EXTRA_ARGS = os.environ.get("OCELOT_EXTRA_ARGS", "").split()
# The tier run again with --systemd-cgroup (make host-test): tests of cgroupfs paths do not apply.
SYSTEMD_DRIVER = "--systemd-cgroup" in EXTRA_ARGS


def cgroupfs_driver_only(why):
    """Skips a test under --systemd-cgroup, saying why (tests/host/test_systemd.py has the systemd
    driver's own cases)."""
    return unittest.skipIf(SYSTEMD_DRIVER, "systemd cgroup driver: " + why)
PROBE = os.environ.get("OCELOT_PROBE", "build/ocelot-probe")
_shared = {}


def shared_rootfs():
    """A busybox rootfs with /bin/ocelot-probe, built once."""
    if "rootfs" not in _shared:
        d = tempfile.mkdtemp(prefix="ocelot-rootfs-")
        os.chmod(d, 0o755)  # a root mapped to another uid must reach it
        r = os.path.join(d, "rootfs")
        for sub in ["bin", "etc", "proc", "sys", "dev", "tmp", "root", "home/user"]:
            os.makedirs(os.path.join(r, sub), exist_ok=True)
        shutil.copy("/bin/busybox", os.path.join(r, "bin/busybox"))
        applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True, check=True).stdout.split()
        for a in applets:
            p = os.path.join(r, "bin", a)
            if not os.path.exists(p):
                os.link(os.path.join(r, "bin/busybox"), p)
        shutil.copy(PROBE, os.path.join(r, "bin/ocelot-probe"))
        with open(os.path.join(r, "etc/passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n")
        with open(os.path.join(r, "etc/group"), "w") as f:
            f.write("root:x:0:\nuser:x:1000:\n")
        os.chmod(os.path.join(r, "tmp"), 0o1777)
        _shared["dir"] = d
        _shared["rootfs"] = r
    return _shared["rootfs"]


def default_spec():
    if "spec" not in _shared:
        d = tempfile.mkdtemp(prefix="ocelot-spec-")
        subprocess.run([OCELOT, "spec", "--bundle", d], check=True)
        with open(os.path.join(d, "config.json")) as f:
            _shared["spec"] = json.load(f)
        shutil.rmtree(d)
    return json.loads(json.dumps(_shared["spec"]))


def cleanup_shared():
    if "dir" in _shared:
        shutil.rmtree(_shared["dir"], ignore_errors=True)


class Cgroup:
    """A process's cgroup on any host layout (v1, v2, hybrid; cgroupfs or under a systemd scope),
    found the way the kernel says: /proc/PID/cgroup for its paths, mountinfo for where each
    hierarchy is mounted. Values are read through layout-free names, so a test says what it checks
    ("memory.limit", "frozen"), not which file a layout keeps it in."""

    def __init__(self, pid):
        self.pid = pid
        self.v1 = {}      # controller -> (mount point, mount root)
        self.v2 = None    # (mount point, mount root)
        for line in open("/proc/self/mountinfo"):
            f = line.split()
            sep = f.index("-")
            fstype, opts = f[sep + 1], f[sep + 3].split(",")
            if fstype == "cgroup":
                for o in opts:
                    if o not in ("rw", "ro") and not o.startswith("release_agent") and o != "clone_children":
                        self.v1.setdefault(o, (f[4], f[3]))
            elif fstype == "cgroup2" and self.v2 is None:
                self.v2 = (f[4], f[3])
        self.paths = {}   # controller (or "" for the v2 line) -> path
        for line in open("/proc/%d/cgroup" % pid):
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            for c in (ctrls.split(",") if ctrls else [""]):
                self.paths[c] = path
        v2_ctrls = set()
        if self.v2:
            try:
                v2_ctrls = set(open(os.path.join(self.v2[0], "cgroup.controllers")).read().split())
            except OSError:
                pass
        self.v2_controllers = v2_ctrls

    def is_v2(self, controller):
        return controller not in self.v1 and self.v2 is not None

    def dir(self, controller):
        """The directory that holds `controller`'s files for this process."""
        if controller in self.v1:
            mount, root = self.v1[controller]
            path = self.paths[controller]
        else:
            mount, root = self.v2
            path = self.paths[""]
        rel = path[len(root):] if root != "/" and path.startswith(root) else path
        return os.path.join(mount, rel.lstrip("/"))

    def file(self, controller, name):
        with open(os.path.join(self.dir(controller), name)) as f:
            return f.read().strip()

    def value(self, key):
        """memory.limit, pids.max, cpu.quota, cpu.period, cpu.shares (v1 shares; on v2 the weight
        runc derives from them), frozen ("1"/"0"), as strings; an unlimited limit is "max"."""
        v2 = self.is_v2({"memory.limit": "memory", "pids.max": "pids", "cpu.quota": "cpu", "cpu.period": "cpu",
                         "cpu.shares": "cpu", "frozen": "freezer"}[key])
        if key == "memory.limit":
            v = self.file("memory", "memory.max" if v2 else "memory.limit_in_bytes")
            return "max" if v == "max" or int(v) >= 1 << 62 else v
        if key == "pids.max":
            return self.file("pids", "pids.max")
        if key in ("cpu.quota", "cpu.period"):
            if v2:
                quota, period = self.file("cpu", "cpu.max").split()
                return quota if key == "cpu.quota" else period
            v = self.file("cpu", "cpu.cfs_quota_us" if key == "cpu.quota" else "cpu.cfs_period_us")
            return "max" if v == "-1" else v
        if key == "cpu.shares":
            if v2:
                return self.file("cpu", "cpu.weight")
            return self.file("cpu", "cpu.shares")
        if key == "frozen":
            if v2:
                return self.file("", "cgroup.freeze")
            return "1" if self.file("freezer", "freezer.state") == "FROZEN" else "0"
        raise KeyError(key)


def v2_weight_of_shares(shares):
    """cpu.shares -> cpu.weight for cgroup v2 on the curve of runc >= 1.3 and crun >= 1.23 (2 -> 1,
    1024 -> 100, 262144 -> 10000; runc 1.1's straight line gave 512 -> 20 where they give 59)."""
    if shares <= 2:
        return "1"
    if shares >= 262144:
        return "10000"
    lg = math.log2(shares)
    return str(math.ceil(10 ** ((lg * lg + 125 * lg) / 612.0 - 7.0 / 34.0)))


def alive(pid):
    """Whether pid is a process that has not exited (a zombie has)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(") ", 1)[1][0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def wait_gone(pid, timeout=15):
    """Whether pid exited within timeout seconds."""
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def descendants(pid):
    """pid's living descendants, children first, from /proc's children lists."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for t in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, t)) as f:
                    kids = [int(k) for k in f.read().split()]
                out += kids
                todo += kids
        except OSError:
            pass
    return out


def run_bounded(cmd, timeout, input=None, **kw):
    """subprocess.run, except that a timeout kills the command's whole process tree (by pid):
    a hung runtime under runuser or a shell would otherwise outlive the test and spin on."""
    if input is not None:
        kw["stdin"] = subprocess.PIPE
    with subprocess.Popen(cmd, **kw) as proc:
        try:
            stdout, stderr = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            for d in [proc.pid] + descendants(proc.pid):
                try:
                    os.kill(d, 9)
                except OSError:
                    pass
            proc.wait()
            raise
        return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def hierarchy_mounts():
    """Every cgroup hierarchy's mount point, once each (v1 controllers, name=systemd, cgroup2):
    /sys/fs/cgroup alone on a pure v2 host."""
    seen = []
    for line in open("/proc/self/mountinfo"):
        f = line.split()
        if f[f.index("-") + 1] in ("cgroup", "cgroup2") and f[4] not in seen:
            seen.append(f[4])
    return seen


def cgroup_dirs_named(name):
    """Every directory called `name` (or a systemd scope named after it) under any cgroup
    hierarchy's ocelot/ parent or system.slice."""
    found = []
    bases = ["/sys/fs/cgroup"] + [os.path.join("/sys/fs/cgroup", d) for d in os.listdir("/sys/fs/cgroup")
                                   if os.path.isdir(os.path.join("/sys/fs/cgroup", d))]
    for base in bases:
        for p in (os.path.join(base, "ocelot", name), os.path.join(base, "system.slice", "ocelot-%s.scope" % name)):
            if os.path.isdir(p):
                found.append(p)
    return found


def receive_console_fd(path, result, timeout=10):
    """A --console-socket server: accepts one connection and stores the fds of its one
    SCM_RIGHTS message in result["fds"] (and the message in result["name"])."""
    import socket
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(timeout)
    try:
        conn, _ = srv.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 4096, 1)
        result["name"] = msg
        result["fds"] = fds
        conn.close()
    finally:
        srv.close()


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [l for l in f if path in l.split()[4]]


def probe_report(text):
    """'key: value' lines -> {key: [values]}"""
    out = {}
    for line in text.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out.setdefault(k, []).append(v.strip())
    return out


class OcelotTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ocelot-it-")
        os.chmod(self.tmp, 0o755)
        self.root = os.path.join(self.tmp, "root")
        self.ids = []
        self.rootfs = shared_rootfs()

    def tearDown(self):
        for cid in self.ids:
            self.ocelot("delete", "--force", cid, check=False)
        # The warmed VM guests a VM container's create started behind it (vm/pool/pool.h): the
        # root's pool is left empty; a spare a container still holds stays, and is a leftover.
        if os.path.isdir(os.path.join(self.root, "@vm-pool")):
            self.ocelot("vm-pool", "stop", check=False)
        leftovers = []
        if os.path.isdir(self.root):
            leftovers += [os.path.join(self.root, e) for e in os.listdir(self.root)]
        for cid in self.ids:
            leftovers += cgroup_dirs_named(cid)
        leftovers += mounts_under(self.tmp)
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.assertEqual(leftovers, [], "left behind after the test")

    # -- helpers ---------------------------------------------------------------------------------
    def binary_for_users(self):
        """A copy of ocelot that any user can run: the build dir may sit in a 0700 directory
        (CI clones into mktemp -d)."""
        path = os.path.join(self.tmp, "ocelot-for-users")
        if not os.path.exists(path):
            shutil.copy(OCELOT, path)
            os.chmod(path, 0o755)
        return path

    def ocelot(self, *args, check=True, input=None, timeout=60, root=None, env=None, pass_fds=(), binary=None):
        """Runs ocelot; output goes through files, not pipes: a detached container keeps our
        stdio open (as with runc), and a pipe would never reach EOF."""
        cmd = [binary or OCELOT, "--root", root or self.root] + EXTRA_ARGS + list(args)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            p = run_bounded(cmd, timeout, stdout=out, stderr=err, input=input.encode() if input else None,
                            stdin=None if input else subprocess.DEVNULL, env=env, pass_fds=pass_fds)
            out.seek(0)
            err.seek(0)
            p.stdout = out.read().decode(errors="replace")
            p.stderr = err.read().decode(errors="replace")
        if check and p.returncode != 0:
            self.fail("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
        return p

    def config(self, args, **top):
        c = default_spec()
        c["process"]["terminal"] = False
        c["process"]["args"] = list(args)
        c["root"] = {"path": self.rootfs, "readonly": True}
        c.update(top)
        return c

    def bundle(self, config, name="bundle"):
        d = os.path.join(self.tmp, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(config, f)
        return d

    def new_id(self, prefix="t"):
        cid = "%s-%d-%d" % (prefix, os.getpid(), len(self.ids) + int(time.monotonic_ns() % 100000))
        self.ids.append(cid)
        return cid

    def run_config(self, config, check=True, **kw):
        cid = self.new_id()
        b = self.bundle(config, "bundle-" + cid)
        return self.ocelot("run", "--bundle", b, cid, check=check, **kw)

    def probe(self, config_mods=None, args=("report",), **kw):
        c = self.config(["/bin/ocelot-probe"] + list(args))
        if config_mods:
            config_mods(c)
        p = self.run_config(c, **kw)
        return probe_report(p.stdout), p

    def assert_nothing_left(self, cid, before_mounts):
        """No state dir, cgroup in any hierarchy, mount, or process naming the container."""
        self.assertFalse(os.path.exists(os.path.join(self.root, cid)))
        self.assertEqual(cgroup_dirs_named(cid), [])
        with open("/proc/self/mountinfo") as f:
            self.assertEqual(len(f.readlines()), before_mounts)
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        self.assertNotIn(cid, ps)

    def check_fails(self, config, expect, bundle_name="bundle", command="create"):
        """create (or run) refuses config with exactly one line containing expect; nothing is left."""
        before = len(open("/proc/self/mountinfo").readlines())
        cid = self.new_id()
        p = self.ocelot(command, "--bundle", self.bundle(config, bundle_name + "-" + cid), cid, check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(expect, p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assert_nothing_left(cid, before)
        return p

    def state(self, cid):
        return json.loads(self.ocelot("state", cid).stdout)

    def wait_for(self, cond, what, timeout=5.0):
        """Polls cond until it is true; fails naming what never happened."""
        end = time.time() + timeout
        while time.time() < end:
            if cond():
                return
            time.sleep(0.02)
        self.fail("timed out after %g s waiting for %s" % (timeout, what))

    def wait_status(self, cid, status, timeout=5.0):
        end = time.time() + timeout
        while time.time() < end:
            p = self.ocelot("state", cid, check=False)
            if p.returncode == 0 and json.loads(p.stdout)["status"] == status:
                return
            time.sleep(0.02)
        self.fail("container %s never reached %s (is %s)" % (cid, status, self.state(cid)["status"]))
