"""create/start/run/state/kill/delete as runtime.md says, with runc's error strings."""
import json
import os
import signal
import subprocess
import tempfile
import time

from harness import OcelotTest, probe_report, wait_gone


class Lifecycle(OcelotTest):
    def test_run_prints_output_and_returns_exit_code(self):
        p = self.run_config(self.config(["sh", "-c", "echo out; echo err >&2; exit 7"]), check=False)
        self.assertEqual(p.returncode, 7)
        self.assertEqual(p.stdout, "out\n")
        self.assertEqual(p.stderr, "err\n")

    def test_run_killed_by_signal_is_128_plus_n(self):
        # The init cannot SIGKILL itself (pid 1 ignores it from inside): kill it from outside.
        cid = self.new_id()
        b = self.bundle(self.config(["sleep", "100"]))
        proc = subprocess.Popen([os.environ["OCELOT"], "--root", self.root, "run", "--bundle", b, cid])
        self.wait_status(cid, "running")
        self.ocelot("kill", cid, "KILL")
        self.assertEqual(proc.wait(timeout=10), 137)

    def test_status_transitions(self):
        cid = self.new_id()
        b = self.bundle(self.config(["sleep", "30"]))
        self.ocelot("create", "--bundle", b, cid)
        s = self.state(cid)
        self.assertEqual(s["status"], "created")
        self.assertEqual(s["id"], cid)
        self.assertEqual(s["bundle"], b)
        self.assertGreater(s["pid"], 0)
        # The init is alive and blocked before exec: its exe is still ocelot.
        self.assertTrue(os.path.exists("/proc/%d" % s["pid"]))
        self.ocelot("start", cid)
        self.wait_status(cid, "running")
        p = self.ocelot("start", cid, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot start an already running container", p.stderr)
        p = self.ocelot("delete", cid, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("is not stopped: running", p.stderr)
        self.assertEqual(self.state(cid)["status"], "running")  # no effect
        self.ocelot("kill", cid, "KILL")
        self.wait_status(cid, "stopped")
        self.assertEqual(self.state(cid)["pid"], 0)
        p = self.ocelot("kill", cid, "TERM", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("container not running", p.stderr)
        p = self.ocelot("start", cid, check=False)
        self.assertIn("cannot start a container that has stopped", p.stderr)
        self.ocelot("delete", cid)
        p = self.ocelot("state", cid, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("container does not exist", p.stderr)

    def test_delete_of_created_container_kills_it(self):
        cid = self.new_id()
        self.ocelot("create", "--bundle", self.bundle(self.config(["true"])), cid)
        pid = self.state(cid)["pid"]
        self.ocelot("delete", cid)
        # delete waits for the init to go; at most a reaping moment later it is gone for good.
        self.assertTrue(wait_gone(pid, 5))

    def test_kill_signal_forms(self):
        cid = self.new_id()
        b = self.bundle(self.config(["sh", "-c", "trap 'echo got-usr1 > /dev/null; exit 3' USR1; while true; do sleep 0.05; done"]))
        self.ocelot("run", "-d", "--bundle", b, cid)
        self.ocelot("kill", cid, "usr1")  # lower case, no SIG prefix, as runc accepts
        self.wait_status(cid, "stopped")
        p = self.ocelot("kill", cid, "SIGNOPE", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('unknown signal "SIGNOPE"', p.stderr)

    def test_kill_all_reaches_every_process(self):
        cid = self.new_id()
        b = self.bundle(self.config(["sh", "-c", "sleep 100 & sleep 100 & wait"]))
        self.ocelot("run", "-d", "--bundle", b, cid)
        time.sleep(0.2)
        pids = json.loads(self.ocelot("ps", "--format", "json", cid).stdout)
        self.assertEqual(len(pids), 3)
        self.ocelot("kill", "--all", cid, "KILL")
        time.sleep(0.2)
        for pid in pids:
            self.assertFalse(os.path.exists("/proc/%d/cmdline" % pid) and open("/proc/%d/cmdline" % pid).read())

    def test_list_and_ps(self):
        p = self.ocelot("list")
        self.assertEqual(p.stdout, "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n")
        self.assertEqual(self.ocelot("list", "--format", "json").stdout, "null\n")
        cid = self.new_id()
        self.ocelot("run", "-d", "--bundle", self.bundle(self.config(["sleep", "30"])), cid)
        lst = json.loads(self.ocelot("list", "--format", "json").stdout)
        self.assertEqual([c["id"] for c in lst], [cid])
        self.assertEqual(lst[0]["status"], "running")
        self.assertEqual(self.ocelot("list", "-q").stdout, cid + "\n")
        table = self.ocelot("ps", cid).stdout.splitlines()
        self.assertIn("PID", table[0])
        self.assertEqual(len(table), 2)
        self.assertIn("sleep 30", table[1])

    def test_pid_file_is_bare_decimal(self):
        cid = self.new_id()
        pf = os.path.join(self.tmp, "pid")
        self.ocelot("create", "--pid-file", pf, "--bundle", self.bundle(self.config(["true"])), cid)
        text = open(pf).read()
        self.assertRegex(text, r"^[0-9]+$")
        self.assertEqual(int(text), self.state(cid)["pid"])

    def test_duplicate_id_and_bad_ids(self):
        cid = self.new_id()
        b = self.bundle(self.config(["true"]))
        self.ocelot("create", "--bundle", b, cid)
        p = self.ocelot("create", "--bundle", b, cid, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("container with id exists: " + cid, p.stderr)
        for bad in ["../x", "a/b", "..", ""]:
            p = self.ocelot("create", "--bundle", b, bad, check=False)
            self.assertEqual(p.returncode, 1, bad)
            self.assertTrue("invalid container id" in p.stderr or "cannot be empty" in p.stderr, p.stderr)

    def test_json_log_has_exactly_one_error_object(self):
        log = os.path.join(self.tmp, "log.json")
        p = subprocess.run([os.environ["OCELOT"], "--root", self.root, "--log", log, "--log-format", "json",
                            "state", "nosuch"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr, "container does not exist\n")
        lines = open(log).read().splitlines()
        self.assertEqual(len(lines), 1)
        obj = json.loads(lines[0])
        self.assertEqual(list(obj.keys()), ["level", "msg", "time"])
        self.assertEqual(obj["level"], "error")
        self.assertEqual(obj["msg"], "container does not exist")

    def test_run_forwards_signals(self):
        cid = self.new_id()
        b = self.bundle(self.config(["sh", "-c", "trap 'exit 42' TERM; while true; do sleep 0.05; done"]))
        proc = subprocess.Popen([os.environ["OCELOT"], "--root", self.root, "run", "--bundle", b, cid])
        self.wait_status(cid, "running")
        time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=10), 42)
        self.assertFalse(os.path.exists(os.path.join(self.root, cid)))  # run deletes after exit

    def test_exec(self):
        cid = self.new_id()
        self.ocelot("run", "-d", "--bundle", self.bundle(self.config(["sleep", "30"])), cid)
        p = self.ocelot("exec", "-e", "FOO=bar", "--cwd", "/tmp", cid, "sh", "-c", "echo $FOO; pwd; exit 5", check=False)
        self.assertEqual(p.returncode, 5)
        self.assertEqual(p.stdout, "bar\n/tmp\n")
        init_ns = os.readlink("/proc/%d/ns/pid" % self.state(cid)["pid"])
        r = probe_report(self.ocelot("exec", "-u", "1000:1000", cid, "/bin/ocelot-probe", "report").stdout)
        self.assertEqual(r["ns.pid"], [init_ns])
        self.assertEqual(r["Uid"][0].split(), ["1000"] * 4)
        self.assertEqual(r["CapEff"], ["0000000000000000"])
        self.assertEqual(sorted(int(x.split()[0]) for x in r["fd"]), [0, 1, 2])
        p = self.ocelot("exec", cid, "no-such-binary", check=False)
        self.assertEqual(p.returncode, 255)  # runc: a process that could not start is 255
        self.assertIn('exec failed: exec: "no-such-binary": executable file not found in $PATH', p.stderr)
        p = self.ocelot("exec", cid, "/no/such/binary", check=False)
        self.assertEqual(p.returncode, 255)
        self.assertIn("no such file or directory", p.stderr)  # the words podman maps to 127
        p = self.ocelot("exec", cid, "/etc/passwd", check=False)
        self.assertIn("permission denied", p.stderr)  # the words podman maps to 126
        proc_json = os.path.join(self.tmp, "process.json")
        with open(proc_json, "w") as f:
            json.dump({"user": {"uid": 0, "gid": 0}, "args": ["sh", "-c", "echo from-process-json"], "cwd": "/",
                       "env": ["PATH=/bin"]}, f)
        self.assertEqual(self.ocelot("exec", "--process", proc_json, cid).stdout, "from-process-json\n")
        pf = os.path.join(self.tmp, "exec.pid")
        self.ocelot("exec", "-d", "--pid-file", pf, cid, "sleep", "5")
        self.assertTrue(open(pf).read().isdigit())
        # The detached process outlives `ocelot exec` (conmon and the shim reap it): not killed by
        # a parent-death signal, still sleeping after ocelot has exited.
        time.sleep(0.2)
        with open("/proc/%s/stat" % open(pf).read()) as f:
            self.assertIn(f.read().rsplit(")", 1)[1].split()[0], ("S", "R"))
        self.ocelot("kill", cid, "KILL")
        self.wait_status(cid, "stopped")
        p = self.ocelot("exec", cid, "true", check=False)
        self.assertIn("cannot exec in a stopped container", p.stderr)

    def test_preserve_fds_and_listen_fds(self):
        r, w = os.pipe()
        os.set_inheritable(r, True)
        os.dup2(r, 3)
        os.dup2(w, 4)
        try:
            cfg = self.config(["/bin/ocelot-probe", "report"])
            cid = self.new_id()
            p = self.ocelot("run", "--preserve-fds", "2", "--bundle", self.bundle(cfg), cid, pass_fds=(3, 4))
            fds = sorted(int(x.split()[0]) for x in probe_report(p.stdout)["fd"])
            self.assertEqual(fds, [0, 1, 2, 3, 4])
            # LISTEN_FDS counts only when LISTEN_PID is ocelot's own pid (sd_listen_fds(3), runc).
            cid = self.new_id()
            b2 = self.bundle(cfg, "b2")
            with tempfile.TemporaryFile() as out:
                subprocess.run(["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"', "sh", os.environ["OCELOT"], "--root",
                                self.root, "run", "--bundle", b2, cid], stdout=out, pass_fds=(3,), check=True)
                out.seek(0)
                rep = probe_report(out.read().decode())
            self.assertEqual(sorted(int(x.split()[0]) for x in rep["fd"]), [0, 1, 2, 3])
            self.assertIn("LISTEN_FDS=1", rep["env"])
            self.assertIn("LISTEN_PID=1", rep["env"])
            # Someone else's LISTEN_FDS (LISTEN_PID not ours) passes nothing on.
            env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID="1")
            cid = self.new_id()
            p = self.ocelot("run", "--bundle", self.bundle(cfg, "b3"), cid, pass_fds=(3,), env=env)
            rep = probe_report(p.stdout)
            self.assertEqual(sorted(int(x.split()[0]) for x in rep["fd"]), [0, 1, 2])
            self.assertNotIn("LISTEN_FDS=1", rep.get("env", []))
            # --preserve-fds names fds the caller must have passed: ocelot's own never fill the gap.
            os.close(4)
            cid = self.new_id()
            p = self.ocelot("run", "--preserve-fds", "2", "--bundle", self.bundle(cfg, "b4"), cid, pass_fds=(3,), check=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("--preserve-fds 2: file descriptor 4 was not passed to ocelot", p.stderr)
        finally:
            for fd in (r, w, 3, 4):
                try:
                    os.close(fd)
                except OSError:
                    pass
