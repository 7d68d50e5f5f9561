"""A few rounds of kill -9 at each stage (tests/stress/run.py runs a hundred)."""
import os
import random

import faults
from harness import OcelotTest

ROUNDS = int(os.environ.get("OCELOT_FAULT_ROUNDS", "4"))


class KilledRuntime(OcelotTest):
    def check(self, stage, with_hook):
        rng = random.Random(1234 + ROUNDS)
        for i in range(ROUNDS):
            left = faults.one_round(self, i, stage, with_hook, rng)
            self.assertEqual(left, [], "round %d (%s%s)" % (i, stage, " with a hook" if with_hook else ""))

    def test_killed_create(self):
        self.check("create", False)

    def test_killed_create_during_a_create_runtime_hook(self):
        self.check("create", True)

    def test_killed_start(self):
        self.check("start", False)

    def test_killed_exec(self):
        self.check("exec", False)

    def test_killed_delete(self):
        self.check("delete", False)
