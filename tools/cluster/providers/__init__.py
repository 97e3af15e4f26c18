"""Cluster providers for the doctest: where the pages' commands run.

`--cluster=local|kind|microk8s|existing|none`, or automatic (DESIGN §4, plus MicroK8s):
an explicit flag wins; else a kubeconfig context the user names (`--context`); else MicroK8s
when its command is installed; else kind when `kind` and a Docker engine answer; else the
local cluster (Linux, root).  Each provider gives a `ClusterInfo` whose kubeconfig is a
self-contained file with the chosen context as current context.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from tools.cluster.providers.base import ClusterInfo, Provider, ProviderError

PROVIDERS = ("local", "kind", "microk8s", "existing", "none")

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


def choose(cluster: str | None, context: str | None) -> tuple[str, str]:
    """(provider name, why) following the selection order above."""
    if cluster and cluster != "auto":
        if cluster not in PROVIDERS:
            raise ProviderError(
                f"unknown cluster provider {cluster!r}; one of {', '.join(PROVIDERS)}"
            )
        return cluster, "--cluster"
    if context:
        return "existing", f"--context {context}"
    if shutil.which("microk8s"):
        return "microk8s", "the microk8s command is installed"
    if shutil.which("kind") and _docker_answers():
        return "kind", "kind and a Docker engine answer"
    if platform.system() == "Linux" and os.geteuid() == 0:
        return "local", "Linux as root, no other cluster found"
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
    if name == "existing":
        from tools.cluster.providers.existing import ExistingProvider

        return ExistingProvider(workdir, context=context, extra=capabilities, progress=progress)
    if name == "microk8s":
        from tools.cluster.providers.microk8s import MicroK8sProvider

        return MicroK8sProvider(workdir, extra=capabilities, progress=progress)
    if name == "kind":
        from tools.cluster.providers.kind import KindProvider

        return KindProvider(workdir, extra=capabilities, progress=progress)
    if name == "local":
        from tools.cluster.providers.local import LocalProvider

        return LocalProvider(workdir, extra=capabilities, progress=progress)
    if name == "none":
        from tools.cluster.providers.base import NoCluster

        return NoCluster(workdir, extra=capabilities, progress=progress)
    raise ProviderError(f"unknown cluster provider {name!r}; one of {', '.join(PROVIDERS)}")
