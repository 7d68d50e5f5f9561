"""Defects found from outside (issue 21, items 7-9 and 12): a paused created container, an exec'd
process that died before execve, errors the handshake hid, no /dev mount, a shared cgroup's
leftovers. Each failed on 558eaae."""
import json
import os
import subprocess
import time

from harness import OcelotTest, cgroup_dirs_named, cgroupfs_driver_only, hierarchy_mounts


class PausedCreated(OcelotTest):
    """runc allows pausing a created container; status must then say paused, resume must thaw
    it, start must refuse it at once, and delete --force must not wait behind anything."""

    def test_a_paused_created_container_says_paused_resumes_and_starts(self):
        cid = self.new_id()
        self.ocelot("create", "--bundle", self.bundle(self.config(["sh", "-c", "echo started"])), cid)
        self.ocelot("pause", cid)
        self.assertEqual(self.state(cid)["status"], "paused")
        p = self.ocelot("start", cid, check=False, timeout=10)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("cannot start a container in the paused state", p.stderr)
        self.ocelot("resume", cid, timeout=10)
        self.assertEqual(self.state(cid)["status"], "created")
        self.ocelot("start", cid, timeout=10)
        self.wait_status(cid, "stopped")

    def test_start_of_a_paused_created_container_never_blocks_delete(self):
        # 558eaae: start waited forever on the frozen init, holding the lock delete needs.
        cid = self.new_id()
        self.ocelot("create", "--bundle", self.bundle(self.config(["true"])), cid)
        self.ocelot("pause", cid)
        start = subprocess.Popen([os.environ["OCELOT"], "--root", self.root, "start", cid],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            t0 = time.monotonic()
            self.ocelot("delete", "--force", cid, timeout=10)
            self.assertLess(time.monotonic() - t0, 5)
            self.assertEqual(start.wait(timeout=10), 1)
        finally:
            start.kill()
            start.wait()


class ExecDiedBeforeExecve(OcelotTest):
    """exec counted end-of-stream as success: a process killed during its setup was reported
    started, with exit 0 and a pid file, under -d."""

    def test_an_exec_process_that_dies_during_setup_is_an_error_without_a_pid_file(self):
        cid = self.new_id()
        self.ocelot("run", "-d", "--bundle", self.bundle(self.config(["sleep", "30"])), cid)
        pid_file = os.path.join(self.tmp, "exec.pid")
        env = dict(os.environ, OCELOT_FAILPOINT="exec.child-setup")
        for detach in (["-d"], []):
            p = self.ocelot("exec", *detach, "--pid-file", pid_file, cid, "sleep", "5", check=False, env=env)
            self.assertEqual(p.returncode, 255, p.stderr)
            self.assertIn("exec: the process was killed by signal SIGKILL before it was executed", p.stderr)
            self.assertFalse(os.path.exists(pid_file))
        # And without the failpoint, the same exec works.
        self.ocelot("exec", "-d", "--pid-file", pid_file, cid, "sleep", "5")
        self.assertTrue(open(pid_file).read().strip().isdigit())


class HiddenInitErrors(OcelotTest):
    """The init's own reason, every time, not the parent's "broken pipe" from a later step."""

    def check_every_time(self, mod, expect, rounds=10):
        for i in range(rounds):
            c = self.config(["true"])
            mod(c)
            p = self.check_fails(c, expect, bundle_name="b%d" % i)
            self.assertNotIn("broken pipe", p.stderr)

    def test_a_hostname_too_long_names_sethostname(self):
        self.check_every_time(lambda c: c.__setitem__("hostname", "h" * 1000), 'set hostname "hhhh')

    def test_an_ipc_namespace_path_that_is_a_file_names_the_join(self):
        f = os.path.join(self.tmp, "not-a-namespace")
        open(f, "w").close()

        def mod(c):
            for n in c["linux"]["namespaces"]:
                if n["type"] == "ipc":
                    n["path"] = f
        self.check_every_time(mod, "join ipc namespace")

    def test_without_a_dev_mount_the_default_devices_are_made_and_masking_works(self):
        # runc's rule: /dev is set up unless it is a bind mount; a config without a /dev mount gets
        # the default devices in the image's /dev (here a tmpfs the test owns, so the shared
        # rootfs stays untouched) and the masked paths are hidden with the real null device.
        c = self.config(["sh", "-c", 'stat -c "%F %t:%T" /dev/null /dev/zero; wc -c < /proc/keys'])
        c["mounts"] = [m for m in c["mounts"] if m["destination"] not in ("/dev", "/dev/pts", "/dev/shm", "/dev/mqueue")]
        rootfs = os.path.join(self.tmp, "image")
        subprocess.run(["cp", "-a", self.rootfs + "/.", rootfs], check=True)
        c["root"] = {"path": rootfs, "readonly": False}
        self.assertEqual(self.run_config(c).stdout, "character special file 1:3\ncharacter special file 1:5\n0\n")


class SharedCgroupLeftovers(OcelotTest):
    """A host process in one hierarchy of the given cgroup: ocelot makes the other hierarchies'
    directories, and must remove exactly those at delete, never the host's."""

    @cgroupfs_driver_only("a cgroupfs path; the systemd driver takes slice:prefix:name only, as runc")
    def test_only_the_directories_ocelot_made_are_removed(self):
        if not os.path.isdir("/sys/fs/cgroup/pids") or len(hierarchy_mounts()) < 2:
            self.skipTest("one cgroup hierarchy (pure v2): ocelot makes no directory beside the shared one")
        name = "ocelot-shared1-%d" % os.getpid()
        mine = os.path.join("/sys/fs/cgroup/pids", name)
        os.makedirs(mine)
        host = subprocess.Popen(["sleep", "300"])
        try:
            with open(os.path.join(mine, "cgroup.procs"), "w") as f:
                f.write(str(host.pid))
            c = self.config(["sleep", "100"])
            c["linux"]["cgroupsPath"] = "/" + name
            cid = self.new_id()
            self.ocelot("run", "-d", "--bundle", self.bundle(c), cid)
            made = [os.path.join("/sys/fs/cgroup", h, name) for h in os.listdir("/sys/fs/cgroup")
                    if os.path.isdir(os.path.join("/sys/fs/cgroup", h, name))]
            self.assertGreater(len(made), 1)
            self.ocelot("delete", "--force", cid)
            left = [os.path.join("/sys/fs/cgroup", h, name) for h in os.listdir("/sys/fs/cgroup")
                    if os.path.isdir(os.path.join("/sys/fs/cgroup", h, name))]
            self.assertEqual(left, [mine])
            self.assertIsNone(host.poll(), "the host process was killed")
        finally:
            host.kill()
            host.wait()
            for _ in range(100):
                try:
                    os.rmdir(mine)
                    break
                except OSError:
                    time.sleep(0.02)
