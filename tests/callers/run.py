#!/usr/bin/env python3
"""The callers tier: podman, containerd (ctr) and docker drive the runtime under test.
  run.py --ocelot build/ocelot --probe build/ocelot-probe            # ocelot
  run.py --runtime /usr/sbin/runc --name runc ...                   # the same tests with runc
Starts containerd and dockerd on private sockets and directories, and stops them (by pid) at the
end, also when a test fails. Ends with 'N passed, N failed'."""
import argparse
import os
import sys
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)


def _flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _flatten(t)
        else:
            yield t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ocelot", default="build/ocelot")
    ap.add_argument("--probe", default="build/ocelot-probe")
    ap.add_argument("--runtime", help="an OCI runtime other than ocelot (e.g. /usr/sbin/runc)")
    ap.add_argument("--name", default="ocelot")
    ap.add_argument("-k", dest="pattern", action="append")
    ap.add_argument("-v", action="store_true")
    ap.add_argument("--systemd", action="store_true", help="the callers' systemd cgroup managers (a systemd host)")
    ap.add_argument("--no-real-image", action="store_true", help="skip the Debian image and its tests")
    ap.add_argument("--no-vm", action="store_true", help="leave out ocelot's VM isolation (a host without QEMU)")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("the callers tier needs root", file=sys.stderr)
        return 1
    import base
    import env
    runtime = os.path.abspath(a.runtime or a.ocelot)
    world = env.World(runtime, os.path.abspath(a.probe), a.name, systemd=a.systemd, real_image=not a.no_real_image)
    loader = unittest.TestLoader()
    if a.pattern:
        loader.testNamePatterns = ["*%s*" % p for p in a.pattern]
    try:
        base.WORLD = world.start()
        suite = loader.discover(here, pattern="test_*.py")
        if a.no_real_image:
            suite = unittest.TestSuite(t for t in _flatten(suite) if type(t).__module__ != "test_real_image")
        if a.no_vm or a.name != "ocelot":  # VM isolation is ocelot's own
            suite = unittest.TestSuite(t for t in _flatten(suite) if type(t).__module__ != "test_podman_vm")
        result = unittest.TextTestRunner(verbosity=2 if a.v else 1).run(suite)
    finally:
        world.stop()
    failed = len(result.failures) + len(result.errors)
    print("callers (%s): %d passed, %d failed, %d skipped" % (a.name, result.testsRun - failed - len(result.skipped), failed,
                                                            len(result.skipped)))
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
