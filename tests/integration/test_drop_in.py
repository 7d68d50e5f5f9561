"""What real images and their callers expect of a low-level runtime, as runc does it (issue 22):
stdio and the terminal handed to a non-root user, `lo` up in a network namespace the runtime
makes, podman's device modes, HOME, a missing working directory, a tmpfs keeping the mode of
what it covers, runc's /sys/fs/cgroup. Without a caller: each case is what podman, docker, ctr
or the CRI turn into a config (tests/callers/test_real_image.py runs them through the callers).

The same tests run with runc in ocelot's place:
    python3 tests/integration/run.py --ocelot /usr/sbin/runc -k DropIn"""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import unittest

from harness import OcelotTest, receive_console_fd


class DropIn(OcelotTest):
    def as_user(self, c, uid=1000, gid=1000):
        c["process"]["user"] = {"uid": uid, "gid": gid}
        return c

    def run_piped(self, c):
        """run with stdout and stderr as pipes (what conmon, the shim and dockerd pass)."""
        cid = self.new_id()
        b = self.bundle(c, "b-" + cid)
        p = subprocess.run([os.environ["OCELOT"], "--root", self.root, "run", "--bundle", b, cid],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        return p

    # -- 1. stdio and terminal belong to the process user -------------------------------------
    def test_a_non_root_user_can_reopen_its_stdout_and_stderr_pipes(self):
        c = self.as_user(self.config(["sh", "-c", "echo out > /dev/stdout && echo err > /dev/stderr"]))
        p = self.run_piped(c)
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "out\n", "err\n"))

    def test_a_non_root_user_can_write_to_its_terminal(self):
        c = self.as_user(self.config(["sh", "-c", 'echo hello > "$(tty)"; stat -c "%u" "$(tty)"; sleep 5']))
        c["process"]["terminal"] = True
        sock = os.path.join(self.tmp, "console.sock")
        got = {}
        t = threading.Thread(target=receive_console_fd, args=(sock, got))
        t.start()
        cid = self.new_id()
        self.ocelot("create", "--console-socket", sock, "--bundle", self.bundle(c), cid)
        t.join()
        self.ocelot("start", cid)
        master = got["fds"][0]
        out = b""
        while b"1000" not in out:
            chunk = os.read(master, 4096)
            if not chunk:
                break
            out += chunk
        os.close(master)
        self.assertIn(b"hello", out)
        self.assertNotIn(b"can't create", out)
        self.assertIn(b"1000", out)

    # -- 2. lo up in a network namespace the runtime makes -----------------------------------
    def test_loopback_is_up_and_serves_in_a_new_network_namespace(self):
        c = self.config(["sh", "-c", "cat /sys/class/net/lo/flags; "
                                     "(nc -l -p 8080 -e echo served &) ; sleep 0.3; nc 127.0.0.1 8080"])
        p = self.run_config(c)
        self.assertEqual(p.stdout, "0x9\nserved\n")

    def test_a_joined_network_namespace_is_left_as_it_is(self):
        ns = "ocelot-dropin-%d" % os.getpid()
        subprocess.run(["ip", "netns", "add", ns], check=True)
        try:
            c = self.config(["cat", "/sys/class/net/lo/flags"])
            for n in c["linux"]["namespaces"]:
                if n["type"] == "network":
                    n["path"] = "/run/netns/" + ns
            self.assertEqual(self.run_config(c).stdout, "0x8\n")  # ip netns add leaves it down
        finally:
            subprocess.run(["ip", "netns", "delete", ns], check=True)

    # -- 3. podman's device entries ------------------------------------------------------------
    def test_a_device_mode_with_its_file_type_is_accepted(self):
        c = self.config(["stat", "-c", "%F %t:%T %a", "/dev/mynull"])
        c["linux"]["devices"] = [{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 8630,
                                  "uid": 0, "gid": 0}]
        self.assertEqual(self.run_config(c).stdout, "character special file 1:3 666\n")
        c["linux"]["devices"][0]["fileMode"] = 0o60666  # a block device's type on a "c" entry
        if "runc" not in os.environ["OCELOT"]:
            self.check_fails(c, "linux.devices[0].fileMode: the file type bits")

    # -- 4. HOME ---------------------------------------------------------------------------------
    def test_home_comes_from_the_images_passwd(self):
        for uid, home in ((1000, "/home/user"), (0, "/root"), (4242, "/")):
            c = self.as_user(self.config(["sh", "-c", 'echo "$HOME"']), uid, uid)
            c["process"]["env"] = ["PATH=/bin"]
            self.assertEqual(self.run_config(c).stdout, home + "\n", uid)
        c = self.config(["sh", "-c", 'echo "$HOME"'])
        c["process"]["env"] = ["PATH=/bin", "HOME=/given"]
        self.assertEqual(self.run_config(c).stdout, "/given\n")

    def test_exec_gets_home_too(self):
        c = self.config(["sleep", "30"])
        c["process"]["env"] = ["PATH=/bin"]
        cid = self.new_id()
        self.ocelot("run", "-d", "--bundle", self.bundle(c), cid)
        self.assertEqual(self.ocelot("exec", "--user", "1000:1000", cid, "sh", "-c", 'echo "$HOME"').stdout,
                         "/home/user\n")
        self.assertEqual(self.ocelot("exec", cid, "sh", "-c", 'echo "$HOME"').stdout, "/root\n")

    # -- 5. a missing working directory ------------------------------------------------------
    def test_a_missing_cwd_is_created_for_the_container_process(self):
        c = self.config(["sh", "-c", "pwd; stat -c %a /work/a/b"])
        c["mounts"].append({"destination": "/work", "type": "tmpfs", "source": "tmpfs", "options": []})
        c["process"]["cwd"] = "/work/a/b"
        self.assertEqual(self.run_config(c).stdout, "/work/a/b\n755\n")

    def test_exec_does_not_create_its_cwd(self):
        cid = self.new_id()
        self.ocelot("run", "-d", "--bundle", self.bundle(self.config(["sleep", "30"])), cid)
        p = self.ocelot("exec", "--cwd", "/does/not/exist", cid, "true", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("/does/not/exist", p.stderr)

    # -- 6. a tmpfs keeps the mode of the directory it covers ----------------------------------
    def test_a_tmpfs_takes_the_covered_directorys_mode(self):
        c = self.config(["/bb/busybox", "stat", "-c", "%n %a", "/etc", "/bin", "/tmp", "/new", "/root"])
        # /bin gets covered by an empty tmpfs: busybox stays reachable at /bb (bound first, while
        # the host path still shows it).
        c["mounts"].append({"destination": "/bb", "type": "bind", "source": os.path.join(self.rootfs, "bin"),
                            "options": ["rbind", "ro"]})
        for dest, opts in (("/etc", ["tmpcopyup"]), ("/bin", []), ("/tmp", []), ("/new", []),
                           ("/root", ["mode=711"])):
            c["mounts"].append({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": opts})
        # mode= wins over the covered directory's (runc#3911, fixed in runc 1.1.8; Debian's 1.1.5
        # still chmods it back to 755).
        root_mode = "755" if "runc" in os.environ["OCELOT"] else "711"
        want = "/etc 755\n/bin 755\n/tmp 1777\n/new 1777\n/root %s\n" % root_mode
        self.assertEqual(self.run_config(c).stdout, want)

    # -- runc's /sys/fs/cgroup on a v1 or hybrid host ------------------------------------------
    def test_sys_fs_cgroup_looks_as_under_runc(self):
        if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            self.skipTest("a pure cgroup v2 host: /sys/fs/cgroup is one cgroup2 mount")
        mounts = self.run_config(self.config(["cat", "/proc/self/mountinfo"])).stdout.splitlines()
        top = [m.split() for m in mounts if m.split()[4] == "/sys/fs/cgroup"]
        self.assertEqual(len(top), 1)
        self.assertTrue(top[0][5].startswith("rw,"), top[0])  # the tmpfs: writable, as runc leaves it
        self.assertEqual([m for m in mounts if m.split()[4] == "/sys/fs/cgroup/unified"], [])
        hier = [m.split() for m in mounts if m.split()[4].startswith("/sys/fs/cgroup/")]
        self.assertTrue(hier)
        for m in hier:
            self.assertTrue(m[5].startswith("ro,"), m)


def apparmor_enabled():
    try:
        with open("/sys/module/apparmor/parameters/enabled") as f:
            return f.read().startswith("Y")
    except OSError:
        return False


@unittest.skipUnless(apparmor_enabled() and shutil.which("apparmor_parser"),
                     "needs a kernel with AppArmor and apparmor_parser (the host matrix's guest has both)")
class AppArmorProfiles(OcelotTest):
    """docker (docker-default) and podman (containers-default) name an AppArmor profile on every
    host whose kernel has AppArmor: Debian's and Ubuntu's. The workload runs confined by it, as
    root and as another user, and so does exec."""
    PROFILE = "ocelot-it-%d" % os.getpid()

    @classmethod
    def setUpClass(cls):
        # Everything allowed but reading /etc/group: confinement that shows.
        text = ("profile %s flags=(attach_disconnected,mediate_deleted) {\n"
                "  file,\n  capability,\n  network,\n  mount,\n  umount,\n  pivot_root,\n"
                "  ptrace,\n  signal,\n  unix,\n  deny /etc/group r,\n}\n") % cls.PROFILE
        cls.profile_dir = tempfile.mkdtemp(prefix="ocelot-apparmor-")
        cls.profile_file = os.path.join(cls.profile_dir, "profile")
        with open(cls.profile_file, "w") as f:
            f.write(text)
        subprocess.run(["apparmor_parser", "-r", "-K", cls.profile_file], check=True, capture_output=True)

    @classmethod
    def tearDownClass(cls):
        subprocess.run(["apparmor_parser", "-R", cls.profile_file], capture_output=True)
        shutil.rmtree(cls.profile_dir, ignore_errors=True)

    SHOW = "cat /proc/self/attr/current; cat /etc/passwd >/dev/null && echo passwd; cat /etc/group || echo denied"

    def confined(self, uid=0):
        c = self.config(["sh", "-c", self.SHOW])
        c["process"]["apparmorProfile"] = self.PROFILE
        c["process"]["user"] = {"uid": uid, "gid": uid}
        return c

    def assert_confined(self, out):
        self.assertEqual(out.splitlines()[0], "%s (enforce)" % self.PROFILE, out)
        self.assertIn("passwd\n", out)
        self.assertIn("denied", out)
        self.assertNotIn("root:x:0:", out)

    def test_the_workload_runs_confined(self):
        self.assert_confined(self.run_config(self.confined()).stdout)

    def test_a_non_root_workload_runs_confined(self):
        self.assert_confined(self.run_config(self.confined(uid=1000)).stdout)

    def test_exec_runs_confined_by_the_containers_profile(self):
        c = self.confined()
        c["process"]["args"] = ["sleep", "100"]
        cid = self.new_id()
        self.ocelot("run", "-d", "--bundle", self.bundle(c), cid)
        self.assert_confined(self.ocelot("exec", cid, "sh", "-c", self.SHOW).stdout)

    def test_no_fd_of_the_runtime_reaches_a_confined_workload(self):
        """The init's attr directory, which the init stub writes the profile through, is closed
        before the workload's execve (podman's checkpoint found it: CRIU cannot dump it)."""
        c = self.confined()
        c["process"]["args"] = ["ls", "/proc/self/fd"]
        self.assertEqual(self.run_config(c).stdout.split(), ["0", "1", "2", "3"])

    def test_a_profile_the_kernel_does_not_have_fails_create_with_its_name(self):
        c = self.confined()
        c["process"]["apparmorProfile"] = "ocelot-no-such-profile"
        self.check_fails(c, 'apparmor profile "ocelot-no-such-profile" is not loaded')
