"""Every process field of the config, checked from inside by the probe."""
import os

from harness import OcelotTest


def caps_mask(names):
    nums = {"CAP_CHOWN": 0, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_NET_BIND_SERVICE": 10,
            "CAP_NET_RAW": 13, "CAP_SYS_ADMIN": 21, "CAP_AUDIT_WRITE": 29}
    m = 0
    for n in names:
        m |= 1 << nums[n]
    return "%016x" % m


class Process(OcelotTest):
    def test_user_groups_umask_cwd_env(self):
        def mods(c):
            c["process"]["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [5, 7], "umask": 0o027}
            c["process"]["cwd"] = "/home/user"
            c["process"]["env"] = ["PATH=/bin", "HELLO=world"]
        r, _ = self.probe(mods)
        self.assertEqual(r["Uid"][0].split(), ["1000"] * 4)
        self.assertEqual(r["Gid"][0].split(), ["1001"] * 4)
        self.assertEqual(sorted(r["Groups"][0].split()), ["5", "7"])
        self.assertEqual(r["Umask"], ["0027"])
        self.assertEqual(r["cwd"], ["/home/user"])
        self.assertEqual(r["env"], ["PATH=/bin", "HELLO=world", "HOME=/home/user"])  # HOME from /etc/passwd (runc)

    def test_capability_sets(self):
        def mods(c):
            c["process"]["user"] = {"uid": 1000, "gid": 1000}
            c["process"]["capabilities"] = {
                "bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN", "CAP_NET_RAW"],
                "effective": ["CAP_KILL", "CAP_CHOWN"], "permitted": ["CAP_KILL", "CAP_CHOWN", "CAP_NET_RAW"],
                "inheritable": ["CAP_KILL", "CAP_NET_RAW"], "ambient": ["CAP_KILL"]}
        r, _ = self.probe(mods)
        self.assertEqual(r["CapBnd"], [caps_mask(["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN", "CAP_NET_RAW"])])
        # execve: P'(eff) = P'(perm) = (inh & file caps) | ambient; the probe has no file caps.
        self.assertEqual(r["CapAmb"], [caps_mask(["CAP_KILL"])])
        self.assertEqual(r["CapInh"], [caps_mask(["CAP_KILL", "CAP_NET_RAW"])])
        self.assertEqual(r["CapPrm"], [caps_mask(["CAP_KILL"])])
        self.assertEqual(r["CapEff"], [caps_mask(["CAP_KILL"])])

    def test_default_spec_caps_for_root(self):
        r, _ = self.probe()
        three = caps_mask(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
        self.assertEqual(r["CapBnd"], [three])
        self.assertEqual(r["CapEff"], [three])
        self.assertEqual(r["NoNewPrivs"], ["1"])

    def test_rlimits_and_no_new_privs_off(self):
        def mods(c):
            c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024},
                                       {"type": "RLIMIT_CORE", "soft": 0, "hard": 4096}]
            c["process"]["noNewPrivileges"] = False
        r, _ = self.probe(mods)
        self.assertEqual(r["rlimit.RLIMIT_NOFILE"], ["512 1024"])
        self.assertEqual(r["rlimit.RLIMIT_CORE"], ["0 4096"])
        self.assertEqual(r["NoNewPrivs"], ["0"])

    def test_hostname_domainname(self):
        def mods(c):
            c["hostname"] = "probe-host"
            c["domainname"] = "probe.test"
        r, _ = self.probe(mods)
        self.assertEqual(r["hostname"], ["probe-host"])
        self.assertEqual(r["domainname"], ["probe.test"])

    def test_oom_score_adj(self):
        def mods(c):
            c["process"]["oomScoreAdj"] = 500
            c["process"]["args"] = ["cat", "/proc/self/oom_score_adj"]
        c = self.config(["true"])
        mods(c)
        self.assertEqual(self.run_config(c).stdout, "500\n")

    def test_only_stdio_reaches_the_workload(self):
        extra = os.open("/etc/hostname", os.O_RDONLY)  # an fd of ours, not marked close-on-exec by us
        try:
            os.set_inheritable(extra, True)
            r, _ = self.probe(pass_fds=(extra,))
        finally:
            os.close(extra)
        self.assertEqual(sorted(int(x.split()[0]) for x in r["fd"]), [0, 1, 2])

    def test_cwd_is_created_inside_the_rootfs_or_refused(self):
        for cwd in ["/proc/self/fd/7", "/../../../.."]:
            def mods(c, cwd=cwd):
                c["process"]["cwd"] = cwd
            r, p = self.probe(mods, check=False)
            if p.returncode == 0:
                self.assertEqual(r["cwd"], ["/"], cwd)  # ".." stops at the container root
            else:
                self.assertIn("cwd", p.stderr)

    def test_missing_executable_fails_create(self):
        cid = self.new_id()
        p = self.ocelot("create", "--bundle", self.bundle(self.config(["no-such-program"])), cid, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('exec: "no-such-program": executable file not found in $PATH', p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.root, cid)))
