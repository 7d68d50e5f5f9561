"""Correct under any valid config, clear under bad input (issue: correctness). Each test here
failed before its fix."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from harness import Cgroup, OcelotTest, cgroup_dirs_named, cgroupfs_driver_only, mounts_under, probe_report

# What the probe's "echo" needs from the kernel (strace of `ocelot-probe echo hi`), and what the
# runtime itself may still call once a filter is loaded: the calls that drop privileges, then execve.
WORKLOAD = ["arch_prctl", "brk", "execve", "exit_group", "getrandom", "mprotect", "newfstatat", "prlimit64", "readlink",
            "rseq", "set_robust_list", "set_tid_address", "write", "exit"]
RUNTIME_AFTER_FILTER = ["execve", "prctl", "capget", "capset", "setgroups", "setresuid", "setresgid"]


def allow_list_profile(extra_named=()):
    return {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": sorted(set(WORKLOAD + RUNTIME_AFTER_FILTER)), "action": "SCMP_ACT_ALLOW"}] +
                        ([{"names": list(extra_named), "action": "SCMP_ACT_ERRNO", "errnoRet": 38}] if extra_named else [])}


class Seccomp(OcelotTest):
    def test_an_allow_list_of_only_the_workload_and_the_privilege_drop_runs_and_execs(self):
        # Landlock's syscalls (444-446) named, close_range (436) not: the runtime must not need it
        # after the filter, for either value of noNewPrivileges, in run and in exec.
        for nnp in (False, True):
            c = self.config(["/bin/ocelot-probe", "echo", "started"])
            c["process"]["noNewPrivileges"] = nnp
            c["linux"]["seccomp"] = allow_list_profile(["landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self"])
            p = self.run_config(c, check=False)
            self.assertEqual((p.returncode, p.stdout), (0, "started\n"), "nnp=%s: %s" % (nnp, p.stderr))
            c["process"]["args"] = ["sleep", "30"]
            c["linux"]["seccomp"]["syscalls"][0]["names"] += ["nanosleep", "clock_nanosleep", "getpid", "getuid"]
            cid = self.new_id()
            self.ocelot("run", "-d", "--bundle", self.bundle(c, "b-%s" % nnp), cid)
            p = self.ocelot("exec", cid, "/bin/ocelot-probe", "echo", "exec'd", check=False)
            self.assertEqual((p.returncode, p.stdout), (0, "exec'd\n"), "nnp=%s: %s" % (nnp, p.stderr))
            self.ocelot("kill", cid, "KILL")


class Hooks(OcelotTest):
    def test_poststart_runs_after_the_workload_has_execd(self):
        # The hook looks at the container's init: it must already be the workload (busybox's
        # sleep), never the runtime or its stub.
        log = os.path.join(self.tmp, "exe.log")
        hook = os.path.join(self.tmp, "hook.sh")
        with open(hook, "w") as f:
            f.write("#!/bin/sh\npid=$(sed 's/.*\"pid\":\\([0-9]*\\).*/\\1/')\nreadlink /proc/$pid/exe >> %s\n" % log)
        os.chmod(hook, 0o755)
        for i in range(30):
            c = self.config(["sleep", "30"])
            # A startContainer hook that takes a while widens the window between `start` and the
            # workload's execve, where a poststart hook must not run.
            c["hooks"] = {"poststart": [{"path": hook}], "startContainer": [{"path": "/bin/sleep", "args": ["sleep", "0.1"]}]}
            cid = self.new_id()
            self.ocelot("run", "-d", "--bundle", self.bundle(c, "b%d" % i), cid)
            self.ocelot("delete", "--force", cid)
        exes = open(log).read().split()
        self.assertEqual(len(exes), 30)
        self.assertEqual(set(exes), {"/bin/sleep"}, exes)  # as the container sees it: not the stub, not ocelot

    def test_a_failing_start_container_hook_fails_start_with_a_reason(self):
        c = self.config(["sleep", "30"])
        c["hooks"] = {"startContainer": [{"path": "/bin/false"}]}
        cid = self.new_id()
        self.ocelot("create", "--bundle", self.bundle(c), cid)
        p = self.ocelot("start", cid, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("stopped before its process was executed", p.stderr)
        self.assertEqual(self.state(cid)["status"], "stopped")


class SilentSettings(OcelotTest):
    def test_network_resources_without_the_controller_are_an_error(self):
        c = self.config(["true"])
        c["linux"]["resources"]["network"] = {"classID": 7}
        v2 = not Cgroup(os.getpid()).v1
        self.check_fails(c, "net_cls and net_prio do not exist on cgroup v2" if v2 else
                         'the "net_cls" cgroup controller is not available on this host')
        c = self.config(["true"])
        c["linux"]["resources"]["network"] = {"priorities": [{"name": "eth0", "priority": 1}]}
        self.check_fails(c, "net_cls and net_prio do not exist on cgroup v2" if v2 else
                         'the "net_prio" cgroup controller is not available on this host')

    def test_kernel_tcp_is_applied_or_reported_not_dropped(self):
        f = "/sys/fs/cgroup/memory/memory.kmem.tcp.limit_in_bytes"
        c = self.config(["cat", f] if os.path.exists(f) else ["true"])
        c["linux"]["resources"]["memory"] = {"kernelTCP": 1048576}
        p = self.run_config(c)
        if os.path.exists(f):  # a v1 memory controller with the TCP limit: it lands (runc too)
            self.assertEqual(p.stdout.strip(), "1048576")
        elif os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            self.assertIn("kernelTCP is ignored: cgroup v2 has no such limit", p.stderr)
        else:
            self.assertIn("memory.kmem.tcp.limit_in_bytes is not supported by this kernel", p.stderr)

    def test_blockio_weight_zero_means_unset(self):
        # docker 20.10 sends {"weight": 0}; this kernel has no blkio.weight at all.
        c = self.config(["true"])
        c["linux"]["resources"]["blockIO"] = {"weight": 0, "leafWeight": 0}
        c["linux"]["resources"]["memory"] = {"limit": 0, "reservation": 0, "swap": 0}
        c["linux"]["resources"]["cpu"] = {"shares": 0, "quota": 0, "period": 0}
        c["linux"]["resources"]["pids"] = {"limit": 0}
        self.run_config(c)


class NoMountNamespace(OcelotTest):
    def test_a_container_without_a_mount_namespace_runs_and_leaves_no_mount(self):
        rootfs = os.path.join(self.tmp, "own-rootfs")
        shutil.copytree(self.rootfs, rootfs, symlinks=True)
        c = self.config(["sleep", "30"])
        c["root"] = {"path": rootfs, "readonly": True}
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "mount"]
        # Masked and read-only paths would be the host's without a mount namespace (refused, as
        # runc: test_hostile.NoMountNamespace).
        c["linux"]["maskedPaths"] = []
        c["linux"]["readonlyPaths"] = []
        before = len(open("/proc/self/mountinfo").readlines())
        cid = self.new_id()
        self.ocelot("run", "-d", "--bundle", self.bundle(c), cid)
        pid = self.state(cid)["pid"]
        self.assertEqual(os.readlink("/proc/%d/ns/mnt" % pid), os.readlink("/proc/self/ns/mnt"))
        self.assertEqual(os.readlink("/proc/%d/root" % pid), rootfs)  # chroot'ed into the rootfs
        self.assertTrue(mounts_under(rootfs))  # its mounts live in our namespace, under the rootfs
        out = self.ocelot("exec", cid, "/bin/ocelot-probe", "exists", "/bin/ocelot-probe").stdout
        self.assertIn("exists /bin/ocelot-probe: mode", out)
        self.ocelot("delete", "--force", cid)
        self.assertEqual(mounts_under(rootfs), [])
        self.assertEqual(len(open("/proc/self/mountinfo").readlines()), before)


class BadInput(OcelotTest):
    def running(self):
        cid = self.new_id()
        self.ocelot("run", "-d", "--bundle", self.bundle(self.config(["sleep", "30"]), "b-" + cid), cid)
        return cid

    def test_cli_values_never_abort(self):
        cid = self.running()
        for args, words in ((["update", "--memory", ".", cid], "--memory: invalid size"),
                            (["update", "--pids-limit", "x", cid], "--pids-limit: expected a whole number"),
                            (["update", "--blkio-weight", "70000", cid], "--blkio-weight"),
                            (["events", "--interval", ".s", cid], "invalid duration"),
                            (["exec", "--preserve-fds", "-1", cid, "true"], "--preserve-fds"),
                            (["create", "--preserve-fds", "1e9", "x"], "--preserve-fds")):
            p = self.ocelot(*args, check=False)
            self.assertEqual(p.returncode, 1, (args, p.stderr))
            self.assertIn(words, p.stderr)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)

    def test_a_damaged_state_file_is_one_line_not_an_abort(self):
        cid = self.running()
        path = os.path.join(self.root, cid, "state.json")
        good = open(path).read()
        for bad in ('{"pid": "x"}', "[", '{"cgroupPaths": {"v1": {"memory": 1}}}'):
            with open(path, "w") as f:
                f.write(bad)
            for cmd in (["state", cid], ["kill", cid, "0"], ["list"], ["delete", cid]):
                p = self.ocelot(*cmd, check=False)
                self.assertNotIn(p.returncode, (134, 139, -6, -11), (cmd, p.stderr))
            self.assertIn("is corrupt", self.ocelot("state", cid, check=False).stderr)
        with open(path, "w") as f:
            f.write(good)

    def test_kill_signal_zero_checks_liveness(self):
        cid = self.running()
        self.ocelot("kill", cid, "0")
        self.ocelot("kill", cid, "KILL")
        self.wait_status(cid, "stopped")
        self.assertIn("container not running", self.ocelot("kill", cid, "0", check=False).stderr)

    def test_an_id_with_a_newline_is_echoed_on_one_line(self):
        p = self.ocelot("state", "a\nb", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertIn('"a\\nb"', p.stderr)

    def test_a_memory_limit_too_low_to_start_says_so(self):
        c = self.config(["true"])
        c["linux"]["resources"]["memory"] = {"limit": 1}
        # "is too low" from the OOM counter; "may be too low" where systemd removed the scope,
        # and the counter with it, as the init died.
        p = self.check_fails(c, "memory limit 1 bytes")
        self.assertIn("too low to start a container", p.stderr)
        self.assertNotIn("ECONNRESET", p.stderr)

    def test_list_as_an_unprivileged_user_says_permission_denied(self):
        os.makedirs(self.root, exist_ok=True)
        os.chmod(self.root, 0o711)
        self.running()
        p = subprocess.run(["runuser", "-u", "nobody", "--", self.binary_for_users(), "--root", self.root, "list"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("permission denied", p.stderr)

    def test_a_config_over_the_size_limit_is_refused_and_big_annotations_stay_out_of_the_state(self):
        c = self.config(["true"])
        c["annotations"] = {"big": "x" * (17 << 20)}
        self.check_fails(c, "config.json: larger than 16 MiB")
        c["annotations"] = {"big": "x" * (8 << 20), "small": "y"}
        cid = self.new_id()
        self.ocelot("create", "--bundle", self.bundle(c, "b2"), cid)
        self.assertLess(os.path.getsize(os.path.join(self.root, cid, "state.json")), 4096)
        self.assertLess(os.path.getsize(os.path.join(self.root, cid, "config.json")), 64 << 10)
        self.assertEqual(self.state(cid)["annotations"]["small"], "y")
        self.assertNotIn("xxxx", self.ocelot("list").stdout)
        self.ocelot("delete", cid)


class Events(OcelotTest):
    @cgroupfs_driver_only("systemd removes the scope, and its OOM counter, when its only process is killed (runc events has the same limit)")
    def test_an_oom_kill_of_the_init_itself_is_reported(self):
        c = self.config(["/bin/ocelot-probe", "alloc", "256"])
        c["linux"]["resources"]["memory"] = {"limit": 16 << 20, "swap": 16 << 20}
        cid = self.new_id()
        self.ocelot("create", "--bundle", self.bundle(c), cid)
        with tempfile.TemporaryFile() as out:
            ev = subprocess.Popen([os.environ["OCELOT"], "--root", self.root, "events", "--interval", "1s", cid], stdout=out)
            time.sleep(0.3)
            self.ocelot("start", cid)
            ev.wait(timeout=20)
            out.seek(0)
            events = [json.loads(l) for l in out.read().decode().splitlines()]
        self.assertIn("oom", [e["type"] for e in events])
        self.assertEqual(self.state(cid)["status"], "stopped")
