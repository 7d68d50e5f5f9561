"""terminal: true with --console-socket: the pty master arrives in one SCM_RIGHTS message."""
import array
import os
import threading

from harness import OcelotTest, receive_console_fd


class Console(OcelotTest):
    def read_all(self, fd):
        out = b""
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO once every slave is closed
                break
            if not chunk:
                break
            out += chunk
        return out.decode()

    def test_console_socket_receives_a_working_pty(self):
        sock = os.path.join(self.tmp, "console.sock")
        result = {}
        t = threading.Thread(target=receive_console_fd, args=(sock, result))
        t.start()
        c = self.config(["sh", "-c", "tty; stty size; echo on-the-pty"])
        c["process"]["terminal"] = True
        c["process"]["consoleSize"] = {"height": 30, "width": 100}
        cid = self.new_id()
        self.ocelot("create", "--console-socket", sock, "--bundle", self.bundle(c), cid)
        t.join(10)
        self.assertEqual(len(result.get("fds", [])), 1)
        master = result["fds"][0]
        self.ocelot("start", cid)
        out = self.read_all(master)
        os.close(master)
        self.assertIn("/dev/pts/0", out)
        self.assertIn("30 100", out)
        self.assertIn("on-the-pty", out)

    def test_terminal_without_console_socket_on_create_is_an_error(self):
        c = self.config(["true"])
        c["process"]["terminal"] = True
        cid = self.new_id()
        p = self.ocelot("create", "--bundle", self.bundle(c), cid, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot allocate tty if ocelot will detach without setting console socket", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.root, cid)))

    def test_run_proxies_the_terminal_without_a_console_socket(self):
        # run in the foreground with terminal: true and no --console-socket: the pty master comes
        # back to run over its own socketpair and run relays it to its own terminal (here script's).
        import subprocess
        c = self.config(["sh", "-c", "tty; echo through-the-proxy; exit 3"])
        c["process"]["terminal"] = True
        cid = self.new_id()
        b = self.bundle(c)
        cmd = "%s --root %s run --bundle %s %s" % (os.environ["OCELOT"], self.root, b, cid)
        p = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 3, p.stdout + p.stderr)
        self.assertIn("/dev/pts/0", p.stdout)
        self.assertIn("through-the-proxy", p.stdout)
