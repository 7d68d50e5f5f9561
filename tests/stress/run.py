#!/usr/bin/env python3
"""make stress: many rounds of the runtime killed at each named step of create, start, exec and
delete (tests/integration/faults.py), each followed by `delete --force`; then counts what was left
(state dirs, cgroups, mounts, processes). Prints the totals; exits 1 if anything was left."""
import argparse
import os
import sys
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "integration"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ocelot", default="build/ocelot")
    ap.add_argument("--probe", default="build/ocelot-probe")
    ap.add_argument("--rounds", type=int, default=100)
    a = ap.parse_args()
    os.environ["OCELOT"] = os.path.abspath(a.ocelot)
    os.environ["OCELOT_PROBE"] = os.path.abspath(a.probe)
    import faults
    import harness
    harness.OCELOT, harness.PROBE = os.environ["OCELOT"], os.environ["OCELOT_PROBE"]

    totals = {}

    class Stress(harness.OcelotTest):
        def runTest(self):
            for step in faults.STEPS:
                leftovers = []
                for i in range(a.rounds):
                    leftovers += faults.one_round(self, i, step)
                totals[step] = leftovers
                print("killed at %-28s %3d rounds: %d problems%s" % (step, a.rounds, len(leftovers),
                                                                      (": " + "; ".join(leftovers[:5])) if leftovers else ""), flush=True)

    r = unittest.TextTestRunner(verbosity=0).run(Stress())
    harness.cleanup_shared()
    left = sum(len(v) for v in totals.values())
    print("stress: %d rounds per stage, %d things left in all" % (a.rounds, left))
    return 0 if left == 0 and r.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
