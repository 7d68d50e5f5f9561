"""podman's default seccomp profile (Debian's golang-github-containers-common) in OCI form, the way
podman writes it into config.json: archMap -> architectures, and rules kept or dropped by their
includes/excludes on capabilities and architecture."""
import json

PROFILE = "/usr/share/containers/seccomp.json"


def oci_seccomp(caps, arch="SCMP_ARCH_X86_64", path=PROFILE):
    with open(path) as f:
        p = json.load(f)
    archs = []
    for m in p.get("archMap", []):
        if m["architecture"] == arch:
            archs = [arch] + m.get("subArchitectures", [])
    out = {"defaultAction": p["defaultAction"], "architectures": archs, "syscalls": []}
    if "defaultErrnoRet" in p:
        out["defaultErrnoRet"] = p["defaultErrnoRet"]
    short_arch = {"SCMP_ARCH_X86_64": "amd64"}.get(arch, arch)
    for s in p["syscalls"]:
        inc, exc = s.get("includes") or {}, s.get("excludes") or {}
        if inc.get("caps") and not all(c in caps for c in inc["caps"]):
            continue
        if inc.get("arches") and short_arch not in inc["arches"]:
            continue
        if exc.get("caps") and any(c in caps for c in exc["caps"]):
            continue
        if exc.get("arches") and short_arch in exc["arches"]:
            continue
        rule = {"names": s["names"], "action": s["action"]}
        for k in ("errnoRet", "args"):
            if s.get(k):
                rule[k] = s[k]
        out["syscalls"].append(rule)
    return out


if __name__ == "__main__":
    import sys
    print(json.dumps(oci_seccomp(sys.argv[1:] or ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])))
