"""VM containers in a network namespace the test made (network_cases.py): the guest's NIC carries
the namespace's veth (a tap joined to it by tc redirects, vm/vmm/network.h), so the same cases
pass as for containers (test_network.py). And what must fail: the host's own namespace."""
import os
import subprocess

from harness import OcelotTest
from network_cases import NetworkCases


class VmNetwork(NetworkCases, OcelotTest):
    def isolate(self, c):
        c["annotations"] = {"org.ocelot.isolation": "vm"}
        return c

    def test_the_hosts_network_namespace_is_refused_and_nothing_is_left(self):
        c = self.isolate(self.config(["true"]))
        for n in c["linux"]["namespaces"]:
            if n["type"] == "network":
                n["path"] = "/proc/%d/ns/net" % os.getpid()  # the host's: ours
        cid = self.new_id("net")
        p = self.ocelot("create", "--bundle", self.bundle(c, "b-" + cid), cid, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("joins the host's network namespace", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertEqual(os.listdir(self.root) if os.path.isdir(self.root) else [], [])

    def test_an_interface_with_an_ingress_qdisc_is_refused_and_keeps_it(self):
        # Another guest's, or the caller's own tc: its traffic cannot be carried into this guest.
        self.make_netns()
        subprocess.run(["tc", "-n", self.cont_ns, "qdisc", "add", "dev", "eth0", "ingress"], check=True)
        c = self.net_config(["true"])
        cid = self.new_id("net")
        p = self.ocelot("create", "--bundle", self.bundle(c, "b-" + cid), cid, check=False, timeout=180)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('interface "eth0" has an ingress qdisc already', p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertEqual(os.listdir(self.root) if os.path.isdir(self.root) else [], [])
        links = subprocess.run(["ip", "-n", self.cont_ns, "-br", "link"], capture_output=True, text=True).stdout
        self.assertNotIn("ocelot-tap", links)
        qdiscs = subprocess.run(["tc", "-n", self.cont_ns, "qdisc", "show", "dev", "eth0"], capture_output=True,
                                text=True).stdout
        self.assertIn("ingress", qdiscs)  # the caller's, untouched

    def test_a_create_that_fails_in_the_guest_leaves_the_namespace_as_it_was(self):
        self.make_netns()
        c = self.net_config(["/nonexistent"])
        cid = self.new_id("net")
        p = self.ocelot("create", "--bundle", self.bundle(c, "b-" + cid), cid, check=False, timeout=180)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("in the VM:", p.stderr)
        self.assertEqual(os.listdir(self.root) if os.path.isdir(self.root) else [], [])
        self.assert_namespace_as_made()
