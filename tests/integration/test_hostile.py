"""Hostile configs and hostile workloads (issue: security). Each rule has a case here, and the
rest of its class: ids where -1 is special, capabilities, host-wide paths, host-wide sysctls, fds,
NUL bytes. Each asserts the clear error and that nothing reached the host."""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time

from harness import OcelotTest, cgroupfs_driver_only, hierarchy_mounts, probe_report

ATTACKER = os.path.join(os.path.dirname(os.environ.get("OCELOT_PROBE", "build/ocelot-probe")), "ocelot-ptrace-attacker")


def caps_of(report, key):
    return int(report[key][0], 16)


class HostileConfigs(OcelotTest):
    # -- ids: 4294967295 is -1, "unchanged", to setresuid/setresgid/fchownat --------------------
    def test_ids_outside_0_to_2_31_are_refused(self):
        for field, value in (("uid", 4294967295), ("gid", 4294967295), ("uid", 2147483648)):
            c = self.config(["true"])
            c["process"]["user"][field] = value
            self.check_fails(c, "process.user.%s: must be between 0 and 2147483647, got %d" % (field, value))
        c = self.config(["true"])
        c["process"]["user"]["additionalGids"] = [4294967295]
        self.check_fails(c, "process.user.additionalGids[0]: must be between 0 and 2147483647")
        c = self.config(["true"])
        c["linux"]["devices"] = [{"type": "c", "path": "/dev/x", "major": 1, "minor": 3, "uid": 4294967295}]
        self.check_fails(c, "linux.devices[0].uid: must be between 0 and 2147483647")

    def test_exec_user_minus_one_is_refused(self):
        cid = self.new_id()
        self.ocelot("run", "-d", "--bundle", self.bundle(self.config(["sleep", "30"])), cid)
        for user in ("4294967295:4294967295", "0:4294967295", "-1"):
            p = self.ocelot("exec", "--user", user, cid, "/bin/ocelot-probe", "report", check=False)
            self.assertEqual(p.returncode, 255, p.stderr)
            self.assertIn("--user:", p.stderr)
            self.assertNotIn("Uid:", p.stdout)
        p = self.ocelot("exec", "--additional-gids", "4294967295", cid, "true", check=False)
        self.assertNotEqual(p.returncode, 0)

    # -- capabilities: a missing object means none ------------------------------------------------
    def test_no_capabilities_object_means_no_capabilities(self):
        def drop(c):
            del c["process"]["capabilities"]
        r, _ = self.probe(drop)
        for key in ("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"):
            self.assertEqual(caps_of(r, key), 0, key)

    def test_bounding_set_is_exactly_the_listed_one(self):
        def few(c):
            c["process"]["capabilities"] = {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]}
        r, _ = self.probe(few)
        self.assertEqual(caps_of(r, "CapBnd"), 1 << 5)
        self.assertEqual(caps_of(r, "CapEff"), 1 << 5)

    # -- host-wide paths: the root cgroup, a shared cgroup -----------------------------------------
    @cgroupfs_driver_only("a cgroupfs path; the systemd driver takes slice:prefix:name only, as runc")
    def test_root_cgroup_is_refused_in_every_spelling(self):
        for path in ("/", "/.", "//", "/./"):
            c = self.config(["true"])
            c["linux"]["cgroupsPath"] = path
            self.check_fails(c, "the root cgroup, which cannot be a container's cgroup")

    @cgroupfs_driver_only("a cgroupfs path; the systemd driver takes slice:prefix:name only, as runc")
    def test_a_shared_cgroup_keeps_its_foreign_processes(self):
        # A host process sits in a cgroup; a container is created in the same one, killed and
        # deleted: the host process lives on and the cgroup stays.
        name = "ocelot-shared-%d" % os.getpid()
        dirs = [os.path.join(h, name) for h in hierarchy_mounts()]
        host = subprocess.Popen(["sleep", "300"])
        try:
            for d in dirs:
                os.makedirs(d, exist_ok=True)
                if os.path.exists(os.path.join(os.path.dirname(d), "cpuset.mems")) and "cgroup.controllers" not in \
                        os.listdir(os.path.dirname(d)):
                    for f in ("cpuset.cpus", "cpuset.mems"):
                        with open(os.path.join(d, f), "w") as out:
                            out.write(open(os.path.join(os.path.dirname(d), f)).read())
                with open(os.path.join(d, "cgroup.procs"), "w") as f:
                    f.write(str(host.pid))
            c = self.config(["sleep", "100"])
            c["linux"]["cgroupsPath"] = "/" + name
            cid = self.new_id()
            p = self.ocelot("run", "-d", "--bundle", self.bundle(c), cid)
            self.assertIn("shared", p.stderr)  # the warning says so
            pids = json.loads(self.ocelot("ps", "--format", "json", cid).stdout)
            self.assertNotIn(host.pid, pids)  # ps lists the container's own processes only
            self.ocelot("kill", "--all", cid, "KILL")
            self.wait_status(cid, "stopped")
            self.ocelot("delete", "--force", cid)
            time.sleep(0.2)
            self.assertIsNone(host.poll(), "the host process in the shared cgroup was killed")
            for d in dirs:
                self.assertTrue(os.path.isdir(d), d + " was removed")
        finally:
            host.kill()
            host.wait()
            for d in dirs:
                for _ in range(100):
                    try:
                        os.rmdir(d)
                        break
                    except OSError:
                        time.sleep(0.02)

    def test_root_path_of_slash_is_refused(self):
        c = self.config(["true"])
        c["root"] = {"path": "/"}
        self.check_fails(c, "the host's \"/\" cannot be a container's rootfs")

    # -- host-wide sysctls --------------------------------------------------------------------------
    def test_host_wide_sysctls_are_refused_and_the_host_keeps_its_value(self):
        path = "/proc/sys/kernel/printk_ratelimit_burst"
        before = open(path).read()
        for key, ns_needed in (("kernel.printk_ratelimit_burst", None), ("vm.swappiness", None), ("fs.file-max", None),
                               ("kernel/printk_ratelimit_burst", None)):
            c = self.config(["true"])
            c["linux"]["sysctl"] = {key: "11"}
            self.check_fails(c, "not a namespaced sysctl: writing it would change the host")
        self.assertEqual(open(path).read(), before)
        # A path that walks out of the namespaced tree.
        c = self.config(["true"])
        c["linux"]["sysctl"] = {"net.ipv4/../../kernel.printk_ratelimit_burst": "11"}
        self.check_fails(c, "malformed sysctl name")
        # A "network namespace" that is the host's own, joined by path.
        c = self.config(["true"])
        for n in c["linux"]["namespaces"]:
            if n["type"] == "network":
                n["path"] = "/proc/%d/ns/net" % os.getpid()
        c["linux"]["sysctl"] = {"net.ipv4.ip_default_ttl": "33"}
        ttl = open("/proc/sys/net/ipv4/ip_default_ttl").read()
        self.check_fails(c, "is the host's: writing it would change the host")
        self.assertEqual(open("/proc/sys/net/ipv4/ip_default_ttl").read(), ttl)
        # The namespaced ones work, inside.
        def ok(c):
            c["linux"]["sysctl"] = {"kernel.shmmax": "123456", "net.ipv4.ip_default_ttl": "33"}
        _, p = self.probe(ok, args=("read", "/proc/sys/net/ipv4/ip_default_ttl"))
        self.assertEqual(open("/proc/sys/net/ipv4/ip_default_ttl").read(), ttl)

    # -- NUL bytes ----------------------------------------------------------------------------------
    def test_nul_bytes_are_refused_wherever_they_would_reach_the_kernel(self):
        cases = [
            (lambda c: c["process"].__setitem__("args", ["true\u0000garbage"]), "process.args[0]"),
            (lambda c: c.__setitem__("hostname", "a\u0000b"), "hostname"),
            (lambda c: c["root"].__setitem__("path", self.rootfs + "\u0000/../.."), "root.path"),
            (lambda c: c["mounts"].append({"destination": "/mnt\u0000/../../x", "type": "tmpfs", "source": "tmpfs"}), "mounts[7].destination"),
            (lambda c: c["process"].__setitem__("env", ["A=b\u0000c"]), "process.env[0]"),
            (lambda c: c["process"].__setitem__("cwd", "/\u0000x"), "process.cwd"),
        ]
        for mod, where in cases:
            c = self.config(["true"])
            mod(c)
            self.check_fails(c, where + ": must not contain a NUL byte")

    def test_unknown_seccomp_architecture_is_refused(self):
        c = self.config(["true"])
        c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_NOPE"]}
        self.check_fails(c, 'linux.seccomp.architectures: unknown architecture "SCMP_ARCH_NOPE"')

    # -- fds: only what the caller passed --------------------------------------------------------
    def test_no_runtime_fd_reaches_the_workload_with_preserve_fds(self):
        # Nothing passed at 3..5: ocelot's own fds (sync socket, stub, seccomp program, namespace
        # files of exec) must not show up there.
        c = self.config(["/bin/ocelot-probe", "report"])
        c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]}
        cid = self.new_id()
        p = self.ocelot("run", "--preserve-fds", "3", "--bundle", self.bundle(c), cid, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("file descriptor 3 was not passed to ocelot", p.stderr)
        cid = self.new_id()
        c2 = self.config(["sleep", "30"])
        self.ocelot("run", "-d", "--bundle", self.bundle(c2, "b2"), cid)
        p = self.ocelot("exec", "--preserve-fds", "2", cid, "/bin/ocelot-probe", "report", check=False)
        self.assertEqual(p.returncode, 255)
        self.assertIn("was not passed to ocelot", p.stderr)
        r = probe_report(self.ocelot("exec", cid, "/bin/ocelot-probe", "report").stdout)
        self.assertEqual(sorted(int(x.split()[0]) for x in r["fd"]), [0, 1, 2])


class HostileWorkloads(OcelotTest):
    """A workload with CAP_SYS_PTRACE tries to write the host's runtime binary through
    /proc/PID/exe (the CVE-2019-5736 class). It runs against a copy of ocelot in a temp dir, so
    that a failure damages only the copy."""

    def setUp(self):
        super().setUp()
        self.binary = os.path.join(self.tmp, "bin", "ocelot")
        os.makedirs(os.path.dirname(self.binary))
        shutil.copy(os.environ["OCELOT"], self.binary)
        helper = os.path.join(os.path.dirname(os.environ["OCELOT"]), "ocelot-systemd")
        if os.path.exists(helper):  # the systemd driver's helper sits beside the binary
            shutil.copy(helper, os.path.dirname(self.binary))
        with open(self.binary, "rb") as f:
            self.digest = hashlib.sha256(f.read()).hexdigest()
        self.size = os.path.getsize(self.binary)
        shutil.copy(ATTACKER, os.path.join(self.tmp, "attacker"))

    def tearDown(self):
        for cid in self.ids:
            subprocess.run([self.binary, "--root", self.root, "delete", "--force", cid], capture_output=True)
        super().tearDown()

    def own(self, *args, check=True):
        return self.ocelot(*args, check=check, binary=self.binary)

    def attacker_config(self, args):
        c = self.config(args)
        caps = c["process"]["capabilities"]
        for k in ("bounding", "effective", "permitted"):
            caps[k] = caps.get(k, []) + ["CAP_SYS_PTRACE", "CAP_DAC_OVERRIDE"]
        c["process"]["noNewPrivileges"] = False
        c["mounts"].append({"destination": "/attack", "type": "bind", "source": self.tmp, "options": ["rbind", "ro"]})
        return c

    def assert_binary_untouched(self, out):
        with open(self.binary, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), self.digest, "the host binary was modified: " + out)
        self.assertNotIn("wrote", out)

    def test_exec_does_not_expose_the_host_binary(self):
        cid = self.new_id()
        out = os.path.join(self.tmp, "attack.log")
        c = self.attacker_config(["sh", "-c", "/attack/attacker %d 60 > /attack-out 2>&1; sleep 1000" % self.size])
        c["mounts"].append({"destination": "/attack-out", "type": "bind", "source": out, "options": ["bind"]})
        open(out, "w").close()
        self.own("run", "-d", "--bundle", self.bundle(c), cid)
        for _ in range(20):
            self.own("exec", cid, "true")
        time.sleep(0.5)  # the attacker retries its writes after ocelot has exited
        self.own("kill", cid, "KILL")
        self.assert_binary_untouched(open(out).read())

    def test_created_state_does_not_expose_the_host_binary(self):
        for i in range(20):
            cid = self.new_id()
            self.own("create", "--bundle", self.bundle(self.attacker_config(["true"]), "b%d" % i), cid)
            # An exec'd process with CAP_SYS_PTRACE, before start, against PID 1 and every other process.
            p = self.own("exec", "--cap", "CAP_SYS_PTRACE", cid, "/attack/attacker", str(self.size), "0.3", check=False)
            self.own("start", cid)
            self.own("delete", "--force", cid)
            self.assert_binary_untouched(p.stdout)
            self.assertNotIn("held", p.stdout)
