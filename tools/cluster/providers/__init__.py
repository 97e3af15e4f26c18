"""Cluster providers for the doctest: where the pages' commands run.

`--cluster=local|kind|microk8s|existing|none`, or automatic: an explicit flag wins; else a
kubeconfig context the user names (`--context`); else MicroK8s when its command is
installed; else kind when `kind` and a Docker engine answer; else the local cluster (Linux,
root).  Each provider gives a `ClusterInfo` whose kubeconfig is a
self-contained file with the chosen context as current context.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from tools.cluster.contract import Capability, ClusterInfo, ProviderError, ProviderKind
from tools.cluster.providers.base import Provider

PROVIDERS = tuple(kind.value for kind in ProviderKind)

__all__ = ["PROVIDERS", "ClusterInfo", "Provider", "ProviderError", "choose", "make"]


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        proc = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and bool(proc.stdout.strip())


def _kind(name: str) -> ProviderKind:
    try:
        return ProviderKind(name)
    except ValueError:
        raise ProviderError(
            f"unknown cluster provider {name!r}; one of {', '.join(PROVIDERS)}"
        ) from None


def choose(cluster: str | None, context: str | None) -> tuple[ProviderKind, str]:
    """(provider, why) following the selection order above."""
    if cluster and cluster != "auto":
        return _kind(cluster), "--cluster"
    if context:
        return ProviderKind.EXISTING, f"--context {context}"
    if shutil.which("microk8s"):
        return ProviderKind.MICROK8S, "the microk8s command is installed"
    if shutil.which("kind") and _docker_answers():
        return ProviderKind.KIND, "kind and a Docker engine answer"
    if platform.system() == "Linux" and os.geteuid() == 0:
        return ProviderKind.LOCAL, "Linux as root, no other cluster found"
    raise ProviderError(
        "no cluster: pass --context NAME for an existing cluster, install MicroK8s or kind "
        "(with Docker), or run as root on Linux for the local cluster"
    )


def make(
    name: str,
    workdir: Path,
    *,
    context: str | None = None,
    capabilities: frozenset[str] = frozenset(),
    progress: Callable[[str], None] = print,
) -> Provider:
    """Build the provider `name`; `capabilities` are added to what it detects."""
    kind = _kind(name)
    try:
        extra = Capability.parse(capabilities)
    except ValueError as exc:
        raise ProviderError(f"--capabilities: {exc}") from None
    if kind is ProviderKind.EXISTING:
        from tools.cluster.providers.existing import ExistingProvider

        return ExistingProvider(workdir, context=context, extra=extra, progress=progress)
    if kind is ProviderKind.MICROK8S:
        from tools.cluster.providers.microk8s import MicroK8sProvider

        return MicroK8sProvider(workdir, extra=extra, progress=progress)
    if kind is ProviderKind.KIND:
        from tools.cluster.providers.kind import KindProvider

        return KindProvider(workdir, extra=extra, progress=progress)
    if kind is ProviderKind.LOCAL:
        from tools.cluster.providers.local import LocalProvider

        return LocalProvider(workdir, extra=extra, progress=progress)
    from tools.cluster.providers.base import NoCluster

    return NoCluster(workdir, extra=extra, progress=progress)
