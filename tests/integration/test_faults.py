"""The runtime killed at every named step of create, start, exec and delete (faults.py), once
each; tests/stress/run.py (`make stress`) runs many rounds of each."""
import faults
from harness import OcelotTest


class KilledAtEveryStep(OcelotTest):
    def test_every_step_leaves_nothing_after_delete_force(self):
        problems = []
        for step in faults.STEPS:
            problems += faults.one_round(self, 0, step)
        self.assertEqual(problems, [])

    def test_the_steps_are_the_runtimes(self):
        # Every failpoint the runtime has is exercised here, and no name here is a typo: each name
        # is in the source exactly where a step is.
        import os
        import re
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
        src = ""
        for d in ("base", "runtime", "vm", "namespaces", "cgroups", "isolation"):
            for dirpath, _, files in os.walk(os.path.join(root, d)):
                for name in files:
                    if name.endswith(".cc"):
                        src += open(os.path.join(dirpath, name)).read()
        in_source = set(re.findall(r'failpoint\("([a-z.-]+)"\)', src))
        self.assertEqual(in_source, set(faults.STEPS))
