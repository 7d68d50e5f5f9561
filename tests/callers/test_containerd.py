"""containerd 1.6's runc v2 shim driving the runtime under test, through ctr."""
import os
import time
import unittest

from base import CallerTest, Cgroup, in_a_tty, run

CRIU = os.environ.get("OCELOT_CRIU", "")

IMAGE = "docker.io/library/busybox:local"


class Containerd(CallerTest):
    def ctr(self, *args, timeout=120):
        return run(self.w.ctr(*args), timeout=timeout)


    def task(self, name, *extra):
        self.ok(self.ctr("run", "-d", *self.w.ctr_runtime(name), *extra, IMAGE, name, "sleep", "1000"))

        def cleanup():
            self.ctr("tasks", "kill", "-s", "KILL", name)
            for _ in range(50):
                if self.ctr("tasks", "delete", name).returncode == 0 or name not in self.ctr("tasks", "ls").stdout:
                    break
                time.sleep(0.1)
            self.ctr("containers", "rm", name)
        self.addCleanup(cleanup)
        return name

    def test_run_output_and_exit_codes(self):
        p = self.ok(self.ctr("run", "--rm", *self.w.ctr_runtime("cd-out"), IMAGE, "cd-out", "sh", "-c", "echo out"))
        self.assertEqual(p.stdout, "out\n")
        self.assertEqual(self.ctr("run", "--rm", *self.w.ctr_runtime("cd-seven"), IMAGE, "cd-seven", "sh", "-c", "exit 7").returncode, 7)
        p = self.ctr("run", "--rm", *self.w.ctr_runtime("cd-missing"), IMAGE, "cd-missing", "/nonexistent")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no such file or directory", p.stderr)
        self.ctr("containers", "rm", "cd-missing")

    def test_runs_under_the_runtime(self):
        t = self.task("cd-which")
        self.ran_under_runtime(t, ["/run/containerd/runc/default"])

    def test_exec_plain_tty_and_detached(self):
        t = self.task("cd-exec")
        p = self.ok(self.ctr("tasks", "exec", "--exec-id", "e1", t, "sh", "-c", "echo hi"))
        self.assertEqual(p.stdout, "hi\n")
        self.assertEqual(self.ctr("tasks", "exec", "--exec-id", "e2", t, "sh", "-c", "exit 3").returncode, 3)
        p = in_a_tty(self.w.ctr("tasks", "exec", "-t", "--exec-id", "e3", t, "tty"))
        self.assertIn("/dev/pts/", p.stdout)
        self.ok(self.ctr("tasks", "exec", "-d", "--exec-id", "e4", t, "sleep", "300"))
        self.wait_until(lambda: "e4" in self.ctr("tasks", "ps", t).stdout, what="the detached exec")

    def test_pause_resume_kill_delete(self):
        t = self.task("cd-life")
        self.ok(self.ctr("tasks", "pause", t))
        self.assertIn("PAUSED", self.ctr("tasks", "ls").stdout)
        self.ok(self.ctr("tasks", "resume", t))
        self.ok(self.ctr("tasks", "kill", "-s", "KILL", t))
        self.wait_until(lambda: "STOPPED" in self.ctr("tasks", "ls").stdout, what="the task to stop")
        self.ok(self.ctr("tasks", "delete", t))

    def test_memory_limit_is_applied(self):
        t = self.task("cd-mem", "--memory-limit", str(64 << 20))
        pid = int(self.ok(self.ctr("tasks", "ls")).stdout.split(t, 1)[1].split()[0])
        self.assertEqual(Cgroup(pid).value("memory.limit"), str(64 << 20))

    def test_the_example_config_loads_with_its_handler(self):
        p = self.ok(run(["containerd", "--config", self.w.cd_config, "config", "dump"]))
        self.assertIn('runtimes.ocelot]', p.stdout)
        self.assertIn('BinaryName = "%s"' % self.w.runtime, p.stdout)

    @unittest.skipUnless(CRIU, "needs OCELOT_CRIU: make checkpoint-test runs it with a CRIU that works here")
    def test_ctr_checkpoint_and_restore_keep_the_count(self):
        """ctr containers checkpoint --task: the shim runs the runtime's checkpoint and containerd
        stores the image in its content store; ctr containers restore --live makes the container and
        its task again from it (the shim's restore), counting on from the dump's value."""
        name, ref = "cd-ckpt", "localhost/ocelot-test/cd-ckpt:1"
        counter = "i=0; while :; do i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.1; done"
        self.ok(self.ctr("run", "-d", *self.w.ctr_runtime(name), IMAGE, name, "sh", "-c", counter))

        def cleanup():
            self.ctr("tasks", "kill", "-s", "KILL", name)
            time.sleep(0.2)
            self.ctr("tasks", "delete", "-f", name)
            self.ctr("containers", "rm", name)
            self.ctr("images", "rm", ref)
        self.addCleanup(cleanup)

        def count():
            p = self.ctr("tasks", "exec", "--exec-id", "c%d" % time.monotonic_ns(), name, "cat", "/tmp/count")
            return int(p.stdout.strip() or 0) if p.returncode == 0 else 0
        self.wait_until(lambda: count() > 3, what="the counter")
        before_dump = count()
        self.ok(self.ctr("containers", "checkpoint", "--task", "--rw", name, ref))
        self.assertIn(ref, self.ctr("images", "ls", "-q").stdout)
        self.ok(self.ctr("tasks", "kill", "-s", "KILL", name))
        self.wait_until(lambda: "STOPPED" in self.ctr("tasks", "ls").stdout, what="the task to stop")
        self.ok(self.ctr("tasks", "delete", name))
        self.ok(self.ctr("containers", "rm", name))
        self.ok(self.ctr("containers", "restore", "--rw", "--live", name, ref))
        self.wait_until(lambda: "RUNNING" in self.ctr("tasks", "ls").stdout, what="the restored task")
        first = count()
        self.assertGreaterEqual(first, before_dump, "the count started again from 0")
        self.wait_until(lambda: count() > first, what="the restored counter to go on")
        self.ran_under_runtime(name, ["/run/containerd/runc/default"])
