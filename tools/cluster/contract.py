"""What every cluster provider returns: `ClusterInfo`, with its `Capability` set.

The doctest, the cluster tests and the reader-facing "verified on" note all read a cluster
through this one record, whichever provider made it (the local cluster's lifecycle
included). Its facts are detected on the running cluster, never declared: the Kubernetes
version the API server reports, how many nodes it has, and which network plugin runs.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ProviderError(RuntimeError):
    """The cluster cannot be had; the message says what to do."""


class Capability(enum.StrEnum):
    """What an example may require (`<!-- doctest: requires=… -->`)."""

    MICROK8S = "microk8s"  # the `microk8s` command itself (enable, status…)
    CALICO = "calico"  # Calico is the network plugin
    MULTI_NODE = "multi-node"
    NODE_SHELL = "node-shell"  # the commands run on a node of the cluster itself
    LOADBALANCER = "loadbalancer"  # LoadBalancer Services get an address (MetalLB)
    # The node keeps MicroK8s' files under /var/snap/microk8s (its CNI configuration and
    # plugins, Calico's state): MicroK8s itself, or the local cluster, which lays them out the
    # same way.
    MICROK8S_PATHS = "microk8s-paths"

    @classmethod
    def parse(cls, names: Iterable[str]) -> frozenset[Capability]:
        """The capabilities named; a clear error for a name that is none of them."""
        names = [n.strip() for n in names]
        unknown = [n for n in names if n not in cls._value2member_map_]
        if unknown:
            known = ", ".join(sorted(c.value for c in cls))
            raise ValueError(f"unknown capability {', '.join(unknown)}; known: {known}")
        return frozenset(cls(n) for n in names)


class ProviderKind(enum.StrEnum):
    """Where the cluster comes from (`--cluster=…`)."""

    LOCAL = "local"
    KIND = "kind"
    MICROK8S = "microk8s"
    EXISTING = "existing"
    NONE = "none"  # no cluster at all: the harness's own tests

    @property
    def has_cluster(self) -> bool:
        return self is not ProviderKind.NONE


# Network plugins recognised by their node agent's DaemonSet.
NETWORK_PLUGIN_DAEMONSETS = {
    "calico-node": "calico",
    "cilium": "cilium",
    "kindnet": "kindnet",
    "kube-flannel-ds": "flannel",
    "weave-net": "weave",
    "antrea-agent": "antrea",
    "kube-router": "kube-router",
}


@dataclass(frozen=True)
class ClusterInfo:
    provider: ProviderKind
    kubeconfig: Path  # self-contained, the chosen context as current context
    capabilities: frozenset[Capability]
    server_version: str  # gitVersion of the API server ("" without a cluster)
    network_plugin: str  # "bridge", "calico", "kindnet"…, "unknown" ("" without a cluster)
    nodes: int
    context: str | None = None

    @property
    def has_cluster(self) -> bool:
        return self.provider.has_cluster

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (handed to pytest-xdist workers)."""
        return {
            "provider": self.provider.value,
            "kubeconfig": str(self.kubeconfig),
            "capabilities": sorted(c.value for c in self.capabilities),
            "server_version": self.server_version,
            "network_plugin": self.network_plugin,
            "nodes": self.nodes,
            "context": self.context,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClusterInfo:
        return cls(
            provider=ProviderKind(data["provider"]),
            kubeconfig=Path(data["kubeconfig"]),
            capabilities=Capability.parse(data["capabilities"]),
            server_version=data["server_version"],
            network_plugin=data["network_plugin"],
            nodes=int(data["nodes"]),
            context=data.get("context"),
        )


def detected(
    provider: ProviderKind,
    kubeconfig: Path,
    *,
    server_version: str,
    nodes: Iterable[str],
    daemonsets: Iterable[str],
    capabilities: Iterable[Capability] = (),
    cni_config_plugin: str = "",
    context: str | None = None,
) -> ClusterInfo:
    """The `ClusterInfo` of a running cluster from what it shows: its node names, its
    DaemonSet names (a network plugin's node agent) and, when the provider can read it on
    the node, the first plugin of the node's CNI configuration. Several nodes and Calico
    add their capabilities to those the provider knows it has."""
    node_names = list(nodes)
    agents = [name.rsplit("/", 1)[-1] for name in daemonsets]
    plugin = next(
        (NETWORK_PLUGIN_DAEMONSETS[a] for a in agents if a in NETWORK_PLUGIN_DAEMONSETS), ""
    )
    plugin = plugin or cni_config_plugin or "unknown"
    caps = set(capabilities)
    if len(node_names) > 1:
        caps.add(Capability.MULTI_NODE)
    if plugin == "calico":
        caps.add(Capability.CALICO)
    return ClusterInfo(
        provider=provider,
        kubeconfig=kubeconfig,
        capabilities=frozenset(caps),
        server_version=server_version,
        network_plugin=plugin,
        nodes=len(node_names),
        context=context,
    )
