"""Write OCI image layouts: one uncompressed layer per image, byte-for-byte reproducible.

An image is a list of entries (directories, files, symlinks) and a config. The layer is a tar
with every timestamp at 0, owner root and entries sorted, so the same content always gives
the same digests. Layers stay uncompressed (`…layer.v1.tar`): they only travel over loopback,
and containerd unpacks them directly. Several images share one layout: `index.json` lists
every name:tag with containerd's `io.containerd.image.name` annotation holding the full name.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final

MANIFEST_TYPE: Final = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE: Final = "application/vnd.oci.image.index.v1+json"
CONFIG_TYPE: Final = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE: Final = "application/vnd.oci.image.layer.v1.tar"
NAME_ANNOTATION: Final = "io.containerd.image.name"
REF_ANNOTATION: Final = "org.opencontainers.image.ref.name"
EPOCH: Final = "1970-01-01T00:00:00Z"


@dataclass(frozen=True)
class Entry:
    """One path of the image's filesystem (absolute, POSIX)."""

    path: str
    kind: str  # "dir", "file", "symlink" or "hardlink"
    mode: int = 0o755
    source: Path | None = None  # file content read from this host file…
    data: bytes | None = None  # …or given inline
    target: str = ""  # symlink target, or the image path a hard link shares its content with
    uid: int = 0
    gid: int = 0

    @property
    def name(self) -> str:
        return str(PurePosixPath(self.path).relative_to("/"))


def directory(path: str, mode: int = 0o755) -> Entry:
    return Entry(path, "dir", mode)


def file_from(path: str, source: Path, mode: int | None = None) -> Entry:
    real = source.resolve()
    return Entry(path, "file", mode if mode is not None else real.stat().st_mode & 0o7777, real)


def file_data(path: str, data: bytes | str, mode: int = 0o644) -> Entry:
    return Entry(path, "file", mode, data=data.encode() if isinstance(data, str) else data)


def symlink(path: str, target: str) -> Entry:
    return Entry(path, "symlink", 0o777, target=target)


def hardlink(path: str, target: str) -> Entry:
    """A second name for the file at image path `target` (one copy of the content)."""
    return Entry(path, "hardlink", 0o755, target=target)


@dataclass
class Image:
    """An image to write: its names (full references), filesystem and config."""

    names: tuple[str, ...]
    entries: list[Entry]
    config: dict[str, Any]
    description: str = ""
    annotations: dict[str, str] = field(default_factory=dict)


def _with_parents(entries: list[Entry]) -> list[Entry]:
    """Entries sorted by path, each parent directory present, a path given twice is an error."""
    by_path: dict[str, Entry] = {}
    for entry in entries:
        if entry.path in by_path and by_path[entry.path] != entry:
            raise ValueError(f"image path {entry.path} is defined twice")
        by_path[entry.path] = entry
    for path in list(by_path):
        for parent in PurePosixPath(path).parents:
            if str(parent) != "/" and str(parent) not in by_path:
                by_path[str(parent)] = directory(str(parent))
    return [by_path[p] for p in sorted(by_path)]


def write_layer(entries: list[Entry], out: io.BufferedIOBase) -> None:
    """A deterministic tar of `entries` into `out`."""
    written: set[str] = set()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in _with_parents(entries):
            if entry.kind == "hardlink" and entry.target not in written:
                # tar readers resolve a link against files already extracted.
                raise ValueError(f"hard link {entry.path}: {entry.target} must sort before it")
            written.add(entry.path)
            info = tarfile.TarInfo(entry.name)
            info.mtime = 0
            info.uid, info.gid = entry.uid, entry.gid
            info.uname = info.gname = ""
            info.mode = entry.mode
            if entry.kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif entry.kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = entry.target
                tar.addfile(info)
            elif entry.kind == "hardlink":
                info.type = tarfile.LNKTYPE
                info.linkname = str(PurePosixPath(entry.target).relative_to("/"))
                tar.addfile(info)
            elif entry.kind == "file":
                data = entry.data if entry.data is not None else entry.source.read_bytes()  # type: ignore[union-attr]
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                raise ValueError(f"unknown entry kind {entry.kind!r} for {entry.path}")


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


class Layout:
    """An OCI image layout directory being written (blobs are content-addressed)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs" / "sha256"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.manifests: list[dict[str, Any]] = []

    def add_blob(self, data: bytes) -> tuple[str, int]:
        digest = hashlib.sha256(data).hexdigest()
        (self.blobs / digest).write_bytes(data)
        return f"sha256:{digest}", len(data)

    def add_layer(self, entries: list[Entry]) -> tuple[str, int]:
        """Write the layer to a temporary file, then rename it to its digest."""
        fd, tmp_name = tempfile.mkstemp(dir=self.blobs, prefix=".layer-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                write_layer(entries, out)
            digest = hashlib.sha256()
            with tmp.open("rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
            size = tmp.stat().st_size
            tmp.rename(self.blobs / digest.hexdigest())
        finally:
            tmp.unlink(missing_ok=True)
        return f"sha256:{digest.hexdigest()}", size

    def add_image(self, image: Image) -> str:
        """Write the image's layer, config and manifest; return the manifest digest."""
        layer_digest, layer_size = self.add_layer(image.entries)
        config = {
            "created": EPOCH,
            "architecture": "amd64",
            "os": "linux",
            "config": image.config,
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
            "history": [{"created": EPOCH, "created_by": image.description or "reseau-k8s"}],
        }
        config_digest, config_size = self.add_blob(_canonical(config))
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": LAYER_TYPE, "digest": layer_digest, "size": layer_size}],
        }
        if image.annotations:
            manifest["annotations"] = image.annotations
        digest, size = self.add_blob(_canonical(manifest))
        for name in image.names:
            self.manifests.append(
                {
                    "mediaType": MANIFEST_TYPE,
                    "digest": digest,
                    "size": size,
                    "platform": {"architecture": "amd64", "os": "linux"},
                    "annotations": {NAME_ANNOTATION: name, REF_ANNOTATION: name.rsplit(":", 1)[1]},
                }
            )
        return digest

    def finish(self) -> None:
        (self.root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
        index = {"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": self.manifests}
        (self.root / "index.json").write_bytes(_canonical(index))


def split_reference(name: str) -> tuple[str, str, str]:
    """`docker.io/library/busybox:latest` -> (`docker.io`, `library/busybox`, `latest`)."""
    registry, _, rest = name.partition("/")
    repository, sep, tag = rest.rpartition(":")
    if not (registry and sep and repository and tag) or "." not in registry:
        raise ValueError(f"not a full image reference (registry/repository:tag): {name!r}")
    return registry, repository, tag
