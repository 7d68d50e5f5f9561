#!/usr/bin/env python3
"""Runs the integration tests (as root, on the real kernel) and ends with 'N passed, N failed'."""
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
    ap.add_argument("-k", dest="pattern", action="append", help="only tests whose name contains this")
    ap.add_argument("-v", action="store_true")
    ap.add_argument("--tier", choices=["all", "container", "vm"], default="all",
                    help="container: everything but the VM tests; vm: only them (their guest agent must be static)")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("integration tests need root", file=sys.stderr)
        return 1
    os.environ["OCELOT"] = os.path.abspath(a.ocelot)
    os.environ["OCELOT_PROBE"] = os.path.abspath(a.probe)
    import harness
    harness.OCELOT = os.environ["OCELOT"]
    harness.PROBE = os.environ["OCELOT_PROBE"]
    loader = unittest.TestLoader()
    if a.pattern:
        loader.testNamePatterns = ["*%s*" % p for p in a.pattern]
    if a.tier == "vm":
        suite = loader.discover(here, pattern="test_vm*.py")
    else:
        suite = loader.discover(here, pattern="test_*.py")
        if a.tier == "container":
            suite = unittest.TestSuite(t for t in _flatten(suite) if not type(t).__module__.startswith("test_vm"))
    result = unittest.TextTestRunner(verbosity=2 if a.v else 1).run(suite)
    harness.cleanup_shared()
    failed = len(result.failures) + len(result.errors)
    passed = result.testsRun - failed - len(result.skipped)
    print("integration: %d passed, %d failed, %d skipped" % (passed, failed, len(result.skipped)))
    if result.testsRun == 0:
        return 1
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
