"""Kubeconfig files: one per client identity, each self-contained (certificates embedded), so
that the admin kubeconfig can be copied or read by other tools without the PKI directory."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from tools.cluster.local import pki as pki_module
from tools.cluster.local.pki import Pki
from tools.cluster.local.settings import Node
from tools.cluster.private import write_private

CLUSTER = "reseau-k8s"

# Which certificate each kubeconfig presents: kubeconfig name -> PKI certificate name.
IDENTITIES: dict[str, str] = {
    "admin": "admin",
    "controller-manager": "controller-manager",
    "scheduler": "scheduler",
    "kube-proxy": "kube-proxy",
    "kubelet": "kubelet-client",
}


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def render(server: str, pki: Pki, cert_name: str, user: str) -> dict[str, Any]:
    """A kubeconfig document for `user`, presenting `pki`'s `cert_name` certificate."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CLUSTER,
                "cluster": {
                    "server": server,
                    "certificate-authority-data": _b64(pki.ca_cert),
                },
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": _b64(pki.cert(cert_name)),
                    "client-key-data": _b64(pki.key(cert_name)),
                },
            }
        ],
        "contexts": [{"name": CLUSTER, "context": {"cluster": CLUSTER, "user": user}}],
        "current-context": CLUSTER,
        "preferences": {},
    }


def kubelet_name(node: Node) -> str:
    """The kubeconfig name of a node's kubelet (the first node's is `kubelet`)."""
    return "kubelet" if node.is_host else f"kubelet-{node.name}"


def write_all(
    directory: Path, server: str, pki: Pki, nodes: Sequence[Node] = ()
) -> dict[str, Path]:
    """Write one kubeconfig per identity, and one per kubelet of `nodes` beyond the first;
    returns name -> path."""
    identities = dict(IDENTITIES)
    for node in nodes:
        identities[kubelet_name(node)] = pki_module.kubelet_client_cert(node)
    paths: dict[str, Path] = {}
    for name, cert_name in identities.items():
        path = directory / f"{name}.conf"
        document = render(server, pki, cert_name, user=name)
        write_private(path, yaml.safe_dump(document, sort_keys=False).encode())
        paths[name] = path
    return paths
