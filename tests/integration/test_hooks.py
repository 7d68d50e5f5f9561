"""The six hook kinds: when they run, in which namespaces, with which state on stdin; failures."""
import json
import os
import stat

from harness import OcelotTest


class Hooks(OcelotTest):
    def hook_script(self, name, body):
        p = os.path.join(self.tmp, name)
        with open(p, "w") as f:
            f.write("#!/bin/sh\n" + body + "\n")
        os.chmod(p, 0o755)
        return p

    def test_every_hook_kind_with_state(self):
        out = os.path.join(self.tmp, "hooks")
        os.makedirs(out)
        rec = self.hook_script("rec.sh", 'cat > "$2/$1.json"; readlink /proc/self/ns/mnt > "$2/$1.mnt"; echo "$HOOKENV" > "$2/$1.env"')
        c = self.config(["sh", "-c", "echo started"])
        c["hooks"] = {k: [{"path": rec, "args": ["rec.sh", k, out], "env": ["HOOKENV=" + k]}]
                      for k in ["prestart", "createRuntime", "createContainer", "poststart", "poststop"]}
        # startContainer runs inside the container, after pivot_root: a path in the rootfs.
        c["mounts"].append({"destination": "/hookout", "type": "bind", "source": out, "options": ["bind"]})
        c["hooks"]["startContainer"] = [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /hookout/startContainer.json"]}]
        c["annotations"] = {"org.test.key": "v"}
        cid = self.new_id()
        b = self.bundle(c)
        self.ocelot("create", "--bundle", b, cid)
        pid = self.state(cid)["pid"]
        host_mnt = os.readlink("/proc/self/ns/mnt")
        for k, status in [("prestart", "creating"), ("createRuntime", "creating"), ("createContainer", "creating")]:
            st = json.load(open(os.path.join(out, k + ".json")))
            self.assertEqual(st["id"], cid)
            self.assertEqual(st["status"], status, k)
            self.assertEqual(st["pid"], pid)
            self.assertEqual(st["bundle"], b)
            self.assertEqual(st["annotations"], {"org.test.key": "v"})
            self.assertEqual(open(os.path.join(out, k + ".env")).read().strip(), k)
        self.assertEqual(open(os.path.join(out, "createRuntime.mnt")).read().strip(), host_mnt)
        self.assertEqual(open(os.path.join(out, "createContainer.mnt")).read().strip(), os.readlink("/proc/%d/ns/mnt" % pid))
        self.assertFalse(os.path.exists(os.path.join(out, "poststart.json")))
        self.ocelot("start", cid)
        self.wait_status(cid, "stopped")
        st = json.load(open(os.path.join(out, "poststart.json")))
        self.assertEqual(st["status"], "running")
        started = json.load(open(os.path.join(out, "startContainer.json")))
        self.assertEqual(started["id"], cid)
        self.assertEqual(started["pid"], pid)
        self.assertFalse(os.path.exists(os.path.join(out, "poststop.json")))
        self.ocelot("delete", cid)
        st = json.load(open(os.path.join(out, "poststop.json")))
        self.assertEqual(st["status"], "stopped")

    def test_failing_create_runtime_hook_fails_create_and_cleans_up(self):
        bad = self.hook_script("bad.sh", "echo 'hook says no' >&2; exit 3")
        c = self.config(["true"])
        c["hooks"] = {"createRuntime": [{"path": bad}]}
        cid = self.new_id()
        p = self.ocelot("create", "--bundle", self.bundle(c), cid, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('hook createRuntime[0] "%s" exited with status 3: hook says no' % bad, p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.root, cid)))

    def test_hook_timeout(self):
        slow = self.hook_script("slow.sh", "sleep 10")
        c = self.config(["true"])
        c["hooks"] = {"prestart": [{"path": slow, "timeout": 1}]}
        cid = self.new_id()
        p = self.ocelot("create", "--bundle", self.bundle(c), cid, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("timed out after 1s", p.stderr)

    def test_failing_poststop_hook_is_a_warning(self):
        bad = self.hook_script("bad.sh", "exit 1")
        c = self.config(["true"])
        c["hooks"] = {"poststop": [{"path": bad}], "poststart": [{"path": bad}]}
        p = self.run_config(c)
        self.assertEqual(p.returncode, 0)
        self.assertIn("poststop[0]", p.stderr)
        self.assertIn("poststart[0]", p.stderr)
