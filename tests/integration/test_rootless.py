"""Rootless: ocelot run by an unprivileged user (nobody, and a user with /etc/subuid ranges) on a
bundle from `ocelot spec --rootless`. This host has hybrid cgroups, where an unprivileged user
cannot create cgroups: the container stays in the caller's cgroup with a warning, and a config
that asks for limits is refused. Nothing may be left behind: state, processes, mounts."""
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time

import harness
from harness import OcelotTest, run_bounded

NOBODY = pwd.getpwnam("nobody")


def as_user(user, cmd, timeout=60, input=None):
    """Output through files: a detached container keeps a pipe open forever."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = run_bounded(["runuser", "-u", user, "--"] + cmd, timeout, stdout=out, stderr=err, cwd="/",
                        input=input.encode() if input else None, stdin=None if input else subprocess.DEVNULL)
        out.seek(0)
        err.seek(0)
        p.stdout, p.stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    return p


class Rootless(OcelotTest):
    def setUp(self):
        super().setUp()
        self.user = "nobody"
        self.uid = NOBODY.pw_uid
        # The unprivileged user's own dirs: its bundles and its state root.
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(self.home)
        os.chown(self.home, self.uid, NOBODY.pw_gid)
        self.state = os.path.join(self.home, "state")

    def tearDown(self):
        for cid in self.ids:
            self.rl("delete", "--force", cid)
        left = os.listdir(self.state) if os.path.isdir(self.state) else []
        self.assertEqual(left, [], "rootless state left behind")
        self.ids = []
        super().tearDown()

    def rl(self, *args, input=None, timeout=60):
        return as_user(self.user, [self.binary_for_users(), "--root", self.state] + list(args),
                       timeout=timeout, input=input)

    def rootless_bundle(self, args, name="b", **mods):
        """`ocelot spec --rootless` run as the user, with the shared rootfs and args."""
        d = os.path.join(self.home, name)
        os.makedirs(d)
        os.chown(d, self.uid, -1)
        p = as_user(self.user, [self.binary_for_users(), "spec", "--rootless", "--bundle", d])
        self.assertEqual(p.returncode, 0, p.stderr)
        path = os.path.join(d, "config.json")
        with open(path) as f:
            c = json.load(f)
        c["root"] = {"path": self.rootfs, "readonly": True}
        c["process"]["terminal"] = False
        c["process"]["args"] = list(args)
        for k, v in mods.items():
            c["linux"][k] = v
        with open(path, "w") as f:
            json.dump(c, f)
        return d, c

    def host_processes_of(self, uid):
        """Live processes of uid (a zombie waits for the host's init to reap it: not ours)."""
        out = []
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    if os.stat("/proc/" + p).st_uid != uid:
                        continue
                    with open("/proc/%s/stat" % p) as f:
                        if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                            out.append(int(p))
                except (FileNotFoundError, ProcessLookupError, IndexError):
                    pass
        return out

    def test_run_is_root_inside_and_the_user_outside(self):
        d, c = self.rootless_bundle(["sh", "-c", "id -u; cat /proc/self/uid_map; echo $$"])
        self.assertEqual(c["linux"]["uidMappings"], [{"containerID": 0, "hostID": self.uid, "size": 1}])
        self.assertNotIn("network", [n["type"] for n in c["linux"]["namespaces"]])
        p = self.rl("run", "--bundle", d, self.new_id())
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.split()
        self.assertEqual(lines[0], "0")  # root inside
        self.assertEqual(lines[1:4], ["0", str(self.uid), "1"])  # the user outside
        self.assertEqual(lines[4], "1")  # pid 1 of its own pid namespace
        # Hybrid host: no cgroup of its own, said once.
        self.assertIn("has no cgroup of its own", p.stderr)
        self.assertEqual(os.listdir(self.state), [])

    def test_lifecycle_create_start_exec_ps_kill_delete(self):
        before = set(self.host_processes_of(self.uid))
        d, _ = self.rootless_bundle(["sleep", "100"])
        cid = self.new_id()
        self.assertEqual(self.rl("create", "--bundle", d, cid).returncode, 0)
        self.assertEqual(self.rl("start", cid).returncode, 0)
        st = json.loads(self.rl("state", cid).stdout)
        self.assertEqual(st["status"], "running")
        self.assertEqual(os.stat("/proc/%d" % st["pid"]).st_uid, self.uid)
        p = self.rl("exec", cid, "sh", "-c", "id -u; cat /proc/self/uid_map")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.split()[:4], ["0", "0", str(self.uid), "1"])
        self.assertEqual(self.rl("exec", "-d", cid, "sleep", "50").returncode, 0)
        ps = self.rl("ps", "--format", "json", cid)
        self.assertEqual(ps.returncode, 0, ps.stderr)
        self.assertEqual(len(json.loads(ps.stdout)), 2)  # the init and the exec'd sleep
        # What needs a cgroup says so.
        for args in (["pause", cid], ["update", "--pids-limit", "5", cid], ["events", "--stats", cid]):
            p = self.rl(*args)
            self.assertNotEqual(p.returncode, 0, args)
            self.assertIn("has no cgroup of its own", p.stderr)
        self.assertEqual(self.rl("kill", "--all", cid, "KILL").returncode, 0)
        for _ in range(100):
            if json.loads(self.rl("state", cid).stdout)["status"] == "stopped":
                break
            time.sleep(0.05)
        self.assertEqual(self.rl("delete", cid).returncode, 0)
        self.assertEqual(os.listdir(self.state), [])
        left = set(self.host_processes_of(self.uid)) - before
        self.assertEqual(left, set(), [open("/proc/%d/stat" % p).read() for p in left if os.path.exists("/proc/%d" % p)])

    def test_limits_without_a_cgroup_are_refused_and_nothing_is_left(self):
        d, _ = self.rootless_bundle(["true"], resources={"pids": {"limit": 10}})
        p = self.rl("run", "--bundle", d, self.new_id())
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("rootless: cannot apply linux.resources", p.stderr)
        self.assertEqual(p.stderr.count("\n"), 1, p.stderr)
        self.assertEqual(os.listdir(self.state), [])

    def test_root_can_force_rootless_and_false_is_refused_for_a_user(self):
        d, _ = self.rootless_bundle(["true"])
        p = self.rl("--rootless", "sometimes", "run", "--bundle", d, self.new_id())
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--rootless", p.stderr)
        # Forced off as a user: ocelot tries what needs root, and fails with the reason.
        p = self.rl("--rootless", "false", "run", "--bundle", d, self.new_id())
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("permission denied", p.stderr)
        self.assertEqual(os.listdir(self.state), [])

    def test_subuid_range_through_newuidmap(self):
        # A user with /etc/subuid and /etc/subgid ranges: the config maps 65536 ids, which only
        # newuidmap/newgidmap may write for an unprivileged user.
        user = "ocelot-rl-test"
        subprocess.run(["userdel", user], capture_output=True)
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user], check=True)
        try:
            subprocess.run(["usermod", "--add-subuids", "300000-365535", "--add-subgids", "300000-365535", user],
                           check=True, capture_output=True)
            pw = pwd.getpwnam(user)
            self.user, self.uid = user, pw.pw_uid
            os.chown(self.home, pw.pw_uid, pw.pw_gid)
            maps = [{"containerID": 0, "hostID": pw.pw_uid, "size": 1},
                    {"containerID": 1, "hostID": 300000, "size": 65536}]
            gmaps = [{"containerID": 0, "hostID": pw.pw_gid, "size": 1},
                     {"containerID": 1, "hostID": 300000, "size": 65536}]
            d, _ = self.rootless_bundle(["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map;"
                                         " touch /tmp/x && chown 1000:1000 /tmp/x && stat -c %u:%g /tmp/x"],
                                        uidMappings=maps, gidMappings=gmaps)
            with open(os.path.join(d, "config.json")) as f:
                c = json.load(f)
            for s in ("bounding", "effective", "permitted"):
                c["process"]["capabilities"][s].append("CAP_CHOWN")
            c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["mode=1777"]})
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump(c, f)
            p = self.rl("run", "--bundle", d, self.new_id())
            self.assertEqual(p.returncode, 0, p.stderr)
            words = p.stdout.split()
            self.assertEqual(words[:6], ["0", str(pw.pw_uid), "1", "1", "300000", "65536"])
            self.assertEqual(words[-1], "1000:1000")  # an id beyond the user's own, inside
            # Without the ranges newuidmap refuses, and the error says who.
            subprocess.run(["usermod", "--del-subuids", "300000-365535", user], check=True, capture_output=True)
            p = self.rl("run", "--bundle", d, self.new_id())
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("newuidmap failed", p.stderr)
            self.assertEqual(os.listdir(self.state), [])
        finally:
            subprocess.run(["userdel", user], capture_output=True)
            for f in ("/etc/subuid", "/etc/subgid"):
                if os.path.exists(f):
                    with open(f) as fh:
                        lines = [l for l in fh if not l.startswith(user + ":")]
                    with open(f, "w") as fh:
                        fh.writelines(lines)
