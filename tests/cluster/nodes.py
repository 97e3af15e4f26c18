"""The running cluster's nodes, and running a command in a node's network namespace (or in
both its namespaces), for the cluster tests."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from tools.cluster.local import nodes, settings, state
from tools.cluster.local.settings import Layout, Node


def layout() -> Layout:
    return Layout(settings.state_dir())


def running_nodes() -> list[Node]:
    """The nodes `up` started (cluster.json), the first one first."""
    info = state.read_info(layout()) or {}
    listed = info.get("nodes") or [{"name": settings.NODE_NAME, "ip": settings.node_ip()}]
    return [Node(i, n["name"], n["ip"]) for i, n in enumerate(listed, start=1)]


def run_on(node: Node, *argv: str, mounts: bool = False) -> str:
    """`argv` on `node`: in its network namespace, and its mount namespace with `mounts`."""
    prefix = nodes.enter(layout(), node) if mounts else nodes.enter_network(layout(), node)
    result = subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} on {node.name}: {result.stderr}")
    return result.stdout


def ip_json(node: Node, *args: str) -> Any:
    return json.loads(run_on(node, "ip", "-j", *args) or "[]")
