#!/usr/bin/python3
"""The Kubernetes node path, tested for real: a CRI client speaking to containerd's CRI plugin
the way the kubelet does (gRPC, runtime.v1, over containerd's socket), running a pod whose
RuntimeClass handler is "ocelot" (containerd's runc v2 shim calling ocelot), and the same pod
with the "runc" handler to show the test is fair. containerd runs on a private socket, root and
state, and is stopped by its pid at the end. Ends with 'N passed, N failed'."""
import argparse
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
PAUSE = "localhost/ocelot-pause:1"
IMAGE = "docker.io/library/busybox:local"
DEBIAN = "docker.io/library/debian:ocelot-test"  # tests/callers/debian_image.py
W = {}


def compile_proto(out):
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", HERE, "--python_out", out, "--grpc_python_out", out,
                    os.path.join(HERE, "cri.proto")], check=True)
    sys.path.insert(0, out)
    import cri_pb2
    import cri_pb2_grpc
    return cri_pb2, cri_pb2_grpc


def start_containerd(d, ocelot, probe):
    mk = os.path.join(REPO, "tests", "callers", "make_image.py")
    subprocess.run([sys.executable, mk, d + "/img", probe], check=True)
    subprocess.run([sys.executable, mk, d + "/img", probe, PAUSE, "sleep", "2147483647"], check=True)
    subprocess.run([sys.executable, os.path.join(REPO, "tests", "callers", "debian_image.py"), d + "/img"], check=True)
    example = open(os.path.join(REPO, "examples", "kubernetes", "containerd.toml")).read()
    example = example.replace("/usr/local/bin/ocelot", ocelot).replace("version = 2\n", "")
    # The example's handlers, each given a private state root for its runtime (the shim's Root).
    example = example.replace('BinaryName = "%s"\n' % ocelot, 'BinaryName = "%s"\n    Root = "%s/ocelot-root"\n' % (ocelot, d), 1)
    sock = d + "/cri.sock"
    cfg = d + "/containerd.toml"
    with open(cfg, "w") as f:
        f.write('''version = 2
root = "{d}/root"
state = "{d}/state"
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  enable_selinux = false
  # No CAP_SYS_RESOURCE here: oom_score_adj may not go below containerd's own (the pause sandbox
  # asks for -998; runc and ocelot both fail the write otherwise).
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{d}/cni-bin"
    conf_dir = "{d}/cni-conf"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      BinaryName = "/usr/sbin/runc"
      Root = "{d}/runc-root"
{example}'''.format(d=d, sock=sock, pause=PAUSE, example=example))
    log = open(d + "/containerd.log", "w")
    p = subprocess.Popen(["containerd", "--config", cfg], stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    end = time.time() + 30
    while not os.path.exists(sock):
        if p.poll() is not None or time.time() > end:
            raise RuntimeError("containerd did not start: " + open(d + "/containerd.log").read()[-2000:])
        time.sleep(0.05)
    for tar in ("busybox-oci.tar", "ocelot-pause-oci.tar", "debian-oci.tar"):
        subprocess.run(["ctr", "--address", sock, "-n", "k8s.io", "images", "import", d + "/img/" + tar], check=True,
                       capture_output=True)
    return p, sock, cfg


class NodePath(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        import grpc
        self.pb, pbg = W["pb"], W["pbg"]
        self.channel = grpc.insecure_channel("unix://" + W["sock"])
        self.rt = pbg.RuntimeServiceStub(self.channel)
        self.parent = "/ocelot-cri-%d" % os.getpid()

    def tearDown(self):
        self.channel.close()

    def call(self, name, req, timeout=120):
        return getattr(self.rt, name)(req, timeout=timeout)

    def pod_and_container(self, handler):
        pb = self.pb
        uid = uuid.uuid4().hex[:12]
        ns = pb.NamespaceOption(network=pb.NODE, pid=pb.POD, ipc=pb.POD)
        sandbox = pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name="pod-" + handler, uid=uid, namespace="default"),
            log_directory=W["dir"] + "/logs/" + uid,
            linux=pb.LinuxPodSandboxConfig(cgroup_parent=self.parent + "/pod" + uid,
                                           security_context=pb.LinuxSandboxSecurityContext(namespace_options=ns)))
        os.makedirs(sandbox.log_directory, exist_ok=True)
        pod = self.call("RunPodSandbox", pb.RunPodSandboxRequest(config=sandbox, runtime_handler=handler)).pod_sandbox_id
        res = pb.LinuxContainerResources(memory_limit_in_bytes=64 << 20, cpu_quota=50000, cpu_period=100000)
        cfg = pb.ContainerConfig(metadata=pb.ContainerMetadata(name="app"), image=pb.ImageSpec(image=IMAGE),
                                 command=["sleep", "1000"], log_path="app.log",
                                 envs=[pb.KeyValue(key="GREETING", value="hello")],
                                 linux=pb.LinuxContainerConfig(resources=res, security_context=pb.LinuxContainerSecurityContext(
                                     namespace_options=pb.NamespaceOption(network=pb.NODE, pid=pb.CONTAINER, ipc=pb.POD))))
        cid = self.call("CreateContainer", pb.CreateContainerRequest(pod_sandbox_id=pod, config=cfg, sandbox_config=sandbox)).container_id
        return pod, cid

    def exec(self, cid, *cmd):
        return self.call("ExecSync", self.pb.ExecSyncRequest(container_id=cid, cmd=list(cmd), timeout=30))

    def check(self, handler, binary_key):
        pb = self.pb
        status = self.call("Status", pb.StatusRequest())
        ready = {c.type: c.status for c in status.status.conditions}
        self.assertTrue(ready.get("RuntimeReady"), status)
        self.assertEqual(self.call("Version", pb.VersionRequest(version="v1")).runtime_api_version, "v1")
        pod, cid = self.pod_and_container(handler)
        try:
            self.call("StartContainer", pb.StartContainerRequest(container_id=cid))
            st = self.call("ContainerStatus", pb.ContainerStatusRequest(container_id=cid)).status
            self.assertEqual(st.state, pb.CONTAINER_RUNNING)
            r = self.exec(cid, "sh", "-c", "echo $GREETING; echo oops >&2; exit 3")
            self.assertEqual((r.stdout, r.stderr, r.exit_code), (b"hello\n", b"oops\n", 3))
            # Limits, read inside at the container's own cgroup (named in /proc/self/cgroup),
            # which must lie under the pod's cgroup parent.
            groups = dict(l.split(":", 2)[1:] for l in self.exec(cid, "cat", "/proc/self/cgroup").stdout.decode().splitlines())
            mem = next((v for k, v in groups.items() if "memory" in k.split(",")), groups.get(""))
            cpu = next((v for k, v in groups.items() if "cpu" in k.split(",")), groups.get(""))
            self.assertTrue(mem.startswith(self.parent + "/pod"), mem)
            self.assertTrue(cpu.startswith(self.parent + "/pod"), cpu)
            # The container's /sys/fs/cgroup is its own cgroup (v2, or a bind of each v1 hierarchy's).
            limits = self.exec(cid, "sh", "-c",
                               "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; "
                               "(cut -d' ' -f1 /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)"
                               ).stdout.decode().split()
            self.assertEqual(limits, [str(64 << 20), "50000"])
            # It ran under the handler's runtime: its state is the runtime's own.
            states = glob.glob(W["dir"] + "/*-root/k8s.io/%s/state.json" % cid)
            self.assertEqual(len(states), 1, states)
            self.assertIn(binary_key, json.load(open(states[0])))
            self.assertIn("/%s-root/" % ("ocelot" if handler == "ocelot" else "runc"), states[0])
            self.call("StopContainer", pb.StopContainerRequest(container_id=cid, timeout=1))
            st = self.call("ContainerStatus", pb.ContainerStatusRequest(container_id=cid)).status
            self.assertEqual(st.state, pb.CONTAINER_EXITED)
        finally:
            self.call("RemoveContainer", pb.RemoveContainerRequest(container_id=cid))
            self.call("StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=pod))
            self.call("RemovePodSandbox", pb.RemovePodSandboxRequest(pod_sandbox_id=pod))
        # Nothing left: no runtime state, no cgroup of the pod's containers.
        self.assertEqual(glob.glob(W["dir"] + "/*-root/k8s.io/%s" % cid) + glob.glob(W["dir"] + "/*-root/k8s.io/%s" % pod), [])
        left = [d for h in os.listdir("/sys/fs/cgroup") for d in glob.glob("/sys/fs/cgroup/%s%s/*/*" % (h, self.parent))
                if os.path.isdir(d)]
        self.assertEqual(left, [])

    def test_a_pod_with_runtime_class_ocelot(self):
        self.check("ocelot", "phase")

    def test_the_same_pod_with_runc(self):
        self.check("runc", "init_process_pid")


class RealImage(NodePath):
    """A real image (Debian 12) as the kubelet runs it: run_as_user, a missing working_dir, HOME.
    Each case with both handlers: what passes with runc must pass with ocelot."""

    def run_to_exit(self, handler, cmd, user=None, working_dir=""):
        pb = self.pb
        uid = uuid.uuid4().hex[:12]
        ns = pb.NamespaceOption(network=pb.NODE, pid=pb.POD, ipc=pb.POD)
        sandbox = pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name="real-" + handler, uid=uid, namespace="default"),
            log_directory=W["dir"] + "/logs/" + uid,
            linux=pb.LinuxPodSandboxConfig(cgroup_parent=self.parent + "/pod" + uid,
                                           security_context=pb.LinuxSandboxSecurityContext(namespace_options=ns)))
        os.makedirs(sandbox.log_directory, exist_ok=True)
        pod = self.call("RunPodSandbox", pb.RunPodSandboxRequest(config=sandbox, runtime_handler=handler)).pod_sandbox_id
        sc = pb.LinuxContainerSecurityContext(namespace_options=pb.NamespaceOption(network=pb.NODE, pid=pb.CONTAINER, ipc=pb.POD))
        if user is not None:
            sc.run_as_user.value = user
            sc.run_as_group.value = user
        cfg = pb.ContainerConfig(metadata=pb.ContainerMetadata(name="app"), image=pb.ImageSpec(image=DEBIAN), command=cmd,
                                 log_path="app.log", working_dir=working_dir, linux=pb.LinuxContainerConfig(security_context=sc))
        cid = self.call("CreateContainer", pb.CreateContainerRequest(pod_sandbox_id=pod, config=cfg, sandbox_config=sandbox)).container_id
        try:
            self.call("StartContainer", pb.StartContainerRequest(container_id=cid))
            end = time.time() + 60
            while time.time() < end:
                st = self.call("ContainerStatus", pb.ContainerStatusRequest(container_id=cid)).status
                if st.state == pb.CONTAINER_EXITED:
                    break
                time.sleep(0.1)
            self.assertEqual(st.state, pb.CONTAINER_EXITED)
            # CRI log lines: "<time> <stream> <tag> <text>".
            lines = open(os.path.join(sandbox.log_directory, "app.log")).read().splitlines()
            return st.exit_code, [l.split(" ", 3)[3] for l in lines if l.count(" ") >= 3]
        finally:
            self.call("RemoveContainer", pb.RemoveContainerRequest(container_id=cid))
            self.call("StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=pod))
            self.call("RemovePodSandbox", pb.RemovePodSandboxRequest(pod_sandbox_id=pod))

    def cases(self, handler):
        code, out = self.run_to_exit(handler, ["sh", "-c", 'echo out > /dev/stdout; echo "$HOME"'], user=1000)
        self.assertEqual((code, out), (0, ["out", "/home/app"]), handler)
        code, out = self.run_to_exit(handler, ["pwd"], working_dir="/does/not/exist")
        self.assertEqual((code, out), (0, ["/does/not/exist"]), handler)
        code, out = self.run_to_exit(handler, ["sh", "-c", 'echo "$HOME"'])
        self.assertEqual((code, out), (0, ["/root"]), handler)

    def test_a_pod_with_runtime_class_ocelot(self):
        self.cases("ocelot")

    def test_the_same_pod_with_runc(self):
        self.cases("runc")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ocelot", default="build/ocelot")
    ap.add_argument("--probe", default="build/ocelot-probe")
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="oc-cri-")
    W["dir"] = d
    proc = None
    try:
        W["pb"], W["pbg"] = compile_proto(d)
        proc, W["sock"], _ = start_containerd(d, os.path.abspath(a.ocelot), os.path.abspath(a.probe))
        loader = unittest.TestLoader()
        suite = unittest.TestSuite([loader.loadTestsFromTestCase(NodePath), loader.loadTestsFromTestCase(RealImage)])
        result = unittest.TextTestRunner(verbosity=2).run(suite)
    finally:
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for f in glob.glob(d + "/state/**/shim.pid", recursive=True):
            try:
                os.kill(int(open(f).read()), signal.SIGKILL)
            except (ValueError, ProcessLookupError):
                pass
        with open("/proc/self/mountinfo") as f:
            for m in sorted((l.split()[4] for l in f if d in l.split()[4]), key=len, reverse=True):
                subprocess.run(["umount", "-l", m], capture_output=True)
        for h in os.listdir("/sys/fs/cgroup"):
            for sub in sorted(glob.glob("/sys/fs/cgroup/%s/ocelot-cri-%d/**/" % (h, os.getpid()), recursive=True), key=len, reverse=True):
                try:
                    os.rmdir(sub)
                except OSError:
                    pass
        shutil.rmtree(d, ignore_errors=True)
    failed = len(result.failures) + len(result.errors)
    print("cri: %d passed, %d failed" % (result.testsRun - failed, failed))
    return 0 if failed == 0 and result.testsRun else 1


if __name__ == "__main__":
    sys.exit(main())
