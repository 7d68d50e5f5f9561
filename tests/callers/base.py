"""What every caller test shares: the world (env.py), commands that never hang on a detached
container's stdio, and the check that a container really ran under the runtime being tested."""
import glob
import json
import os
import sys
import subprocess
import tempfile
import time
import unittest

import env

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import Cgroup  # noqa: E402,F401  (one way to read a cgroup on every layout)

WORLD = None  # set by run.py


def run(cmd, timeout=120, input=None, env_=None, cwd=None):
    """Runs cmd with its output in files (a detached container may keep a pipe open forever)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.run(cmd, stdout=out, stderr=err, timeout=timeout, env=env_, cwd=cwd,
                           input=input.encode() if input else None, stdin=None if input else subprocess.DEVNULL)
        out.seek(0)
        err.seek(0)
        p.stdout, p.stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    return p


def in_a_tty(cmd, timeout=60, env_=None):
    """Runs cmd under script(1), so that it has a terminal (podman exec -t, docker exec -it)."""
    return run(["script", "-qec", " ".join("'%s'" % c.replace("'", "'\\''") for c in cmd), "/dev/null"], timeout=timeout,
               env_=env_)


class CallerTest(unittest.TestCase):
    maxDiff = None

    @property
    def w(self):
        return WORLD

    def ok(self, p, what=""):
        self.assertEqual(p.returncode, 0, "%s: %s" % (what or " ".join(p.args[:6]), p.stderr.strip()))
        return p

    def ran_under_runtime(self, cid, roots):
        """The container's state dir under one of roots was written by the runtime being tested:
        ocelot's state.json has "phase", runc's has "init_process_pid"."""
        key = "phase" if self.w.name == "ocelot" else "init_process_pid"
        for root in roots:  # glob patterns
            for path in glob.glob(os.path.join(root, cid + "*", "state.json")):
                if key in json.load(open(path)):
                    return path
        self.fail("no %s state for %s under %s" % (self.w.name, cid, roots))

    def wait_until(self, fn, seconds=20, what="condition"):
        end = time.time() + seconds
        while time.time() < end:
            if fn():
                return
            time.sleep(0.1)
        self.fail("timed out waiting for " + what)
