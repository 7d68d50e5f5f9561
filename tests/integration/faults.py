"""The runtime killed at every named step of create, start, exec and delete (failpoints:
OCELOT_FAILPOINT=STEP, base/failpoint.h), then `delete --force`: nothing may be left (state dir,
cgroup in any hierarchy, mount, process, hook process). A step is hit on every run, not at a
random time. Used by test_faults.py (each step once, in CI) and tests/stress/run.py (`make
stress`, many rounds of each).

Each step says which process dies there: the command itself (it ends by SIGKILL), or a process
it cloned (the container init, the exec'd process: the command then fails with the reason)."""
import json
import os
import subprocess
import tempfile
import time

from harness import cgroup_dirs_named, mounts_under

# step -> (stage, who dies, needs a createRuntime hook)
STEPS = {
    "create.state-recorded": ("create", "runtime", False),
    "create.init-cloned": ("create", "runtime", False),
    "create.cgroup-made": ("create", "runtime", False),
    "create.cgroup-joined": ("create", "runtime", False),
    "create.hooks-ran": ("create", "runtime", True),
    "create.init-ready": ("create", "runtime", False),
    "create.recorded": ("create", "runtime", False),
    "init.namespaces-joined": ("create", "init", False),
    "init.mounted": ("create", "init", False),
    "init.pivoted": ("create", "init", False),
    "init.before-stub": ("create", "init", False),
    "start.fifo-written": ("start", "runtime", False),
    "start.started": ("start", "runtime", False),
    "exec.cloned": ("exec", "runtime", False),
    "exec.cgroup-joined": ("exec", "runtime", False),
    "exec.child-setup": ("exec", "child", False),
    "exec.started": ("exec", "runtime", False),
    "delete.killed": ("delete", "runtime", False),
    "delete.cgroup-removed": ("delete", "runtime", False),
    "delete.before-state-removed": ("delete", "runtime", False),
}


def processes_with(marker):
    out = subprocess.run(["ps", "-eo", "pid=,stat=,args="], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if marker in l and "ps -eo" not in l]


def one_round(t, round_no, step):
    """t: an OcelotTest. Runs the stage of `step` with the failpoint set. Returns what was wrong:
    the step not reached as expected, or what was left behind (empty when all is well)."""
    stage, who, with_hook = STEPS[step]
    marker = "77.%d%02d%03d" % (os.getpid() % 1000, list(STEPS).index(step), round_no)
    c = t.config(["sleep", marker])
    if with_hook:
        # A host hook that outlives its own shell in the background: a killed create must not
        # leave its process group behind.
        c["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "sleep %s & true" % marker]}]}
    cid = t.new_id("f")
    b = t.bundle(c, "b-" + cid)
    base = [os.environ["OCELOT"], "--root", t.root]
    fail_env = dict(os.environ, OCELOT_FAILPOINT=step)
    quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)

    def ok(cmd):
        subprocess.run(base + cmd, check=True, **quiet)

    def failing(cmd):
        # Output through a file: a container left alive keeps the command's stdio open (a pipe
        # would never reach end-of-file).
        with tempfile.TemporaryFile() as err:
            p = subprocess.run(base + cmd, env=fail_env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=err, timeout=30)
            err.seek(0)
            p.stderr = err.read().decode(errors="replace")
        return p

    problems = []
    if stage == "create":
        p = failing(["create", "--bundle", b, cid])
    else:
        ok(["create", "--bundle", b, cid])
        if stage == "start":
            p = failing(["start", cid])
        else:
            ok(["start", cid])
            p = failing(["exec", cid, "sleep", marker] if stage == "exec" else ["delete", "--force", cid])
    if who == "runtime" and p.returncode != -9:
        problems.append("%s: the runtime was not killed there (exit %d: %s)" % (step, p.returncode, p.stderr.strip()))
    if who != "runtime" and (p.returncode in (0, -9) or "before" not in p.stderr):
        problems.append("%s: the command did not report the %s's death (exit %d: %s)"
                        % (step, who, p.returncode, p.stderr.strip()))
    # A create whose init died cleans up by itself: nothing may be left even before delete.
    if stage == "create" and who == "init" and os.path.exists(os.path.join(t.root, cid)):
        problems.append("%s: a failed create left its state dir" % step)
    # Whatever is left must be visible, and delete --force must take all of it.
    lst = subprocess.run(base + ["list", "--format", "json"], capture_output=True, text=True, timeout=30)
    listed = [s["id"] for s in (json.loads(lst.stdout) or [])] if lst.returncode == 0 else []
    state_dir = os.path.join(t.root, cid)
    if os.path.isdir(state_dir) and cid not in listed:
        problems.append("%s: state dir not shown by list" % step)
    d = subprocess.run(base + ["delete", "--force", cid], capture_output=True, text=True, timeout=30)
    if d.returncode != 0:
        problems.append("%s: delete --force failed: %s" % (step, d.stderr.strip()))
    # A killed process is reaped by its new parent; give the kernel a moment.
    for _ in range(100):
        if not processes_with(marker):
            break
        time.sleep(0.02)
    if os.path.exists(state_dir):
        problems.append("%s: state dir %s" % (step, state_dir))
    problems += ["%s: cgroup %s" % (step, x) for x in cgroup_dirs_named(cid)]
    problems += ["%s: mount %s" % (step, m.split()[4]) for m in mounts_under(t.tmp)]
    problems += ["%s: process %s" % (step, p) for p in processes_with(marker)]
    return problems
