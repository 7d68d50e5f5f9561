"""checkpoint and restore with CRIU (runc's commands and flags). They need a criu that works on
this kernel: `make checkpoint-test` finds or builds one (tests/checkpoint/criu.sh) and names it
in OCELOT_CRIU; without it these tests are skipped here and that tier fails instead."""
import json
import os
import shutil
import subprocess
import threading
import time
import unittest

from harness import OcelotTest, cgroup_dirs_named, receive_console_fd

CRIU = os.environ.get("OCELOT_CRIU", "")
COUNTER = "i=0; while true; do i=$((i+1)); echo $i > /count; sleep 0.1; done"


@unittest.skipUnless(CRIU, "needs OCELOT_CRIU (make checkpoint-test builds CRIU when the installed one fails)")
class Checkpoint(OcelotTest):
    def setUp(self):
        super().setUp()
        # A writable rootfs of its own: the counter writes into it.
        self.rootfs_rw = os.path.join(self.tmp, "rootfs-rw")
        shutil.copytree(self.rootfs, self.rootfs_rw, symlinks=True)
        self.images = os.path.join(self.tmp, "images")

    def criu(self, *args, check=True, **kw):
        return self.ocelot("--criu", CRIU, *args, check=check, **kw)

    def counter_bundle(self, cid, mods=None):
        c = self.config(["sh", "-c", COUNTER])
        c["root"] = {"path": self.rootfs_rw, "readonly": False}
        if mods:
            mods(c)
        return self.bundle(c, "bundle-" + cid)

    def count(self):
        try:
            return int(open(os.path.join(self.rootfs_rw, "count")).read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def wait_count_above(self, n, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            if self.count() > n:
                return self.count()
            time.sleep(0.05)
        self.fail("the counter never went above %d (at %d)" % (n, self.count()))

    def start_counter(self, cid, mods=None):
        """run -d with stdio on /dev/null (the container's own, after runc's reopening): a host
        file as its stdio could not be dumped, with runc either."""
        b = self.counter_bundle(cid, mods)
        subprocess.run([os.environ["OCELOT"], "--root", self.root, "run", "-d", "--bundle", b, cid], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        self.wait_count_above(3)
        return b

    def test_checkpoint_and_restore_continue_the_count(self):
        cid = self.new_id("ck")
        b = self.start_counter(cid)
        self.criu("checkpoint", "--image-path", self.images, cid)
        # Gone, as runc: no state, no cgroup, no process; the image written.
        self.assertIn("does not exist", self.ocelot("state", cid, check=False).stderr)
        self.assertEqual(cgroup_dirs_named(cid), [])
        self.assertTrue(os.path.exists(os.path.join(self.images, "inventory.img")), os.listdir(self.images))
        at_dump = self.count()
        time.sleep(0.5)
        self.assertEqual(self.count(), at_dump, "the counter ran on after the checkpoint")
        self.criu("restore", "-d", "--bundle", b, "--image-path", self.images, cid)
        st = self.state(cid)
        self.assertEqual(st["status"], "running")
        # It goes on from where it was, not from 0.
        after = self.wait_count_above(at_dump)
        self.assertGreater(after, at_dump)
        # An ordinary container afterwards: exec, ps, kill, delete.
        self.assertEqual(self.ocelot("exec", cid, "sh", "-c", "test -f /count && echo yes").stdout.strip(), "yes")
        self.assertIn(st["pid"], json.loads(self.ocelot("ps", "--format", "json", cid).stdout))
        self.assertTrue(cgroup_dirs_named(cid))
        self.ocelot("kill", cid, "KILL")
        self.wait_status(cid, "stopped")
        self.ocelot("delete", cid)
        self.assertEqual(cgroup_dirs_named(cid), [])

    def test_leave_running_keeps_the_original_and_the_image_restores_elsewhere(self):
        # The count on a tmpfs, which the image carries: the rootfs goes on changing after the
        # dump while the original runs, and CRIU refuses a file whose size is not the dump's.
        def on_tmpfs(c):
            c["mounts"].append({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]})
            c["process"]["args"] = ["sh", "-c", COUNTER.replace("/count", "/scratch/count")]

        def scratch(cid):
            return int(self.ocelot("exec", cid, "cat", "/scratch/count", check=False).stdout.strip() or 0)

        def wait_scratch_above(cid, n):
            end = time.time() + 10
            while scratch(cid) <= n and time.time() < end:
                time.sleep(0.05)
            self.assertGreater(scratch(cid), n)
        cid = self.new_id("ck")
        b = self.counter_bundle(cid, on_tmpfs)
        subprocess.run([os.environ["OCELOT"], "--root", self.root, "run", "-d", "--bundle", b, cid], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        wait_scratch_above(cid, 3)
        self.criu("checkpoint", "--leave-running", "--image-path", self.images, cid)
        self.assertEqual(self.state(cid)["status"], "running")
        wait_scratch_above(cid, scratch(cid))
        at_delete = scratch(cid)
        self.ocelot("delete", "--force", cid)
        # The same image under a new id (its own cgroup), counting on from the dump's value.
        other = self.new_id("rs")
        self.criu("restore", "-d", "--bundle", b, "--image-path", self.images, other)
        self.assertEqual(self.state(other)["status"], "running")
        self.assertTrue(cgroup_dirs_named(other))
        restored = scratch(other)
        self.assertGreater(restored, 0)
        self.assertLess(restored, at_delete + 1, "the tmpfs came from the image, not from the original")
        time.sleep(0.3)
        self.assertGreater(scratch(other), restored)
        self.ocelot("delete", "--force", other)

    def test_a_paused_container_is_dumped_through_its_freezer(self):
        """As runc asks CRIU (--freeze-cgroup): without it CRIU times out on frozen tasks."""
        cid = self.new_id("ck")
        b = self.start_counter(cid)
        self.ocelot("pause", cid)
        self.criu("checkpoint", "--leave-running", "--image-path", self.images, cid, timeout=30)
        self.assertEqual(self.state(cid)["status"], "paused")
        n = self.count()
        time.sleep(0.3)
        self.assertEqual(self.count(), n, "a paused container ran on")
        self.criu("checkpoint", "--image-path", self.images + "-2", cid, timeout=30)
        self.criu("restore", "-d", "--bundle", b, "--image-path", self.images + "-2", cid)
        self.assertEqual(self.state(cid)["status"], "running")
        self.wait_count_above(n)
        self.ocelot("delete", "--force", cid)

    def test_restored_stdout_is_the_new_callers_pipe(self):
        """runc's descriptors.json: a pipe the workload writes to is the pipe restore was given."""
        cid = self.new_id("ck")
        b = self.counter_bundle(cid, lambda c: c["process"].__setitem__(
            "args", ["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done"]))
        r, w = os.pipe()
        p = subprocess.Popen([os.environ["OCELOT"], "--root", self.root, "run", "-d", "--bundle", b, cid],
                             stdin=subprocess.DEVNULL, stdout=w, stderr=subprocess.DEVNULL)
        os.close(w)
        p.wait(timeout=30)
        first = os.read(r, 64)
        self.assertTrue(first.strip(), first)
        self.criu("checkpoint", "--image-path", self.images, cid)
        os.close(r)
        r2, w2 = os.pipe()
        p = subprocess.Popen([os.environ["OCELOT"], "--root", self.root, "--criu", CRIU, "restore", "-d", "--bundle", b,
                              "--image-path", self.images, cid], stdin=subprocess.DEVNULL, stdout=w2,
                             stderr=subprocess.PIPE)
        os.close(w2)
        _, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        later = os.read(r2, 64).decode().split()
        os.close(r2)
        self.assertTrue(later and int(later[0]) > 1, later)
        self.ocelot("delete", "--force", cid)

    def test_restore_in_the_foreground_waits_and_deletes_as_run(self):
        cid = self.new_id("ck")
        b = self.start_counter(cid)
        self.criu("checkpoint", "--image-path", self.images, cid)
        p = subprocess.Popen([os.environ["OCELOT"], "--root", self.root, "--criu", CRIU, "restore", "--bundle", b,
                              "--image-path", self.images, cid], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        self.wait_status(cid, "running", timeout=30)
        self.ocelot("kill", cid, "KILL")
        _, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 137, err)
        self.assertIn("does not exist", self.ocelot("state", cid, check=False).stderr)

    def test_a_tmpfs_and_a_bind_mount_come_back(self):
        src = os.path.join(self.tmp, "shared")
        os.makedirs(src)

        def mods(c):
            c["mounts"] += [{"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]},
                            {"destination": "/shared", "type": "bind", "source": src, "options": ["rbind", "rw"]}]
            c["process"]["args"] = ["sh", "-c", "echo kept > /scratch/f; " + COUNTER]
        cid = self.new_id("ck")
        b = self.start_counter(cid, mods)
        self.criu("checkpoint", "--image-path", self.images, cid)
        self.criu("restore", "-d", "--bundle", b, "--image-path", self.images, cid)
        self.assertEqual(self.ocelot("exec", cid, "cat", "/scratch/f").stdout.strip(), "kept")
        self.ocelot("exec", cid, "sh", "-c", "echo from-inside > /shared/g")
        self.assertEqual(open(os.path.join(src, "g")).read().strip(), "from-inside")
        self.ocelot("delete", "--force", cid)

    # -- a terminal: CRIU makes a new pty pair on restore, its master goes to the console socket ---
    def console_master(self, name):
        """A console socket server in a thread: (socket path, a function returning the master)."""
        sock = os.path.join(self.tmp, name)
        result = {}
        t = threading.Thread(target=receive_console_fd, args=(sock, result, 30))
        t.start()

        def master():
            t.join(30)
            self.assertEqual(len(result.get("fds", [])), 1, "no pty master on " + sock)
            return result["fds"][0]
        return sock, master

    def read_ticks(self, master, above, timeout=10):
        """Reads the pty until a "tick N" line with N > above arrives; returns N."""
        os.set_blocking(master, False)
        buf, end = b"", time.time() + timeout
        while time.time() < end:
            try:
                buf += os.read(master, 4096)
            except BlockingIOError:
                time.sleep(0.05)
                continue
            ticks = [int(w[4:]) for w in buf.decode(errors="replace").split() if w.startswith("tick") and w[4:].isdigit()]
            if ticks and ticks[-1] > above:
                return ticks[-1]
        self.fail("no tick above %d on the pty: %r" % (above, buf[-200:]))

    def test_a_terminal_container_restores_with_a_new_pty_on_the_console_socket(self):
        cid = self.new_id("ck")
        b = self.counter_bundle(cid, lambda c: (c["process"].__setitem__("terminal", True), c["process"].__setitem__(
            "args", ["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /count; echo tick$i; sleep 0.1; done"])))
        sock, master = self.console_master("console-1.sock")
        self.ocelot("run", "-d", "--console-socket", sock, "--bundle", b, cid)
        old = master()
        self.read_ticks(old, 2)
        self.criu("checkpoint", "--image-path", self.images, cid)
        at_dump = self.count()
        os.close(old)  # the caller's old master is gone (conmon restarted, say)
        sock, master = self.console_master("console-2.sock")
        self.criu("restore", "-d", "--console-socket", sock, "--bundle", b, "--image-path", self.images, cid)
        new = master()
        # The restored workload writes to the new pty, counting on from the dump's value.
        self.assertGreater(self.read_ticks(new, at_dump), at_dump)
        # It is a terminal: the line discipline echoes what the caller types.
        os.write(new, b"typed-in\n")
        end, seen = time.time() + 5, b""
        while b"typed-in" not in seen and time.time() < end:
            try:
                seen += os.read(new, 4096)
            except BlockingIOError:
                time.sleep(0.05)
        self.assertIn(b"typed-in", seen)
        self.assertEqual(self.ocelot("exec", cid, "sh", "-c", "test -t 1 || echo no-tty").stdout.strip(), "no-tty")
        self.ocelot("delete", "--force", cid)
        os.close(new)
        self.assertEqual(cgroup_dirs_named(cid), [])

    def test_a_terminal_restore_without_a_console_socket_or_with_a_dead_one_leaves_nothing(self):
        cid = self.new_id("ck")
        b = self.counter_bundle(cid, lambda c: c["process"].__setitem__("terminal", True))
        sock, master = self.console_master("console-1.sock")
        self.ocelot("run", "-d", "--console-socket", sock, "--bundle", b, cid)
        old = master()
        self.wait_count_above(2)
        self.criu("checkpoint", "--image-path", self.images, cid)
        os.close(old)
        before = len(open("/proc/self/mountinfo").readlines())
        p = self.criu("restore", "-d", "--bundle", b, "--image-path", self.images, cid, check=False)
        self.one_line_failure(p, "cannot allocate tty if ocelot will detach without setting console socket")
        self.assert_nothing_left(cid, before)
        # Nobody listens on the socket: CRIU is told the hand-over failed and undoes the restore.
        p = self.criu("restore", "-d", "--console-socket", os.path.join(self.tmp, "nobody.sock"), "--bundle", b,
                      "--image-path", self.images, cid, check=False)
        self.one_line_failure(p, "nobody.sock")
        self.assert_nothing_left(cid, before)
        at = self.count()
        time.sleep(0.3)
        self.assertEqual(self.count(), at, "a restored process outlived the failed restore")

    # -- failures: one line, nothing changed, nothing left ----------------------------------------
    def one_line_failure(self, p, expect):
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(expect, p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)

    def test_checkpoint_of_a_missing_or_not_running_container_fails_and_changes_nothing(self):
        self.one_line_failure(self.criu("checkpoint", "--image-path", self.images, "nope", check=False),
                              "container does not exist")
        cid = self.new_id("ck")
        self.ocelot("create", "--bundle", self.counter_bundle(cid), cid)
        self.one_line_failure(self.criu("checkpoint", "--image-path", self.images, cid, check=False), "not running")
        self.assertEqual(self.state(cid)["status"], "created")

    def test_a_failed_dump_leaves_the_container_running(self):
        cid = self.new_id("ck")
        # Its stdout a host file on no mount of the container's (the harness's temporary file):
        # CRIU cannot dump that (nor under runc).
        self.ocelot("run", "-d", "--bundle", self.counter_bundle(cid), cid)
        self.wait_count_above(3)
        bad = self.criu("checkpoint", "--image-path", self.images, cid, check=False)
        self.one_line_failure(bad, "criu dump failed")
        self.assertEqual(self.state(cid)["status"], "running")
        self.wait_count_above(self.count())
        # An image path that cannot be made: refused before CRIU runs.
        open(os.path.join(self.tmp, "file"), "w").close()
        self.one_line_failure(self.criu("checkpoint", "--image-path", self.tmp + "/file/images", cid, check=False),
                              "image path")
        self.assertEqual(self.state(cid)["status"], "running")

    def test_restore_from_a_damaged_image_leaves_nothing(self):
        cid = self.new_id("ck")
        b = self.start_counter(cid)
        self.criu("checkpoint", "--image-path", self.images, cid)
        before = len(open("/proc/self/mountinfo").readlines())
        for f in os.listdir(self.images):
            if f.startswith(("core-", "pstree")):
                with open(os.path.join(self.images, f), "r+b") as fh:
                    fh.write(b"\xff" * 16)
        p = self.criu("restore", "-d", "--bundle", b, "--image-path", self.images, cid, check=False)
        self.one_line_failure(p, "criu restore failed")
        self.assert_nothing_left(cid, before)
        empty = os.path.join(self.tmp, "empty")
        os.makedirs(empty)
        p = self.criu("restore", "-d", "--bundle", b, "--image-path", empty, cid, check=False)
        self.one_line_failure(p, "is not a checkpoint")
        self.assert_nothing_left(cid, before)

    def test_restore_onto_an_existing_id_fails_and_leaves_it_alone(self):
        cid = self.new_id("ck")
        b = self.start_counter(cid)
        self.criu("checkpoint", "--leave-running", "--image-path", self.images, cid)
        pid = self.state(cid)["pid"]
        p = self.criu("restore", "-d", "--bundle", b, "--image-path", self.images, cid, check=False)
        self.one_line_failure(p, "container with id exists: " + cid)
        self.assertEqual((self.state(cid)["status"], self.state(cid)["pid"]), ("running", pid))

    def test_unsupported_options_are_refused_by_name(self):
        cid = self.new_id("ck")
        self.start_counter(cid)
        for args, expect in ((["--lazy-pages"], "--lazy-pages is not supported"),
                             (["--page-server", "127.0.0.1:1"], "--page-server is not supported"),
                             (["--empty-ns", "pid"], "only network"),
                             (["--manage-cgroups-mode", "weird"], "expected soft, full, strict or ignore")):
            p = self.criu("checkpoint", "--image-path", self.images, *args, cid, check=False)
            self.one_line_failure(p, expect)
            self.assertEqual(self.state(cid)["status"], "running")
