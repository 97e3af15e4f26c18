"""The kubelet's cgroup root, created in every cgroup hierarchy of the host (v1 controllers and
the hybrid layout's unified tree) and removed with everything below it by `down`."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path


def hierarchies(mountinfo: str | None = None) -> list[Path]:
    """Mount points of the cgroup (v1) and cgroup2 filesystems."""
    if mountinfo is None:
        mountinfo = Path("/proc/self/mountinfo").read_text()
    found = []
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fstype = right.split()[0] if right else ""
        if fstype in ("cgroup", "cgroup2"):
            found.append(Path(left.split()[4]))
    return found


def paths(name: str, mountinfo: str | None = None) -> list[Path]:
    """The directory `name` (e.g. /reseau-k8s) in every hierarchy."""
    return [h / name.strip("/") for h in hierarchies(mountinfo)]


def create(name: str) -> list[Path]:
    """Create the cgroup `name` in every hierarchy (cpuset gets its parent's CPUs and memory
    nodes, without which no process could join it)."""
    created = []
    for path in paths(name):
        if path.is_dir():
            continue
        path.mkdir()
        created.append(path)
        for knob in ("cpuset.cpus", "cpuset.mems"):
            parent_knob = path.parent / knob
            if parent_knob.exists() and not (path / knob).read_text().strip():
                (path / knob).write_text(parent_knob.read_text())
    return created


def processes(name: str) -> set[int]:
    """PIDs in the cgroup `name` or below, in any hierarchy."""
    pids: set[int] = set()
    for root in paths(name):
        if not root.is_dir():
            continue
        for directory, _, files in os.walk(root):
            if "cgroup.procs" in files:
                with contextlib.suppress(OSError):
                    text = (Path(directory) / "cgroup.procs").read_text()
                    pids |= {int(p) for p in text.split()}
    return pids


def kill_all(name: str) -> int:
    """SIGKILL every process in the cgroup tree (the pods' containers); returns how many."""
    pids = processes(name)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(pids)


def remove(name: str) -> list[Path]:
    """rmdir the cgroup trees bottom-up; returns the directories that remain (still busy)."""
    remaining = []
    for root in paths(name):
        if not root.is_dir():
            continue
        for directory, _, _ in sorted(os.walk(root), key=lambda w: w[0].count("/"), reverse=True):
            try:
                os.rmdir(directory)
            except OSError:
                remaining.append(Path(directory))
    return remaining
