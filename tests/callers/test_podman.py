"""podman 4.3 (conmon) driving the runtime under test."""
import os
import time
import unittest

import base
from base import CallerTest, in_a_tty, run
from env import criu_path

CRIU = os.environ.get("OCELOT_CRIU", "")

IMAGE = "docker.io/library/busybox:local"


class Podman(CallerTest):
    def pm(self, *args, timeout=120):
        return run(self.w.podman(*args), timeout=timeout, env_=self.w.podman_env)

    def container(self, *extra, name):
        self.ok(self.pm("run", "-d", "--name", name, "--network", "none", *extra, IMAGE, "sleep", "1000"))
        self.addCleanup(lambda: self.pm("rm", "-f", "-t", "0", name))
        return name

    def test_run_output_and_exit_codes(self):
        p = self.ok(self.pm("run", "--rm", "--network", "none", IMAGE, "sh", "-c", "echo out; echo err >&2"))
        self.assertEqual(p.stdout, "out\n")
        self.assertIn("err", p.stderr)
        self.assertEqual(self.pm("run", "--rm", "--network", "none", IMAGE, "sh", "-c", "exit 7").returncode, 7)
        p = self.pm("run", "--rm", "--network", "none", IMAGE, "/nonexistent")
        self.assertEqual(p.returncode, 127, p.stderr)
        self.assertIn("no such file or directory", p.stderr)  # the failing container's message reaches the user
        p = self.pm("run", "--rm", "--network", "none", IMAGE, "/etc/not-executable")
        self.assertEqual(p.returncode, 126, p.stderr)
        self.assertIn("permission denied", p.stderr)

    def test_runs_under_the_runtime(self):
        c = self.container(name="pm-which")
        self.assertEqual(self.pm("inspect", "-f", "{{.OCIRuntime}}", c).stdout.strip(), self.w.name)
        cid = self.pm("inspect", "-f", "{{.Id}}", c).stdout.strip()
        self.ran_under_runtime(cid, ["/run/" + self.w.name, self.w.dir + "/pm-run/" + self.w.name, self.w.dir + "/pm-run/runtime"])

    def test_exec_plain_tty_and_detached(self):
        c = self.container(name="pm-exec")
        self.assertEqual(self.ok(self.pm("exec", c, "sh", "-c", "echo hi; exit 0")).stdout, "hi\n")
        self.assertEqual(self.pm("exec", c, "sh", "-c", "exit 3").returncode, 3)
        self.assertEqual(self.pm("exec", c, "/nonexistent").returncode, 127)
        p = in_a_tty(self.w.podman("exec", "-t", c, "tty"), env_=self.w.podman_env)
        self.assertIn("/dev/pts/", p.stdout)
        self.ok(self.pm("exec", "-d", c, "sleep", "300"))
        # The detached process lives on after podman (and the runtime) have returned.
        self.wait_until(lambda: "sleep 300" in self.pm("top", c).stdout, what="the detached exec in `podman top`")

    def test_a_hundred_execs_in_a_row(self):
        c = self.container(name="pm-many")
        failures = [i for i in range(100) if self.pm("exec", c, "true").returncode != 0]
        self.assertEqual(failures, [])

    def test_healthcheck(self):
        c = self.container("--health-cmd", "true", "--health-interval", "0", name="pm-health")
        self.ok(self.pm("healthcheck", "run", c))
        bad = self.container("--health-cmd", "false", "--health-interval", "0", name="pm-unhealthy")
        self.assertNotEqual(self.pm("healthcheck", "run", bad).returncode, 0)

    def test_stop_kill_pause_restart_rm(self):
        c = self.container(name="pm-life")
        self.ok(self.pm("pause", c))
        self.assertEqual(self.pm("inspect", "-f", "{{.State.Status}}", c).stdout.strip(), "paused")
        self.ok(self.pm("unpause", c))
        self.ok(self.pm("stop", "-t", "1", c))
        self.assertEqual(self.pm("inspect", "-f", "{{.State.Status}}", c).stdout.strip(), "exited")
        self.ok(self.pm("restart", "-t", "1", c))
        self.assertEqual(self.pm("inspect", "-f", "{{.State.Status}}", c).stdout.strip(), "running")
        self.ok(self.pm("kill", c))
        self.ok(self.pm("rm", "-f", c))
        self.assertNotEqual(self.pm("inspect", c).returncode, 0)

    def test_read_only_and_tmpfs(self):
        p = self.ok(self.pm("run", "--rm", "--network", "none", "--read-only", "--tmpfs", "/data:size=1m", IMAGE, "sh", "-c",
                            "touch /tmp/a /run/b /var/tmp/c /data/d && echo writable; touch /etc/x 2>/dev/null || echo ro"))
        self.assertEqual(p.stdout, "writable\nro\n")

    def test_limits_hold_inside(self):
        p = self.ok(self.pm("run", "--rm", "--network", "none", "--memory", "64m", "--pids-limit", "50", IMAGE, "sh", "-c",
                            "(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes); (cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max)"))
        self.assertEqual(p.stdout.split(), [str(64 << 20), "50"])
        p = self.pm("run", "--rm", "--network", "none", "--pids-limit", "8", IMAGE, "/bin/ocelot-probe", "fork", "20")
        self.assertIn("forked", p.stdout)
        self.assertNotIn("forked 20 of 20", p.stdout)

    def test_default_seccomp_is_applied(self):
        p = self.ok(self.pm("run", "--rm", "--network", "none", IMAGE, "grep", "Seccomp:", "/proc/self/status"))
        self.assertEqual(p.stdout.split(), ["Seccomp:", "2"])

    def pm_criu(self, *args):
        """podman with the CRIU the checkpoint tier found or built first on PATH (podman asks it
        for its version; the runtime runs it)."""
        return run(self.w.podman(*args), timeout=120, env_=dict(self.w.podman_env, PATH=criu_path(self.w.dir)))

    def count(self, c):
        return int(self.ok(self.pm_criu("exec", c, "cat", "/tmp/count")).stdout.strip() or 0)

    @unittest.skipUnless(CRIU, "needs OCELOT_CRIU: make checkpoint-test runs podman's checkpoint with a CRIU that works here")
    def test_checkpoint_restore_export_and_import_keep_the_count(self):
        """podman container checkpoint/restore (and --export/--import) through the runtime."""
        pm, count = self.pm_criu, self.count
        c = "pm-ckpt"
        self.ok(pm("run", "-d", "--name", c, "--network", "none", IMAGE, "sh", "-c",
                   "i=0; while :; do i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.1; done"))
        self.addCleanup(lambda: pm("rm", "-f", "-t", "0", c))
        time.sleep(0.5)
        self.ok(pm("container", "checkpoint", c))
        self.assertEqual(pm("inspect", "-f", "{{.State.Status}}", c).stdout.strip(), "exited")
        self.ok(pm("container", "restore", c))
        self.assertEqual(pm("inspect", "-f", "{{.State.Status}}", c).stdout.strip(), "running")
        first = count(c)
        time.sleep(0.3)
        self.assertGreater(count(c), first)
        self.assertGreater(first, 1, "the count started again from 0")
        tar = os.path.join(self.w.dir, "pm-ckpt.tar.gz")
        self.ok(pm("container", "checkpoint", "--export", tar, c))
        at_export = int(self.ok(pm("container", "inspect", "-f", "{{.State.Status}}", c)).stdout.strip() == "exited")
        self.assertEqual(at_export, 1)
        self.ok(pm("rm", "-f", c))
        self.ok(pm("container", "restore", "--import", tar))
        self.assertEqual(pm("inspect", "-f", "{{.State.Status}}", c).stdout.strip(), "running")
        self.assertGreater(count(c), first)


    @unittest.skipUnless(CRIU, "needs OCELOT_CRIU: make checkpoint-test runs podman's checkpoint with a CRIU that works here")
    def test_checkpoint_restore_of_a_terminal_container(self):
        """podman run -dt: conmon holds the pty master. On restore the runtime hands conmon a new one
        through the console socket (CRIU's orphan-pts-master), so what the workload writes after the
        restore reaches podman's log."""
        pm = self.pm_criu

        def last_tick(c):
            ticks = [int(w[4:]) for w in pm("logs", c).stdout.split() if w.startswith("tick") and w[4:].isdigit()]
            return ticks[-1] if ticks else 0

        c = "pm-ckpt-tty"
        self.ok(pm("run", "-dt", "--name", c, "--network", "none", IMAGE, "sh", "-c",
                   "i=0; while :; do i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; echo tick$i; sleep 0.1; done"))
        self.addCleanup(lambda: pm("rm", "-f", "-t", "0", c))
        self.wait_until(lambda: last_tick(c) > 2, what="ticks in podman's log")
        self.ok(pm("container", "checkpoint", c))
        self.assertEqual(pm("inspect", "-f", "{{.State.Status}}", c).stdout.strip(), "exited")
        at_dump = last_tick(c)
        self.ok(pm("container", "restore", c))
        self.assertEqual(pm("inspect", "-f", "{{.State.Status}}", c).stdout.strip(), "running")
        self.wait_until(lambda: last_tick(c) > at_dump + 2, what="ticks after the restore in podman's log")
        self.assertGreater(self.count(c), at_dump, "the count started again from 0")
