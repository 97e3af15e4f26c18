"""The OCI layout writer: valid layout, digests that match, reproducible layers."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest

from tools.cluster.local.images import oci


def _image(name: str = "docker.io/library/tiny:latest", text: str = "hello\n") -> oci.Image:
    return oci.Image(
        names=(name,),
        entries=[
            oci.file_data("/etc/motd", text),
            oci.file_data("/bin/run", b"#!/bin/sh\necho hi\n", 0o755),
            oci.symlink("/bin/sh", "busybox"),
            oci.directory("/tmp", 0o1777),
        ],
        config={"Cmd": ["sh"], "Env": ["PATH=/bin"]},
        description="test image",
    )


def _write(root: Path, *images: oci.Image) -> dict:
    layout = oci.Layout(root)
    for image in images:
        layout.add_image(image)
    layout.finish()
    return json.loads((root / "index.json").read_text())


def _blob(root: Path, digest: str) -> bytes:
    algorithm, hexdigest = digest.split(":")
    assert algorithm == "sha256"
    return (root / "blobs" / "sha256" / hexdigest).read_bytes()


def test_layout_digests_match_and_references_resolve(tmp_path: Path) -> None:
    index = _write(tmp_path, _image())
    assert json.loads((tmp_path / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    assert index["mediaType"] == oci.INDEX_TYPE
    for blob in (tmp_path / "blobs" / "sha256").iterdir():
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name
    [descriptor] = index["manifests"]
    assert descriptor["annotations"][oci.NAME_ANNOTATION] == "docker.io/library/tiny:latest"
    assert descriptor["annotations"][oci.REF_ANNOTATION] == "latest"
    manifest_bytes = _blob(tmp_path, descriptor["digest"])
    assert len(manifest_bytes) == descriptor["size"]
    manifest = json.loads(manifest_bytes)
    assert manifest["mediaType"] == oci.MANIFEST_TYPE
    config_bytes = _blob(tmp_path, manifest["config"]["digest"])
    assert len(config_bytes) == manifest["config"]["size"]
    config = json.loads(config_bytes)
    [layer] = manifest["layers"]
    assert layer["mediaType"] == oci.LAYER_TYPE
    # Uncompressed layer: its digest is also its diff_id.
    assert config["rootfs"] == {"type": "layers", "diff_ids": [layer["digest"]]}
    assert config["config"]["Cmd"] == ["sh"]
    assert len(_blob(tmp_path, layer["digest"])) == layer["size"]


def test_layer_content_modes_and_parents(tmp_path: Path) -> None:
    index = _write(tmp_path, _image())
    manifest = json.loads(_blob(tmp_path, index["manifests"][0]["digest"]))
    layer_path = tmp_path / "blobs" / "sha256" / manifest["layers"][0]["digest"].split(":")[1]
    with tarfile.open(layer_path) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert list(members) == sorted(members)  # parents before children
        assert members["etc"].isdir()
        assert members["bin/sh"].issym() and members["bin/sh"].linkname == "busybox"
        assert members["bin/run"].mode == 0o755
        assert members["tmp"].mode == 0o1777
        assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 for m in members.values())
        assert tar.extractfile("etc/motd").read() == b"hello\n"  # type: ignore[union-attr]


def test_same_content_same_digest_and_change_changes_it(tmp_path: Path) -> None:
    first = _write(tmp_path / "a", _image())["manifests"][0]["digest"]
    again = _write(tmp_path / "b", _image())["manifests"][0]["digest"]
    changed = _write(tmp_path / "c", _image(text="changed\n"))["manifests"][0]["digest"]
    assert first == again
    assert changed != first


def test_several_images_share_one_index(tmp_path: Path) -> None:
    index = _write(tmp_path, _image(), _image("registry.k8s.io/other/thing:v1", text="other\n"))
    names = [d["annotations"][oci.NAME_ANNOTATION] for d in index["manifests"]]
    assert names == ["docker.io/library/tiny:latest", "registry.k8s.io/other/thing:v1"]


def test_a_path_defined_twice_is_an_error(tmp_path: Path) -> None:
    image = _image()
    image.entries.append(oci.file_data("/etc/motd", "other\n"))
    with pytest.raises(ValueError, match="/etc/motd is defined twice"):
        _write(tmp_path, image)


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("docker.io/library/busybox:latest", ("docker.io", "library/busybox", "latest")),
        (
            "registry.k8s.io/coredns/coredns:v1.14.6",
            ("registry.k8s.io", "coredns/coredns", "v1.14.6"),
        ),
    ],
)
def test_split_reference(name: str, parts: tuple[str, str, str]) -> None:
    assert oci.split_reference(name) == parts


@pytest.mark.parametrize("name", ["busybox", "busybox:latest", "docker.io/library/busybox"])
def test_split_reference_rejects_short_names(name: str) -> None:
    with pytest.raises(ValueError, match="not a full image reference"):
        oci.split_reference(name)


def test_hard_links_and_owners(tmp_path: Path) -> None:
    image = _image()
    image.entries += [
        oci.hardlink("/bin/run-too", "/bin/run"),
        oci.Entry("/status", "dir", 0o755, uid=999, gid=999),
    ]
    index = _write(tmp_path, image)
    manifest = json.loads(_blob(tmp_path, index["manifests"][0]["digest"]))
    layer_path = tmp_path / "blobs" / "sha256" / manifest["layers"][0]["digest"].split(":")[1]
    with tarfile.open(layer_path) as tar:
        link = tar.getmember("bin/run-too")
        assert link.islnk() and link.linkname == "bin/run" and link.size == 0
        assert (tar.getmember("status").uid, tar.getmember("status").gid) == (999, 999)


def test_a_hard_link_before_its_target_is_an_error(tmp_path: Path) -> None:
    image = _image()
    image.entries.append(oci.hardlink("/bin/a-link", "/bin/run"))  # sorts before bin/run
    with pytest.raises(ValueError, match="hard link /bin/a-link: /bin/run must sort before it"):
        _write(tmp_path, image)
