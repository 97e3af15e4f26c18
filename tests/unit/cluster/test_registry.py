"""The pull-only registry: manifests and blobs with correct digests, 404 for the unknown."""

from __future__ import annotations

import hashlib
import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.cluster.local import registry
from tools.cluster.local.images import oci


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("store")
    layout = oci.Layout(root)
    for name, text in (
        ("docker.io/library/busybox:latest", "docker busybox\n"),
        ("registry.k8s.io/pause:3.10.2", "pause\n"),
        # The same repository path under two registries: told apart by ?ns=.
        ("docker.io/coredns/coredns:v1", "docker coredns\n"),
        ("registry.k8s.io/coredns/coredns:v1", "k8s coredns\n"),
    ):
        layout.add_image(oci.Image(names=(name,), entries=[oci.file_data("/id", text)], config={}))
    layout.finish()
    return root


@pytest.fixture(scope="module")
def port(store: Path) -> Iterator[int]:
    server, thread = registry.serve_in_thread(store)
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _request(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(registry.HOST, port, timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_api_version_check(port: int) -> None:
    status, headers, body = _request(port, "/v2/")
    assert status == 200
    assert headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert json.loads(body) == {}


def test_manifest_by_tag_has_matching_digest(port: int, store: Path) -> None:
    status, headers, body = _request(port, "/v2/library/busybox/manifests/latest?ns=docker.io")
    assert status == 200
    assert headers["Content-Type"] == oci.MANIFEST_TYPE
    assert headers["Docker-Content-Digest"] == "sha256:" + hashlib.sha256(body).hexdigest()
    assert int(headers["Content-Length"]) == len(body)
    manifest = json.loads(body)
    assert manifest["config"]["mediaType"] == oci.CONFIG_TYPE


def test_head_manifest_and_fetch_by_digest(port: int) -> None:
    status, headers, body = _request(
        port, "/v2/pause/manifests/3.10.2?ns=registry.k8s.io", method="HEAD"
    )
    assert status == 200 and body == b""
    digest = headers["Docker-Content-Digest"]
    status, headers2, body = _request(port, f"/v2/pause/manifests/{digest}?ns=registry.k8s.io")
    assert status == 200
    assert headers2["Docker-Content-Digest"] == digest
    assert "sha256:" + hashlib.sha256(body).hexdigest() == digest
    assert int(headers["Content-Length"]) == len(body)


def test_blob_has_matching_digest(port: int) -> None:
    _, _, body = _request(port, "/v2/library/busybox/manifests/latest?ns=docker.io")
    layer = json.loads(body)["layers"][0]
    status, headers, blob = _request(port, f"/v2/library/busybox/blobs/{layer['digest']}")
    assert status == 200
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Docker-Content-Digest"] == layer["digest"]
    assert "sha256:" + hashlib.sha256(blob).hexdigest() == layer["digest"]
    assert len(blob) == layer["size"] == int(headers["Content-Length"])
    assert b"docker busybox\n" in blob


def test_namespace_tells_same_repository_apart(port: int) -> None:
    bodies = {}
    for ns in ("docker.io", "registry.k8s.io"):
        status, _, body = _request(port, f"/v2/coredns/coredns/manifests/v1?ns={ns}")
        assert status == 200
        layer = json.loads(body)["layers"][0]["digest"]
        _, _, blob = _request(port, f"/v2/coredns/coredns/blobs/{layer}?ns={ns}")
        bodies[ns] = blob
    assert b"docker coredns\n" in bodies["docker.io"]
    assert b"k8s coredns\n" in bodies["registry.k8s.io"]
    # Without ?ns= the name is ambiguous here: refused rather than guessed.
    status, _, _ = _request(port, "/v2/coredns/coredns/manifests/v1")
    assert status == 404


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/v2/library/nothing/manifests/latest?ns=docker.io", "NAME_UNKNOWN"),
        ("/v2/library/busybox/manifests/1.0?ns=docker.io", "MANIFEST_UNKNOWN"),
        ("/v2/library/busybox/manifests/latest?ns=quay.io", "NAME_UNKNOWN"),
        ("/v2/library/busybox/blobs/sha256:" + "0" * 64, "BLOB_UNKNOWN"),
        ("/v2/library/busybox/blobs/sha256:../../index.json", "NAME_UNKNOWN"),
    ],
)
def test_unknown_is_404(port: int, path: str, code: str) -> None:
    status, headers, body = _request(port, path)
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["errors"][0]["code"] == code


def test_binds_loopback_only(store: Path) -> None:
    server = registry.make_server(store, 0)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()


def test_command_and_hosts_toml() -> None:
    argv = registry.registry_command(Path("/store"), 5123)
    assert argv[1:] == [
        "-m", "tools.cluster.local.registry", "/store", "--port", "5123", "--host", "127.0.0.1",
    ]  # fmt: skip
    files = registry.hosts_toml(5123)
    assert set(files) == {"docker.io", "registry.k8s.io", "_default"}
    for content in files.values():
        assert 'server = "http://127.0.0.1:5123"' in content
        assert '[host."http://127.0.0.1:5123"]' in content
        assert 'capabilities = ["pull", "resolve"]' in content
    # The local cluster's: on the first node's address, which every node reaches.
    argv = registry.registry_command(Path("/store"), 5123, "10.152.182.1")
    assert argv[-2:] == ["--host", "10.152.182.1"]
    files = registry.hosts_toml(5123, "10.152.182.1")
    assert all('server = "http://10.152.182.1:5123"' in c for c in files.values())


def test_bad_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"index\.json: not a readable OCI layout index"):
        registry.make_server(tmp_path, 0)


def test_ready_tells_a_listening_registry_from_a_closed_port(port: int, store: Path) -> None:
    assert registry.ready(port)
    registry.wait_ready(port, timeout=1)
    server = registry.make_server(store, 0)  # bound, never served, then closed: nothing there
    closed = server.server_address[1]
    server.server_close()
    assert not registry.ready(closed)
    with pytest.raises(TimeoutError, match=f"127.0.0.1:{closed} did not answer"):
        registry.wait_ready(closed, timeout=0.2)
