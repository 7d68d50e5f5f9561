"""A real image (Debian 12 with nginx, python3, curl and a non-root user, tests/callers/debian_image.py)
through podman, containerd (ctr) and docker, doing what real images do: a non-root USER writing to
/dev/stdout and to its terminal, a server reached over loopback from its own container and from
another container of its pod, healthchecks that curl it, podman's --device and --privileged,
HOME, a missing working directory, --read-only's tmpfs modes. Every case also passes with runc
(make callers-runc)."""
import time

from base import CallerTest, in_a_tty, run
from env import DEBIAN

WELCOME = "Welcome to nginx!"


class PodmanRealImage(CallerTest):
    def pm(self, *args, timeout=120):
        return run(self.w.podman(*args), timeout=timeout, env_=self.w.podman_env)

    def pm_run(self, *args):
        return self.pm("run", "--rm", "--network", "none", *args)

    def server(self, name, *extra):
        self.ok(self.pm("run", "-d", "--name", name, "--network", "none", *extra, DEBIAN, "nginx", "-g", "daemon off;"))
        self.addCleanup(lambda: self.pm("rm", "-f", "-t", "0", name))
        self.wait_until(lambda: self.pm("exec", name, "curl", "-fsS", "http://127.0.0.1/").returncode == 0,
                        what="nginx answering on 127.0.0.1 in " + name)
        return name

    def test_a_non_root_user_writes_to_dev_stdout_and_stderr(self):
        p = self.ok(self.pm_run("--user", "1000:1000", DEBIAN, "sh", "-c", "echo out > /dev/stdout; echo err > /dev/stderr"))
        self.assertEqual(p.stdout, "out\n")
        self.assertIn("err", p.stderr)

    def test_a_non_root_user_writes_to_its_terminal(self):
        p = in_a_tty(self.w.podman("run", "--rm", "-t", "--network", "none", "--user", "1000:1000", DEBIAN, "sh", "-c",
                                   'echo hello > "$(tty)" && echo wrote-tty'), env_=self.w.podman_env)
        self.assertIn("wrote-tty", p.stdout, p.stdout + p.stderr)

    def test_nginx_answers_over_loopback_and_its_healthcheck_passes(self):
        c = self.server("pm-web", "--health-cmd", "curl -fsS http://127.0.0.1/", "--health-interval", "0")
        self.assertIn(WELCOME, self.ok(self.pm("exec", c, "curl", "-fsS", "http://127.0.0.1/")).stdout)
        self.ok(self.pm("healthcheck", "run", c))

    def test_a_server_is_reached_from_another_container_of_its_pod(self):
        pod = "pm-pod"
        self.ok(self.pm("pod", "create", "--name", pod, "--network", "none"))
        self.addCleanup(lambda: self.pm("pod", "rm", "-f", "-t", "0", pod))
        self.ok(self.pm("run", "-d", "--pod", pod, "--name", "pm-pod-web", DEBIAN, "nginx", "-g", "daemon off;"))
        ok = False
        for _ in range(50):
            p = self.pm("run", "--rm", "--pod", pod, DEBIAN, "curl", "-fsS", "http://127.0.0.1/")
            if p.returncode == 0 and WELCOME in p.stdout:
                ok = True
                break
            time.sleep(0.2)
        self.assertTrue(ok, "curl from a second container of the pod: %s" % p.stderr)

    def test_a_server_run_by_a_non_root_user(self):
        name = "pm-py"
        self.ok(self.pm("run", "-d", "--name", name, "--network", "none", "--user", "1000:1000", "-w", "/home/app",
                        DEBIAN, "python3", "-m", "http.server", "8000", "--bind", "127.0.0.1"))
        self.addCleanup(lambda: self.pm("rm", "-f", "-t", "0", name))
        self.wait_until(lambda: self.pm("exec", name, "curl", "-fsS", "http://127.0.0.1:8000/").returncode == 0,
                        what="python's http.server")
        self.assertEqual(self.pm("exec", name, "ps", "-o", "user=", "-p", "1").stdout.strip(), "app")

    def test_device_and_privileged(self):
        p = self.ok(self.pm_run("--device", "/dev/null:/dev/mynull", DEBIAN, "sh", "-c",
                                'echo x > /dev/mynull && stat -c "%t:%T" /dev/mynull'))
        self.assertEqual(p.stdout, "1:3\n")
        self.ok(self.pm_run("--privileged", DEBIAN, "true"))

    def test_home_in_run_and_exec(self):
        self.assertEqual(self.ok(self.pm_run("--user", "1000", DEBIAN, "sh", "-c", 'echo "$HOME"')).stdout, "/home/app\n")
        name = "pm-home"
        self.ok(self.pm("run", "-d", "--name", name, "--network", "none", DEBIAN, "sleep", "1000"))
        self.addCleanup(lambda: self.pm("rm", "-f", "-t", "0", name))
        self.assertEqual(self.ok(self.pm("exec", "-u", "1000", name, "sh", "-c", 'echo "$HOME"')).stdout, "/home/app\n")

    def test_read_only_keeps_the_images_modes(self):
        p = self.ok(self.pm_run("--read-only", DEBIAN, "stat", "-c", "%n %a", "/run", "/tmp", "/var/tmp"))
        self.assertEqual(p.stdout, "/run 755\n/tmp 1777\n/var/tmp 1777\n")

    # (podman refuses a missing --workdir itself, before any runtime: ctr and docker cover it.)


class ContainerdRealImage(CallerTest):
    def ctr(self, *args, timeout=120):
        return run(self.w.ctr(*args), timeout=timeout)

    def ctr_run(self, name, *args):
        return self.ctr("run", "--rm", *self.w.ctr_runtime(name), *args[:-1], DEBIAN, name, *args[-1])

    def task(self, name):
        self.ok(self.ctr("run", "-d", *self.w.ctr_runtime(name), DEBIAN, name, "sleep", "1000"))

        def cleanup():
            self.ctr("tasks", "kill", "-s", "KILL", name)
            for _ in range(50):
                if self.ctr("tasks", "delete", name).returncode == 0 or name not in self.ctr("tasks", "ls").stdout:
                    break
                time.sleep(0.1)
            self.ctr("containers", "rm", name)
        self.addCleanup(cleanup)
        return name

    def test_exec_as_a_non_root_user_writes_to_dev_stdout_and_has_home(self):
        t = self.task("ctr-exec-user")
        p = self.ok(self.ctr("tasks", "exec", "--exec-id", "e1", "--user", "1000:1000", t, "sh", "-c",
                             'echo out > /dev/stdout; echo "$HOME"'))
        self.assertEqual(p.stdout, "out\n/home/app\n")

    def test_loopback_is_up_and_nginx_answers_on_it(self):
        p = self.ok(self.ctr_run("ctr-lo", ["sh", "-c", "cat /sys/class/net/lo/flags; nginx; sleep 0.5; "
                                                        "curl -fsS http://127.0.0.1/"]))
        self.assertTrue(p.stdout.startswith("0x9\n"), p.stdout)
        self.assertIn(WELCOME, p.stdout)

    def test_home(self):
        # (ctr 1.6's `run` has no --user: the non-root cases go through `tasks exec --user`.)
        self.assertEqual(self.ok(self.ctr_run("ctr-home", ["sh", "-c", 'echo "$HOME"'])).stdout, "/root\n")

    def test_a_missing_working_directory_is_created(self):
        self.assertEqual(self.ok(self.ctr_run("ctr-cwd", "--cwd", "/does/not/exist", ["pwd"])).stdout, "/does/not/exist\n")

    def test_device(self):
        p = self.ok(self.ctr_run("ctr-dev", "--device", "/dev/null", ["sh", "-c", 'echo x > /dev/null && stat -c "%t:%T" /dev/null']))
        self.assertEqual(p.stdout, "1:3\n")


class DockerRealImage(CallerTest):
    def d(self, *args, timeout=120):
        return run(self.w.docker(*args), timeout=timeout)

    def d_run(self, *args):
        return self.d("run", "--rm", "--runtime", self.w.name, "--network", "none", *args)

    def test_a_non_root_user_writes_to_dev_stdout_and_stderr(self):
        p = self.ok(self.d_run("--user", "1000:1000", DEBIAN, "sh", "-c", "echo out > /dev/stdout; echo err > /dev/stderr"))
        self.assertEqual(p.stdout, "out\n")
        self.assertIn("err", p.stderr)

    def test_a_non_root_user_writes_to_its_terminal(self):
        p = in_a_tty(self.w.docker("run", "--rm", "-t", "--runtime", self.w.name, "--network", "none", "--user", "1000:1000",
                                   DEBIAN, "sh", "-c", 'echo hello > "$(tty)" && echo wrote-tty'))
        self.assertIn("wrote-tty", p.stdout, p.stdout + p.stderr)

    def test_exec_as_a_non_root_user(self):
        name = "d-exec-user"
        self.ok(self.d("run", "-d", "--name", name, "--runtime", self.w.name, "--network", "none", DEBIAN, "sleep", "1000"))
        self.addCleanup(lambda: self.d("rm", "-f", name))
        p = self.ok(self.d("exec", "--user", "1000:1000", name, "sh", "-c", 'echo out > /dev/stdout; echo "$HOME"'))
        self.assertEqual(p.stdout, "out\n/home/app\n")

    def test_home(self):
        self.assertEqual(self.ok(self.d_run(DEBIAN, "sh", "-c", 'echo "$HOME"')).stdout, "/root\n")

    def test_nginx_healthcheck_becomes_healthy(self):
        name = "d-web"
        self.ok(self.d("run", "-d", "--name", name, "--runtime", self.w.name, "--network", "none",
                       "--health-cmd", "curl -fsS http://127.0.0.1/", "--health-interval", "1s", "--health-retries", "30",
                       DEBIAN, "nginx", "-g", "daemon off;"))
        self.addCleanup(lambda: self.d("rm", "-f", name))
        self.wait_until(lambda: self.d("inspect", "-f", "{{.State.Health.Status}}", name).stdout.strip() == "healthy",
                        seconds=60, what="docker's healthcheck to pass")

    def test_device_read_only_and_workdir(self):
        # (docker --privileged asks for every capability, and this host's bounding set lacks
        # CAP_SYS_RESOURCE: it fails with runc too. podman's --privileged takes its own set.)
        p = self.ok(self.d_run("--device", "/dev/null:/dev/mynull", DEBIAN, "sh", "-c",
                               'echo x > /dev/mynull && stat -c "%t:%T" /dev/mynull'))
        self.assertEqual(p.stdout, "1:3\n")
        p = self.ok(self.d_run("--read-only", "--tmpfs", "/run", DEBIAN, "stat", "-c", "%n %a", "/run"))
        self.assertEqual(p.stdout, "/run 755\n")
        self.assertEqual(self.ok(self.d_run("-w", "/does/not/exist", DEBIAN, "pwd")).stdout, "/does/not/exist\n")
