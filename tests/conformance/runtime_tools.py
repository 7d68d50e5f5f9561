#!/usr/bin/env python3
"""OCI runtime-tools' validation programs against a runtime, compared with an expected list.

Each validation/NAME/NAME.t of a runtime-tools build (make conformance builds it from
../shared/suites with Debian's Go) runs with RUNTIME set to a wrapper that gives the runtime a
private --root, from the suite's directory (it untars its rootfs from there), with a private
TMPDIR. A program passes when it exits 0 with at least one "ok" and no "not ok" TAP line.

expected.txt lists what fails on this kind of host, per runtime, each with its reason; a new
failure, or an expected failure that now passes, fails the tier and says which.

    runtime_tools.py --suite DIR --runtime BINARY --name ocelot|runc [--only NAME ...] [--timeout S]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED = os.path.join(HERE, "runtime-tools.expected")


def host_shape():
    """The cgroup layout a result depends on: v1, hybrid or v2."""
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return "v2"
    return "hybrid" if os.path.isdir("/sys/fs/cgroup/unified") else "v1"


def v1_hierarchies():
    """The cgroup v1 controllers mounted, from mountinfo's super options."""
    out = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            post = line.split(" - ", 1)[1].split() if " - " in line else []
            if len(post) >= 3 and post[0] == "cgroup":
                out.update(post[2].split(","))
    return out


def host_facts():
    """What the expected failures depend on: the cgroup layout and the host facts the suite meets
    (a machine that differs gets its own results, not this one's)."""
    facts = {host_shape()}
    with open("/proc/self/status") as f:
        bnd = next((int(l.split()[1], 16) for l in f if l.startswith("CapBnd:")), 0)
    if not bnd & (1 << 24):
        facts.add("no-cap-sys-resource")
    v1 = v1_hierarchies()
    if "memory" in v1:
        facts.add("v1-memory")  # kmem limits: ignored by kernels since 5.16's deprecation (6.x here)
    if "blkio" in v1 and not os.path.exists("/sys/fs/cgroup/blkio/blkio.weight"):
        facts.add("no-blkio-weight")
    if v1 and not {"net_cls", "net_prio"} <= v1:
        facts.add("no-v1-net-cls-prio")
    if v1 and "hugetlb" not in v1:
        facts.add("no-v1-hugetlb")
    if os.path.exists("/sys/module/apparmor/parameters/enabled") and \
            open("/sys/module/apparmor/parameters/enabled").read().startswith("Y"):
        facts.add("apparmor")
    return facts


def expected_for(path, name, facts, split, want):
    """{key: reason} of an expected-failures list, for this runtime on a host with these facts.
    split(line) -> (key, RUNTIMES, FACTS, reason) or None (then "path:N: want <want>");
    RUNTIMES and FACTS are comma lists or '*': a line applies when the runtime is listed and any
    of its facts holds. Blank lines and # comments are skipped."""
    out = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            fields = split(line)
            if fields is None:
                raise SystemExit("%s:%d: want %s" % (path, n, want))
            key, runtimes, shapes, reason = fields
            if (runtimes == "*" or name in runtimes.split(",")) and (shapes == "*" or facts & set(shapes.split(","))):
                out[key] = reason
    return out


def load_expected(path, name, facts):
    """{program: reason}. Lines: PROGRAM RUNTIMES FACTS REASON..."""
    def split(line):
        parts = line.split(None, 3)
        return parts if len(parts) == 4 else None
    return expected_for(path, name, facts, split, "PROGRAM RUNTIMES SHAPES REASON")


def tap_passed(rc, out):
    oks = re.findall(r"^ok\b", out, re.M)
    not_oks = re.findall(r"^not ok\b", out, re.M)
    return rc == 0 and bool(oks) and not not_oks


def first_failure(out):
    """The first "not ok" with what follows it, and the runtime's own error line if it printed one."""
    lines = out.splitlines()
    said = [l.strip() for l in lines if l.startswith(("ocelot:", "time="))]
    why = " | ".join(said[:1])
    for i, l in enumerate(lines):
        if l.startswith("not ok"):
            return " | ".join([x.strip() for x in lines[i:i + 3]] + ([why] if why else []))
    return ((why or (lines[-1] if lines else "no output")))[:300]


def run_program(suite, prog, wrapper, timeout):
    tmp = tempfile.mkdtemp(prefix="ocelot-rt-tmp-")
    os.chmod(tmp, 0o755)  # bundles with a user namespace: the mapped root must reach them
    env = dict(os.environ, RUNTIME=wrapper, TMPDIR=tmp)
    try:
        p = subprocess.run([os.path.join(suite, "validation", prog, prog + ".t")], cwd=suite, env=env,
                           capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                           start_new_session=True)
        return p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return 124, out + "\n(timed out after %d s)" % timeout
    finally:
        unmount_under(tmp)
        shutil.rmtree(tmp, ignore_errors=True)


def unmount_under(path):
    """Whatever a program left mounted in its bundles (a config without a mount namespace mounts
    /proc in the host's), deepest first."""
    with open("/proc/self/mountinfo") as f:
        points = [l.split()[4].replace("\\040", " ") for l in f]
    for mp in sorted((m for m in points if m == path or m.startswith(path + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True)


def make_wrapper(work, runtime, root):
    path = os.path.join(work, "runtime")
    with open(path, "w") as f:
        f.write('#!/bin/sh\nexec %s --root %s "$@"\n' % (runtime, root))
    os.chmod(path, 0o755)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--suite", required=True, type=os.path.abspath, help="a built runtime-tools tree")
    ap.add_argument("--runtime", required=True)
    ap.add_argument("--name", default="ocelot")
    ap.add_argument("--only", nargs="*", default=[])
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--expected", default=EXPECTED)
    a = ap.parse_args()
    shape = host_shape()
    expected = load_expected(a.expected, a.name, host_facts())
    programs = sorted(d for d in os.listdir(os.path.join(a.suite, "validation"))
                      if os.path.isfile(os.path.join(a.suite, "validation", d, d + ".t")))
    if a.only:
        programs = [p for p in programs if p in a.only]
    work = tempfile.mkdtemp(prefix="ocelot-rt-")
    root = os.path.join(work, "state")
    wrapper = make_wrapper(work, os.path.abspath(a.runtime), root)
    new_failures, new_passes, passed, t0 = [], [], 0, time.time()
    try:
        for prog in programs:
            rc, out = run_program(a.suite, prog, wrapper, a.timeout)
            ok = tap_passed(rc, out)
            passed += ok
            flaky = expected.get(prog, "").startswith("flaky:")
            if not ok and prog not in expected:
                new_failures.append((prog, first_failure(out)))
            elif ok and prog in expected and not flaky:
                new_passes.append((prog, expected[prog]))
            print("%-45s %s%s" % (prog, "ok" if ok else "FAIL",
                                  "" if ok or prog not in expected else "  (expected: %s)" % expected[prog]), flush=True)
    finally:
        leftovers = os.listdir(root) if os.path.isdir(root) else []
        for cid in leftovers:
            subprocess.run([a.runtime, "--root", root, "delete", "--force", cid], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    for prog, why in new_failures:
        print("NEW FAILURE %s: %s" % (prog, why))
    for prog, why in new_passes:
        print("NOW PASSES %s (expected to fail: %s): take it off %s" % (prog, why, os.path.basename(a.expected)))
    print("runtime-tools (%s, %s cgroups): %d of %d passed, %d expected failures, %d new failures, %d new passes, "
          "in %.0f s" % (a.name, shape, passed, len(programs), len(programs) - passed - len(new_failures),
                         len(new_failures), len(new_passes), time.time() - t0))
    if new_failures or new_passes:
        print("runtime-tools: the results differ from %s (see above)" % os.path.basename(a.expected))
    return 1 if new_failures or new_passes else 0


if __name__ == "__main__":
    sys.exit(main())
