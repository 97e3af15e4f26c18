"""Fixtures of the cluster tests: the running local cluster (`up` is idempotent) and a
throwaway namespace per test module."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.cluster.kube import Kube
from tools.cluster.contract import ClusterInfo
from tools.cluster.local import lifecycle


@pytest.fixture(scope="session")
def cluster() -> ClusterInfo:
    """The local cluster: started if needed (idempotent), never stopped here."""
    return lifecycle.up(lambda line: print(line, flush=True))


@pytest.fixture(scope="session")
def kube(cluster: ClusterInfo) -> Kube:
    return Kube(cluster.kubeconfig)


@pytest.fixture(scope="module")
def ns(cluster: ClusterInfo) -> Iterator[Kube]:
    """A fresh namespace for one test module, deleted afterwards."""
    name = f"rk8s-test-{uuid.uuid4().hex[:6]}"
    admin = Kube(cluster.kubeconfig)
    admin.run("create", "namespace", name)
    scoped = Kube(cluster.kubeconfig, name)
    # Pods are refused until the namespace's default ServiceAccount exists.
    scoped.wait_for(
        "the default ServiceAccount",
        lambda: "default" in admin.run("get", "serviceaccounts", "-n", name, "-o", "name"),
        30,
    )
    yield scoped
    if not os.environ.get("RESEAU_K8S_KEEP_TEST_NAMESPACES"):
        admin.run("delete", "namespace", name, "--wait=false")
