#!/usr/bin/env python3
"""The systemd cgroup driver on a systemd host (run inside the host matrix's guest,
tests/host/guest.sh): a container's cgroup is a transient scope that systemd knows, holding its
processes, with its limits as the unit's properties and in its cgroup files; update changes both;
delete leaves no unit and no cgroup; a create killed half way leaves nothing after delete --force.
Every check asks systemd (systemctl) or the kernel (cgroup files, /proc), never ocelot.

  test_systemd.py --ocelot build/ocelot --probe build/ocelot-probe"""
import argparse
import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))


def systemctl_show(unit, *props):
    out = subprocess.run(["systemctl", "show", unit] + ["-p" + p for p in props], capture_output=True, text=True).stdout
    return dict(l.split("=", 1) for l in out.splitlines() if "=" in l)


def build_tests(harness):
    class SystemdDriver(harness.OcelotTest):
        def sd(self, *args, **kw):
            return self.ocelot("--systemd-cgroup", *args, **kw)

        def unit_dir(self, unit, slice_="system.slice"):
            return os.path.join("/sys/fs/cgroup", slice_, unit)

        def test_a_container_is_a_transient_scope_with_its_limits(self):
            name = "sd-%d" % os.getpid()
            unit = "ocelot-%s.scope" % name
            c = self.config(["sleep", "300"])
            c["linux"]["cgroupsPath"] = "system.slice:ocelot:" + name
            c["linux"]["resources"].update({"memory": {"limit": 64 << 20}, "pids": {"limit": 42},
                                            "cpu": {"quota": 20000, "period": 100000}})
            cid = self.new_id()
            self.sd("run", "-d", "--bundle", self.bundle(c), cid)
            props = systemctl_show(unit, "ActiveState", "ControlGroup", "MemoryMax", "TasksMax",
                                   "CPUQuotaPerSecUSec", "Delegate", "Slice")
            self.assertEqual(props["ActiveState"], "active", props)
            self.assertEqual(props["Slice"], "system.slice")
            self.assertEqual(props["Delegate"], "yes")
            self.assertEqual(props["MemoryMax"], str(64 << 20))
            self.assertEqual(props["TasksMax"], "42")
            self.assertEqual(props["CPUQuotaPerSecUSec"], "200ms")
            d = self.unit_dir(unit)
            self.assertEqual(props["ControlGroup"], "/system.slice/" + unit)
            pid = self.state(cid)["pid"]
            self.assertIn(str(pid), open(os.path.join(d, "cgroup.procs")).read().split())
            self.assertEqual(open(os.path.join(d, "memory.max")).read().strip(), str(64 << 20))
            self.assertEqual(open(os.path.join(d, "pids.max")).read().strip(), "42")
            self.assertEqual(open(os.path.join(d, "cpu.max")).read().split()[0], "20000")
            # exec joins the same scope
            line = self.sd("exec", cid, "cat", "/proc/self/cgroup").stdout.strip()
            self.assertEqual(line, "0::/")  # its own cgroup namespace root: the scope
            # update goes through systemd and lands in the files
            self.sd("update", "--memory", "32m", "--pids-limit", "7", "--cpu-quota", "30000", cid)
            props = systemctl_show(unit, "MemoryMax", "TasksMax", "CPUQuotaPerSecUSec")
            self.assertEqual(props["MemoryMax"], str(32 << 20))
            self.assertEqual(props["TasksMax"], "7")
            self.assertEqual(props["CPUQuotaPerSecUSec"], "300ms")
            self.assertEqual(open(os.path.join(d, "memory.max")).read().strip(), str(32 << 20))
            self.assertEqual(open(os.path.join(d, "pids.max")).read().strip(), "7")
            self.sd("delete", "--force", cid)
            self.assertEqual(systemctl_show(unit, "LoadState")["LoadState"], "not-found")
            self.assertFalse(os.path.exists(d))

        def test_without_a_cgroups_path_the_unit_is_named_after_the_id(self):
            cid = self.new_id()
            self.sd("run", "-d", "--bundle", self.bundle(self.config(["sleep", "300"])), cid)
            unit = "ocelot-%s.scope" % cid
            self.assertEqual(systemctl_show(unit, "ActiveState")["ActiveState"], "active")
            st = json.load(open(os.path.join(self.root, cid, "state.json")))
            self.assertEqual(st["cgroupDriver"], "systemd")
            self.sd("kill", cid, "KILL")
            self.wait_status(cid, "stopped")
            self.sd("delete", cid)
            self.assertEqual(systemctl_show(unit, "LoadState")["LoadState"], "not-found")

        def test_a_path_that_is_not_a_unit_is_runcs_error(self):
            c = self.config(["true"])
            c["linux"]["cgroupsPath"] = "/not/a/unit"
            before = len(open("/proc/self/mountinfo").readlines())
            cid = self.new_id()
            p = self.sd("create", "--bundle", self.bundle(c), cid, check=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn('expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups', p.stderr)
            self.assert_nothing_left(cid, before)

        def test_a_create_killed_after_the_unit_was_made_leaves_nothing(self):
            name = "sdkill-%d" % os.getpid()
            unit = "ocelot-%s.scope" % name
            c = self.config(["sleep", "300"])
            c["linux"]["cgroupsPath"] = "system.slice:ocelot:" + name
            cid = self.new_id()
            env = dict(os.environ, OCELOT_FAILPOINT="create.cgroup-joined")
            p = self.sd("create", "--bundle", self.bundle(c), cid, check=False, env=env)
            self.assertEqual(p.returncode, -9, p.stderr)
            self.sd("delete", "--force", cid)
            self.assertEqual(systemctl_show(unit, "LoadState")["LoadState"], "not-found")
            self.assertFalse(os.path.exists(self.unit_dir(unit)))

    return SystemdDriver


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ocelot", default="build/ocelot")
    ap.add_argument("--probe", default="build/ocelot-probe")
    a = ap.parse_args()
    os.environ["OCELOT"] = os.path.abspath(a.ocelot)
    os.environ["OCELOT_PROBE"] = os.path.abspath(a.probe)
    import harness
    harness.OCELOT, harness.PROBE = os.environ["OCELOT"], os.environ["OCELOT_PROBE"]
    if not os.path.isdir("/run/systemd/system"):
        print("systemd: not a systemd host", file=sys.stderr)
        return 1
    suite = unittest.TestLoader().loadTestsFromTestCase(build_tests(harness))
    r = unittest.TextTestRunner(verbosity=2).run(suite)
    harness.cleanup_shared()
    failed = len(r.failures) + len(r.errors)
    print("systemd: %d passed, %d failed" % (r.testsRun - failed, failed))
    return 0 if failed == 0 and r.testsRun else 1


if __name__ == "__main__":
    sys.exit(main())
