"""linux.resources held by the kernel on any host layout (v1, v2, hybrid; read through
harness.Cgroup): memory, pids, cpu, hugetlb on cgroup2, freeze, update, delete."""
import json
import os
import stat
import subprocess
import time

from harness import Cgroup, OcelotTest, cgroupfs_driver_only, v2_weight_of_shares


class Cgroups(OcelotTest):
    def test_memory_limit_is_enforced(self):
        c = self.config(["/bin/ocelot-probe", "alloc", "64"])
        c["linux"]["resources"]["memory"] = {"limit": 16 * 1024 * 1024, "swap": 16 * 1024 * 1024}
        p = self.run_config(c, check=False)
        self.assertEqual(p.returncode, 137, p.stdout + p.stderr)  # OOM-killed
        c["process"]["args"] = ["/bin/ocelot-probe", "alloc", "4"]
        self.assertEqual(self.run_config(c).returncode, 0)

    def test_pids_limit_stops_fork(self):
        c = self.config(["/bin/ocelot-probe", "fork", "20"])
        c["linux"]["resources"]["pids"] = {"limit": 5}
        out = self.run_config(c, check=False).stdout
        self.assertIn("forked 4 of 20", out)

    @cgroupfs_driver_only("a cgroupfs path; the systemd driver takes slice:prefix:name only, as runc")
    def test_limits_land_in_the_files_and_update_changes_them(self):
        c = self.config(["sleep", "30"])
        c["linux"]["resources"].update({"memory": {"limit": 64 << 20}, "pids": {"limit": 42},
                                        "cpu": {"shares": 512, "quota": 20000, "period": 100000}})
        c["linux"]["cgroupsPath"] = "/ocelot-test-abs/%d" % os.getpid()
        cid = self.new_id()
        self.ocelot("run", "-d", "--bundle", self.bundle(c), cid)
        sd = os.path.join(self.root, cid)
        pid = self.state(cid)["pid"]
        cg = Cgroup(pid)
        self.assertEqual(cg.value("memory.limit"), str(64 << 20))
        self.assertEqual(cg.value("pids.max"), "42")
        self.assertEqual(cg.value("cpu.quota"), "20000")
        self.assertEqual(cg.value("cpu.shares"), v2_weight_of_shares(512) if cg.is_v2("cpu") else "512")
        self.assertTrue(cg.paths.get("memory", cg.paths.get("")).endswith("/ocelot-test-abs/%d" % os.getpid()),
                        cg.paths)
        self.ocelot("update", "--memory", "32m", "--pids-limit", "7", "--cpu-quota", "30000", cid)
        self.assertEqual(cg.value("memory.limit"), str(32 << 20))
        self.assertEqual(cg.value("pids.max"), "7")
        self.assertEqual(cg.value("cpu.quota"), "30000")
        res = os.path.join(self.tmp, "res.json")
        json.dump({"pids": {"limit": 9}}, open(res, "w"))
        self.ocelot("update", "--resources", res, cid)
        self.assertEqual(cg.value("pids.max"), "9")
        json.dump({"memory": {"limit": 4096, "checkBeforeUpdate": True}}, open(res, "w"))
        p = self.ocelot("update", "--resources", res, cid, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("is below the current usage", p.stderr)
        self.assertEqual(cg.value("memory.limit"), str(32 << 20))
        paths = json.load(open(os.path.join(sd, "state.json")))["cgroupPaths"]
        self.ocelot("delete", "-f", cid)
        for d in list(paths["v1"].values()) + [paths["v2"]]:
            self.assertFalse(os.path.exists(d), d)
        for base in ["memory/", "pids/", "cpu/", ""]:
            try:
                os.rmdir("/sys/fs/cgroup/%socelot-test-abs" % base)
            except OSError:
                pass

    def test_the_systemd_driver_without_systemd_fails_as_runc_and_leaves_nothing(self):
        if os.path.isdir("/run/systemd/system"):
            self.skipTest("systemd runs here (tests/host/test_systemd.py covers the driver)")
        before = len(open("/proc/self/mountinfo").readlines())
        cid = self.new_id()
        c = self.config(["true"])
        c["linux"]["cgroupsPath"] = "system.slice:ocelot:" + cid
        p = self.ocelot("--systemd-cgroup", "run", "--bundle", self.bundle(c), cid, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.strip().splitlines(),
                         ["ocelot: systemd not running on this host, cannot use systemd cgroups manager"])
        self.assert_nothing_left(cid, before)

    @cgroupfs_driver_only("a cgroupfs path; the systemd driver takes slice:prefix:name only, as runc")
    def test_relative_cgroups_path_is_under_our_own_cgroup(self):
        c = self.config(["cat", "/proc/self/cgroup"])
        c["linux"]["cgroupsPath"] = "ocelot-rel-%d" % os.getpid()
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "cgroup"]
        cg = Cgroup(os.getpid())
        own = cg.paths
        key = "memory" if "memory" in own else ""
        # On a pure v2 host our own cgroup holds us, so the path hangs off its parent (runc's fs2).
        base = own[key] if cg.v1 else os.path.dirname(own[key])
        out = self.run_config(c).stdout
        line = [l for l in out.splitlines() if l.split(":")[1] == key][0]
        self.assertEqual(line.split(":", 2)[2], os.path.join(base, "ocelot-rel-%d" % os.getpid()))

    def test_hugetlb_goes_to_cgroup2_on_a_hybrid_host(self):
        if not os.path.exists("/sys/fs/cgroup/unified/cgroup.controllers") or \
                "hugetlb" not in open("/sys/fs/cgroup/unified/cgroup.controllers").read():
            self.skipTest("no hybrid host with hugetlb on cgroup2")
        c = self.config(["sleep", "30"])
        c["linux"]["resources"]["hugepageLimits"] = [{"pageSize": "2MB", "limit": 4 << 20}]
        cid = self.new_id()
        self.ocelot("run", "-d", "--bundle", self.bundle(c), cid)
        paths = json.load(open(os.path.join(self.root, cid, "state.json")))["cgroupPaths"]
        self.assertEqual(open(os.path.join(paths["v2"], "hugetlb.2MB.max")).read().strip(), str(4 << 20))

    def test_pause_resume(self):
        cid = self.new_id()
        os.makedirs(os.path.join(self.tmp, "tick"))
        c = self.config(["sleep", "30"])
        c["mounts"].append({"destination": "/ticks", "type": "bind", "source": os.path.join(self.tmp, "tick"), "options": ["rbind"]})
        self.ocelot("run", "-d", "--bundle", self.bundle(c), cid)
        self.ocelot("pause", cid)
        self.assertEqual(self.state(cid)["status"], "paused")
        # Frozen means not running: a workload that ticks a counter every 10 ms does not move.
        tick = os.path.join(self.tmp, "tick")
        self.ocelot("resume", cid)
        self.ocelot("exec", "-d", cid, "sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /ticks/n; sleep 0.01; done")
        time.sleep(0.2)
        self.ocelot("pause", cid)
        time.sleep(0.05)
        frozen_at = open(tick + "/n").read()
        time.sleep(0.3)
        self.assertEqual(open(tick + "/n").read(), frozen_at)
        self.assertEqual(Cgroup(self.state(cid)["pid"]).value("frozen"), "1")
        p = self.ocelot("exec", cid, "true", check=False)
        self.assertIn("paused", p.stderr)
        self.ocelot("resume", cid)
        self.assertEqual(self.state(cid)["status"], "running")
        time.sleep(0.3)
        self.assertNotEqual(open(tick + "/n").read(), frozen_at)
        p = self.ocelot("resume", cid, check=False)
        self.assertIn("container not paused", p.stderr)

    def test_devices_deny_blocks_open(self):
        # A host node bound in: not among the default devices, so the deny-all rule covers it.
        node = os.path.join(self.tmp, "fuse-node")
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(10, 229))
        cmd = ["sh", "-c", "/bin/ocelot-probe open /dev/null; /bin/ocelot-probe open /dev/fuse-bound"]
        c = self.config(cmd)
        c["mounts"].append({"destination": "/dev/fuse-bound", "type": "bind", "source": node, "options": ["bind"]})
        out = self.run_config(c, check=False).stdout
        self.assertIn("open /dev/null: ok", out)
        self.assertIn("open /dev/fuse-bound: errno 1 ", out)  # EPERM from the device cgroup
        c["linux"]["resources"]["devices"].append({"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"})
        out = self.run_config(c, check=False).stdout
        self.assertNotIn("open /dev/fuse-bound: errno 1 ", out)

    def test_oom_event_is_reported(self):
        c = self.config(["sh", "-c", "while true; do /bin/ocelot-probe alloc 64; sleep 0.2; done"])
        c["linux"]["resources"]["memory"] = {"limit": 16 << 20, "swap": 16 << 20}
        cid = self.new_id()
        self.ocelot("run", "-d", "--bundle", self.bundle(c), cid)
        out = os.path.join(self.tmp, "events.out")
        with open(out, "w") as f:
            ev = subprocess.Popen([os.environ["OCELOT"], "--root", self.root, "events", "--interval", "1s", cid], stdout=f)
        try:
            deadline = time.time() + 15
            kinds = []
            while time.time() < deadline and "oom" not in kinds:
                time.sleep(0.2)
                kinds = [json.loads(l)["type"] for l in open(out).read().splitlines() if l.strip()]
            self.assertIn("stats", kinds)
            self.assertIn("oom", kinds)
        finally:
            ev.kill()
            ev.wait()

    def test_events_stats(self):
        cid = self.new_id()
        c = self.config(["sleep", "30"])
        c["linux"]["resources"]["pids"] = {"limit": 50}
        self.ocelot("run", "-d", "--bundle", self.bundle(c), cid)
        ev = json.loads(self.ocelot("events", "--stats", cid).stdout)
        self.assertEqual(ev["type"], "stats")
        self.assertEqual(ev["data"]["pids"]["current"], 1)
        self.assertEqual(ev["data"]["pids"]["limit"], 50)
        self.assertGreater(ev["data"]["memory"]["usage"]["usage"], 0)
