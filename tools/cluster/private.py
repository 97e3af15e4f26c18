"""Files only their owner (root) may read: keys, certificates, kubeconfigs."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, data: str | bytes) -> Path:
    """Write `data` to `path`, mode 0600 from the start (never readable by others, even for
    a moment); the parent folders are made if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)
    return path
