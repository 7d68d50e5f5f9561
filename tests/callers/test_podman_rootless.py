"""Rootless podman driving the runtime under test: an unprivileged user with /etc/subuid and
/etc/subgid ranges runs `podman --runtime <runtime>`. podman puts itself in a user namespace it
made (root there, mapped to the user and its ranges) and calls the runtime from inside it: the
runtime must see that it is rootless (no cgroups on this hybrid host), keep its state in
$XDG_RUNTIME_DIR, and bind devices instead of mknod. The user, its ranges, its processes (podman
leaves a pause process holding its namespace) and its files are removed at the end."""
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import base
from base import CallerTest, run

IMAGE = "docker.io/library/busybox:local"
USER = "ocelot-pm-rl"
RANGE = "500000-565535"


def user_processes(uid):
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if os.stat("/proc/" + p).st_uid == uid:
                    out.append(int(p))
            except FileNotFoundError:
                pass
    return out


class PodmanRootless(CallerTest):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="oc-pm-rootless-")
        os.chmod(cls.dir, 0o755)
        subprocess.run(["userdel", USER], capture_output=True)
        subprocess.run(["useradd", "--system", "-M", "-d", cls.dir, "-s", "/usr/sbin/nologin", USER], check=True)
        subprocess.run(["usermod", "--add-subuids", RANGE, "--add-subgids", RANGE, USER], check=True)
        pw = pwd.getpwnam(USER)
        cls.uid = pw.pw_uid
        cls.xdg = os.path.join(cls.dir, "xdg")
        os.makedirs(cls.xdg, mode=0o700)
        for d in (cls.dir, cls.xdg):
            os.chown(d, pw.pw_uid, pw.pw_gid)
        # The runtime and the image, where the user can read them.
        w = base.WORLD
        cls.runtime = os.path.join(cls.dir, os.path.basename(w.runtime))
        shutil.copy(w.runtime, cls.runtime)
        tar = os.path.join(cls.dir, "busybox-oci.tar")
        shutil.copy(os.path.join(w.dir, "img", "busybox-oci.tar"), tar)
        os.chmod(tar, 0o644)
        p = cls.pm_static("load", "-q", "-i", tar)
        if p.returncode != 0:
            raise RuntimeError("rootless podman load: " + p.stderr)

    @classmethod
    def tearDownClass(cls):
        cls.pm_static("rm", "-af", "-t", "0")
        # podman's pause process (and anything else of this user): it exists only for this test.
        for _ in range(2):
            for p in user_processes(cls.uid):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)
        subprocess.run(["userdel", USER], capture_output=True)
        for f in ("/etc/subuid", "/etc/subgid"):
            if os.path.exists(f):
                with open(f) as fh:
                    lines = [l for l in fh if not l.startswith(USER + ":")]
                with open(f, "w") as fh:
                    fh.writelines(lines)
        with open("/proc/self/mountinfo") as f:
            mounts = sorted((l.split()[4] for l in f if cls.dir in l.split()[4]), key=len, reverse=True)
        for m in mounts:
            subprocess.run(["umount", "-l", m], capture_output=True)
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def pm_static(cls, *args, timeout=120):
        cmd = ["runuser", "-u", USER, "--", "env", "HOME=" + cls.dir, "XDG_RUNTIME_DIR=" + cls.xdg,
               "podman", "--root", cls.dir + "/storage", "--runroot", cls.dir + "/run", "--storage-driver", "vfs",
               "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--runtime", cls.runtime] + list(args)
        # cwd: podman changes into it as the user, and a CI clone is 0700 root.
        return run(cmd, timeout=timeout, cwd=cls.dir)

    def pm(self, *args):
        return self.pm_static(*args)

    def test_run_exec_stop_rm(self):
        limits = ["--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]
        p = self.ok(self.pm("run", "--rm", *limits, IMAGE, "sh", "-c", "id -u; cat /proc/self/uid_map"))
        words = p.stdout.split()
        self.assertEqual(words[0], "0")
        self.assertIn(str(self.uid), words)  # root inside is the user outside
        self.assertEqual(self.pm("run", "--rm", *limits, IMAGE, "/nonexistent").returncode, 127)
        self.ok(self.pm("run", "-d", "--name", "rl", *limits, IMAGE, "sleep", "1000"))
        self.assertEqual(self.ok(self.pm("exec", "rl", "sh", "-c", "echo hi")).stdout, "hi\n")
        self.assertIn("Seccomp:\t2", self.ok(self.pm("exec", "rl", "cat", "/proc/self/status")).stdout)
        # The state is the runtime's, under the user's XDG_RUNTIME_DIR.
        cid = self.ok(self.pm("inspect", "-f", "{{.Id}}", "rl")).stdout.strip()
        self.ran_under_runtime(cid, [self.xdg + "/" + self.w.name, self.xdg + "/runc", self.dir + "/run/runtime"])
        self.ok(self.pm("stop", "-t", "1", "rl"))
        self.ok(self.pm("rm", "rl"))


if __name__ == "__main__":
    unittest.main()
