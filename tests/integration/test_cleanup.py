"""A failed create leaves nothing behind: no state dir, cgroup, mount or process; errors are one line."""
import os
import subprocess

from harness import OcelotTest, cgroup_dirs_named, mounts_under  # noqa: F401


class FailedCreate(OcelotTest):
    def test_missing_bind_source(self):
        c = self.config(["true"])
        c["mounts"].append({"destination": "/x", "type": "bind", "source": "/no/such/dir", "options": ["bind"]})
        self.check_fails(c, 'bind mount source "/no/such/dir" for "/x": no such file or directory')

    def test_bad_mount_type(self):
        c = self.config(["true"])
        c["mounts"].append({"destination": "/x", "type": "nosuchfs", "source": "none"})
        self.check_fails(c, 'mount "nosuchfs" on "/x": no such device')

    def test_missing_rootfs(self):
        c = self.config(["true"])
        c["root"] = {"path": "/no/such/rootfs"}
        self.check_fails(c, 'rootfs "/no/such/rootfs": no such file or directory')

    def test_malformed_config(self):
        cid = self.new_id()
        d = os.path.join(self.tmp, "badjson")
        os.makedirs(d)
        open(os.path.join(d, "config.json"), "w").write('{"ociVersion": "1.2.0", "process": {"args": [1]}')
        p = self.ocelot("create", "--bundle", d, cid, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("config.json: malformed JSON at byte", p.stderr)
        open(os.path.join(d, "config.json"), "w").write('{"ociVersion": "1.2.0", "root": {"path": "r"}, "process": {"user": {"uid": 0, "gid": 0}, "cwd": "/", "args": ["a", 42]}}')
        p = self.ocelot("create", "--bundle", d, cid, check=False)
        self.assertIn("config.json: process.args[1]: expected a string, got 42", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.root, cid)))

    def test_bad_sysctl(self):
        c = self.config(["true"])
        c["linux"]["sysctl"] = {"net.ipv4.no_such_knob": "1"}
        self.check_fails(c, 'set sysctl "net.ipv4.no_such_knob"')

    def test_bad_cgroup_value(self):
        c = self.config(["true"])
        c["linux"]["resources"]["cpu"] = {"cpus": "999"}
        self.check_fails(c, 'set cpuset.cpus to "999"')

    def test_bad_namespace_path(self):
        c = self.config(["true"])
        for n in c["linux"]["namespaces"]:
            if n["type"] == "ipc":
                n["path"] = "/no/such/ns"
        self.check_fails(c, 'open ipc namespace "/no/such/ns": no such file or directory')

    def test_nonexistent_bundle(self):
        cid = self.new_id()
        p = self.ocelot("create", "--bundle", "/no/such/bundle", cid, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('"/no/such/bundle/config.json": no such file or directory', p.stderr)
