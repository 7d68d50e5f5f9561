"""Hostile images and configs that tried to reach the host through the container's own tree
(issue 21): a /proc redirected by symlinks or mounts, /proc and /sys as symlinks, a fake
/dev/null behind masked paths, no mount namespace, the host's uts namespace, a planted seccomp
program. Each case asserts the one-line refusal (or what the workload really sees), that the host
kept its value, and (through the harness) that nothing was left behind.

Where runc 1.1.5 (Debian 12) is vulnerable too, the test says so."""
import hashlib
import json
import os
import pwd
import shutil
import socket
import struct
import subprocess
import tempfile

from harness import OcelotTest, probe_report

CANARY = "/proc/sys/kernel/printk_ratelimit_burst"


class Canary:
    """A host-wide sysctl the attacks aim at, set to a value the config's namespaced sysctl never
    writes, restored afterwards."""

    def __init__(self, path=CANARY, value="10"):
        self.path, self.value = path, value

    def __enter__(self):
        self.saved = open(self.path).read()
        with open(self.path, "w") as f:
            f.write(self.value)
        return self

    def __exit__(self, *exc):
        with open(self.path, "w") as f:
            f.write(self.saved)

    def untouched(self):
        return open(self.path).read().strip() == self.value


class ImageTest(OcelotTest):
    def own_rootfs(self):
        """A copy of the shared rootfs the test may change (cp -a: busybox's hard links stay one file)."""
        r = tempfile.mkdtemp(prefix="image-", dir=self.tmp)
        subprocess.run(["cp", "-a", self.rootfs + "/.", r], check=True)
        return r

    def image_config(self, rootfs, args=("true",)):
        c = self.config(list(args))
        c["root"] = {"path": rootfs, "readonly": True}
        return c


class RedirectedProc(ImageTest):
    """CVE-2025-52881 class: a namespaced sysctl (net.ipv4.ip_forward) written through a /proc
    that a volume redirects to a host-wide one. runc 1.1.5 refuses the mount (checkProcMount)."""

    def volume(self):
        v = os.path.join(self.tmp, "volume")
        os.makedirs(os.path.join(v, "ipv4"))
        os.symlink(CANARY, os.path.join(v, "ipv4", "ip_forward"))
        return v

    def attempt(self, rootfs, destination, expect):
        c = self.image_config(rootfs)
        c["mounts"].append({"destination": destination, "type": "bind", "source": self.volume(), "options": ["rbind"]})
        c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
        with Canary() as canary:
            self.check_fails(c, expect)
            self.assertTrue(canary.untouched(), "the host's kernel.printk_ratelimit_burst was written")

    def test_a_volume_on_a_symlink_into_proc_is_refused(self):
        r = self.own_rootfs()
        os.symlink("/proc/sys/net", os.path.join(r, "data"))
        self.attempt(r, "/data", '"/proc/sys/net" cannot be mounted because it is inside /proc')

    def test_a_volume_on_a_chain_of_relative_symlinks_into_proc_is_refused(self):
        r = self.own_rootfs()
        os.symlink("x/../hop", os.path.join(r, "data"))
        os.symlink("../proc/sys/net", os.path.join(r, "hop"))
        self.attempt(r, "/data", '"/proc/sys/net" cannot be mounted because it is inside /proc')

    def test_a_volume_mounted_inside_proc_is_refused(self):
        self.attempt(self.own_rootfs(), "/proc/sys/net", '"/proc/sys/net" cannot be mounted because it is inside /proc')

    def test_other_mount_types_inside_proc_are_refused_and_runcs_list_is_allowed(self):
        c = self.config(["true"])
        c["mounts"].append({"destination": "/proc/sys", "type": "tmpfs", "source": "tmpfs", "options": []})
        self.check_fails(c, '"/proc/sys" cannot be mounted because it is inside /proc')
        c = self.config(["true"])
        c["mounts"].append({"destination": "/proc", "type": "tmpfs", "source": "tmpfs", "options": []})
        self.check_fails(c, '"/proc" cannot be mounted because it is inside /proc')
        # lxcfs's files are on runc's list: a bind over /proc/uptime works.
        fake = os.path.join(self.tmp, "uptime")
        with open(fake, "w") as f:
            f.write("12345.67 1.00\n")
        c = self.config(["cat", "/proc/uptime"])
        c["mounts"].append({"destination": "/proc/uptime", "type": "bind", "source": fake, "options": ["bind", "ro"]})
        self.assertEqual(self.run_config(c).stdout, "12345.67 1.00\n")

    def test_namespaced_sysctls_still_work(self):
        c = self.config(["cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmax"])
        c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmax": "123456"}
        with Canary() as canary:
            self.assertEqual(self.run_config(c).stdout, "1\n123456\n")
            self.assertTrue(canary.untouched())


class SymlinkedProcAndSys(ImageTest):
    """CVE-2019-16884 / CVE-2023-27561 class: /proc or /sys a symlink in the image. runc 1.1.5
    refuses these ("must be mounted on ordinary directory")."""

    def replace(self, r, name, target):
        shutil.rmtree(os.path.join(r, name), ignore_errors=True)
        os.symlink(target, os.path.join(r, name))

    def test_proc_as_a_symlink_to_a_tmpfs_is_refused(self):
        r = self.own_rootfs()
        self.replace(r, "proc", "/dev/shm")
        self.check_fails(self.image_config(r), 'filesystem "proc" must be mounted on an ordinary directory')

    def test_proc_as_a_relative_symlink_is_refused(self):
        r = self.own_rootfs()
        os.makedirs(os.path.join(r, "fakeproc"))
        self.replace(r, "proc", "fakeproc")
        self.check_fails(self.image_config(r), 'filesystem "proc" must be mounted on an ordinary directory')

    def test_sys_as_a_symlink_is_refused(self):
        r = self.own_rootfs()
        self.replace(r, "sys", "/tmp")
        self.check_fails(self.image_config(r), 'filesystem "sysfs" must be mounted on an ordinary directory')

    def test_proc_as_a_file_is_refused(self):
        r = self.own_rootfs()
        shutil.rmtree(os.path.join(r, "proc"))
        open(os.path.join(r, "proc"), "w").close()
        self.check_fails(self.image_config(r), 'filesystem "proc" must be mounted on an ordinary directory')

    def test_a_symlink_that_leads_a_mount_into_sys_is_refused(self):
        r = self.own_rootfs()
        os.symlink("/sys/kernel", os.path.join(r, "data"))
        c = self.image_config(r)
        c["mounts"].append({"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": []})
        self.check_fails(c, 'a symlink in the rootfs leads it into /sys ("/sys/kernel")')


class FakeDevNull(ImageTest):
    """CVE-2025-31133 class: masked paths bound from the container's /dev/null, which a bind mount
    or the image chose. runc 1.1.5 binds whatever /dev/null is (fixed in runc 1.2.8)."""

    def fake_dev(self, null_kind):
        d = os.path.join(self.tmp, "fakedev")
        os.makedirs(os.path.join(d, "pts"))
        os.makedirs(os.path.join(d, "shm"))
        os.makedirs(os.path.join(d, "mqueue"))
        if null_kind == "file":
            with open(os.path.join(d, "null"), "w") as f:
                f.write("attacker-chosen\n")
        else:
            os.symlink("/etc/passwd", os.path.join(d, "null"))
        return d

    def dev_bound_from(self, d):
        c = self.config(["cat", "/proc/keys"])
        c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/dev"]
        c["mounts"].insert(1, {"destination": "/dev", "type": "bind", "source": d, "options": ["rbind"]})
        return c

    def test_a_regular_file_as_dev_null_is_refused(self):
        self.check_fails(self.dev_bound_from(self.fake_dev("file")),
                         '"/dev/null" in the container is not the null device')

    def test_a_symlink_as_dev_null_is_refused(self):
        self.check_fails(self.dev_bound_from(self.fake_dev("symlink")),
                         '"/dev/null" in the container is not the null device')

    def test_the_images_dev_null_is_replaced_by_the_null_device(self):
        # No /dev mount: /dev is the image's, and the default devices are made there (runc's rule),
        # so the image's fake null never hides anything.
        r = self.own_rootfs()
        os.makedirs(os.path.join(r, "dev"), exist_ok=True)
        with open(os.path.join(r, "dev", "null"), "w") as f:
            f.write("attacker-chosen\n")
        c = self.image_config(r, ["sh", "-c", 'stat -c "%F %t:%T" /dev/null; wc -c < /proc/keys'])
        c["root"]["readonly"] = False
        c["mounts"] = [m for m in c["mounts"] if not m["destination"].startswith("/dev")]
        self.assertEqual(self.run_config(c).stdout, "character special file 1:3\n0\n")


class NoMountNamespace(ImageTest):
    """Without a mount namespace the rootfs is a chroot: runc refuses masked and read-only paths
    then; a process that may chroot leaves it (double chroot) and reads the host's files."""

    def config_without_mount_ns(self, args=("true",)):
        r = self.own_rootfs()
        c = self.image_config(r, args)
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "mount"]
        return c

    def test_masked_paths_without_a_mount_namespace_are_refused(self):
        c = self.config_without_mount_ns()
        self.check_fails(c, "unable to restrict sys entries without a private MNT namespace")
        c = self.config_without_mount_ns()
        c["linux"]["maskedPaths"] = []
        self.check_fails(c, "unable to restrict sys entries without a private MNT namespace")

    def test_a_process_that_can_chroot_is_refused_without_a_mount_namespace(self):
        for cap in ("CAP_SYS_CHROOT", "CAP_SYS_ADMIN"):
            c = self.config_without_mount_ns(["chroot", "/proc/1/root/../../..", "cat", "/etc/hostname"])
            c["linux"]["maskedPaths"] = []
            c["linux"]["readonlyPaths"] = []
            for k in ("bounding", "effective", "permitted"):
                c["process"]["capabilities"][k].append(cap)
            self.check_fails(c, "process.capabilities.bounding: %s without a private mount namespace" % cap)


class HostUtsNamespace(OcelotTest):
    """hostname and domainname are the uts namespace's sysctls: joining the host's namespace by
    path and setting them must be refused, as kernel.domainname is."""

    def test_hostname_in_the_hosts_uts_namespace_is_refused(self):
        before = socket.gethostname()
        for field in ("hostname", "domainname"):
            c = self.config(["true"])
            for n in c["linux"]["namespaces"]:
                if n["type"] == "uts":
                    n["path"] = "/proc/%d/ns/uts" % os.getpid()
            c.pop("hostname", None)
            c[field] = "owned-by-the-container"
            self.check_fails(c, '%s: the uts namespace "/proc/%d/ns/uts" is the host\'s' % (field, os.getpid()))
        self.assertEqual(socket.gethostname(), before)


ALLOW_ALL = struct.pack("<HBBI", 0x06, 0, 0, 0x7FFF0000)  # BPF_RET|BPF_K SECCOMP_RET_ALLOW


class PlantedSeccompProgram(OcelotTest):
    """Compiled seccomp programs are cached by a predictable name: a program that someone else
    wrote there (another user, or a damaged file) must never be loaded as the container's."""

    CACHE = "/var/cache/ocelot/seccomp"

    def profile_config(self):
        c = self.config(["sh", "-c", "mkdir /tmp/x 2>/dev/null && echo allowed || echo denied"])
        c["root"]["readonly"] = False
        c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": []})
        # A profile of this test alone (the marker errno), so its cache file is new.
        c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1000 + os.getpid() % 2000}]}
        return c

    def cached_file(self, c):
        before = set(os.listdir(self.CACHE)) if os.path.isdir(self.CACHE) else set()
        p = self.run_config(c)
        self.assertEqual(p.stdout.strip(), "denied")
        new = sorted(set(os.listdir(self.CACHE)) - before)
        self.assertEqual(len(new), 1, new)
        return os.path.join(self.CACHE, new[0])

    def plant(self, path, owner=0, mode=0o600):
        """The same file with its program replaced by "allow everything" (the header kept)."""
        data = open(path, "rb").read()
        head = data[: len(data) - self.program_size(data)]
        with open(path, "wb") as f:
            f.write(head + ALLOW_ALL)
        os.chown(path, owner, owner)
        os.chmod(path, mode)

    @staticmethod
    def program_size(data):
        # Header: magic line, then "<keylen>[ <sum>]\n", then the key, then the program.
        magic_end = data.index(b"\n") + 1
        nl = data.index(b"\n", magic_end)
        keylen = int(data[magic_end:nl].split(b" ")[0])
        return len(data) - (nl + 1 + keylen)

    def test_a_program_planted_by_another_user_is_not_loaded(self):
        c = self.profile_config()
        path = self.cached_file(c)
        try:
            nobody = pwd.getpwnam("nobody").pw_uid
            self.plant(path, owner=nobody)
            self.assertEqual(self.run_config(c).stdout.strip(), "denied")
            self.plant(path, owner=0, mode=0o666)  # root's, but anyone could have written it
            self.assertEqual(self.run_config(c).stdout.strip(), "denied")
            self.plant(path, owner=0, mode=0o600)  # root's and private, but not what ocelot wrote
            self.assertEqual(self.run_config(c).stdout.strip(), "denied")
        finally:
            os.unlink(path)

    def test_no_shared_cache_directory_without_a_home(self):
        # An unprivileged user without HOME used to cache in /tmp/.cache, where another user can
        # create the directory first.
        shared = "/tmp/.cache/ocelot"
        existed = os.path.exists(shared)
        binary = self.binary_for_users()
        b = os.path.join(self.tmp, "rl")
        os.makedirs(b)
        os.chown(b, pwd.getpwnam("nobody").pw_uid, -1)
        p = subprocess.run(["runuser", "-u", "nobody", "--", "env", "-i", "PATH=/usr/bin:/bin", binary, "spec",
                            "--rootless", "--bundle", b], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(b, "config.json")) as f:
            c = json.load(f)
        c["root"] = {"path": self.rootfs, "readonly": True}
        c["process"]["args"] = ["true"]
        c["process"]["terminal"] = False
        c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}
        with open(os.path.join(b, "config.json"), "w") as f:
            json.dump(c, f)
        os.chmod(b, 0o755)
        state = tempfile.mkdtemp(prefix="ocelot-rl-state-")
        os.chmod(state, 0o777)
        try:
            p = subprocess.run(["runuser", "-u", "nobody", "--", "env", "-i", "PATH=/usr/bin:/bin", binary, "--root",
                                state, "run", "--bundle", b, "nohome-%d" % os.getpid()],
                               capture_output=True, text=True, timeout=60, cwd="/")
            self.assertEqual(p.returncode, 0, p.stderr)
            if not existed:
                self.assertFalse(os.path.exists(shared), "cached in a directory any user can create")
        finally:
            shutil.rmtree(state, ignore_errors=True)


class ConfigDifferentials(OcelotTest):
    """Two readers of one config must not see two configs."""

    def write_raw(self, text, name):
        d = os.path.join(self.tmp, name)
        os.makedirs(d)
        with open(os.path.join(d, "config.json"), "wb") as f:
            f.write(text)
        return d

    def check_raw_fails(self, text, expect):
        cid = self.new_id()
        p = self.ocelot("create", "--bundle", self.write_raw(text, "b-" + cid), cid, check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(expect, p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.root, cid)))

    def test_a_byte_order_mark_is_refused(self):
        text = json.dumps(self.config(["true"])).encode()
        self.check_raw_fails(b"\xef\xbb\xbf" + text, "a UTF-8 byte order mark is not allowed")

    def test_duplicate_keys_are_refused_with_their_place(self):
        c = self.config(["true"])
        text = json.dumps(c)
        # "args" twice in process: the second would be what Go's decoder runs.
        dup = text.replace('"args": ["true"]', '"args": ["true"], "args": ["sh", "-c", "evil"]')
        self.assertNotEqual(dup, text)
        self.check_raw_fails(dup.encode(), 'duplicate key "args" in "process"')
        dup = text.replace('"ociVersion"', '"hostname": "a", "hostname": "b", "ociVersion"')
        self.check_raw_fails(dup.encode(), 'duplicate key "hostname" in the top-level object')
        dup = text.replace('{"destination": "/proc"', '{"destination": "/x", "destination": "/proc"')
        self.check_raw_fails(dup.encode(), 'duplicate key "destination" in "mounts[0]"')
