#!/usr/bin/env python3
"""make host-test: the tests run on a host shaped like our users' (tests/host/image.py: Debian 12,
systemd as PID 1, pure cgroup v2, only the declared packages), booted under QEMU (KVM where it
works, else TCG) with this build and the repository shared in read-only. In the guest
(tests/host/guest.sh): the integration tier with cgroupfs and again with --systemd-cgroup, the
systemd driver's own tests, the callers tier (podman, docker, containerd with their systemd
cgroup managers) with ocelot (and, as a step of its own, with runc), and checkpoint/restore with
Debian's criu. Prints each step's result and ends with
'host-test: N passed, N failed'.

  run.py [--steps "integration systemd ..."] [--only "test_cgroups. ..."] [--only-systemd ...] [--timeout MIN]"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import image  # noqa: E402

ALL_STEPS = "integration integration-systemd systemd callers checkpoint"
# Also known to guest.sh, not run by default: conformance (runtime-tools on pure v2; needs make conformance first)
# and callers-runc (the callers tier with runc: the reference for a callers failure in the guest, about
# 6 minutes under TCG that test no line of ocelot; `make host-test STEPS=callers-runc`).


def kvm_works():
    # The guest boots under KVM only where /dev/kvm really runs guests; ocelot's own VM mode
    # remembers a host where it does not (vm/vmm/image.h), and so does this.
    return os.environ.get("OCELOT_HOST_TEST_ACCEL", "tcg") == "kvm"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--steps", default=ALL_STEPS)
    ap.add_argument("--timeout", type=int, default=40, help="minutes the guest may run")
    ap.add_argument("--only", default="", help="the cgroupfs integration step's tests: -k patterns (test_cgroups. ...)")
    ap.add_argument("--only-systemd", default="", help="the --systemd-cgroup integration step's tests, likewise")
    ap.add_argument("--packages", default="", help="what the guest holds beside its base (make print-packages)")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("host-test needs root", file=sys.stderr)
        return 1
    t0 = time.time()
    img = image.ensure(a.packages.split())
    print("host-test: guest image %s (built or cached in %.0f s)" % (img, time.time() - t0), flush=True)
    work = tempfile.mkdtemp(prefix="ocelot-host-test-")
    qemu = None
    try:
        share = os.path.join(work, "share")
        os.makedirs(os.path.join(share, "results"))
        shutil.copy(os.path.join(HERE, "guest.sh"), os.path.join(share, "guest.sh"))
        with open(os.path.join(share, "steps"), "w") as f:
            f.write(a.steps + "\n")
        for name, patterns in (("only", a.only), ("only-systemd", a.only_systemd)):
            with open(os.path.join(share, name), "w") as f:
                f.write(patterns + "\n")
        overlay = os.path.join(work, "disk.qcow2")
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", os.path.join(img, "disk.raw"), "-F", "raw", overlay],
                       check=True)
        os.makedirs("/var/cache/ocelot/images", exist_ok=True)
        accel = "kvm" if kvm_works() else "tcg,thread=multi,tb-size=512"
        cmd = ["qemu-system-x86_64", "-machine", "q35", "-accel", accel, "-cpu", "max", "-smp", "2", "-m", "4096",
               "-kernel", os.path.join(img, "vmlinuz"), "-initrd", os.path.join(img, "initrd.img"),
               "-append", "root=/dev/vda rw console=ttyS0 systemd.unified_cgroup_hierarchy=1 panic=-1 quiet",
               "-drive", "file=%s,if=virtio,format=qcow2,cache=unsafe" % overlay,
               "-virtfs", "local,path=%s,mount_tag=host,security_model=none" % share,
               "-virtfs", "local,path=%s,mount_tag=repo,security_model=none,readonly=on" % REPO,
               "-virtfs", "local,path=/var/cache/ocelot/images,mount_tag=images,security_model=none,readonly=on",
               "-nic", "none", "-display", "none", "-serial", "file:%s" % os.path.join(work, "console.log"),
               "-monitor", "none", "-no-reboot"]
        qemu = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _, err = qemu.communicate(timeout=a.timeout * 60)
        except subprocess.TimeoutExpired:
            qemu.kill()
            qemu.wait()
            err = b"timed out after %d min" % a.timeout
        results = os.path.join(share, "results")
        print(open(os.path.join(results, "host-shape")).read() if os.path.exists(os.path.join(results, "host-shape"))
              else "host-test: the guest never reported its shape", end="")
        summary = open(os.path.join(results, "summary")).read().split("\n") if os.path.exists(
            os.path.join(results, "summary")) else []
        tails = open(os.path.join(results, "summary.tails")).read().split("\n") if os.path.exists(
            os.path.join(results, "summary.tails")) else []
        passed = failed = 0
        for i, line in enumerate(l for l in summary if l.strip()):
            name, rc, took = line.split()
            ok = rc == "0"
            passed += ok
            failed += not ok
            print("host-test: %-20s %s in %s  %s" % (name, "ok" if ok else "FAILED (%s)" % rc, took,
                                                     tails[i] if i < len(tails) else ""))
            if not ok:
                log = open(os.path.join(results, name + ".log"), errors="replace").read()
                print("---- %s (last 60 lines) ----\n%s" % (name, "\n".join(log.splitlines()[-60:])))
        wanted = len(a.steps.split())
        if not os.path.exists(os.path.join(results, "finished")):
            failed += 1
            print("host-test: the guest did not finish (%s); its console's last lines:" % err.decode(errors="replace").strip())
            console = open(os.path.join(work, "console.log"), errors="replace").read().splitlines()
            print("\n".join(console[-40:]))
        elif passed + failed != wanted:
            failed += 1
        print("host-test: %d passed, %d failed, in %.0f s" % (passed, failed, time.time() - t0))
        return 0 if failed == 0 else 1
    finally:
        if qemu and qemu.poll() is None:
            qemu.kill()
            qemu.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
