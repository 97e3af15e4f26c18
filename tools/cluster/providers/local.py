"""The project's local cluster (tools/cluster/local), started or found by its lifecycle.

`up` is idempotent; the doctest never runs `down` (the cluster is shared; `nox -s verify`
tears it down at the very end).
"""

from __future__ import annotations

from dataclasses import replace

from tools.cluster.contract import ClusterInfo, ProviderError, ProviderKind
from tools.cluster.providers.base import Provider


class LocalProvider(Provider):
    kind = ProviderKind.LOCAL

    def start(self) -> ClusterInfo:
        # Imported here: the other providers never need the local cluster's modules.
        from tools.cluster.local import lifecycle

        try:
            info = lifecycle.up(self.progress)
        # What `up` raises on a host or a start it cannot handle (preflight, a component
        # that fails, the build): all say what went wrong.
        except (RuntimeError, OSError, ValueError) as exc:
            raise ProviderError(
                f"--cluster=local: the local cluster did not start ({exc}); "
                "use --cluster=existing --context NAME, microk8s or kind"
            ) from exc
        return replace(info, capabilities=info.capabilities | self.extra)
