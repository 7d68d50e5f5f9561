"""Seccomp as the config says it, checked by the syscalls' real results inside the container."""
import array
import ctypes
import fcntl
import json
import os
import socket
import struct
import threading

from harness import OcelotTest, probe_report
from podman_seccomp import PROFILE, oci_seccomp

SYS_getppid, SYS_clone3, SYS_getpid = 110, 435, 39


class Seccomp(OcelotTest):
    def with_seccomp(self, args, seccomp, nnp=True):
        c = self.config(args)
        c["linux"]["seccomp"] = seccomp
        c["process"]["noNewPrivileges"] = nnp
        return c

    def test_podman_default_profile(self):
        if not os.path.exists(PROFILE):
            self.skipTest("podman's profile is not installed (golang-github-containers-common)")
        sc = oci_seccomp(self.config(["true"])["process"]["capabilities"]["bounding"])
        c = self.with_seccomp(["sh", "-c", "grep Seccomp: /proc/self/status; unshare -m true; echo unshare=$?;"
                               " mount -t tmpfs none /tmp; echo mount=$?;"
                               " /bin/ocelot-probe syscall 248; /bin/ocelot-probe syscall %d" % SYS_getpid], sc)
        p = self.run_config(c)
        self.assertIn("Seccomp:\t2", p.stdout)  # filter mode
        self.assertIn("unshare=1", p.stdout)
        self.assertIn("Operation not permitted", p.stderr)
        self.assertIn("mount=1", p.stdout)
        # add_key(2) is not in the profile: its default action (ERRNO, ENOSYS) answers.
        self.assertIn("syscall 248: ret -1 errno 38", p.stdout)
        self.assertRegex(p.stdout, r"syscall 39: ret [0-9]+ errno 0")

    def test_errno_ret_args_and_masked_eq(self):
        sc = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77},
            # personality(0xffffffff) queries; deny only that value with a mask and several args
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "args": [{"index": 0, "value": 0xff, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}]}
        c = self.with_seccomp(["sh", "-c", "/bin/ocelot-probe syscall %d; /bin/ocelot-probe syscall 135" % SYS_getppid], sc)
        out = self.run_config(c).stdout
        self.assertIn("syscall 110: ret -1 errno 77", out)
        self.assertIn("syscall 135: ret -1 errno 13", out)  # personality(0): 0 & 0xff == 0

    def test_kill_action_kills(self):
        sc = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]}
        p = self.run_config(self.with_seccomp(["/bin/ocelot-probe", "syscall", str(SYS_getppid)], sc), check=False)
        self.assertEqual(p.returncode, 128 + 31)  # SIGSYS
        self.assertNotIn("syscall 110", p.stdout)

    def test_newer_syscalls_get_enosys_not_the_default_errno(self):
        if not os.path.exists(PROFILE):
            self.skipTest("podman's profile is not installed")
        names = set()
        for r in oci_seccomp(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])["syscalls"]:
            if r["action"] == "SCMP_ACT_ALLOW" and not r.get("args"):
                names.update(r["names"])
        # A profile written before clone3: allow only syscalls numbered below it, deny with EPERM.
        old = sorted(n for n in names if n not in ("clone3", "faccessat2", "openat2", "close_range", "epoll_pwait2",
                                                    "process_madvise", "mount_setattr", "quotactl_fd",
                                                    "landlock_create_ruleset", "landlock_add_rule",
                                                    "landlock_restrict_self", "memfd_secret", "process_mrelease",
                                                    "futex_waitv", "set_mempolicy_home_node", "cachestat",
                                                    "fchmodat2", "map_shadow_stack", "futex_wake", "futex_wait",
                                                    "futex_requeue", "statmount", "listmount", "lsm_get_self_attr",
                                                    "lsm_set_self_attr", "lsm_list_modules", "mseal",
                                                    "pidfd_open", "pidfd_send_signal", "pidfd_getfd", "io_uring_setup",
                                                    "io_uring_enter", "io_uring_register", "open_tree", "move_mount",
                                                    "fsopen", "fsconfig", "fsmount", "fspick", "clone", "execveat"))
        sc = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "architectures": ["SCMP_ARCH_X86_64"],
              "syscalls": [{"names": old + ["clone"], "action": "SCMP_ACT_ALLOW"}]}
        c = self.with_seccomp(["sh", "-c", "/bin/ocelot-probe syscall %d; /bin/ocelot-probe syscall 169" % SYS_clone3], sc)
        out = self.run_config(c).stdout
        self.assertIn("syscall 435: ret -1 errno 38", out)  # clone3 -> ENOSYS, glibc falls back to clone
        self.assertIn("syscall 169: ret -1 errno 1", out)   # reboot: known to the profile's era -> its EPERM

    def test_unknown_syscall_names_are_skipped(self):
        sc = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["no_such_syscall_2099", "getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5}]}
        out = self.run_config(self.with_seccomp(["/bin/ocelot-probe", "syscall", str(SYS_getppid)], sc)).stdout
        self.assertIn("errno 5", out)

    def test_filter_without_no_new_privs_still_lets_the_runtime_finish(self):
        # Denying setgroups/capset would break our own set-up if the filter came too early.
        sc = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 9}]}
        for nnp in (True, False):
            c = self.with_seccomp(["/bin/ocelot-probe", "syscall", str(SYS_getppid)], sc, nnp=nnp)
            c["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [3]}
            self.assertIn("errno 9", self.run_config(c).stdout)
        sc = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["setgroups", "capset", "setresuid", "setresgid"], "action": "SCMP_ACT_ERRNO"}]}
        c = self.with_seccomp(["/bin/ocelot-probe", "report"], sc, nnp=True)
        c["process"]["user"] = {"uid": 1000, "gid": 1000}
        r = probe_report(self.run_config(c).stdout)
        self.assertEqual(r["Uid"][0].split(), ["1000"] * 4)

    def test_notify_reaches_the_listener(self):
        path = os.path.join(self.tmp, "listener.sock")
        got = {}
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(1)
        srv.settimeout(15)

        def listen():
            conn, _ = srv.accept()
            msg, fds, _, _ = socket.recv_fds(conn, 65536, 1)
            got["state"] = json.loads(msg)
            fd = fds[0]
            # struct seccomp_notif: id u64, pid u32, flags u32, data {nr i32, arch u32, ip u64, args u64[6]}
            buf = bytearray(80)
            fcntl.ioctl(fd, 0xC0502100, buf)  # SECCOMP_IOCTL_NOTIF_RECV
            nid, pid, _flags, nr = struct.unpack_from("QIIi", buf)
            got["nr"] = nr
            resp = bytearray(struct.pack("QqiI", nid, 4242, 0, 0))  # seccomp_notif_resp: val 4242, no error
            fcntl.ioctl(fd, 0xC0182101, resp)  # SECCOMP_IOCTL_NOTIF_SEND
            os.close(fd)
            conn.close()

        t = threading.Thread(target=listen)
        t.start()
        sc = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": path, "listenerMetadata": "meta-1",
              "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]}
        out = self.run_config(self.with_seccomp(["/bin/ocelot-probe", "syscall", str(SYS_getppid)], sc)).stdout
        t.join(15)
        srv.close()
        self.assertEqual(got.get("nr"), SYS_getppid)
        self.assertEqual(got["state"]["fds"], ["seccompFd"])
        self.assertEqual(got["state"]["metadata"], "meta-1")
        self.assertGreater(got["state"]["pid"], 0)
        self.assertIn("syscall 110: ret 4242 errno 0", out)
