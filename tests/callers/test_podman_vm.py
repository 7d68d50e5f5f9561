"""podman driving ocelot's VM isolation (`--runtime ocelot-vm`): exec, exec -t, exec -d and a healthcheck
(conmon's detached execs, whose pid is a host stand-in for the guest's process), on a podman
bridge network: CNI's
bridge and portmap plugins give the container a veth in its network namespace, and ocelot carries
that veth into the guest (vm/vmm/network.h). Everything network runs in a namespace the test makes
(podman under nsenter --net, its CNI configuration in the test's directory): the bridge, the
iptables rules of the published port and the client never touch the host's network.

ocelot's only: run.py leaves this module out for another runtime and with --no-vm (a host without
VM isolation, such as the host matrix's guest)."""
import os
import shutil
import subprocess
import time

from base import CallerTest, in_a_tty, run

IMAGE = "docker.io/library/busybox:local"


class PodmanVm(CallerTest):
    def setUp(self):
        self.netns = "oc-callers-%d-%d" % (os.getpid(), time.monotonic_ns() % 100000)
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        self.addCleanup(subprocess.run, ["ip", "netns", "del", self.netns], capture_output=True)
        subprocess.run(["ip", "-n", self.netns, "link", "set", "lo", "up"], check=True)
        self.cni = os.path.join(self.w.dir, "cni-" + self.netns)
        os.makedirs(self.cni)

    def pm(self, *args, timeout=180):
        cmd = self.w.podman("--network-config-dir", self.cni, *args)
        return run(["nsenter", "--net=/run/netns/" + self.netns] + cmd, timeout=timeout, env_=self.w.podman_env)

    def fetch(self, url, seconds=60):
        code = ("import sys, time, urllib.request\n"
                "end = time.time() + %d\n"
                "while True:\n"
                "    try:\n"
                "        sys.stdout.write(urllib.request.urlopen(%r, timeout=3).read().decode()); break\n"
                "    except OSError as e:\n"
                "        if time.time() > end: sys.exit(str(e))\n"
                "        time.sleep(0.2)\n" % (seconds, url))
        return run(["nsenter", "--net=/run/netns/" + self.netns, "python3", "-c", code], timeout=seconds + 30)

    def test_a_published_port_of_a_vm_container_on_a_bridge_network(self):
        net = "ocvm%d" % os.getpid()
        self.ok(self.pm("network", "create", "--subnet", "169.254.201.0/24", net))
        # CNI's host-local IPAM keeps its leases under the network's name: ours, removed with it.
        self.addCleanup(shutil.rmtree, "/var/lib/cni/networks/" + net, ignore_errors=True)
        self.addCleanup(self.pm, "network", "rm", "-f", net)
        www = os.path.join(self.w.dir, "www-" + self.netns)
        os.makedirs(www)
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write("from a VM container\n")
        name = "vmweb%d" % os.getpid()
        self.ok(self.pm("--runtime", "ocelot-vm", "run", "-d", "--name", name, "--network", net, "-p", "18080:8080",
                        "-v", www + ":/root:ro", "--health-cmd", "wget -q -O /dev/null http://127.0.0.1:8080/",
                        "--health-interval", "0", IMAGE, "httpd", "-f", "-p", "8080", "-h", "/root"))
        self.addCleanup(self.pm, "rm", "-f", "-t", "0", name)
        # The published port, through portmap's DNAT to the container's address on the bridge.
        got = self.fetch("http://169.254.201.1:18080/index.html")
        self.assertEqual(got.stdout, "from a VM container\n", got.stderr)
        # podman exec: conmon runs the runtime's `exec -d --pid-file` and waits on the pid's
        # process (the stand-in of the guest's process) for the exit status.
        self.assertEqual(self.ok(self.pm("exec", name, "sh", "-c", "echo $((6*7)); uname -r")).stdout.split()[0], "42")
        self.assertEqual(self.pm("exec", name, "sh", "-c", "exit 3").returncode, 3)
        self.assertEqual(self.pm("exec", name, "/nonexistent").returncode, 127)
        # exec -t: conmon's console socket gets a host pty that the stand-in relays to the guest's.
        cmd = ["nsenter", "--net=/run/netns/" + self.netns] + self.w.podman("--network-config-dir", self.cni, "exec",
                                                                            "-t", name, "tty")
        self.assertIn("/dev/pts/", in_a_tty(cmd, env_=self.w.podman_env).stdout)
        self.ok(self.pm("exec", "-d", name, "sleep", "300"))
        self.wait_until(lambda: "sleep 300" in self.pm("exec", name, "ps", "-o", "args").stdout,
                        what="the detached exec running in the guest")
        # The healthcheck is an exec too; it reaches the server on the guest's loopback.
        self.ok(self.pm("healthcheck", "run", name))
        # It is a guest: the VMM holds the container, and the guest's kernel is not ours.
        info = self.ok(self.pm("inspect", "--format", "{{.State.Pid}}", name)).stdout.strip()
        with open("/proc/%s/cmdline" % info, "rb") as f:
            self.assertIn(b"qemu-system", f.read().split(b"\0")[0])
        self.ok(self.pm("rm", "-f", "-t", "0", name))
        # The bridge's veth is gone with the container's namespace; nothing of ours stays on it.
        links = subprocess.run(["ip", "-n", self.netns, "-br", "link"], capture_output=True, text=True).stdout
        self.assertNotIn("ocelot-tap", links)
