"""dockerd 20.10 (through containerd's runc v2 shim) driving the runtime under test."""
import json

from base import CallerTest, in_a_tty, run

IMAGE = "busybox:local"


class Docker(CallerTest):
    def d(self, *args, timeout=120):
        return run(self.w.docker(*args), timeout=timeout)

    def rt(self):
        return ["--runtime", self.w.name]

    def container(self, *extra, name):
        self.ok(self.d("run", "-d", "--name", name, *self.rt(), "--network", "none", *extra, IMAGE, "sleep", "1000"))
        self.addCleanup(lambda: self.d("rm", "-f", name))
        return name

    def test_run_output_and_exit_codes(self):
        p = self.ok(self.d("run", "--rm", *self.rt(), "--network", "none", IMAGE, "echo", "hi"))
        self.assertEqual(p.stdout, "hi\n")
        self.assertEqual(self.d("run", "--rm", *self.rt(), "--network", "none", IMAGE, "sh", "-c", "exit 7").returncode, 7)
        p = self.d("run", "--rm", *self.rt(), "--network", "none", IMAGE, "/nonexistent")
        self.assertEqual(p.returncode, 127, p.stderr)
        p = self.d("run", "--rm", *self.rt(), "--network", "none", IMAGE, "/etc/not-executable")
        self.assertEqual(p.returncode, 126, p.stderr)

    def test_runs_under_the_runtime(self):
        c = self.container(name="dk-which")
        cid = self.d("inspect", "-f", "{{.Id}}", c).stdout.strip()
        self.assertEqual(self.d("inspect", "-f", "{{.HostConfig.Runtime}}", c).stdout.strip(), self.w.name)
        # dockerd gives each configured runtime its own root under its exec-root.
        self.ran_under_runtime(cid, [self.w.dir + "/dexec/runtime-*/moby-test", "/run/containerd/runc/moby-test"])

    def test_exec_plain_tty_and_detached(self):
        c = self.container(name="dk-exec")
        self.assertEqual(self.ok(self.d("exec", c, "echo", "hi")).stdout, "hi\n")
        self.assertEqual(self.d("exec", c, "sh", "-c", "exit 3").returncode, 3)
        self.assertEqual(self.d("exec", c, "/nonexistent").returncode, 126)  # docker exec: 126 for any start failure
        p = in_a_tty(self.w.docker("exec", "-it", c, "tty"))
        self.assertIn("/dev/pts/", p.stdout)
        self.ok(self.d("exec", "-d", c, "sleep", "300"))
        self.wait_until(lambda: "sleep 300" in self.d("top", c).stdout, what="the detached exec")

    def test_healthcheck(self):
        c = self.container("--health-cmd", "true", "--health-interval", "1s", name="dk-health")
        self.wait_until(lambda: self.d("inspect", "-f", "{{.State.Health.Status}}", c).stdout.strip() == "healthy",
                        what="healthy")

    def test_stop_pause_restart_rm(self):
        c = self.container(name="dk-life")
        self.ok(self.d("pause", c))
        self.assertEqual(self.d("inspect", "-f", "{{.State.Status}}", c).stdout.strip(), "paused")
        self.ok(self.d("unpause", c))
        self.ok(self.d("stop", "-t", "1", c))
        self.assertEqual(self.d("inspect", "-f", "{{.State.Status}}", c).stdout.strip(), "exited")
        self.ok(self.d("restart", "-t", "1", c))
        self.assertEqual(self.d("inspect", "-f", "{{.State.Status}}", c).stdout.strip(), "running")
        self.ok(self.d("rm", "-f", c))

    def test_read_only_tmpfs_limits_and_seccomp(self):
        p = self.ok(self.d("run", "--rm", *self.rt(), "--network", "none", "--read-only", "--tmpfs", "/scratch",
                           "--memory", "64m", "--pids-limit", "50", IMAGE, "sh", "-c",
                           "touch /scratch/x && echo tmpfs; touch /etc/x 2>/dev/null || echo ro; "
                           "(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes); (cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max); grep Seccomp: /proc/self/status"))
        self.assertEqual(p.stdout.split(), ["tmpfs", "ro", str(64 << 20), "50", "Seccomp:", "2"])
