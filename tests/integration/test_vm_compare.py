"""`ocelot compare`: the example busybox bundle as a container, as a VM and under runc, measured.
Checks what the report says against what is true on this host (kernels, accelerator), the JSON
against its documented schema (docs/compare.md), the SVG as XML with one bar per metric and mode,
and that nothing is left behind (rootfs, state, cgroups, work directories)."""
import glob
import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import harness
from harness import OcelotTest, OCELOT

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "..", "examples", "make-bundle.sh")
SCHEMA = os.path.join(HERE, "..", "..", "docs", "compare.schema.json")
VALIDATE = ("import json, sys, jsonschema; "
            "jsonschema.Draft202012Validator(json.load(open(sys.argv[1]))).validate(json.load(sys.stdin))")
DIST_KEYS = {"n", "min", "median", "p95"}
PERF_DISTS = ["run_ms", "first_instruction_ms", "syscall_ns", "tmpfs_write_mbs", "tmpfs_read_mbs",
              "rootfs_write_mbs", "rootfs_read_mbs", "fork_exec_per_s", "cpu_mops", "net_rtt_us", "net_mbs"]


def guest_kernel():
    with open("/var/cache/ocelot/vm/kernel/version") as f:
        return f.read().strip()


def snapshot(d):
    out = []
    for dirpath, dirs, files in os.walk(d):
        out += [os.path.join(dirpath, x) for x in dirs + files]
    return sorted(out)


def compare_cgroups():
    """Cgroups of compare's runs (ocelot/compare-PID-N) in any hierarchy."""
    return glob.glob("/sys/fs/cgroup/*/ocelot/compare-*") + glob.glob("/sys/fs/cgroup/ocelot/compare-*")


def work_dirs():
    return sorted(x for x in os.listdir("/tmp") if x.startswith("ocelot-compare."))


class Compare(OcelotTest):
    def example_bundle(self, *args):
        b = os.path.join(self.tmp, "bundle")
        subprocess.run([EXAMPLE, OCELOT, b] + list(args), check=True, capture_output=True)
        return b

    def compare(self, *args, timeout=600):
        return self.ocelot("compare", *args, check=False, timeout=timeout)

    def test_json_svg_and_nothing_left_behind(self):
        b = self.example_bundle("sh", "-c", "echo hi; exit 3")
        rootfs_before, work_before = snapshot(os.path.join(b, "rootfs")), work_dirs()
        svg = os.path.join(self.tmp, "chart.svg")
        # runc as a third column where it is installed (make callers installs it).
        with_runc = shutil.which("runc") is not None
        names = ["container", "vm"] + (["runc"] if with_runc else [])
        p = self.compare("--runs", "2", "--format", "json", "--chart", svg, *(["--with", "runc"] if with_runc else []), b)
        self.assertEqual(p.returncode, 0, p.stderr)
        total = 5 * len(names)  # (2 + 2 + 1) runs per mode
        self.assertIn("ocelot compare: %d of %d runs done" % (total, total), p.stderr)
        r = json.loads(p.stdout)
        # Valid against docs/compare.schema.json (Debian's python3-jsonschema, for the system
        # python: make vm-test installs it).
        v = subprocess.run(["/usr/bin/python3", "-c", VALIDATE, SCHEMA], input=p.stdout, capture_output=True, text=True)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        # And field by field (docs/compare.md).
        self.assertEqual(r["schema"], "ocelot-compare/1")
        self.assertEqual((r["bundle"], r["runs"]), (b, 2))
        self.assertEqual(r["host"]["kernel_release"], os.uname().release)
        self.assertEqual([m["name"] for m in r["modes"]], names)
        for m in r["modes"]:
            self.assertEqual(set(m), {"name", "command", "exit_code", "virtualization", "isolation", "performance",
                                      "compatibility"})
            self.assertEqual(m["exit_code"], 3)  # the bundle's own process ran, every mode
            perf = m["performance"]
            for k in PERF_DISTS:
                d = perf[k]
                if k.startswith("rootfs_"):
                    # ocelot spec makes root.readonly true: said, not measured.
                    self.assertIsNone(d, k)
                    continue
                self.assertEqual(set(d), DIST_KEYS, k)
                self.assertEqual(d["n"], 2, k)
                self.assertGreater(d["median"], 0, k)
                self.assertLessEqual(d["min"], d["median"])
                self.assertLessEqual(d["median"], d["p95"])
            self.assertEqual(perf["rootfs_io_note"], "read-only")
            self.assertEqual(perf["network_note"], "")  # every mode's probe reached the veth's other end
            self.assertGreater(perf["idle_host_pss_mib"], 0)
            self.assertEqual(set(m["isolation"]), {"shares_host_kernel", "namespaces", "cgroup", "host_syscalls",
                                                   "devices"})
            self.assertEqual(set(m["compatibility"]), {"kernel_release", "kernel_version", "machine"})
            self.assertEqual(m["compatibility"]["machine"], os.uname().machine)
        ct, vm = r["modes"][:2]
        # What is true on this host.
        self.assertEqual(ct["compatibility"]["kernel_release"], os.uname().release)
        for other in r["modes"][2:]:
            self.assertEqual(other["compatibility"]["kernel_release"], os.uname().release)
            self.assertEqual(other["performance"]["stages_ms"], [])
        self.assertEqual(vm["compatibility"]["kernel_release"], guest_kernel())
        self.assertNotEqual(vm["compatibility"]["kernel_release"], os.uname().release)
        self.assertEqual((ct["isolation"]["shares_host_kernel"], vm["isolation"]["shares_host_kernel"]), (True, False))
        self.assertEqual(vm["virtualization"]["level"], "hardware")
        self.assertEqual(vm["virtualization"]["accelerator"], "TCG" if not os.path.exists("/dev/kvm") else
                         vm["virtualization"]["accelerator"])
        self.assertEqual(ct["virtualization"]["accelerator"], "")
        cold = "--vm-template=off" in harness.EXTRA_ARGS
        self.assertEqual(vm["virtualization"]["vm_start"], "cold boot" if cold else "from a template")
        self.assertIn("mount", ct["isolation"]["namespaces"])
        self.assertLess(ct["performance"]["run_ms"]["median"], vm["performance"]["run_ms"]["median"])
        self.assertLess(ct["performance"]["first_instruction_ms"]["median"],
                        vm["performance"]["first_instruction_ms"]["median"])
        if vm["virtualization"]["accelerator"] == "TCG":
            # Software emulation: the guest's vCPU and its NIC are far slower than the host's.
            self.assertLess(vm["performance"]["cpu_mops"]["median"], ct["performance"]["cpu_mops"]["median"])
            self.assertGreater(vm["performance"]["net_rtt_us"]["median"], ct["performance"]["net_rtt_us"]["median"])
        # The VM holds a guest's memory on the host; a container holds its process.
        self.assertGreater(vm["performance"]["idle_host_pss_mib"], 10 * ct["performance"]["idle_host_pss_mib"])
        steps = [s["step"] for s in vm["performance"]["stages_ms"]]
        self.assertIn("VMM forked", steps)
        self.assertIn("guest answered", steps)
        # The chart: XML, one bar per measured metric and mode, its value in its title.
        root = ET.parse(svg).getroot()
        bars = [e for e in root.iter("{http://www.w3.org/2000/svg}rect") if e.get("class") == "bar"]
        measured = [k for k in ["run_ms", "first_instruction_ms", "idle_pss_mib"] + PERF_DISTS[2:]
                    if any((m["performance"].get(k) if k != "idle_pss_mib" else m["performance"]["idle_host_pss_mib"])
                           for m in r["modes"])]
        self.assertEqual(len(bars), len(measured) * len(names))
        self.assertEqual({b.get("data-mode") for b in bars}, set(names))
        run_bars = {b.get("data-mode"): int(b.get("width")) for b in bars if b.get("data-metric") == "run_ms"}
        self.assertEqual(run_bars["vm"], max(run_bars.values()))
        # Nothing left: the rootfs as it was, no work directory, no state, no cgroup.
        self.assertEqual(snapshot(os.path.join(b, "rootfs")), rootfs_before)
        self.assertEqual(work_dirs(), work_before)
        self.assertEqual(compare_cgroups(), [])
        self.assertFalse(os.path.exists(self.root) and os.listdir(self.root))
        with open("/proc/self/mountinfo") as f:
            self.assertNotIn("ocelot-compare.", f.read())  # the probe's network namespace's pin

    def test_table_has_the_four_rows_with_evidence(self):
        b = self.example_bundle("/bin/true")
        with open(os.path.join(b, "config.json")) as f:
            c = json.load(f)
        c["root"]["readonly"] = False  # so the rootfs I/O is measured too
        with open(os.path.join(b, "config.json"), "w") as f:
            json.dump(c, f)
        rootfs_before = snapshot(os.path.join(b, "rootfs"))
        p = self.compare("--runs", "1", b)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout
        for section in ("Virtualization", "Isolation", "Performance", "Compatibility"):
            self.assertIn("\n" + section, out)
        for label in ("run to exit", "first instruction", "host memory", "syscall round trip", "tmpfs write",
                      "rootfs write", "rootfs read", "process creation"):
            line = next(l for l in out.splitlines() if label in l)
            cells = line.split("  ")
            self.assertRegex(line, r"\d.*\s{2,}\d", line)  # a number for the container and the VM
            self.assertNotIn("not measured", line)
        self.assertIn(guest_kernel(), out)
        self.assertIn(os.uname().release, out)
        self.assertRegex(out, r"TCG|KVM")
        self.assertEqual(snapshot(os.path.join(b, "rootfs")), rootfs_before)

    def test_bad_input_is_one_line(self):
        cases = [(["/nonexistent"], "bundle \"/nonexistent\""),
                 (["--runs", "0", self.tmp], "--runs \"0\": expected a number from 1 to 1000"),
                 (["--with", "nosuch", self.example_bundle()], "--with \"nosuch\": expected runc or crun"),
                 (["--format", "xml", self.tmp], "invalid format \"xml\"")]
        for args, msg in cases:
            p = self.compare(*args)
            self.assertEqual(p.returncode, 1, args)
            self.assertIn(msg, p.stderr)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertFalse(os.path.exists(self.root) and os.listdir(self.root))
