"""The pool of warmed VM guests (vm/pool/pool.h, docs/vm.md "The pool"): a VM container's create
takes a guest that is already restored from its template and warmed, and a new spare is started
behind it. Each test has its own state root, so its first VM container starts from the template
and leaves the first spare. Needs templates: skipped with --vm-template=off (the pool is built on
them)."""
import json
import os
import unittest

import harness
from harness import OcelotTest, alive, wait_gone

TEMPLATE_OFF = "--vm-template=off" in harness.EXTRA_ARGS


def cgroup_lines(pid):
    with open("/proc/%d/cgroup" % pid) as f:
        return f.read().splitlines()


def processes_of(binary):
    """Live pids whose executable's name is binary."""
    out = []
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            if os.path.basename(os.readlink("/proc/%s/exe" % e)) == binary and alive(int(e)):
                out.append(int(e))
        except OSError:
            pass
    return out


@unittest.skipIf(TEMPLATE_OFF, "the pool is built on VM templates")
class VmPool(OcelotTest):
    settled = False

    def setUp(self):
        super().setUp()
        if not VmPool.settled:
            # A fresh host's first VM container learns whether /dev/kvm can run a guest (a nested
            # one cannot) by trying, and builds the template. Settled once, in a root of its own,
            # so that each test's first run restores a template in the usual time.
            c = self.vm_config(["/bin/true"])
            b = self.bundle(c, "bundle-settle")
            root = os.path.join(self.tmp, "settle-root")
            self.ocelot("--vm-pool=off", "run", "--bundle", b, self.new_id("settle"), root=root, timeout=300)
            VmPool.settled = True

    def vm_config(self, args):
        c = self.config(args)
        c["annotations"] = {"org.ocelot.isolation": "vm"}
        return c

    def pool(self):
        return os.path.join(self.root, "@vm-pool")

    def spares(self):
        """(template, state, keeper) of each spare, from `vm-pool status`."""
        rows = self.ocelot("vm-pool", "status").stdout.splitlines()
        self.assertEqual(rows[0].split(), ["TEMPLATE", "STATE", "KEEPER", "AGE"])
        return [tuple(r.split()[:3]) for r in rows[1:]]

    def ready_spare(self):
        """The one ready spare's directory, keeper pid and VMM pid."""
        self.ocelot("vm-pool", "wait", timeout=300)
        ready = [s for s in self.spares() if s[1] == "ready"]
        failure = os.path.join(self.pool(), "last-failure")
        why = open(failure).read() if os.path.exists(failure) else ""
        self.assertEqual(len(ready), 1, "spares: %s %s" % (self.spares(), why))
        d = os.path.join(self.pool(), "%s-%s" % (ready[0][0], ready[0][2]))
        with open(os.path.join(d, "vmm")) as f:
            vmm = int(f.read())
        self.assertTrue(alive(int(ready[0][2])) and alive(vmm))
        return d, int(ready[0][2]), vmm

    def run_vm(self, c, cid, *flags):
        """`run` with --debug; its process, and ocelot's log of this run."""
        log = os.path.join(self.tmp, cid + ".log")
        b = self.bundle(c, "bundle-" + cid)
        p = self.ocelot("--debug", "--log", log, *flags, "run", "--bundle", b, cid, check=False, timeout=300)
        with open(log) as f:
            return p, f.read()

    def test_a_run_takes_a_warm_spare_and_a_new_one_is_started_behind_it(self):
        p, log = self.run_vm(self.vm_config(["/bin/true"]), self.new_id("vm"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("taken from the pool", log)  # the root's first: from the template
        d, keeper, vmm = self.ready_spare()
        c = self.vm_config(["/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"])
        p, log = self.run_vm(c, self.new_id("vm"))
        self.assertIn("taken from the pool (%s)" % os.path.basename(d), log)
        # The workload's output and status come through the spare's keeper as they come through QEMU.
        self.assertEqual((p.returncode, p.stdout, p.stderr), (3, "to-stdout\n", "to-stderr\n"))
        # That spare served once: its VMM, keeper and directory are gone with the container.
        self.assertTrue(wait_gone(vmm) and wait_gone(keeper), "the used spare's processes outlived run")
        self.assertFalse(os.path.exists(d))
        # ... and another one is ready for the next container.
        d2, keeper2, _ = self.ready_spare()
        self.assertNotEqual(keeper2, keeper)

    def test_two_containers_from_the_pool_share_no_randomness(self):
        show = ["/bin/sh", "-c", "cat /proc/sys/kernel/random/boot_id; head -c 16 /dev/urandom | od -An -tx1"]
        p, _ = self.run_vm(self.vm_config(["/bin/true"]), self.new_id("vm"))
        self.assertEqual(p.returncode, 0, p.stderr)
        seen = []
        for _ in range(2):
            self.ready_spare()
            p, log = self.run_vm(self.vm_config(show), self.new_id("vm"))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("taken from the pool", log)
            seen.append(p.stdout.split("\n", 1))
        self.assertNotEqual(seen[0][0], seen[1][0], "two guests from one template with one boot_id")
        self.assertNotEqual(seen[0][1], seen[1][1], "two guests from one template drew the same random bytes")

    def test_a_created_container_is_whole_and_its_spare_leaves_nothing(self):
        p, _ = self.run_vm(self.vm_config(["/bin/true"]), self.new_id("vm"))
        self.assertEqual(p.returncode, 0, p.stderr)
        d, keeper, vmm = self.ready_spare()
        ro, rw = os.path.join(self.tmp, "ro"), os.path.join(self.tmp, "rw")
        for x in (ro, rw):
            os.mkdir(x)
        with open(os.path.join(ro, "f"), "w") as f:
            f.write("host-file\n")
        c = self.vm_config(["/bin/sh", "-c", "echo up; while :; do sleep 0.05; done"])
        c["mounts"] += [{"destination": "/root", "type": "bind", "source": ro, "options": ["rbind", "ro"]},
                        {"destination": "/tmp", "type": "bind", "source": rw, "options": ["rbind", "rw"]}]
        cid = self.new_id("vm")
        b = self.bundle(c, "bundle-" + cid)
        log = os.path.join(self.tmp, "create.log")
        self.ocelot("--debug", "--log", log, "create", "--bundle", b, cid, timeout=300)
        self.assertIn("taken from the pool", open(log).read())
        self.ocelot("start", cid)
        self.assertEqual(json.loads(self.ocelot("state", cid).stdout)["pid"], vmm)
        self.assertEqual(self.ocelot("exec", cid, "cat", "/root/f").stdout, "host-file\n")
        self.ocelot("exec", cid, "/bin/sh", "-c", "echo written > /tmp/new")
        with open(os.path.join(rw, "new")) as f:
            self.assertEqual(f.read(), "written\n")
        p = self.ocelot("exec", cid, "/bin/sh", "-c", "echo x > /root/new", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertFalse(os.path.exists(os.path.join(ro, "new")))
        # The spare's VMM, its keeper (now the output's relay) and the container's 9p helpers are in
        # the container's cgroup; the helper of the read-only share serves it read-only.
        helpers = [h for h in processes_of("virtfs-proxy-helper") if any(cid in l for l in cgroup_lines(h))]
        self.assertEqual(len(helpers), 4, "one helper per share slot in the container's cgroup")
        for pid in (vmm, keeper):
            self.assertTrue(any(cid in l for l in cgroup_lines(pid)), cgroup_lines(pid))
        # Each helper is chrooted into its share; in its mount namespace a read-only share is a
        # read-only mount (its own "/").
        served = {}
        for h in helpers:
            with open("/proc/%d/mountinfo" % h) as f:
                top = [line.split() for line in f if line.split()[4] == "/"]
            # A writable share is no mount of its own: the mount it is on lies outside its root.
            served[os.readlink("/proc/%d/root" % h)] = bool(top) and "ro" in top[-1][5].split(",")
        self.assertEqual(served.get(ro), True, served)
        self.assertEqual(served.get(rw), False, served)
        self.assertEqual(served.get(self.rootfs), True, served)  # root.readonly
        self.ocelot("kill", cid, "KILL")
        self.wait_status(cid, "stopped", timeout=30)
        self.ocelot("delete", cid)
        for pid in [vmm, keeper] + helpers:
            self.assertTrue(wait_gone(pid), "pid %d outlived delete" % pid)
        self.assertFalse(os.path.exists(d))

    def test_idle_spares_stop_by_themselves_and_on_request(self):
        p, _ = self.run_vm(self.vm_config(["/bin/true"]), self.new_id("vm"), "--vm-pool-idle=2")
        self.assertEqual(p.returncode, 0, p.stderr)
        d, keeper, vmm = self.ready_spare()
        self.assertTrue(wait_gone(vmm, 30) and wait_gone(keeper, 5), "an idle spare outlived its idle time")
        self.assertFalse(os.path.exists(d))
        p, _ = self.run_vm(self.vm_config(["/bin/true"]), self.new_id("vm"))
        self.assertEqual(p.returncode, 0, p.stderr)
        d, keeper, vmm = self.ready_spare()
        self.assertEqual(self.ocelot("vm-pool", "stop").stdout, "stopped 1 spare\n")
        self.assertTrue(wait_gone(vmm, 5) and wait_gone(keeper, 5))
        self.assertFalse(os.path.exists(self.pool()))

    def test_the_spare_started_behind_a_run_is_listed_when_run_returns(self):
        # A caller that stops the pool right after its container ran must meet the new spare: the
        # create returns only once its keeper is listed, even while that keeper has not yet run.
        p, _ = self.run_vm(self.vm_config(["/bin/true"]), self.new_id("vm"))
        self.assertEqual(p.returncode, 0, p.stderr)
        listed = self.spares()
        self.assertEqual([s[1] in ("warming", "ready") for s in listed], [True], "spares as run returned: %s" % listed)
        keeper = int(listed[0][2])
        self.assertEqual(self.ocelot("vm-pool", "stop").stdout, "stopped 1 spare\n")
        self.assertTrue(wait_gone(keeper, 10), "a spare's keeper outlived vm-pool stop")
        self.assertFalse(os.path.exists(self.pool()))
        self.assertEqual(self.spares(), [])

    def test_pool_off_starts_no_spare_and_bad_values_are_refused(self):
        p, log = self.run_vm(self.vm_config(["/bin/true"]), self.new_id("vm"), "--vm-pool=off")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertFalse(os.path.exists(self.pool()))
        for flag in ("--vm-pool=many", "--vm-pool=17", "--vm-pool-idle=0", "--vm-pool-idle=1h"):
            p = self.ocelot(flag, "list", check=False)
            self.assertEqual(p.returncode, 1, flag)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            self.assertIn(flag.split("=")[0], p.stderr)

    def test_a_spare_whose_vmm_died_is_never_handed_a_container(self):
        p, _ = self.run_vm(self.vm_config(["/bin/true"]), self.new_id("vm"))
        self.assertEqual(p.returncode, 0, p.stderr)
        d, keeper, vmm = self.ready_spare()
        os.kill(vmm, 9)
        # Whichever comes first, the keeper's cleanup or the claim: the run restores the template.
        p, log = self.run_vm(self.vm_config(["/bin/sh", "-c", "echo still-runs"]), self.new_id("vm"))
        self.assertEqual((p.returncode, p.stdout), (0, "still-runs\n"), p.stderr + log)
        self.assertIn("restored from template", log)
        self.assertTrue(wait_gone(keeper))
        self.assertFalse(os.path.exists(d))

    def test_spares_of_a_template_that_is_gone_are_stopped(self):
        p, _ = self.run_vm(self.vm_config(["/bin/true"]), self.new_id("vm"))
        self.assertEqual(p.returncode, 0, p.stderr)
        d, keeper, vmm = self.ready_spare()
        # As after a new QEMU, kernel or agent: the spare's template was rebuilt under another name.
        with open(os.path.join(d, "template"), "w") as f:
            f.write("/var/cache/ocelot/vm/templates/gone")
        # The next VM container of another size class finds it when it starts its own spare.
        c = self.vm_config(["/bin/true"])
        c["linux"].setdefault("resources", {})["memory"] = {"limit": 96 << 20}
        p, _ = self.run_vm(c, self.new_id("vm"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(wait_gone(vmm, 10) and wait_gone(keeper, 5), "a stale spare was kept")
        self.assertFalse(os.path.exists(d))
        self.assertNotIn(os.path.basename(d).rsplit("-", 1)[0] + " ", "\n".join(" ".join(s) for s in self.spares()))

    def test_a_spare_whose_keeper_died_is_cleaned_up_with_its_vmm(self):
        p, _ = self.run_vm(self.vm_config(["/bin/true"]), self.new_id("vm"))
        self.assertEqual(p.returncode, 0, p.stderr)
        d, keeper, vmm = self.ready_spare()
        os.kill(keeper, 9)
        self.assertTrue(wait_gone(keeper))
        # QEMU's drop to its own uid cleared its parent-death signal: it is still there...
        self.assertTrue(alive(vmm))
        self.assertEqual([s[1] for s in self.spares()], ["gone"])
        # ... until the next create's refill (or `vm-pool stop`) ends it.
        p, log = self.run_vm(self.vm_config(["/bin/true"]), self.new_id("vm"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("taken from the pool", log)
        self.assertTrue(wait_gone(vmm, 10), "a dead keeper's VMM outlived the next refill")
        self.assertFalse(os.path.exists(d))
