"""The project's local cluster (issue "Local cluster"), through its lifecycle module.

Imported lazily: the doctest works on other providers while the local cluster is not there.
`up` is idempotent; the doctest never runs `down` (the cluster is shared; `nox -s verify`
tears it down at the very end).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from tools.cluster.providers.base import ClusterInfo, Provider, ProviderError, server_version


class LocalProvider(Provider):
    name = "local"

    def start(self) -> ClusterInfo:
        try:
            lifecycle: Any = importlib.import_module("tools.cluster.local.lifecycle")
        except ImportError as exc:
            raise ProviderError(
                f"--cluster=local: the local cluster is not available ({exc}); "
                "use --cluster=existing --context NAME, microk8s or kind"
            ) from exc
        info = lifecycle.up(self.progress)
        kubeconfig = Path(_field(info, "kubeconfig"))
        caps = frozenset(_field(info, "capabilities", frozenset())) | self.extra
        version = _field(info, "server_version", "") or server_version(kubeconfig)
        return ClusterInfo(self.name, kubeconfig, caps, str(version))


def _field(info: Any, name: str, default: Any = None) -> Any:
    """`up` returns ClusterInfo-compatible data: an object or a mapping."""
    value = info.get(name, default) if isinstance(info, dict) else getattr(info, name, default)
    if value is None:
        raise ProviderError(f"tools.cluster.local.lifecycle.up() gave no {name!r}")
    return value
