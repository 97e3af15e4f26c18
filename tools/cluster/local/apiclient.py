"""A minimal HTTPS client with client certificates, for readiness checks and for creating the
few objects `up` needs, without waiting on kubectl's start-up for each call."""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Where each kind `up` creates lives in the API (namespaced kinds take the namespace).
COLLECTIONS = {
    ("v1", "ServiceAccount"): "/api/v1/namespaces/{ns}/serviceaccounts",
    ("v1", "ConfigMap"): "/api/v1/namespaces/{ns}/configmaps",
    ("v1", "Service"): "/api/v1/namespaces/{ns}/services",
    ("apps/v1", "Deployment"): "/apis/apps/v1/namespaces/{ns}/deployments",
    ("apps/v1", "DaemonSet"): "/apis/apps/v1/namespaces/{ns}/daemonsets",
    ("policy/v1", "PodDisruptionBudget"): "/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets",
    (
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
    ): "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
    ): "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
    ): "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
}


class ApiError(RuntimeError):
    def __init__(self, status: int, body: str) -> None:
        self.status = status
        super().__init__(f"HTTP {status}: {body[:300]}")


@dataclass(frozen=True)
class Client:
    """Talks to one HTTPS endpoint (apiserver, etcd) as one identity."""

    base_url: str
    ca: Path
    cert: Path | None = None
    key: Path | None = None
    timeout: float = 2.0

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca))
        if self.cert and self.key:
            context.load_cert_chain(str(self.cert), str(self.key))
        return context

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, str]:
        url = urlsplit(self.base_url)
        conn = http.client.HTTPSConnection(
            url.hostname or "", url.port, timeout=self.timeout, context=self._context()
        )
        try:
            headers = {"Accept": "application/json"}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", errors="replace")
        finally:
            conn.close()

    def get(self, path: str) -> str:
        status, text = self.request("GET", path)
        if status != 200:
            raise ApiError(status, text)
        return text

    def get_json(self, path: str) -> Any:
        return json.loads(self.get(path))

    def create(self, obj: dict[str, Any]) -> bool:
        """Create `obj`; False if it already exists (a re-run of `up` on the same cluster)."""
        kind = (obj["apiVersion"], obj["kind"])
        if kind not in COLLECTIONS:
            raise ApiError(0, f"{obj['kind']} {obj['metadata']['name']}: no API path known")
        template = COLLECTIONS[kind]
        path = template.format(ns=obj["metadata"].get("namespace", "default"))
        status, text = self.request("POST", path, obj)
        if status == 409:
            return False
        if status not in (200, 201):
            raise ApiError(status, text)
        return True
