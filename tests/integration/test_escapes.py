"""Regression tests for the known runtime escape classes. Each one fails if its protection is
removed (see the comments for what each depends on)."""
import os
import shutil
import stat
import subprocess
import time

import harness
from harness import OcelotTest, probe_report


class Escapes(OcelotTest):
    def running(self, args=("sleep", "30"), created_only=False, **mods):
        c = self.config(list(args))
        c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["exec"]})
        c.update(mods)
        cid = self.new_id()
        self.ocelot("create" if created_only else "run", *([] if created_only else ["-d"]), "--bundle",
                    self.bundle(c, "b-" + cid), cid)
        return cid

    def host_binary_seen(self, cid, *cmd):
        """Runs cmd in the container through `ocelot exec`, kept alive by a stdin we hold open
        (`update --resources -` reads it first), and meanwhile lists every process's
        /proc/PID/exe from inside the container. Returns the probe's lines."""
        holder = subprocess.Popen([harness.OCELOT, "--root", self.root, "exec", cid] + list(cmd),
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            lines = ""
            for _ in range(100):
                lines = self.ocelot("exec", cid, "/bin/ocelot-probe", "exes").stdout
                # The holder is there too, and past its execve: before it, ocelot's exec child
                # is not dumpable and its exe reads as "errno 13".
                others = [l for l in lines.splitlines() if not l.startswith("exe 1 ")]
                if any("errno" not in l for l in others):
                    break
                time.sleep(0.05)
            return lines
        finally:
            holder.stdin.close()
            holder.wait(timeout=20)

    def test_cve_2019_5736_runtime_exe_is_out_of_reach(self):
        # CVE-2019-5736: a container process re-executes the runtime through /proc/self/exe (as
        # its command, or as a script's interpreter) and then writes the host's binary through
        # /proc/PID/exe. Whatever runs as /proc/self/exe of ocelot's processes in a container must
        # be a sealed copy, never the host's file.
        host = os.path.realpath(harness.OCELOT)
        cid = self.running(created_only=True)
        # While the init waits for start it is still ocelot: PR_SET_DUMPABLE=0 keeps its
        # /proc/1/exe closed to the container's processes.
        for action in ("read", "write", "open"):
            p = self.ocelot("exec", cid, "/bin/ocelot-probe", action, "/proc/1/exe", check=False)
            self.assertNotIn(": ok", p.stdout)
            self.assertRegex(p.stdout, r"errno (13|1|26) ", p.stdout)  # EACCES / EPERM / ETXTBSY
        self.ocelot("start", cid)
        with open(host, "rb") as f:
            if b"/ld-linux" in f.read(4096):
                # A dynamically linked build (make test-asan's) cannot run as /proc/self/exe in a
                # busybox rootfs (no loader, no libasan there): nothing to observe below.
                return
        # exec of /proc/self/exe: the exec'd process is the sealed copy (memfd), not the host file.
        # A binary on a read-only mount (the host matrix's guest shares the build read-only)
        # cannot be rewritten through any fd: ocelot runs it in place there, and a write fails.
        read_only = bool(os.statvfs(host).f_flag & os.ST_RDONLY)
        seen = self.host_binary_seen(cid, "/proc/self/exe", "update", "--resources", "-", "nosuch")
        if read_only:
            with self.assertRaises(OSError):
                open(host, "r+b").close()
        else:
            self.assertIn("memfd:", seen)
            self.assertNotIn(host, seen)
        # A script whose interpreter is /proc/self/exe: the same.
        self.ocelot("exec", cid, "sh", "-c",
                    "printf '#!/proc/self/exe update\\n' > /tmp/evil; chmod +x /tmp/evil")
        seen = self.host_binary_seen(cid, "/tmp/evil", "--resources", "-", "nosuch")
        if not read_only:
            self.assertNotIn(host, seen)
        # The init's last execve goes through the stub: /proc/self/exe there is the stub, which
        # refuses these arguments (the host binary would have printed its version).
        p = self.run_config(self.config(["/proc/self/exe", "--version"]), check=False)
        self.assertNotIn("ocelot version", p.stdout + p.stderr)
        self.assertIn("ocelot: unknown argument", p.stdout + p.stderr)

    def test_cve_2024_21626_no_host_fd_and_no_cwd_outside(self):
        host_dir = os.open("/", os.O_RDONLY | os.O_DIRECTORY)  # a host directory fd in our process
        try:
            os.set_inheritable(host_dir, True)
            r, _ = self.probe(pass_fds=(host_dir,))
            self.assertEqual(sorted(int(x.split()[0]) for x in r["fd"]), [0, 1, 2])
            # The init still holds our inherited fd when it enters its cwd (fds are closed only
            # right before exec): a cwd of /proc/self/fd/N would land in the host's "/". It must
            # be refused, with the reason, never run there.
            def via_leak(c):
                c["process"]["cwd"] = "/proc/self/fd/%d" % host_dir
            rep, p = self.probe(via_leak, check=False, pass_fds=(host_dir,))
            self.assertNotEqual(p.returncode, 0, rep.get("cwd"))
            self.assertIn("is outside the container root", p.stderr)
            # Any other fd number: refused too, or a directory that really is inside the rootfs.
            for n in range(3, 12):
                def mods(c, n=n):
                    c["process"]["cwd"] = "/proc/self/fd/%d" % n
                rep, p = self.probe(mods, check=False, pass_fds=(host_dir,))
                if p.returncode == 0:
                    inside = os.path.join(self.rootfs, rep["cwd"][0].lstrip("/"))
                    self.assertTrue(os.path.isdir(inside), rep["cwd"])
                    self.assertFalse(os.path.samefile(inside, "/"), rep["cwd"])
            # exec with --cwd through a leaked fd: refused or inside the container
            cid = self.running()
            p = self.ocelot("exec", "--cwd", "/proc/self/fd/%d" % host_dir, cid, "pwd", check=False, pass_fds=(host_dir,))
            self.assertEqual(p.returncode, 255, p.stdout)
            self.assertEqual(p.stdout, "")
        finally:
            os.close(host_dir)

    def test_cve_2021_30465_symlinked_mount_destination_stays_inside(self):
        rootfs = os.path.join(self.tmp, "rootfs")
        os.makedirs(os.path.join(rootfs, "bin"))
        shutil.copy(os.path.join(self.rootfs, "bin/busybox"), os.path.join(rootfs, "bin/sh"))
        host_target = os.path.join(self.tmp, "host")
        os.makedirs(host_target)
        os.symlink(host_target, os.path.join(rootfs, "link"))
        os.symlink("/../../../../../../../../" + host_target.lstrip("/"), os.path.join(rootfs, "dots"))
        c = self.config(["sh", "-c", "true"])
        c["root"] = {"path": rootfs, "readonly": False}
        c["mounts"] += [{"destination": "/link/a", "type": "tmpfs", "source": "tmpfs"},
                        {"destination": "/dots/b", "type": "bind", "source": "/etc", "options": ["bind"]}]
        self.run_config(c)
        self.assertEqual(os.listdir(host_target), [])

    def test_masked_readonly_and_sys(self):
        c = self.config(["sh", "-c", "/bin/ocelot-probe read /proc/keys; /bin/ocelot-probe write /proc/sys/kernel/hostname;"
                         " touch /sys/ocelot-test; echo touch=$?; ls /sys/firmware | wc -l"])
        p = self.run_config(c, check=False)
        out = p.stdout
        self.assertIn("read /proc/keys: 0 bytes", out)  # masked with /dev/null
        self.assertIn("write /proc/sys/kernel/hostname: errno 30", out)  # read-only path
        self.assertIn("touch=1", out)
        self.assertIn("Read-only file system", p.stderr)  # /sys is mounted read-only
        self.assertIn("\n0\n", out)  # /sys/firmware masked by an empty tmpfs

    def test_no_new_privs_stops_setuid_root(self):
        rootfs = os.path.join(self.tmp, "suid-rootfs")
        os.makedirs(os.path.join(rootfs, "bin"))
        suid = os.path.join(rootfs, "bin/suid-probe")
        shutil.copy(os.path.join(self.rootfs, "bin/ocelot-probe"), suid)
        os.chown(suid, 0, 0)
        os.chmod(suid, 0o4755 | stat.S_IXGRP | stat.S_IXOTH)
        results = {}
        for nnp in (True, False):
            c = self.config(["/bin/suid-probe", "report"])
            c["root"] = {"path": rootfs, "readonly": True}
            c["process"]["user"] = {"uid": 1000, "gid": 1000}
            c["process"]["noNewPrivileges"] = nnp
            c["mounts"] = [m for m in c["mounts"] if m["destination"] in ("/proc",)]
            c["linux"]["maskedPaths"] = []
            c["linux"]["readonlyPaths"] = []
            r = probe_report(self.run_config(c).stdout)
            results[nnp] = r["Uid"][0].split()
        self.assertEqual(results[True], ["1000", "1000", "1000", "1000"])
        self.assertEqual(results[False][1], "0")  # the control: without no_new_privs setuid works
