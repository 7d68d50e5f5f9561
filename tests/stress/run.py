#!/usr/bin/env python3
"""make stress: 100 rounds of kill -9 at each stage of create (with and without a sleeping
createRuntime hook), start, exec and delete, each followed by `delete --force`; then counts what
was left (state dirs, cgroups, mounts, processes). Prints the totals; exits 1 if anything was left."""
import argparse
import os
import random
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
            rng = random.Random(7)
            for stage, hook in (("create", False), ("create", True), ("start", False), ("exec", False), ("delete", False)):
                name = stage + (" during a hook" if hook else "")
                leftovers = []
                for i in range(a.rounds):
                    leftovers += faults.one_round(self, i, stage, hook, rng)
                totals[name] = leftovers
                print("kill -9 %-22s %3d rounds: %d things left%s" % (name, a.rounds, len(leftovers),
                                                                      (": " + "; ".join(leftovers[:5])) if leftovers else ""), flush=True)

    r = unittest.TextTestRunner(verbosity=0).run(Stress())
    harness.cleanup_shared()
    left = sum(len(v) for v in totals.values())
    print("stress: %d rounds per stage, %d things left in all" % (a.rounds, left))
    return 0 if left == 0 and r.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
