"""containerd 1.6's runc v2 shim driving the runtime under test, through ctr."""
import os
import time

from base import CallerTest, Cgroup, in_a_tty, run

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
