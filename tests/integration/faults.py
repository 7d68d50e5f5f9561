"""Kill -9 of the runtime at many points of create, start, exec and delete, then `delete --force`:
nothing may be left (state dir, cgroup in any hierarchy, mount, process, hook process). Used by
test_faults.py (a few rounds in CI) and tests/stress/run.py (`make stress`, 100 rounds)."""
import json
import os
import random
import signal
import subprocess
import time

from harness import cgroup_dirs_named, mounts_under


def processes_with(marker):
    out = subprocess.run(["ps", "-eo", "pid=,stat=,args="], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if marker in l and "ps -eo" not in l]


def one_round(t, round_no, stage, with_hook, rng):
    """t: an OcelotTest. stage: create | start | exec | delete. Returns a description of what was
    left behind (empty when nothing was)."""
    marker = "77.%d%d%03d" % (os.getpid() % 1000, ["create", "start", "exec", "delete"].index(stage) * 2 + with_hook, round_no)
    c = t.config(["sleep", marker])
    if with_hook:
        # A host hook that outlives its own shell in the background: a killed create must not
        # leave its process group behind.
        c["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "sleep %s & sleep %s" % (marker, marker)]}]}
    cid = t.new_id("f")
    b = t.bundle(c, "b-" + cid)
    base = [os.environ["OCELOT"], "--root", t.root]
    devnull = subprocess.DEVNULL

    def kill_after(cmd, lo, hi):
        p = subprocess.Popen(cmd, stdout=devnull, stderr=devnull)
        time.sleep(rng.uniform(lo, hi))
        p.send_signal(signal.SIGKILL)
        p.wait()

    if stage == "create":
        kill_after(base + ["create", "--bundle", b, cid], 0, 0.06 if not with_hook else 0.3)
    else:
        subprocess.run(base + ["create", "--bundle", b, cid], stdout=devnull, stderr=devnull, check=True, timeout=30)
        if stage == "start":
            kill_after(base + ["start", cid], 0, 0.01)
        elif stage == "exec":
            subprocess.run(base + ["start", cid], stdout=devnull, stderr=devnull, check=True, timeout=30)
            kill_after(base + ["exec", cid, "sleep", marker], 0, 0.03)
        elif stage == "delete":
            subprocess.run(base + ["start", cid], stdout=devnull, stderr=devnull, check=True, timeout=30)
            kill_after(base + ["delete", "--force", cid], 0, 0.02)
    # Whatever is left must be visible, and delete --force must take all of it.
    lst = subprocess.run(base + ["list", "--format", "json"], capture_output=True, text=True, timeout=30)
    listed = [s["id"] for s in (json.loads(lst.stdout) or [])] if lst.returncode == 0 else []
    state_dir = os.path.join(t.root, cid)
    left = []
    if os.path.isdir(state_dir) and cid not in listed:
        left.append("state dir not shown by list")
    d = subprocess.run(base + ["delete", "--force", cid], capture_output=True, text=True, timeout=30)
    if d.returncode != 0:
        left.append("delete --force failed: " + d.stderr.strip())
    # A killed process is reaped by its new parent; give the kernel a moment.
    for _ in range(100):
        if not processes_with(marker):
            break
        time.sleep(0.02)
    if os.path.exists(state_dir):
        left.append("state dir " + state_dir)
    left += ["cgroup " + x for x in cgroup_dirs_named(cid)]
    left += ["mount " + m.split()[4] for m in mounts_under(t.tmp)]
    left += ["process " + p for p in processes_with(marker)]
    return left
