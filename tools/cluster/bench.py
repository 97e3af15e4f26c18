"""`python -m tools.cluster bench`: how long the local cluster takes, and what it weighs.

Prints figures, asserts nothing:
- cold build: with `--measure-build`, a build of every component into an empty cache with an
  empty Go build cache (the Go module cache is kept: downloads are not timed); otherwise the
  build times recorded by an earlier build, if any; Calico's on a line of its own;
- `up` with binaries cached, for 1 node and for 2, until every node is Ready with
  calico-node Ready on it, a pod has an address from a Calico block and CoreDNS answers from
  every node (anchor: `kind create cluster` with a cached image takes 12 to 17 s);
- `down`;
- resident memory, for 1 node and for 2: the sum of the PSS of every process of the cluster
  (components, containerd shims, pods' containers), right after `up` (and the sum of their
  RSS, which counts shared pages once per process).

It restarts the cluster (down, up), and leaves it as it found it: running (with the default
number of nodes) if it was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tools.cluster.local import cgroups, lifecycle, settings, supervisor
from tools.cluster.local.components import CGROUP_ROOT

ROUNDS = 2
NODE_COUNTS = (1, 2)
KIND_ANCHOR = "kind create cluster (cached image): 12-17 s"


def _quiet(_: str) -> None:
    """Progress sink: the bench prints its own lines."""


def rss_kib(pid: int) -> int:
    """VmRSS of a process in KiB (0 if it is gone or a kernel thread)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid: int) -> int:
    """Proportional set size of a process in KiB: its resident pages, each page shared with
    other processes counted as its share (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cluster_memory(measure: Callable[[int], int] = rss_kib) -> dict[str, int]:
    """KiB of resident memory per part of the cluster: each component with its session
    (containerd's includes the shims it started), and the pods' containers."""
    layout = settings.Layout(settings.state_dir())
    usage: dict[str, int] = {}
    seen: set[int] = set()
    for record in supervisor.records(layout):
        members = set(supervisor.session_members(record.pid)) - seen
        seen |= members
        usage[record.name] = sum(measure(pid) for pid in members)
    pods = cgroups.processes(CGROUP_ROOT) - seen
    usage["pods (containers)"] = sum(measure(pid) for pid in pods)
    return usage


def measure_cold_build() -> float:
    """Build everything into empty caches in a child process; returns the wall time."""
    with tempfile.TemporaryDirectory(prefix="reseau-k8s-bench-") as tmp:
        env = dict(
            os.environ,
            RESEAU_K8S_CACHE=str(Path(tmp) / "cache"),
            GOCACHE=str(Path(tmp) / "gocache"),
        )
        start = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "tools.cluster.local.build"], env=env, text=True
        )
        elapsed = time.monotonic() - start
    if result.returncode != 0:
        raise RuntimeError("the cold build failed (see its output above)")
    return elapsed


def recorded_build_times() -> dict[str, tuple[float, int | None]]:
    """Build seconds (and packages compiled) that the builds wrote beside their binaries."""
    from tools.cluster.local import build

    times: dict[str, tuple[float, int | None]] = {}
    for path in sorted((build.CACHE_DIR / "components").glob("*/versions.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        seconds = data.get("build_seconds")
        if isinstance(seconds, int | float):
            times[path.parent.name] = (float(seconds), data.get("packages_compiled"))
    return times


def _fmt(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)} min {secs:04.1f} s" if minutes >= 1 else f"{seconds:.1f} s"


def main(measure_build: bool = False, rounds: int = ROUNDS) -> None:
    print("local cluster benchmark (figures only, no assertion)")
    if measure_build:
        print("cold build: building every component into empty caches…", flush=True)
        print(f"cold build: {_fmt(measure_cold_build())} (Go module downloads not included)")
    else:
        times = recorded_build_times()
        if times:
            for name, (seconds, packages) in times.items():
                compiled = f", {packages} packages compiled" if packages is not None else ""
                print(f"build {name}: {_fmt(seconds)}{compiled}")
            calico = [(n, t) for n, t in times.items() if n.startswith("calico-")]
            for name, (seconds, packages) in calico:
                cold = "" if packages is None or packages > 500 else " (Go's cache was warm)"
                print(f"Calico cold build ({name}): {_fmt(seconds)}{cold}")
            total = sum(seconds for seconds, _ in times.values())
            print(
                f"build (sum of the recorded builds): {_fmt(total)}; a build that found "
                "packages in Go's build cache compiled fewer and is not a cold figure"
            )
        else:
            print("cold build: no recorded figure (run `bench --measure-build` to time one)")

    was_running = lifecycle.status_lines()[0].startswith("local cluster: running")
    lifecycle.up(_quiet)  # binaries and images built and cached before anything is timed
    for count in NODE_COUNTS:
        _bench_nodes(count, rounds)
    if was_running:
        lifecycle.up(_quiet, nodes=settings.DEFAULT_NODES)
    else:
        lifecycle.down(_quiet)


def _bench_nodes(count: int, rounds: int) -> None:
    """`down` then `up --nodes count`, `rounds` times; the memory of the last round."""
    label = f"{count} node" + ("s" if count > 1 else "")
    ups: list[float] = []
    downs: list[float] = []
    memory: dict[str, int] = {}
    shared: dict[str, int] = {}
    for number in range(1, rounds + 1):
        start = time.monotonic()
        lifecycle.down(_quiet)
        downs.append(time.monotonic() - start)
        start = time.monotonic()
        lifecycle.up(_quiet, nodes=count)
        ups.append(time.monotonic() - start)
        memory = cluster_memory(pss_kib)
        shared = cluster_memory(rss_kib)
        print(f"{label}, round {number}: down {_fmt(downs[-1])}, up {_fmt(ups[-1])}", flush=True)
    print(
        f"up, {label} (binaries cached, until every calico-node is Ready, a pod in a block, "
        f"DNS answers from every node): best {_fmt(min(ups))}, "
        f"mean {_fmt(sum(ups) / len(ups))}; anchor: {KIND_ANCHOR}"
    )
    print(f"down: best {_fmt(min(downs))}, mean {_fmt(sum(downs) / len(downs))}")
    # PSS counts a page shared by several processes once in all (calico-node runs five
    # processes of one 85 MB binary, on every node); the sum of RSS counts it in each.
    total = sum(memory.values())
    print(
        f"resident memory after up, {label}: {total / 1024:.0f} MiB (sum of PSS; sum of RSS, "
        f"shared pages counted in each process: {sum(shared.values()) / 1024:.0f} MiB)"
    )
    for name, kib in sorted(memory.items(), key=lambda item: -item[1]):
        print(f"  {name:34} {kib / 1024:7.1f} MiB")
