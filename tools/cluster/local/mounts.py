"""Mounts under the cluster's state directory (container root filesystems, pod network
namespaces, the kubelet's volumes), found in /proc/self/mountinfo and unmounted deepest first."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (\\040…)."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mount_points(mountinfo: str) -> list[str]:
    """Mount points listed in a mountinfo text, in mount order."""
    points = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) > 4:
            points.append(_unescape(fields[4]))
    return points


def under(root: Path, mountinfo: str | None = None) -> list[str]:
    """Mount points at or below `root`, deepest (and latest) first."""
    if mountinfo is None:
        mountinfo = Path("/proc/self/mountinfo").read_text()
    prefix = str(root).rstrip("/")
    found = [p for p in mount_points(mountinfo) if p == prefix or p.startswith(prefix + "/")]
    # Reverse mount order first (a path mounted twice comes off top first), then depth.
    ordered = list(reversed(found))
    return sorted(ordered, key=lambda p: p.count("/"), reverse=True)


def _umount2(path: str, flags: int) -> int:
    """umount2(2) through libc (a subprocess per mount costs 10 ms, and a pod has several)."""
    return _LIBC.umount2(os.fsencode(path), flags)


_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
MNT_DETACH = 2


def unmount_all(root: Path) -> list[str]:
    """Unmount everything below `root`; returns the mount points that would not come off."""
    for _ in range(3):
        points = under(root)
        if not points:
            return []
        for point in points:
            if _umount2(point, 0) != 0:
                # Busy (a process we could not stop still holds it): detach it lazily so that
                # nothing of the cluster stays visible; the kernel frees it when released.
                _umount2(point, MNT_DETACH)
    return under(root)
