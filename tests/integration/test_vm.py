"""VM-isolated mode (--isolation=vm, the org.ocelot.isolation annotation, the ocelot-vm name): the
same bundle inside a QEMU guest, under TCG on hosts without a usable /dev/kvm. Boots cost about
2 s each under TCG, so each test that boots checks several things of one guest.

Needs qemu-system-x86 and the guest kernel (`make vm-setup`, which `make test` runs); they are
not skipped when missing: a missing piece is a failure here.
"""
import fcntl
import hashlib
import json
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import threading
import time

import harness
from harness import Cgroup, OCELOT, OcelotTest, alive, cgroup_dirs_named, receive_console_fd

TEMPLATES = "/var/cache/ocelot/vm/templates"

KERNEL_DIR = "/var/cache/ocelot/vm/kernel"


def host_kernel():
    return os.uname().release


def guest_kernel():
    with open(os.path.join(KERNEL_DIR, "version")) as f:
        return f.read().strip()


def ppid(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(") ", 1)[1].split()[1])


class VmIsolation(OcelotTest):
    def vm_config(self, args):
        c = self.config(args)
        c["annotations"] = {"org.ocelot.isolation": "vm"}
        return c

    def log_args(self):
        # ocelot's own messages (the one-time TCG notice) go to --log: stderr is the workload's.
        return ["--log", os.path.join(self.tmp, "ocelot.log")]

    def create_and_start(self, c, cid, env=None):
        """Creates (its output to a file, returned) and starts a VM container."""
        b = self.bundle(c, "bundle-" + cid)
        out = os.path.join(self.tmp, "out")
        with open(out, "w") as f:
            p = subprocess.run([OCELOT, "--root", self.root] + self.log_args() + ["create", "--bundle", b, cid],
                               stdout=f, stderr=f, timeout=120, env=env)
        if p.returncode != 0:
            with open(out) as f:
                self.fail("create %s failed (%d): %s" % (cid, p.returncode, f.read().strip()))
        self.ocelot("start", cid)
        return out

    def test_output_exit_code_guest_kernel_and_shares(self):
        data = os.path.join(self.tmp, "data")
        os.makedirs(data)
        c = self.vm_config(["/bin/sh", "-c",
                            "uname -r; cat /proc/self/cgroup; grep -c ' / / ' /proc/self/mountinfo; "
                            "echo from-guest > /tmp/written; echo to-stderr >&2; exit 7"])
        c["mounts"].append({"destination": "/tmp", "type": "bind", "source": data, "options": ["rbind", "rw"]})
        cid = self.new_id("vm")
        b = self.bundle(c, "bundle-" + cid)
        p = self.ocelot(*self.log_args(), "run", "--bundle", b, cid, check=False)
        self.assertEqual(p.returncode, 7, p.stderr)
        self.assertEqual(p.stderr, "to-stderr\n")  # nothing of the guest kernel or QEMU mixed in
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0], guest_kernel())
        self.assertNotEqual(lines[0], host_kernel())
        self.assertEqual(lines[1], "0::/")  # cgroup v2 only, and a cgroup namespace
        with open(os.path.join(data, "written")) as f:
            self.assertEqual(f.read(), "from-guest\n")  # the bind mount's source is shared read-write
        self.assertEqual([e for e in os.listdir(self.root) if e != "@vm-pool"], [])

    def test_cgroup_v2_limits_are_enforced_in_the_guest(self):
        c = self.vm_config(["/bin/sh", "-c",
                            "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max; "
                            "/bin/ocelot-probe fork 20; /bin/ocelot-probe alloc 96; echo alloc-exit=$?"])
        c["linux"]["resources"]["memory"] = {"limit": 32 << 20}
        c["linux"]["resources"]["pids"] = {"limit": 8}
        cid = self.new_id("vm")
        b = self.bundle(c, "bundle-" + cid)
        out = os.path.join(self.tmp, "out")
        with open(out, "w") as f:
            subprocess.run([OCELOT, "--root", self.root] + self.log_args() + ["create", "--bundle", b, cid],
                           stdout=f, stderr=f, check=True, timeout=120)
        # On the host, the VMM runs in the container's cgroup, limited to guest RAM plus QEMU.
        st = self.state(cid)
        cg = Cgroup(st["pid"])
        self.assertEqual(cg.value("memory.limit"), str((32 + 96 + 160) << 20))  # limit + guest headroom + QEMU
        self.assertTrue(cg.dir("memory").rstrip("/").endswith("/" + cid), cg.dir("memory"))
        self.ocelot("start", cid)
        self.wait_status(cid, "stopped", timeout=60)
        self.ocelot("delete", cid)
        lines = open(out).read().splitlines()
        self.assertEqual(lines[0], str(32 << 20))  # in the guest's cgroup2 files
        self.assertEqual(lines[1], "8")
        forked = int(lines[2].split()[1])
        self.assertLess(forked, 8, lines)  # pids.max stopped the forks
        self.assertIn("alloc-exit=137", lines)  # the guest's memory cgroup OOM-killed the allocation

    # In the guest (pure cgroup v2) linux.resources.devices is an eBPF program on the container's
    # cgroup. /dev/kmsg (c 1 11) is not among the default allowed devices: mknod is allowed (as
    # runc's defaults: "c *:* m"), opening it is not, until a rule allows it. CAP_SYSLOG so that
    # only the device rules can refuse the open.
    # /dev/mem (c 1 1) the same way, with CAP_SYS_RAWIO so that its driver would let it open.
    KMSG_OPEN = ("rm -f /tmp/kmsg /tmp/mem; for d in kmsg:11 mem:1; do n=${d%%:*}; "
                 "mknod /tmp/$n c 1 ${d#*:} && (exec 3</tmp/$n) 2>/dev/null && echo $n-open || echo $n-denied; done; "
                 "echo x > /dev/null && echo null-ok")

    def device_config(self, args, allow=False):
        c = self.vm_config(args)
        for s in ("bounding", "effective", "permitted"):
            c["process"]["capabilities"][s] += ["CAP_MKNOD", "CAP_SYSLOG", "CAP_SYS_RAWIO"]
        c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["mode=1777"]})
        if allow:
            c["linux"]["resources"]["devices"] += [{"allow": True, "type": "c", "major": 1, "minor": m, "access": "rw"}
                                                   for m in (11, 1)]
        return c

    def test_device_rules_are_enforced_by_ebpf_in_the_v2_guest(self):
        for allow, expect in ((False, ["kmsg-denied", "mem-denied"]), (True, ["kmsg-open", "mem-open"])):
            cid = self.new_id("vm")
            c = self.device_config(["/bin/sh", "-c", self.KMSG_OPEN], allow=allow)
            p = self.ocelot(*self.log_args(), "run", "--bundle", self.bundle(c, "bundle-" + cid), cid, check=False)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout.split(), expect + ["null-ok"], p.stderr)

    def test_no_device_rules_means_no_device_program(self):
        # A template's agent keeps a device program loaded and attached to a cgroup of its own (so
        # that containers with the default rules skip the kernel's verifier): none of it may reach a
        # container whose config has no device rules.
        cid = self.new_id("vm")
        c = self.device_config(["/bin/sh", "-c", self.KMSG_OPEN])
        del c["linux"]["resources"]["devices"]
        p = self.ocelot(*self.log_args(), "run", "--bundle", self.bundle(c, "bundle-" + cid), cid, check=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.split(), ["kmsg-open", "mem-open", "null-ok"], p.stderr)

    def test_new_network_namespace_is_fresh_and_shared_with_exec(self):
        # From a template the container's new network namespace is one the agent made before the
        # guest was saved: it must look new (only a loopback, up as in any namespace the runtime
        # makes) and be the one exec joins.
        cid = self.new_id("vm")
        # bpf_jit_enable exists in the guest's first network namespace only.
        c = self.vm_config(["/bin/sh", "-c", "readlink /proc/self/ns/net; cat /sys/class/net/lo/flags; "
                            "ls /sys/class/net; test -e /proc/sys/net/core/bpf_jit_enable && echo first-netns; "
                            "echo up; while :; do sleep 0.05; done"])
        out = self.create_and_start(c, cid)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "up" not in open(out).read().split():
            time.sleep(0.05)
        first = open(out).read().split()
        self.assertEqual(first[1:], ["0x9", "lo", "up"], first)
        self.assertEqual(self.ocelot("exec", cid, "readlink", "/proc/self/ns/net").stdout.strip(), first[0])
        # Default device rules again (the template's preloaded program is attached to this
        # container already): update must still work.
        self.ocelot("update", "--resources", "-", cid,
                    input=json.dumps({"devices": c["linux"]["resources"]["devices"]}))
        self.ocelot("kill", cid, "KILL")
        self.wait_status(cid, "stopped", timeout=30)
        self.ocelot("delete", cid)

    def test_update_replaces_the_device_program(self):
        cid = self.new_id("vm")
        c = self.device_config(["/bin/sh", "-c", "echo up; while :; do sleep 0.05; done"])
        self.create_and_start(c, cid)
        self.assertEqual(self.ocelot("exec", cid, "/bin/sh", "-c", self.KMSG_OPEN).stdout.split(),
                         ["kmsg-denied", "mem-denied", "null-ok"])
        rules = c["linux"]["resources"]["devices"] + [{"allow": True, "type": "c", "major": 1, "minor": 11,
                                                       "access": "rw"}]
        self.ocelot("update", "--resources", "-", cid, input=json.dumps({"devices": rules}))
        self.assertEqual(self.ocelot("exec", cid, "/bin/sh", "-c", self.KMSG_OPEN).stdout.split(),
                         ["kmsg-open", "mem-denied", "null-ok"])  # only the rule that was added
        self.ocelot("kill", cid, "KILL")
        self.wait_status(cid, "stopped", timeout=30)
        self.ocelot("delete", cid)

    def test_create_start_state_exec_kill_delete_leave_nothing(self):
        c = self.config(["/bin/sh", "-c", "trap 'echo got-term; exit 3' TERM; echo up; while :; do sleep 0.05; done"])
        cid = self.new_id("vm")
        b = self.bundle(c, "bundle-" + cid)
        pidfile = os.path.join(self.tmp, "pid")
        vm_binary = os.path.join(os.path.dirname(OCELOT), "ocelot-vm")  # the name selects VM isolation
        out = os.path.join(self.tmp, "out")
        with open(out, "w") as f:
            subprocess.run([vm_binary, "--root", self.root] + self.log_args() +
                           ["create", "--bundle", b, "--pid-file", pidfile, cid], stdout=f, stderr=f, check=True, timeout=120)
        st = self.state(cid)
        self.assertEqual(st["status"], "created")
        with open(pidfile) as f:
            vmm = int(f.read())
        self.assertEqual(st["pid"], vmm)
        with open("/proc/%d/cmdline" % vmm) as f:
            self.assertIn("qemu-system-x86_64", f.read())
        sockets = [os.path.join(self.root, cid, s) for s in ("vm.sock", "cmd.sock", "exec0.sock", "exec3.sock")]
        self.assertTrue(all(os.path.exists(s) for s in sockets))
        self.assertNotEqual(self.ocelot("start", cid).returncode, None)
        self.assertEqual(self.state(cid)["status"], "running")
        self.assertIn("cannot start an already running container", self.ocelot("start", cid, check=False).stderr)
        self.assertIn("not stopped", self.ocelot("delete", cid, check=False).stderr)
        end = time.time() + 30
        while "up" not in open(out).read() and time.time() < end:
            time.sleep(0.05)
        # exec runs in the guest's container: output, exit code, env and cwd come back.
        p = self.ocelot("exec", "-e", "FOO=bar", "--cwd", "/tmp", cid, "/bin/sh", "-c",
                        "echo $FOO $(pwd) $(cat /proc/1/cmdline | tr '\\0' ' '); echo oops >&2; exit 5", check=False)
        self.assertEqual(p.returncode, 5, p.stderr)
        self.assertEqual(p.stdout, "bar /tmp /bin/sh -c " + c["process"]["args"][2] + "\n")
        self.assertEqual(p.stderr, "oops\n")
        p = self.ocelot("exec", cid, "/nonexistent", check=False)
        self.assertEqual(p.returncode, 255)
        self.assertIn('"/nonexistent"', p.stderr)
        self.ocelot("kill", cid, "TERM")
        self.wait_status(cid, "stopped", timeout=30)
        self.assertIn("got-term", open(out).read())
        self.assertIn("container not running", self.ocelot("kill", cid, "TERM", check=False).stderr)
        self.ocelot("delete", cid)
        self.assertFalse(alive(vmm))
        self.assertFalse(any(os.path.exists(s) for s in sockets))
        self.assertEqual(cgroup_dirs_named(cid), [])

    def vmm_status(self, vmm):
        with open("/proc/%d/status" % vmm) as f:
            return {k: v.strip() for k, v in (l.split(":", 1) for l in f.read().splitlines() if ":" in l)}

    def assert_jail_root(self, vmm, cid):
        """The VMM's root holds what it was given and nothing else; its tree refuses writes."""
        planted = os.path.join(self.tmp, "not-given", "secret")
        os.makedirs(os.path.dirname(planted), exist_ok=True)
        with open(planted, "w") as f:
            f.write("host secret\n")
        root = "/proc/%d/root" % vmm
        self.assertFalse(os.path.exists(root + planted), "the VMM sees a host file it was not given")
        self.assertTrue(os.path.exists(root + os.path.join(self.root, cid, "vmm.log")))
        for absent in ("/etc/shadow", "/root", "/home", "/var/lib", "/run/ocelot", "/sys"):
            self.assertFalse(os.path.exists(root + absent), absent)
        devs = sorted(os.listdir(root + "/dev"))
        self.assertEqual([d for d in devs if d != "kvm"], ["full", "null", "random", "urandom", "zero"])
        for ro in ("/usr/ocelot-jail-probe", "/ocelot-jail-probe"):
            with self.assertRaises(OSError, msg=ro):
                open(root + ro, "w").close()

    def test_the_vmm_is_jailed_and_unprivileged(self):
        """What a guest that takes over QEMU could reach (vm/vmm/jail.h): a uid and gid of its own,
        no capability, QEMU's seccomp sandbox, no_new_privs and a private root. The files are
        served by one virtfs-proxy-helper per share, children of the VMM in its cgroup, which
        create and chown files as the guest asked (checked on the host) and go with the VMM."""
        data = os.path.join(self.tmp, "data")
        os.makedirs(data)
        c = self.vm_config(["/bin/sh", "-c", "echo made > /tmp/by-root; chown 1234:4321 /tmp/by-root; "
                                             "mkdir -m 700 /tmp/private; chown 1000:1000 /tmp/private; "
                                             "echo up; sleep 600"])
        c["mounts"].append({"destination": "/tmp", "type": "bind", "source": data, "options": ["rbind", "rw"]})
        for kind in ("bounding", "effective", "permitted"):
            c["process"]["capabilities"][kind] = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER"]
        cid = self.new_id("vm")
        out = self.create_and_start(c, cid)
        vmm = self.state(cid)["pid"]
        self.wait_for(lambda: "up" in open(out).read(), "the guest's writes", timeout=60)
        with open("/proc/%d/cmdline" % vmm) as f:
            argv = f.read().split("\0")
        self.assertIn("on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny", argv)
        status = self.vmm_status(vmm)
        own = str(0x70000000 + vmm)
        self.assertEqual(status["Uid"].split(), [own] * 4)
        self.assertEqual(status["Gid"].split(), [own] * 4)
        self.assertEqual(status["Groups"].split(), [own])
        self.assertEqual((status["Seccomp"], status["NoNewPrivs"]), ("2", "1"))
        for cap in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
            self.assertEqual(int(status[cap], 16), 0, cap)
        self.assertEqual(int(status["CapBnd"], 16), (1 << 6) | (1 << 7), "setgid and setuid, spent on -runas")
        self.assert_jail_root(vmm, cid)
        # The file servers: one helper per share (the rootfs and /tmp's source), the VMM's
        # children, each chrooted into its share; the template's unused slots have none.
        with open("/proc/%d/task/%d/children" % (vmm, vmm)) as f:
            helpers = [int(x) for x in f.read().split()]
        self.assertEqual(sorted(os.readlink("/proc/%d/root" % h) for h in helpers), sorted([self.rootfs, data]))
        with open("/proc/%d/cgroup" % vmm) as f:
            vmm_cgroups = f.read()
        for h in helpers:
            self.assertTrue(os.readlink("/proc/%d/exe" % h).endswith("/virtfs-proxy-helper"))
            hs = self.vmm_status(h)
            self.assertEqual(hs["Uid"].split(), ["0"] * 4)
            # chown, dac_override, fowner, fsetid, setgid, setuid, mknod: nothing to leave its chroot with.
            self.assertEqual(int(hs["CapEff"], 16), 0x80000DB, h)
            self.assertEqual(hs["NoNewPrivs"], "1")
            with open("/proc/%d/cgroup" % h) as f:
                self.assertEqual(f.read(), vmm_cgroups)
        st = os.stat(os.path.join(data, "by-root"))
        self.assertEqual((st.st_uid, st.st_gid), (1234, 4321))
        st = os.stat(os.path.join(data, "private"))
        self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o777), (1000, 1000, 0o700))
        # A guest user writes where its uid may, and only there.
        p = self.ocelot("exec", "--user", "1000:1000", cid, "sh", "-c",
                        "echo mine > /tmp/private/f; echo x > /tmp/not-mine", check=False)
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("ermission denied", p.stdout + p.stderr)
        st = os.stat(os.path.join(data, "private", "f"))
        self.assertEqual((st.st_uid, st.st_gid), (1000, 1000))
        self.assertFalse(os.path.exists(os.path.join(data, "not-mine")))
        self.assertEqual(self.ocelot("exec", cid, "echo", "still-works").stdout, "still-works\n")
        self.ocelot("delete", "--force", cid)
        self.wait_for(lambda: not any(alive(h) for h in helpers), "the helpers' exit", timeout=10)

    def test_without_the_share_helper_the_vmm_keeps_uid_0(self):
        """OCELOT_VM_SHARE_HELPER=off stands for a host without QEMU's helper: QEMU serves the
        shares itself (9p passthrough), so it keeps uid 0 with the capabilities that needs and
        no others, QEMU's sandbox denies every set*uid, and the jail's root is the same."""
        env = dict(os.environ, OCELOT_VM_SHARE_HELPER="off")
        cid = self.new_id("vm")
        self.create_and_start(self.vm_config(["/bin/sh", "-c", "echo up; sleep 600"]), cid, env=env)
        vmm = self.state(cid)["pid"]
        with open("/proc/%d/cmdline" % vmm) as f:
            argv = f.read().split("\0")
        self.assertIn("on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny", argv)
        self.assertNotIn("-runas", argv)
        status = self.vmm_status(vmm)
        self.assertEqual(status["Uid"].split(), ["0"] * 4)
        self.assertEqual((status["Seccomp"], status["NoNewPrivs"]), ("2", "1"))
        # chown, dac_override, fowner, fsetid, mknod, setfcap: bits 0 1 3 4 27 31.
        want = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 4) | (1 << 27) | (1 << 31)
        for cap in ("CapEff", "CapPrm", "CapBnd"):
            self.assertEqual(int(status[cap], 16), want, cap)
        with open("/proc/%d/task/%d/children" % (vmm, vmm)) as f:
            self.assertEqual(f.read().split(), [])
        self.assert_jail_root(vmm, cid)
        self.assertEqual(self.ocelot("exec", cid, "echo", "still-works").stdout, "still-works\n")
        self.ocelot("delete", "--force", cid)
        # A helper named but not there is an error, not a quiet uid 0.
        before = len(open("/proc/self/mountinfo").readlines())
        cid = self.new_id("vm")
        bad = dict(os.environ, OCELOT_VM_SHARE_HELPER="/nonexistent/virtfs-proxy-helper")
        p = self.ocelot("create", "--bundle", self.bundle(self.vm_config(["/bin/true"]), "bundle-" + cid), cid,
                        check=False, env=bad)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(p.stderr.strip().splitlines(),
                         ['ocelot: OCELOT_VM_SHARE_HELPER: "/nonexistent/virtfs-proxy-helper" is not an '
                          "executable's absolute path"])
        self.assert_nothing_left(cid, before)

    def test_host_hooks_run_with_the_state_and_a_failing_one_leaves_nothing(self):
        """prestart, createRuntime, poststart and poststop run on the host with the state on stdin
        (its pid the VMM's); createContainer and startContainer, which run in the container's
        namespaces (in the guest), are refused by name."""
        out = os.path.join(self.tmp, "hooks")
        os.makedirs(out)

        def hook(kind):
            return {"path": "/bin/sh", "args": ["sh", "-c", "cat > %s/%s.json" % (out, kind)]}
        c = self.vm_config(["/bin/sh", "-c", "sleep 600"])
        c["hooks"] = {k: [hook(k)] for k in ("prestart", "createRuntime", "poststart", "poststop")}
        cid = self.new_id("vm")
        self.create_and_start(c, cid)
        vmm = self.state(cid)["pid"]
        for kind, status in (("prestart", "creating"), ("createRuntime", "creating"), ("poststart", "running")):
            st = json.load(open(os.path.join(out, kind + ".json")))
            self.assertEqual((st["id"], st["status"], st["pid"]), (cid, status, vmm), kind)
        self.assertFalse(os.path.exists(os.path.join(out, "poststop.json")))
        self.ocelot("delete", "--force", cid)
        self.assertEqual(json.load(open(os.path.join(out, "poststop.json")))["id"], cid)
        # A failing prestart hook fails create: no VMM, state, cgroup or mount is left.
        before = len(open("/proc/self/mountinfo").readlines())
        bad = self.vm_config(["/bin/true"])
        bad["hooks"] = {"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "echo nope >&2; exit 3"]}]}
        cid = self.new_id("vm")
        p = self.ocelot("create", "--bundle", self.bundle(bad, "bundle-" + cid), cid, check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("prestart", p.stderr)
        self.assert_nothing_left(cid, before)
        for kind in ("createContainer", "startContainer"):
            c = self.vm_config(["/bin/true"])
            c["hooks"] = {kind: [{"path": "/bin/true"}]}
            cid = self.new_id("vm")
            p = self.ocelot("create", "--bundle", self.bundle(c, "bundle-" + cid), cid, check=False)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn(kind + " hooks run in the container's namespaces", p.stderr)
            self.assert_nothing_left(cid, before)

    def test_exec_relays_stdin(self):
        """exec's stdin is the process's, as a container's exec inherits it: piped input arrives
        whole and ends; /dev/null ends at once; a process that stops reading ends the exec."""
        cid = self.new_id("vm")
        self.create_and_start(self.vm_config(["/bin/sh", "-c", "sleep 600"]), cid)

        def exec_with(stdin, *args, data=None):
            return subprocess.run([OCELOT, "--root", self.root, "exec", cid] + list(args), input=data, stdin=stdin,
                                  capture_output=True, timeout=120)
        p = exec_with(None, "sh", "-c", "cat; echo end", data=b"line1\nline2\n")
        self.assertEqual((p.returncode, p.stdout), (0, b"line1\nline2\nend\n"), p.stderr)
        data = os.urandom(1 << 20)
        p = exec_with(None, "sh", "-c", "cat | md5sum", data=data)
        self.assertEqual(p.stdout.split()[0].decode(), hashlib.md5(data).hexdigest(), p.stderr)
        p = exec_with(subprocess.DEVNULL, "cat")
        self.assertEqual((p.returncode, p.stdout), (0, b""), p.stderr)
        p = exec_with(None, "head", "-c", "5", data=b"abcdefgh" * 100000)
        self.assertEqual((p.returncode, p.stdout), (0, b"abcde"), p.stderr)
        self.ocelot("delete", "--force", cid)

    # Runs `exec -d --pid-file` as conmon does: as a child subreaper, so the detached stand-in
    # becomes its child and its exit status can be waited for. Prints the exec's exit code, the
    # stand-in's pid, whether it was alive, and (after SIGTERM to it) its exit status.
    DETACHED_EXEC = """
import ctypes, os, signal, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
ocelot, root, cid, pidfile, out = sys.argv[1:6]
with open(out, "w") as f:
    p = subprocess.run([ocelot, "--root", root, "exec", "-d", "--pid-file", pidfile, cid, "sh", "-c",
                        "trap 'exit 9' TERM; echo started; while :; do sleep 0.1; done"],
                       stdout=f, stderr=f, stdin=subprocess.DEVNULL, timeout=120)
print(p.returncode)
if p.returncode:
    sys.exit(0)
pid = int(open(pidfile).read())
print(pid)
for _ in range(600):
    if "started" in open(out).read():
        break
    time.sleep(0.1)
state = open("/proc/%d/stat" % pid).read().split(") ")[1][0]
print(state)
os.kill(pid, signal.SIGTERM)
_, st = os.waitpid(pid, 0)
print(os.WEXITSTATUS(st) if os.WIFEXITED(st) else -os.WTERMSIG(st))
"""

    def guest_count(self, cid, pattern):
        p = self.ocelot("exec", cid, "sh", "-c", "ps -o args | grep -c '%s'" % pattern, check=False, timeout=120)
        return int(p.stdout.strip() or -1)

    def test_exec_detached_has_a_host_process_that_stands_for_the_guest_process(self):
        """exec -d --pid-file: returns once the guest's process runs; the pid file names a host
        process that lives as long as it does, passes SIGTERM to it and exits with its status."""
        cid = self.new_id("vm")
        self.create_and_start(self.vm_config(["/bin/sh", "-c", "sleep 600"]), cid)
        pidfile, out = os.path.join(self.tmp, "exec.pid"), os.path.join(self.tmp, "exec.out")
        p = subprocess.run(["python3", "-c", self.DETACHED_EXEC, OCELOT, self.root, cid, pidfile, out],
                           capture_output=True, text=True, timeout=300)
        lines = p.stdout.split()
        self.assertEqual(lines[0], "0", open(out).read() + p.stderr)
        self.assertEqual(lines[2], "S")  # alive (sleeping in its relay) until the guest's process ends
        self.assertEqual(lines[3], "9")  # the guest process's own exit status, from its TERM trap
        self.assertEqual(open(out).read(), "started\n")  # its output went to the stdout exec was given
        self.assertEqual(self.guest_count(cid, "[w]hile"), 0)  # SIGTERM ended it in the guest
        # Without -d the pid file names the exec itself, which stands for the process just the same.
        p = self.ocelot("exec", "--pid-file", pidfile, cid, "sh", "-c", "exit 4", check=False, timeout=120)
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertTrue(open(pidfile).read().strip().isdigit())
        # A process that cannot start fails exec -d itself, with the runtime's line; no pid file.
        os.unlink(pidfile)
        p = self.ocelot("exec", "-d", "--pid-file", pidfile, cid, "/nonexistent", check=False, timeout=120)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("in the VM:", p.stderr)
        self.assertFalse(os.path.exists(pidfile))
        self.ocelot("delete", "--force", cid)

    def test_exec_sessions_run_side_by_side_and_their_limit_is_one_line(self):
        """Each exec holds one of the guest's exec ports while its process runs: four detached
        ones at once, a fifth refused in one line, a port free again once its stand-in is gone;
        the stand-ins end with the container."""
        cid = self.new_id("vm")
        self.create_and_start(self.vm_config(["/bin/sh", "-c", "sleep 600"]), cid)
        pids = []
        for i in range(4):
            pidfile = os.path.join(self.tmp, "p%d" % i)
            p = self.ocelot("exec", "-d", "--pid-file", pidfile, cid, "sleep", "50%d" % i, timeout=120)
            pids.append(int(open(pidfile).read()))
        self.assertEqual(self.guest_count(cid, "[s]leep 50"), -1)  # no session left even for this one
        p = self.ocelot("exec", cid, "true", check=False, timeout=120)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("all 4 exec sessions of the VM-isolated container are in use", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        # A stand-in killed outright: nothing stands for its process on the host any more, so the
        # guest ends it too (it would hold its port for good); the port serves the next exec.
        os.kill(pids[0], signal.SIGKILL)
        for _ in range(100):
            if not alive(pids[0]):
                break
            time.sleep(0.05)
        time.sleep(1.5)  # the agent waits 0.5 s for a host that went to stay gone
        self.assertEqual(self.guest_count(cid, "[s]leep 50"), 3)
        self.ocelot("delete", "--force", cid)
        for pid in pids[1:]:
            for _ in range(100):
                if not alive(pid):
                    break
                time.sleep(0.05)
            self.assertFalse(alive(pid), "a stand-in outlived its container")

    @staticmethod
    def set_size(fd, rows, cols):
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def read_until(self, fd, seen, text, timeout=30):
        """Reads fd until text appears in what was read (seen, a bytearray, keeps it all)."""
        end = time.time() + timeout
        while time.time() < end:
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                try:
                    seen += os.read(fd, 4096)
                except OSError:
                    break
                if text in seen:
                    return
        self.fail("never saw %r: %r" % (text, bytes(seen[-300:])))

    def test_exec_tty_is_an_interactive_terminal_that_follows_resizes(self):
        """exec -t from a terminal: a shell in the guest's pty (its line discipline echoes what is
        typed), our terminal's size at start and after a resize, the shell's exit status."""
        cid = self.new_id("vm")
        self.create_and_start(self.vm_config(["/bin/sh", "-c", "sleep 600"]), cid)
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(OCELOT, [OCELOT, "--root", self.root, "exec", "-t", cid, "sh"])
        seen = bytearray()
        try:
            self.set_size(fd, 30, 100)
            os.write(fd, b"tty; stty size\n")
            self.read_until(fd, seen, b"30 100")
            self.assertIn(b"/dev/pts/", seen)
            self.set_size(fd, 41, 123)  # SIGWINCH to exec, a resize frame to the guest's pty
            time.sleep(0.5)
            os.write(fd, b"stty size; echo typed-$((6*7))\n")
            self.read_until(fd, seen, b"typed-42")
            self.assertIn(b"41 123", seen)
            self.assertIn(b"echo typed-$((6*7))", seen)  # echoed by the guest pty
            os.write(fd, b"exit 6\n")
            _, status = os.waitpid(pid, 0)
            pid = 0
        finally:
            if pid:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            os.close(fd)
        self.assertEqual(os.waitstatus_to_exitcode(status), 6, bytes(seen[-300:]))
        self.ocelot("delete", "--force", cid)

    def test_exec_tty_to_a_console_socket_detached(self):
        """exec -t -d --console-socket, as conmon and the shim run it: the pty master arrives on
        the socket, typed input reaches a shell in the guest, resizes of the master reach the
        guest's pty, and the stand-in goes when the shell exits."""
        cid = self.new_id("vm")
        self.create_and_start(self.vm_config(["/bin/sh", "-c", "sleep 600"]), cid)
        sock, pidfile = os.path.join(self.tmp, "console.sock"), os.path.join(self.tmp, "exec.pid")
        got = {}
        t = threading.Thread(target=receive_console_fd, args=(sock, got, 60))
        t.start()
        self.ocelot("exec", "-t", "-d", "--console-socket", sock, "--pid-file", pidfile, cid, "sh", timeout=120)
        t.join()
        master = got["fds"][0]
        standin = int(open(pidfile).read())
        self.assertTrue(alive(standin))
        seen = bytearray()
        try:
            self.set_size(master, 25, 90)  # the stand-in's controlling terminal: SIGWINCH
            time.sleep(0.5)
            os.write(master, b"stty size; echo typed-$((6*7))\n")
            self.read_until(master, seen, b"typed-42")
            self.assertIn(b"25 90", seen)
            os.write(master, b"exit 0\n")
            for _ in range(200):
                if not alive(standin):
                    break
                time.sleep(0.05)
            self.assertFalse(alive(standin), "the stand-in outlived the shell")
        finally:
            os.close(master)
        self.ocelot("delete", "--force", cid)

    def test_a_console_sockets_resizes_reach_the_guests_pty(self):
        """create --console-socket with process.terminal (podman run -t): the caller's resizes of
        the master it got reach the container's pty in the guest; nothing watching them is left
        after delete."""
        c = self.vm_config(["/bin/sh", "-c", "while :; do stty size; sleep 0.2; done"])
        c["process"]["terminal"] = True
        cid = self.new_id("vm")
        b = self.bundle(c, "bundle-" + cid)
        sock = os.path.join(self.tmp, "console.sock")
        got = {}
        t = threading.Thread(target=receive_console_fd, args=(sock, got, 120))
        t.start()
        self.ocelot(*self.log_args(), "create", "--console-socket", sock, "--bundle", b, cid, timeout=120)
        t.join()
        master = got["fds"][0]
        seen = bytearray()
        try:
            self.ocelot("start", cid)
            self.set_size(master, 33, 111)
            self.read_until(master, seen, b"33 111")
            self.set_size(master, 44, 122)
            self.read_until(master, seen, b"44 122")
            vmm = self.state(cid)["pid"]
            procs = open(os.path.join(Cgroup(vmm).dir("pids"), "cgroup.procs")).read().split()
            # The VMM's own children are its file servers (test_the_vmm_is_jailed_and_unprivileged).
            watchers = [int(p) for p in procs if int(p) != vmm and ppid(int(p)) != vmm]
            self.assertEqual(len(watchers), 1, watchers)
            # The caller closing its master hangs up the watcher (its controlling terminal), not
            # the VMM: the container runs on, as a container's would.
            os.close(master)
            master = -1
            time.sleep(1)
            self.assertEqual(self.state(cid)["status"], "running")
            self.assertTrue(alive(vmm))
        finally:
            self.ocelot("delete", "--force", cid)
            if master >= 0:
                os.close(master)
        for _ in range(100):
            if not alive(watchers[0]):
                break
            time.sleep(0.05)
        self.assertFalse(alive(watchers[0]), "the size watcher outlived the container")

    def test_run_relays_its_terminals_size_changes_to_the_guest(self):
        """run with process.terminal and no console socket: our terminal is the container's, and
        a resize of it (SIGWINCH) reaches the guest's pty, where `stty size` sees it."""
        c = self.vm_config(["/bin/sh", "-c", "trap 'exit 3' TERM; while :; do stty size; sleep 0.2; done"])
        c["process"]["terminal"] = True
        cid = self.new_id("vm")
        b = self.bundle(c, "bundle-" + cid)

        def set_size(fd, rows, cols):
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(OCELOT, [OCELOT, "--root", self.root] + self.log_args() + ["run", "--bundle", b, cid])
        try:
            set_size(fd, 30, 100)
            seen = b""

            def read_until(text, timeout=30):
                nonlocal seen
                end = time.time() + timeout
                while time.time() < end:
                    r, _, _ = select.select([fd], [], [], 0.5)
                    if r:
                        seen += os.read(fd, 4096)
                        if text in seen:
                            return
                self.fail("never saw %r: %r" % (text, seen[-300:]))
            read_until(b"30 100")
            set_size(fd, 41, 123)  # the kernel sends SIGWINCH to run, its session's leader
            read_until(b"41 123")
        finally:
            os.kill(pid, signal.SIGTERM)  # forwarded: the workload's trap exits 3
            end = time.time() + 30
            status = os.waitpid(pid, os.WNOHANG)
            while status == (0, 0) and time.time() < end:
                time.sleep(0.1)
                status = os.waitpid(pid, os.WNOHANG)
            if status == (0, 0):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            os.close(fd)
        self.assertNotEqual(status, (0, 0), "run did not end on SIGTERM")
        self.assertEqual(os.waitstatus_to_exitcode(status[1]), 3)

    def test_run_forwards_signals_and_kill_before_start_stops_the_vm(self):
        c = self.config(["/bin/sh", "-c", "trap 'echo got-int; exit 4' INT; echo up; while :; do sleep 0.05; done"])
        cid = self.new_id("vm")
        b = self.bundle(c, "bundle-" + cid)
        out = os.path.join(self.tmp, "run-out")
        with open(out, "w") as f:
            p = subprocess.Popen([OCELOT, "--root", self.root, "--isolation=vm"] + self.log_args() + ["run", "--bundle", b, cid],
                                 stdout=f, stderr=subprocess.STDOUT)
            end = time.time() + 60
            while "up" not in open(out).read() and time.time() < end:
                time.sleep(0.05)
            p.send_signal(signal.SIGINT)
            self.assertEqual(p.wait(timeout=30), 4)
        self.assertIn("got-int", open(out).read())
        self.assertFalse(os.path.exists(os.path.join(self.root, cid)))  # run deletes

        # kill of a created container: the guest powers off, the container is stopped.
        cid2 = self.new_id("vm")
        self.ocelot("--isolation=vm", *self.log_args(), "create", "--bundle", b, cid2)
        vmm = self.state(cid2)["pid"]
        self.ocelot("kill", cid2, "KILL")
        self.wait_status(cid2, "stopped", timeout=30)
        self.ocelot("delete", cid2)
        self.assertFalse(alive(vmm))

    def test_missing_kernel_or_qemu_is_one_clear_line(self):
        c = self.vm_config(["/bin/true"])
        cid = self.new_id("vm")
        b = self.bundle(c, "bundle-" + cid)
        p = self.ocelot("--vm-kernel", "/nonexistent/vmlinux", "run", "--bundle", b, cid, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr, 'ocelot: --vm-kernel: "/nonexistent/vmlinux" does not exist\n')
        env = dict(os.environ, PATH="/nonexistent")
        p = self.ocelot("run", "--bundle", b, cid, check=False, env=env)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.count("\n"), 1, p.stderr)
        self.assertIn("apt-get install qemu-system-x86", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.root, cid)))

    def test_terminal_through_the_console_socket(self):
        import threading
        sock = os.path.join(self.tmp, "console.sock")
        result = {}

        t = threading.Thread(target=receive_console_fd, args=(sock, result, 120))
        t.start()
        c = self.vm_config(["/bin/sh", "-c", "tty; stty size; read line; echo got-$line"])
        c["process"]["terminal"] = True
        c["process"]["consoleSize"] = {"height": 30, "width": 100}
        cid = self.new_id("vm")
        self.ocelot(*self.log_args(), "create", "--console-socket", sock, "--bundle", self.bundle(c, "b-" + cid), cid)
        t.join(10)
        self.assertEqual(len(result.get("fds", [])), 1)
        master = result["fds"][0]
        self.ocelot("start", cid)
        os.write(master, b"typed\n")
        out = b""
        end = time.time() + 30
        while b"got-typed" not in out and time.time() < end:
            try:
                out += os.read(master, 4096)
            except OSError:
                break
        os.close(master)
        self.wait_status(cid, "stopped", timeout=30)
        text = out.decode(errors="replace")
        self.assertIn("/dev/pts/0", text)  # the container's own pty, in the guest
        self.assertIn("30 100", text)
        self.assertIn("got-typed", text)  # input reaches it, through the guest's line discipline
        self.ocelot("delete", cid)

    def test_a_create_that_fails_in_the_guest_leaves_nothing(self):
        c = self.vm_config(["/bin/true"])
        # The rootfs is read-only and has no /nonexistent: the guest's runtime cannot make the mount point.
        c["mounts"].append({"destination": "/nonexistent", "type": "tmpfs", "source": "tmpfs"})
        cid = self.new_id("vm")
        p = self.ocelot(*self.log_args(), "create", "--bundle", self.bundle(c, "b-" + cid), cid, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.count("\n"), 1, p.stderr)
        self.assertIn('in the VM: mkdir "/nonexistent" in rootfs: read-only file system', p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.root, cid)))
        self.assertEqual(cgroup_dirs_named(cid), [])
        qemus = subprocess.run(["pgrep", "-f", "ocelot.id=%s( |$)" % cid], capture_output=True, text=True).stdout
        self.assertEqual(qemus, "")


class VmTemplates(OcelotTest):
    """Guests restored from a booted template (vm/template.h): what a restore must get right."""

    def setUp(self):
        # Before the harness makes its temporary directory: unittest runs no tearDown after a
        # skip in setUp, so a skip after it would leave the directory behind.
        if "--vm-template=off" in harness.EXTRA_ARGS:
            self.skipTest("templates are forced off for this run")
        super().setUp()

    def run_vm(self, args, *flags):
        c = self.config(args)
        c["annotations"] = {"org.ocelot.isolation": "vm"}
        cid = self.new_id("vm")
        log = os.path.join(self.tmp, cid + ".log")
        # The template's own path: the pool (test_vm_pool.py) would take the second guest.
        p = self.ocelot("--debug", "--log", log, "--vm-pool=off", *flags, "run", "--bundle",
                        self.bundle(c, "b-" + cid), cid, check=False, timeout=180)
        with open(log) as f:
            p.log = f.read()
        return p

    PROBE = "cat /proc/sys/kernel/random/boot_id; head -c 16 /dev/urandom | od -An -tx1 | tr -d ' '; date +%s"

    KVM_MARKER = "/var/cache/ocelot/vm/kvm-unusable"

    def test_a_host_whose_kvm_cannot_run_a_guest_learns_it_and_still_restores_a_template(self):
        # Where /dev/kvm opens but cannot run a guest (nested virtualisation, as on the CI host),
        # the first VM container of a host boot finds out while it builds its template: QEMU
        # says so, the host remembers it, and that same container restores a TCG template.
        p = self.run_vm(["/bin/true"])
        self.assertEqual(p.returncode, 0, p.stderr + p.log)
        if not os.path.exists(self.KVM_MARKER):
            self.skipTest("this host's /dev/kvm runs guests (or there is none and nothing to learn)")
        with open(self.KVM_MARKER) as f:
            learnt = f.read()
        if "MSR" not in learnt and "KVM" not in learnt and "kvm" not in learnt:
            self.skipTest("this host's KVM was found broken by a guest that never answered: " + learnt)
        aside = self.KVM_MARKER + ".test-aside"
        os.rename(self.KVM_MARKER, aside)
        self.addCleanup(lambda: os.path.exists(aside) and os.replace(aside, self.KVM_MARKER))
        p = self.run_vm(["/bin/sh", "-c", "echo still-runs"])
        self.assertEqual((p.returncode, p.stdout), (0, "still-runs\n"), p.stderr + p.log)
        self.assertIn("restored from template", p.log)
        self.assertNotIn("cold boot", p.log)
        self.assertIn("using TCG on this host until it reboots", p.log)
        with open(self.KVM_MARKER) as f:
            self.assertIn("reason", f.read())

    def test_two_guests_from_one_template_differ_in_randomness_and_keep_the_host_clock(self):
        self.run_vm(["/bin/true"])  # builds the template if there is none yet
        # A template saved 8 s ago or more: a guest that kept the template's clock shows it.
        newest = max(os.stat(os.path.join(TEMPLATES, d, "key")).st_mtime for d in os.listdir(TEMPLATES)
                     if os.path.exists(os.path.join(TEMPLATES, d, "key")))
        time.sleep(max(0.0, newest + 8 - time.time()))
        seen = []
        for _ in range(2):
            p = self.run_vm(["/bin/sh", "-c", self.PROBE])
            self.assertEqual(p.returncode, 0, p.stderr + p.log)
            self.assertIn("restored from template", p.log)
            boot_id, random_hex, guest_time = p.stdout.split()
            seen.append((boot_id, random_hex))
            # The template was saved earlier: the guest's clock is set to the host's at restore.
            self.assertLess(abs(int(guest_time) - time.time()), 5, p.stdout)
        self.assertNotEqual(seen[0][0], seen[1][0], "boot_id is the same in two guests")
        self.assertNotEqual(seen[0][1], seen[1][1], "/dev/urandom gave the same bytes in two guests")
        self.assertEqual(os.listdir(self.root), [])

    def test_off_boots_cold_and_a_damaged_template_is_rebuilt(self):
        p = self.run_vm(["/bin/echo", "cold"], "--vm-template=off")
        self.assertEqual((p.returncode, p.stdout), (0, "cold\n"), p.stderr)
        self.assertIn("booted cold", p.log)
        self.assertNotIn("template", p.log.replace("booted cold", ""))
        # A template whose saved state does not load: the run still works (cold), says why under
        # --debug, and the template is discarded, so the next run builds a good one.
        self.run_vm(["/bin/true"])
        for d in os.listdir(TEMPLATES):
            state = os.path.join(TEMPLATES, d, "state")
            if os.path.exists(state):
                with open(state, "r+b") as f:
                    f.write(b"\0" * 64)
        p = self.run_vm(["/bin/echo", "after"])
        self.assertEqual((p.returncode, p.stdout), (0, "after\n"), p.stderr + p.log)
        self.assertIn("did not restore", p.log)
        self.assertIn("booted cold", p.log)
        p = self.run_vm(["/bin/echo", "again"])
        self.assertEqual(p.stdout, "again\n")
        self.assertIn("VM template built", p.log)
        self.assertIn("restored from template", p.log)
        self.assertEqual(os.listdir(self.root), [])

    def test_a_template_is_never_written_by_a_guest(self):
        self.run_vm(["/bin/true"])
        rams = [os.path.join(TEMPLATES, d, "ram") for d in os.listdir(TEMPLATES) if "." not in d]
        before = {r: (os.stat(r).st_mtime_ns, open(r, "rb").read(1 << 20)) for r in rams if os.path.exists(r)}
        self.assertTrue(before)
        # The guest dirties plenty of memory; a shared mapping would write it into the file.
        p = self.run_vm(["/bin/sh", "-c", "/bin/ocelot-probe alloc 64 >/dev/null; echo done"])
        self.assertIn("restored from template", p.log)
        for r, (mtime, head) in before.items():
            self.assertEqual(os.stat(r).st_mtime_ns, mtime, r)
            with open(r, "rb") as f:
                self.assertEqual(f.read(1 << 20), head, r)
