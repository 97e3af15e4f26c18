"""What every provider shares: the `Provider` interface, and no cluster at all."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tools.cluster.contract import Capability, ClusterInfo, ProviderKind
from tools.cluster.private import write_private


class Provider:
    """Start (or find) a cluster, and stop what was started (nothing, for shared clusters)."""

    kind: ProviderKind

    def __init__(
        self,
        workdir: Path,
        *,
        extra: frozenset[Capability] = frozenset(),
        progress: Callable[[str], None] = print,
    ):
        self.workdir = workdir
        self.extra = extra
        self.progress = progress

    def start(self) -> ClusterInfo:
        raise NotImplementedError

    def stop(self) -> None:
        """Most clusters are not ours to remove; kind's throwaway cluster is."""


class NoCluster(Provider):
    """`--cluster=none`: pages run with no cluster at all (the harness's own tests)."""

    kind = ProviderKind.NONE

    def start(self) -> ClusterInfo:
        # An empty kubeconfig: any kubectl call fails fast instead of finding a real cluster
        # through ~/.kube/config.
        path = write_private(self.workdir / "kubeconfig", "apiVersion: v1\nkind: Config\n")
        return ClusterInfo(self.kind, path, self.extra, "", "", 0)
