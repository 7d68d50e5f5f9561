"""A container in a network namespace the test made, as podman, CNI and Kubernetes give one: two
namespaces of the test's own ("-h", the host side, and "-c", the container's), a veth pair with
one end in each, link-local addresses (169.254.77.1/30 and .2/30), MTU 1400, one static route in
the container's namespace, nothing routed out. The config names "-c" by path.

NetworkCases holds the checks; test_network.py runs them as containers, test_vm_network.py in VM
containers (whose guest gets the veth's traffic through a tap: vm/vmm/network.h). Both must pass
the same way."""
import os
import subprocess
import time
import urllib.request

HOST_ADDR, CONTAINER_ADDR = "169.254.77.1", "169.254.77.2"
MTU = 1400
STATIC_ROUTE = "169.254.88.0/24"


def ip(*args):
    return subprocess.run(["ip"] + list(args), check=True, capture_output=True, text=True).stdout


def in_netns(name, cmd, **kw):
    return ["ip", "netns", "exec", name] + cmd


class NetworkCases:
    """Mixed into an OcelotTest; `isolate(config)` makes a config of the subclass's kind."""

    def isolate(self, c):
        return c

    def make_netns(self):
        base = "oc-it-%d-%d" % (os.getpid(), time.monotonic_ns() % 1000000)
        self.host_ns, self.cont_ns = base + "-h", base + "-c"
        for n in (self.host_ns, self.cont_ns):
            ip("netns", "add", n)
            self.addCleanup(subprocess.run, ["ip", "netns", "del", n], capture_output=True)
        ip("-n", self.host_ns, "link", "add", "vh", "type", "veth", "peer", "name", "eth0", "netns", self.cont_ns)
        ip("-n", self.host_ns, "link", "set", "vh", "mtu", str(MTU), "up")
        ip("-n", self.host_ns, "link", "set", "lo", "up")
        ip("-n", self.host_ns, "addr", "add", HOST_ADDR + "/30", "dev", "vh")
        ip("-n", self.cont_ns, "link", "set", "eth0", "mtu", str(MTU), "up")
        ip("-n", self.cont_ns, "addr", "add", CONTAINER_ADDR + "/30", "dev", "eth0")
        ip("-n", self.cont_ns, "route", "add", STATIC_ROUTE, "via", HOST_ADDR)
        self.mac = ip("-n", self.cont_ns, "-br", "link", "show", "eth0").split()[2]

    def net_config(self, args):
        c = self.isolate(self.config(args))
        # As podman sets it: a net.* sysctl needs the container's own network namespace.
        c["linux"]["sysctl"] = {"net.ipv4.ping_group_range": "0 0"}
        for n in c["linux"]["namespaces"]:
            if n["type"] == "network":
                n["path"] = "/run/netns/" + self.cont_ns
        return c

    def assert_namespace_as_made(self):
        """The caller's namespace after delete: its veth as the test made it, no tap, no qdisc."""
        links = ip("-n", self.cont_ns, "-br", "link")
        self.assertEqual([l.split()[0].split("@")[0] for l in links.splitlines()], ["lo", "eth0"], links)
        qdiscs = subprocess.run(["tc", "-n", self.cont_ns, "qdisc", "show", "dev", "eth0"], capture_output=True,
                                text=True).stdout
        self.assertNotIn("ingress", qdiscs)

    def test_a_server_in_the_container_is_reached_from_the_host_side(self):
        self.make_netns()
        www = os.path.join(self.tmp, "www")
        os.makedirs(www)
        body = "served from the container %d\n" % os.getpid()
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write(body)
        c = self.net_config(["httpd", "-f", "-p", "8080", "-h", "/root"])
        c["mounts"].append({"destination": "/root", "type": "bind", "source": www, "options": ["rbind", "ro"]})
        cid = self.new_id("net")
        b = self.bundle(c, "bundle-" + cid)
        with open(os.path.join(self.tmp, "out"), "w+") as out:
            p = subprocess.run([os.environ["OCELOT"], "--root", self.root, "create", "--bundle", b, cid], stdout=out,
                               stderr=out, timeout=180)
            out.seek(0)
            self.assertEqual(p.returncode, 0, out.read())
        self.ocelot("start", cid)
        fetch = ("import sys, time, urllib.request\n"
                 "for _ in range(600):\n"
                 "    try:\n"
                 "        sys.stdout.write(urllib.request.urlopen('http://%s:8080/index.html', timeout=2).read().decode())\n"
                 "        break\n"
                 "    except OSError:\n"
                 "        time.sleep(0.1)\n" % CONTAINER_ADDR)
        got = subprocess.run(in_netns(self.host_ns, ["python3", "-c", fetch]), capture_output=True, text=True,
                             timeout=120)
        self.assertEqual(got.stdout, body, got.stderr)
        self.ocelot("kill", cid, "KILL")
        self.wait_status(cid, "stopped", timeout=60)
        self.ocelot("delete", cid)
        self.assert_namespace_as_made()

    def test_a_client_in_the_container_reaches_a_server_on_the_host_side(self):
        self.make_netns()
        served = os.path.join(self.tmp, "served")
        os.makedirs(served)
        with open(os.path.join(served, "f"), "w") as f:
            f.write("from the host side\n")
        server = subprocess.Popen(in_netns(self.host_ns, ["python3", "-m", "http.server", "--bind", HOST_ADDR,
                                                          "--directory", served, "8081"]),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(server.wait)
        self.addCleanup(server.kill)  # by pid: `ip netns exec` execs python
        for _ in range(100):
            if ":1F91 " in open("/proc/%d/net/tcp" % server.pid).read():  # 8081, listening
                break
            time.sleep(0.05)
        c = self.net_config(["sh", "-c", "wget -q -O- http://%s:8081/f; ip -o -4 addr show eth0; "
                                         "cat /sys/class/net/eth0/address /sys/class/net/eth0/mtu /proc/sys/net/ipv4/ping_group_range; "
                                         "ip route" % HOST_ADDR])
        p = self.run_config(c, timeout=180)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0], "from the host side", p.stdout + p.stderr)
        self.assertIn("inet %s/30" % CONTAINER_ADDR, lines[1])
        self.assertEqual(lines[2:5], [self.mac, str(MTU), "0\t0"])
        self.assertIn("%s via %s dev eth0" % (STATIC_ROUTE, HOST_ADDR), p.stdout)
        self.assert_namespace_as_made()
