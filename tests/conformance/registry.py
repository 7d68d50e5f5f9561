#!/usr/bin/env python3
"""A read-only image registry for the critest tier: the parts of the OCI distribution API a pull
uses (GET/HEAD /v2/, manifests by tag or digest, blobs), served over plain HTTP from a store made
by critest_images.py. containerd pulls on every PullImage even when it has the image, so critest
needs one; hosts.toml points registry.k8s.io and gcr.io at it. A repository name may carry the
registry host first (containerd names the upstream in ?ns= instead; either is accepted)."""
import http.server
import json
import os
import re
import threading

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
PATH = re.compile(r"^/v2/(?P<repo>.+)/(?P<kind>manifests|blobs)/(?P<ref>[^/]+)$")


class Handler(http.server.BaseHTTPRequestHandler):
    store = ""
    refs = {}

    def log_message(self, fmt, *args):  # quiet: the tier prints its own summary
        pass

    def send(self, code, body=b"", headers=None, head=False):
        self.send_response(code)
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def unknown(self, code, what, head):
        body = json.dumps({"errors": [{"code": code, "message": what}]}).encode()
        self.send(404, body, {"Content-Type": "application/json"}, head)

    def blob_path(self, digest):
        algo, _, hexpart = digest.partition(":")
        if algo != "sha256" or not re.fullmatch(r"[0-9a-f]{64}", hexpart):
            return None
        path = os.path.join(self.store, "blobs", "sha256", hexpart)
        return path if os.path.isfile(path) else None

    def repo_refs(self, repo):
        """The repository's tags; a leading registry host (gcr.io/..., registry.k8s.io/...) is dropped."""
        if repo in self.refs:
            return self.refs[repo]
        host, _, rest = repo.partition("/")
        return self.refs.get(rest) if "." in host else None

    def answer(self, head):
        path = self.path.split("?", 1)[0]
        if path in ("/v2", "/v2/"):
            return self.send(200, b"{}", {"Content-Type": "application/json"}, head)
        m = PATH.match(path)
        tags = self.repo_refs(m.group("repo")) if m else None
        if tags is None:
            return self.unknown("NAME_UNKNOWN", "repository not known", head)
        ref = m.group("ref")
        if m.group("kind") == "manifests":
            digest = ref if ref.startswith("sha256:") else tags.get(ref)
            blob = self.blob_path(digest) if digest and digest in tags.values() else None
            if not blob:
                return self.unknown("MANIFEST_UNKNOWN", "manifest unknown", head)
            return self.send(200, open(blob, "rb").read(), {"Content-Type": MANIFEST, "Docker-Content-Digest": digest}, head)
        blob = self.blob_path(ref)
        if not blob:
            return self.unknown("BLOB_UNKNOWN", "blob unknown", head)
        return self.send(200, open(blob, "rb").read(), {"Content-Type": "application/octet-stream",
                                                        "Docker-Content-Digest": ref}, head)

    def do_GET(self):
        self.answer(False)

    def do_HEAD(self):
        self.answer(True)


def serve(store, host="127.0.0.1", port=5000):
    """Starts the registry in a daemon thread; returns the server (shutdown() stops it)."""
    handler = type("StoreHandler", (Handler,), {"store": store,
                                                "refs": json.load(open(os.path.join(store, "refs.json")))})
    server = http.server.ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
