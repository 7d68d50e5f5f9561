#!/usr/bin/env python3
"""Start-to-exit of `run --rm <busybox> /bin/true` through each caller (podman, ctr, docker), with
ocelot and with Debian's runc as the low-level runtime, interleaved round by round so that both
see the same machine. Uses the callers tier's private world (its own containerd, dockerd and
podman storage, stopped by pid at the end). Prints medians and runc/ocelot per caller.
  usage: bench/callers.py --ocelot build/ocelot --probe build/ocelot-probe [--rounds 20]"""
import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "callers"))
import env  # noqa: E402

RUNC = "/usr/sbin/runc"


def commands(w, runtime, name):
    """The three callers' `run --rm` of /bin/true with the given runtime."""
    pm = w.podman("run", "--rm", "--network", "none", "--runtime", runtime, env.IMAGE, "/bin/true")
    ctr = w.ctr("run", "--rm", "--runc-binary", runtime, env.IMAGE, "bench-%s" % name, "/bin/true")
    # dockerd knows ocelot by the name the world gave it; runc is docker's own default runtime.
    dk = w.docker("run", "--rm", "--network", "none", "--runtime", "ocelot" if name == "ocelot" else "runc",
                  "busybox:local", "/bin/true")
    return {"podman": (pm, w.podman_env), "ctr": (ctr, None), "docker": (dk, None)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ocelot", default="build/ocelot")
    ap.add_argument("--probe", default="build/ocelot-probe")
    ap.add_argument("--rounds", type=int, default=20)
    a = ap.parse_args()
    ocelot = os.path.abspath(a.ocelot)
    world = env.World(ocelot, os.path.abspath(a.probe), "ocelot")
    times = {}
    try:
        world.start()
        runtimes = {"ocelot": commands(world, ocelot, "ocelot"), "runc": commands(world, RUNC, "runc")}
        for rnd in range(a.rounds + 2):  # the first two rounds warm caches and are not counted
            order = ["ocelot", "runc"] if rnd % 2 == 0 else ["runc", "ocelot"]
            for caller in ("podman", "ctr", "docker"):
                for rt in order:
                    cmd, e = runtimes[rt][caller]
                    t0 = time.perf_counter()
                    p = env.sh(cmd, check=False, env=e)
                    dt = time.perf_counter() - t0
                    if p.returncode != 0:
                        print("%s with %s failed (%d): %s" % (caller, rt, p.returncode, p.stderr.strip()), file=sys.stderr)
                        return 1
                    if rnd >= 2:
                        times.setdefault((caller, rt), []).append(dt)
            print("round %d/%d" % (rnd + 1, a.rounds + 2), end="\r", file=sys.stderr, flush=True)
    finally:
        world.stop()
    print("start-to-exit of run --rm busybox /bin/true, median of %d interleaved rounds:" % a.rounds)
    print("%-8s %12s %12s %14s" % ("caller", "ocelot ms", "runc ms", "runc/ocelot"))
    for caller in ("podman", "ctr", "docker"):
        o = statistics.median(times[(caller, "ocelot")]) * 1e3
        r = statistics.median(times[(caller, "runc")]) * 1e3
        print("%-8s %12.1f %12.1f %13.2fx" % (caller, o, r, r / o))
    return 0


if __name__ == "__main__":
    sys.exit(main())
