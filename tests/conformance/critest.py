#!/usr/bin/env python3
"""Kubernetes' CRI validation suite (critest, cri-tools v1.26.1) against a runtime, through a
private containerd whose CRI plugin runs every pod with that runtime as the runc v2 shim's
binary (the RuntimeClass handler ocelot, or runc for the fair run), compared with an expected list.

Everything runs in a private network, IPC and UTS namespace (unshare): containerd, the registry
its pulls go to (registry.py, images made by critest_images.py; nothing is fetched), the pods'
CNI bridge and port mappings, and critest itself. containerd has its own socket, root, state and
runtime root under one temporary directory; it and the shims it started are stopped by pid, also
when the run fails or times out, and what they mounted is unmounted.

critest-expected lists the specs expected to fail, per runtime and host, each with its reason; a
new failure, an expected failure that now passes, or anything the runtime left behind (state,
cgroups) fails the tier and says which.

    critest.py --critest BIN --runtime BINARY --name ocelot|runc [--focus REGEX] [--timeout S]
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
EXPECTED = os.path.join(HERE, "critest.expected")
sys.path.insert(0, HERE)
from runtime_tools import expected_for, host_facts, host_shape  # noqa: E402

REGISTRY_PORT = 5000  # inside the private network namespace


def containerd_config(d, name, runtime):
    return '''version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "{d}/containerd.sock"
[ttrpc]
  address = "{d}/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.9"
  enable_selinux = false
  # No CAP_SYS_RESOURCE here: oom_score_adj may not go below containerd's own.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{d}/cni-conf"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{d}/certs.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "{name}"
    snapshotter = "overlayfs"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{name}]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{name}.options]
      BinaryName = "{runtime}"
      Root = "{d}/{name}-root"
'''.format(d=d, name=name, runtime=runtime)


def cni_config(d):
    return {"cniVersion": "1.0.0", "name": "ocelot-critest", "plugins": [
        {"type": "bridge", "bridge": "cni0", "isGateway": True, "ipMasq": True, "hairpinMode": True,
         "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.0.0/16"}]], "routes": [{"dst": "0.0.0.0/0"}],
                  "dataDir": d + "/cni-ipam"}},
        {"type": "portmap", "capabilities": {"portMappings": True}}]}


def write_configs(d, name, runtime):
    with open(d + "/containerd.toml", "w") as f:
        f.write(containerd_config(d, name, runtime))
    os.makedirs(d + "/cni-conf")
    with open(d + "/cni-conf/10-ocelot-critest.conflist", "w") as f:
        json.dump(cni_config(d), f, indent=1)
    for host in ("registry.k8s.io", "gcr.io"):
        os.makedirs("%s/certs.d/%s" % (d, host))
        with open("%s/certs.d/%s/hosts.toml" % (d, host), "w") as f:
            f.write('server = "https://%s"\n[host."http://127.0.0.1:%d"]\n  capabilities = ["pull", "resolve"]\n'
                    % (host, REGISTRY_PORT))


# --- inside the private namespaces -------------------------------------------------------------

def wait_for_socket(path, proc, log, seconds=30):
    end = time.time() + seconds
    while not os.path.exists(path):
        if proc.poll() is not None or time.time() > end:
            raise RuntimeError("containerd did not start: " + open(log).read()[-2000:])
        time.sleep(0.05)


def stop(proc, seconds=20):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def inside(a):
    """Runs in the private namespaces: loopback up, the registry, containerd, critest."""
    import registry
    d = a.inside
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    server = registry.serve(d + "/images", port=REGISTRY_PORT)
    log = d + "/containerd.log"
    containerd = subprocess.Popen(["containerd", "--config", d + "/containerd.toml"], stdin=subprocess.DEVNULL,
                                  stdout=open(log, "w"), stderr=subprocess.STDOUT)
    try:
        wait_for_socket(d + "/containerd.sock", containerd, log)
        endpoint = "unix://%s/containerd.sock" % d
        cmd = [a.critest, "--runtime-endpoint=" + endpoint, "--image-endpoint=" + endpoint,
               "--runtime-handler=" + a.name, "--ginkgo.junit-report=" + d + "/report/junit.xml", "--ginkgo.no-color"]
        os.makedirs(d + "/report", exist_ok=True)
        if a.focus:
            cmd.append("--ginkgo.focus=" + a.focus)
        with open(d + "/critest.log", "w") as out:
            return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                  cwd=d).returncode
    finally:
        stop(containerd)
        server.shutdown()


# --- outside: setup, cleanup, results ----------------------------------------------------------

def cgroup_dirs():
    """containerd's default cgroups (cgroupfs: /k8s.io/<id> in every hierarchy)."""
    return set(glob.glob("/sys/fs/cgroup/*/k8s.io/*/") + glob.glob("/sys/fs/cgroup/k8s.io/*/") +
               glob.glob("/sys/fs/cgroup/*/k8s.io/") + glob.glob("/sys/fs/cgroup/k8s.io/"))


def kill_shims(d):
    """The shims daemonize away from the run's process group: each by the pid it wrote."""
    for f in glob.glob(d + "/state/**/shim.pid", recursive=True):
        try:
            os.kill(int(open(f).read()), signal.SIGKILL)
        except (ValueError, ProcessLookupError, OSError):
            pass


def unmount_under(d):
    with open("/proc/self/mountinfo") as f:
        points = [l.split()[4].replace("\\040", " ") for l in f]
    for mp in sorted((m for m in points if m == d or m.startswith(d + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True)


def leftovers(d, name, before):
    """What the runtime left: its state for any container, and cgroups that were not there before
    (removed here, and reported)."""
    left = ["state " + p for p in glob.glob("%s/%s-root/k8s.io/*" % (d, name))]
    for c in sorted(cgroup_dirs() - before, key=len, reverse=True):
        if re.fullmatch(r"[0-9a-f]{64}", os.path.basename(c.rstrip("/"))):
            left.append("cgroup " + c)
        try:
            os.rmdir(c)
        except OSError:
            pass
    return left


def load_expected(path, name, facts):
    """{spec text: reason}. Lines: RUNTIMES FACTS SPEC -- REASON (RUNTIMES and FACTS as in
    runtime-tools.expected); SPEC matches any test whose full name contains it."""
    def split(line):
        head, sep, reason = line.partition(" -- ")
        parts = head.split(None, 2)
        if not sep or len(parts) < 3:
            return None
        return parts[2].strip(), parts[0], parts[1], reason.strip()
    return expected_for(path, name, facts, split, "RUNTIMES FACTS SPEC -- REASON")


def results(report_dir):
    """[(spec name, passed, skipped, failure text)] from critest's JUnit report."""
    out = []
    for xml in glob.glob(report_dir + "/*.xml"):
        for case in ET.parse(xml).getroot().iter("testcase"):
            name = case.get("name", "")
            if not name.startswith("[It]"):  # ginkgo's suite-level nodes (BeforeSuite and such)
                if case.find("failure") is None and case.find("error") is None:
                    continue
            failure = case.find("failure")
            if failure is None:
                failure = case.find("error")
            skipped = case.find("skipped") is not None
            text = ""
            if failure is not None:
                text = (failure.get("message") or failure.text or "").strip().splitlines()
                text = " | ".join(l.strip() for l in text[:3])[:300]
            out.append((name, failure is None and not skipped, skipped, text))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--critest", help="a built critest binary")
    ap.add_argument("--runtime", help="the runtime the runc v2 shim calls")
    ap.add_argument("--name", default="ocelot", help="the RuntimeClass handler's name: ocelot or runc")
    ap.add_argument("--focus", default="", help="ginkgo's focus: only the specs matching it")
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--expected", default=EXPECTED)
    ap.add_argument("--cache", default=os.path.join(REPO, "build-conformance", "debs"))
    ap.add_argument("--inside", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.inside:
        return inside(a)
    critest, runtime = os.path.abspath(a.critest), os.path.abspath(a.runtime)
    expected = load_expected(a.expected, a.name, host_facts())
    d = tempfile.mkdtemp(prefix="ocelot-critest-")
    os.chmod(d, 0o755)
    before = cgroup_dirs()
    t0 = time.time()
    rc, left = None, []
    try:
        subprocess.run([sys.executable, os.path.join(HERE, "critest_images.py"), d + "/images", a.cache], check=True,
                       stdout=subprocess.DEVNULL)
        write_configs(d, a.name, runtime)
        inner = subprocess.Popen(["unshare", "--net", "--ipc", "--uts", "--", sys.executable, os.path.abspath(__file__),
                                  "--inside", d, "--critest", critest, "--name", a.name, "--focus", a.focus],
                                 stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            rc = inner.wait(timeout=a.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(inner.pid, signal.SIGKILL)  # the run's own process group, by its leader's pid
            inner.wait()
            print("critest: timed out after %d s" % a.timeout)
    finally:
        kill_shims(d)
        time.sleep(0.5)
        left = leftovers(d, a.name, before)
        unmount_under(d)
        cases = results(d + "/report")
        log_tail = open(d + "/critest.log").read()[-3000:] if os.path.exists(d + "/critest.log") else ""
        shutil.rmtree(d, ignore_errors=True)
    if not cases:
        print(log_tail)
        print("critest (%s): no results (exit %s)" % (a.name, rc))
        return 1
    new_failures, new_passes, passed, skipped = [], [], 0, 0
    for name, ok, skip, text in sorted(cases):
        skipped += skip
        if skip:
            continue
        passed += ok
        reason = next((r for spec, r in expected.items() if spec in name), None)
        if not ok and reason is None:
            new_failures.append((name, text))
        elif ok and reason is not None and not reason.startswith("flaky:"):
            new_passes.append((name, reason))
        print("%-4s %s%s" % ("ok" if ok else "FAIL", name, "" if ok or reason is None else "  (expected: %s)" % reason))
    for name, why in new_failures:
        print("NEW FAILURE %s: %s" % (name, why))
    for name, why in new_passes:
        print("NOW PASSES %s (expected to fail: %s): take it off %s" % (name, why, os.path.basename(a.expected)))
    for what in left:
        print("LEFT BEHIND by %s: %s" % (a.name, what))
    ran = len(cases) - skipped
    print("critest (%s, %s cgroups): %d of %d specs passed, %d skipped, %d expected failures, %d new failures, "
          "%d new passes, %d left behind, in %.0f s" % (a.name, host_shape(), passed, ran, skipped,
                                                         ran - passed - len(new_failures), len(new_failures),
                                                         len(new_passes), len(left), time.time() - t0))
    bad = new_failures or new_passes or left
    if bad:
        print("critest: the results differ from %s (see above)" % os.path.basename(a.expected))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
