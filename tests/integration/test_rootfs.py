"""Namespaces, mounts, devices, masked and read-only paths: what the container really sees."""
import json
import os
import subprocess
import time

from harness import OcelotTest, default_spec, probe_report


def default_spec_masked():
    return default_spec()["linux"]["maskedPaths"]


def mount_points(report):
    return {l.split()[4]: l for l in report.get("mount", [])}


class Namespaces(OcelotTest):
    def test_new_namespaces_differ_from_the_host(self):
        r, _ = self.probe()
        for ns in ["pid", "net", "ipc", "uts", "mnt", "cgroup"]:
            self.assertNotEqual(r["ns." + ns], [os.readlink("/proc/self/ns/" + ns)], ns)
        self.assertEqual(r["ns.user"], [os.readlink("/proc/self/ns/user")])
        self.assertEqual(r["pid"], ["1"])

    def test_join_namespace_by_path(self):
        cid = self.new_id()
        self.ocelot("run", "-d", "--bundle", self.bundle(self.config(["sleep", "30"]), "b1"), cid)
        pid = self.state(cid)["pid"]

        def mods(c):
            for n in c["linux"]["namespaces"]:
                if n["type"] in ("network", "ipc", "pid"):
                    n["path"] = "/proc/%d/ns/%s" % (pid, "net" if n["type"] == "network" else n["type"])
        r, _ = self.probe(mods)
        self.assertEqual(r["ns.net"], [os.readlink("/proc/%d/ns/net" % pid)])
        self.assertEqual(r["ns.ipc"], [os.readlink("/proc/%d/ns/ipc" % pid)])
        self.assertEqual(r["ns.pid"], [os.readlink("/proc/%d/ns/pid" % pid)])
        self.assertNotEqual(r["pid"], ["1"])

    def test_user_namespace_with_mappings(self):
        def mods(c):
            c["linux"]["namespaces"].append({"type": "user"})
            c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
            c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
            c["process"]["args"] = ["sh", "-c", "cat /proc/self/uid_map; /bin/ocelot-probe report"]
        c = self.config(["true"])
        mods(c)
        cid = self.new_id()
        self.ocelot("run", "-d", "--bundle", self.bundle(c), cid)
        pid = self.state(cid)["pid"]
        time.sleep(0.1)
        self.ocelot("delete", "-f", cid)
        cid2 = self.new_id()
        c["process"]["args"] = ["sleep", "30"]
        self.ocelot("run", "-d", "--bundle", self.bundle(c, "b2"), cid2)
        pid = self.state(cid2)["pid"]
        with open("/proc/%d/uid_map" % pid) as f:
            self.assertEqual(f.read().split(), ["0", "100000", "65536"])
        with open("/proc/%d/status" % pid) as f:
            uid_line = [l for l in f if l.startswith("Uid:")][0]
        self.assertEqual(uid_line.split()[1:], ["100000"] * 4)
        self.assertNotEqual(os.readlink("/proc/%d/ns/user" % pid), os.readlink("/proc/self/ns/user"))
        r = probe_report(self.ocelot("exec", cid2, "/bin/ocelot-probe", "report").stdout)
        self.assertEqual(r["Uid"][0].split(), ["0"] * 4)
        self.assertEqual(r["ns.user"], [os.readlink("/proc/%d/ns/user" % pid)])

    def test_time_namespace_offsets(self):
        def mods(c):
            c["linux"]["namespaces"].append({"type": "time"})
            c["linux"]["timeOffsets"] = {"boottime": {"secs": 86400 * 365, "nanosecs": 0}}
            c["process"]["args"] = ["cat", "/proc/uptime"]
        c = self.config(["true"])
        mods(c)
        up = float(self.run_config(c).stdout.split()[0])
        self.assertGreater(up, 86400 * 365)


class Mounts(OcelotTest):
    def test_default_mounts_and_protections(self):
        r, _ = self.probe()
        mp = mount_points(r)
        for dest in ["/", "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"]:
            self.assertIn(dest, mp)
        self.assertIn(" ro,", mp["/"] + " ")  # root.readonly
        self.assertIn("ro", mp["/sys"].split()[5].split(","))
        self.assertIn("nosuid", mp["/dev"].split()[5].split(","))
        # masked: an empty read-only tmpfs or /dev/null, for each masked path this kernel has
        for masked in default_spec_masked():
            if os.path.exists(masked):
                self.assertIn(masked, mp)
        for ro in ["/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"]:
            if ro in mp:
                self.assertIn("ro", mp[ro].split()[5].split(","), ro)

    def test_masked_and_readonly_paths_hold(self):
        c = self.config(["sh", "-c",
                         "/bin/ocelot-probe read /proc/keys; /bin/ocelot-probe write /proc/sys/kernel/domainname;"
                         " ls /sys/firmware | wc -l; /bin/ocelot-probe write /etc/passwd; true"])
        out = self.run_config(c).stdout
        self.assertIn("read /proc/keys: 0 bytes", out)
        self.assertIn("write /proc/sys/kernel/domainname: errno 30", out)  # EROFS
        self.assertIn("\n0\n", out)
        self.assertIn("write /etc/passwd: errno 30", out)

    def test_bind_tmpfs_and_options(self):
        src = os.path.join(self.tmp, "data")
        os.makedirs(src)
        open(os.path.join(src, "f"), "w").write("host-data")
        c = self.config(["sh", "-c", "cat /data/f; /bin/ocelot-probe write /data/f; /bin/ocelot-probe write /data-rw/new;"
                         " cat /proc/self/mountinfo | grep -E ' /(data|data-rw|scratch) '"])
        c["mounts"] += [
            {"destination": "/data", "type": "bind", "source": src, "options": ["rbind", "ro", "nosuid"]},
            {"destination": "/data-rw", "type": "none", "source": src, "options": ["bind", "rw"]},
            {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=700", "noexec"]},
        ]
        out = self.run_config(c).stdout
        self.assertIn("host-data", out)
        self.assertIn("write /data/f: errno 30", out)
        self.assertIn("write /data-rw/new: errno 2", out)  # rw bind, the file just is not there
        lines = {l.split()[4]: l for l in out.splitlines() if l.count(" ") > 5}
        self.assertIn("ro", lines["/data"].split()[5].split(","))
        self.assertIn("nosuid", lines["/data"].split()[5].split(","))
        self.assertIn("noexec", lines["/scratch"].split()[5].split(","))
        self.assertIn("size=1024k", lines["/scratch"])
        self.assertIn("mode=700", lines["/scratch"])

    def test_an_rshared_volume_propagates_both_ways(self):
        """critest's "mount with 'rshared' should support propagation from host to container and
        vice versa": with rootfsPropagation rshared, a volume bound rbind,rshared from a shared host
        mount stays in the host's peer group (runc); "/" made a slave first cut it off."""
        vol = os.path.join(self.tmp, "vol")
        os.makedirs(vol)
        subprocess.run(["mount", "-t", "tmpfs", "vol", vol], check=True)
        try:
            subprocess.run(["mount", "--make-shared", vol], check=True)
            for d in ("inner", "fromhost"):
                os.makedirs(os.path.join(vol, d))
            c = self.config(["sh", "-c", "mount -t tmpfs inner /vol/inner && touch /vol/inner/made-inside && sleep 100"])
            for s in ("bounding", "effective", "permitted"):
                c["process"]["capabilities"][s].append("CAP_SYS_ADMIN")
            c["linux"]["rootfsPropagation"] = "rshared"
            c["mounts"].append({"destination": "/vol", "type": "bind", "source": vol, "options": ["rbind", "rshared"]})
            cid = self.new_id()
            self.ocelot("run", "-d", "--bundle", self.bundle(c), cid)
            made_inside = os.path.join(vol, "inner", "made-inside")
            end = time.time() + 10
            while not os.path.exists(made_inside) and time.time() < end:
                time.sleep(0.05)
            self.assertTrue(os.path.exists(made_inside), "a mount made in the container never reached the host")
            subprocess.run(["mount", "-t", "tmpfs", "fromhost", os.path.join(vol, "fromhost")], check=True)
            p = self.ocelot("exec", cid, "grep", " /vol/fromhost ", "/proc/self/mountinfo", check=False)
            self.assertEqual(p.returncode, 0, "a mount made on the host never reached the container")
            # The rootfs bound onto itself must not have reached the host's namespace.
            self.assertNotIn(" %s " % self.rootfs, open("/proc/self/mountinfo").read())
            self.ocelot("delete", "--force", cid)
        finally:
            subprocess.run(["umount", "-R", "-l", vol])

    def test_symlink_in_rootfs_cannot_send_a_mount_outside(self):
        # CVE-2021-30465 class: /escape in the rootfs points at a host directory.
        rootfs = os.path.join(self.tmp, "rootfs")
        os.makedirs(os.path.join(rootfs, "bin"))
        import shutil
        shutil.copy(os.path.join(self.rootfs, "bin/busybox"), os.path.join(rootfs, "bin/busybox"))
        for a in ["sh", "ls", "cat"]:
            os.link(os.path.join(rootfs, "bin/busybox"), os.path.join(rootfs, "bin", a))
        hostdir = os.path.join(self.tmp, "host-target")
        os.makedirs(hostdir)
        os.symlink(hostdir, os.path.join(rootfs, "escape"))
        os.symlink("../../../../../../" + hostdir.lstrip("/"), os.path.join(rootfs, "escape2"))
        c = self.config(["sh", "-c", "ls /escape/ /escape2/"])
        c["root"] = {"path": rootfs, "readonly": False}
        c["mounts"] += [{"destination": "/escape/inner", "type": "tmpfs", "source": "tmpfs"},
                        {"destination": "/escape2/inner2", "type": "tmpfs", "source": "tmpfs"}]
        self.run_config(c)
        self.assertEqual(os.listdir(hostdir), [])  # nothing created on the host side
        self.assertTrue(os.path.isdir(os.path.join(rootfs, self.tmp.lstrip("/"), "host-target", "inner")))

    def test_default_devices_and_linux_devices(self):
        c = self.config(["sh", "-c", "for d in null zero full random urandom tty fuse-test; do /bin/ocelot-probe exists /dev/$d; done;"
                         " ls -l /dev/fd /dev/ptmx; echo x > /dev/null && echo null-ok"])
        c["linux"]["devices"] = [{"path": "/dev/fuse-test", "type": "c", "major": 10, "minor": 229, "fileMode": 0o640, "uid": 0, "gid": 0}]
        out = self.run_config(c).stdout
        self.assertIn("exists /dev/null: mode 20666 uid 0 gid 0 rdev 1:3", out)
        self.assertIn("exists /dev/urandom: mode 20666 uid 0 gid 0 rdev 1:9", out)
        self.assertIn("exists /dev/tty: mode 20666 uid 0 gid 0 rdev 5:0", out)
        self.assertIn("exists /dev/fuse-test: mode 20640 uid 0 gid 0 rdev 10:229", out)
        self.assertIn("/dev/fd -> /proc/self/fd", out)
        self.assertIn("/dev/ptmx -> pts/ptmx", out)
        self.assertIn("null-ok", out)

    def test_sysctl(self):
        c = self.config(["cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmni"])
        c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "1000"}
        self.assertEqual(self.run_config(c).stdout.split(), ["1", "1000"])

    def test_no_pivot(self):
        cid = self.new_id()
        c = self.config(["sh", "-c", "cat /proc/self/mountinfo | wc -l; echo ok"])
        p = self.ocelot("run", "--no-pivot", "--bundle", self.bundle(c), cid)
        self.assertIn("ok", p.stdout)

    def test_cgroup_mount_shows_the_containers_cgroup(self):
        c = self.config(["sh", "-c", "cat /proc/self/cgroup; ls /sys/fs/cgroup"])
        out = self.run_config(c).stdout
        # cgroup namespace: our cgroup is the root; the mount shows the controllers' hierarchies
        # on v1 and hybrid hosts, the container's own cgroup2 files on v2.
        if ":memory:" in out:
            self.assertIn("memory:/\n", out)
            self.assertIn("memory", out.split())
            self.assertIn("pids", out.split())
        else:
            self.assertIn("0::/\n", out)
            self.assertIn("memory.max", out.split())
            self.assertIn("pids.max", out.split())
