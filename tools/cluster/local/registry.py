"""A pull-only image registry on loopback, serving the store of stand-in images.

containerd is told (through `hosts.toml`, see `hosts_toml`) to pull every image from here,
for docker.io, registry.k8s.io and any other registry: no pull ever leaves the machine. The
server implements the read side of the OCI distribution API over the OCI layout that
`images.ensure_images()` writes:

- `GET /v2/` answers 200 (API version check);
- `GET|HEAD /v2/<name>/manifests/<tag|digest>` with the manifest's media type and
  `Docker-Content-Digest`;
- `GET|HEAD /v2/<name>/blobs/<digest>`.

containerd adds `?ns=<registry>` to requests it sends to a mirror, so the same repository
name under two registries stays distinct; without it a repository name must be unambiguous.
It binds one address: 127.0.0.1 by default; the local cluster's is the first node's address,
which every node's containerd reaches over the nodes' bridge (the guard lets only the nodes
in). Run it with `registry_command(store, port, host)`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Final
from urllib.parse import parse_qs, urlsplit

from tools.cluster.local.images.oci import NAME_ANNOTATION, split_reference

HOST: Final = "127.0.0.1"
MIRRORED: Final = ("docker.io", "registry.k8s.io")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_PATH = re.compile(r"^/v2/(?P<name>[a-z0-9._/-]+)/(?P<kind>manifests|blobs)/(?P<ref>[\w.:-]+)$")


class Store:
    """The OCI layout, indexed by (registry, repository) -> tag -> manifest descriptor."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs" / "sha256"
        try:
            index = json.loads((root / "index.json").read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{root}/index.json: not a readable OCI layout index ({exc})") from exc
        self.repos: dict[tuple[str, str], dict[str, dict]] = {}
        for descriptor in index.get("manifests", []):
            name = descriptor.get("annotations", {}).get(NAME_ANNOTATION)
            if not name:
                continue
            registry, repository, tag = split_reference(name)
            self.repos.setdefault((registry, repository), {})[tag] = descriptor

    def repository(self, name: str, namespace: str | None) -> dict[str, dict] | None:
        if namespace:
            return self.repos.get((namespace, name))
        matches = [tags for (_, repo), tags in self.repos.items() if repo == name]
        return matches[0] if len(matches) == 1 else None

    def blob_path(self, digest: str) -> Path | None:
        if not _DIGEST.match(digest):
            return None
        path = self.blobs / digest.split(":", 1)[1]
        return path if path.is_file() else None


class Handler(BaseHTTPRequestHandler):
    server_version = "reseau-k8s-registry"
    protocol_version = "HTTP/1.1"
    store: Store  # set on the subclass made by make_server

    def do_GET(self) -> None:
        self._serve(body=True)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def _serve(self, body: bool) -> None:
        url = urlsplit(self.path)
        if url.path in ("/v2", "/v2/"):
            self._send(HTTPStatus.OK, b"{}", "application/json", body=body)
            return
        match = _PATH.match(url.path)
        if not match:
            self._error(HTTPStatus.NOT_FOUND, "NAME_UNKNOWN", "unknown path", body)
            return
        namespace = parse_qs(url.query).get("ns", [None])[0]
        tags = self.store.repository(match["name"], namespace)
        if tags is None:
            self._error(HTTPStatus.NOT_FOUND, "NAME_UNKNOWN", "repository not known", body)
            return
        ref = match["ref"]
        if match["kind"] == "manifests":
            if _DIGEST.match(ref):
                descriptor = next((d for d in tags.values() if d["digest"] == ref), None)
            else:
                descriptor = tags.get(ref)
            if descriptor is None:
                self._error(HTTPStatus.NOT_FOUND, "MANIFEST_UNKNOWN", "manifest unknown", body)
                return
            path = self.store.blob_path(descriptor["digest"])
            media_type = descriptor["mediaType"]
            digest = descriptor["digest"]
        else:
            path = self.store.blob_path(ref)
            media_type = "application/octet-stream"
            digest = ref
        if path is None:
            self._error(HTTPStatus.NOT_FOUND, "BLOB_UNKNOWN", "blob unknown", body)
            return
        self._send_file(path, media_type, digest, body)

    def _send_file(self, path: Path, media_type: str, digest: str, body: bool) -> None:
        size = path.stat().st_size
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(size))
        self.send_header("Docker-Content-Digest", digest)
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.end_headers()
        if body:
            with path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    self.wfile.write(chunk)

    def _send(self, status: HTTPStatus, data: bytes, media_type: str, body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _error(self, status: HTTPStatus, code: str, message: str, body: bool) -> None:
        data = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        self._send(status, data, "application/json", body)

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def make_server(store: Path, port: int, host: str = HOST) -> ThreadingHTTPServer:
    """A server bound to `host`:`port` (0: any free port), not yet serving."""
    handler = type("StoreHandler", (Handler,), {"store": Store(store)})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


# The module's name as `python -m` runs it (then its own __name__ is "__main__").
MODULE: Final = "tools.cluster.local.registry"


def registry_command(store: Path, port: int, host: str = HOST) -> list[str]:
    """The argv that runs the registry in its own process (the caller records its PID), from
    the repository's root: `python -m` finds the module there."""
    return [sys.executable, "-m", MODULE, str(store), "--port", str(port), "--host", host]


def hosts_toml(port: int, host: str = HOST) -> dict[str, str]:
    """containerd `hosts.toml` files: registry host directory name -> file content.

    Write each as `<config_path>/<host>/hosts.toml`. `server` is the registry itself too, so
    that containerd never falls back to the real registry; `_default` catches every other
    registry a page might name.
    """
    url = f"http://{host}:{port}"
    content = f'server = "{url}"\n\n[host."{url}"]\n  capabilities = ["pull", "resolve"]\n'
    return {host: content for host in (*MIRRORED, "_default")}


def ready(port: int, timeout: float = 1.0, host: str = HOST) -> bool:
    """True when a registry answers `GET /v2/` on `host`:`port`."""
    try:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.request("GET", "/v2/")
            response = conn.getresponse()
            response.read()
            return response.status == HTTPStatus.OK
        finally:
            conn.close()
    except OSError:
        return False


def wait_ready(port: int, timeout: float = 10.0, host: str = HOST) -> None:
    """Wait until the registry answers (its process takes ~0.1 s to listen): pulls started
    before that fail with "connection refused"."""
    deadline = time.monotonic() + timeout
    while not ready(port, host=host):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the image registry on {host}:{port} did not answer in {timeout}s")
        time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path, help="OCI layout directory (images.ensure_images)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default=HOST, help=f"the address to bind (default {HOST})")
    args = parser.parse_args(argv)
    try:
        server = make_server(args.store, args.port, args.host)
    except (ValueError, OSError) as exc:
        print(f"registry: cannot start on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(f"registry: serving {args.store} on http://{args.host}:{args.port}", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def serve_in_thread(store: Path, port: int = 0) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """For tests: serve in a background thread; stop with `server.shutdown()`."""
    server = make_server(store, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


if __name__ == "__main__":
    sys.exit(main())
