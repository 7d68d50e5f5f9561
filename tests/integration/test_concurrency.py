"""Many ocelot processes at once: no global lock across a container's start, one winner per id,
deletes and kills that race each other. Nothing may be left behind."""
import concurrent.futures as cf
import os
import subprocess
import tempfile

from harness import OcelotTest


def run(args, root):
    # Files, not pipes: a created container's init keeps our stdio open.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.run([os.environ["OCELOT"], "--root", root] + args, stdout=out, stderr=err, timeout=120,
                           stdin=subprocess.DEVNULL)
        out.seek(0)
        err.seek(0)
        p.stdout, p.stderr = out.read().decode(), err.read().decode()
    return p


class Concurrency(OcelotTest):
    def test_200_containers_8_at_a_time(self):
        b = self.bundle(self.config(["/bin/ocelot-probe", "echo", "ok"]))
        ids = [self.new_id("p") + "-%d" % i for i in range(200)]
        self.ids += ids
        with cf.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda cid: run(["run", "--bundle", b, cid], self.root), ids))
        failed = [(r.returncode, r.stderr) for r in results if r.returncode != 0 or r.stdout != "ok\n"]
        self.assertEqual(failed, [])

    def test_eight_creates_of_one_id_have_one_winner(self):
        b = self.bundle(self.config(["sleep", "30"]))
        cid = self.new_id()
        with cf.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: run(["create", "--bundle", b, cid], self.root), range(8)))
        winners = [r for r in results if r.returncode == 0]
        self.assertEqual(len(winners), 1, [r.stderr for r in results])
        for r in results:
            if r.returncode != 0:
                self.assertIn("container with id exists: " + cid, r.stderr)
        # The winner is intact: created, and it starts.
        self.assertEqual(self.state(cid)["status"], "created")
        self.ocelot("start", cid)
        self.assertEqual(self.state(cid)["status"], "running")

    def test_parallel_deletes_and_kills_racing_a_delete(self):
        b = self.bundle(self.config(["sleep", "30"]))
        for _ in range(5):
            cid = self.new_id()
            self.ocelot("run", "-d", "--bundle", b, cid)
            with cf.ThreadPoolExecutor(8) as pool:
                jobs = [pool.submit(run, ["delete", "--force", cid], self.root) for _ in range(4)] + \
                       [pool.submit(run, ["kill", cid, "KILL"], self.root) for _ in range(4)]
                results = [j.result() for j in jobs]
            for r in results:
                # A delete either did it or found it gone; a kill hit it, or found it stopped or gone.
                self.assertTrue(r.returncode == 0 or "container does not exist" in r.stderr or "container not running" in r.stderr,
                                r.stderr)
            self.assertFalse(os.path.exists(os.path.join(self.root, cid)))
