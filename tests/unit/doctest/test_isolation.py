"""Namespaces, page kubeconfigs, the leak check and the exclusive-page lock (no cluster)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest
import yaml

from tools.doctest.isolation import (
    ObjectRef,
    PageLock,
    _fingerprint,
    leaks,
    namespace_for,
    page_kubeconfig,
    split,
)


def test_namespace_names_are_dns_labels(tmp_path: Path) -> None:
    docs = tmp_path / "docs/fr"
    assert namespace_for(docs / "07-x/03-dns-interne-avec-coredns.md", docs) == (
        "doctest-03-dns-interne-avec-coredns"
    )
    assert namespace_for(docs / "07-reseau-kubernetes-interne/index.md", docs) == (
        "doctest-07-reseau-kubernetes-interne"
    )
    long = namespace_for(docs / ("x" * 80 + ".md"), docs)
    assert len(long) <= 63 and long.startswith("doctest-x") and not long.endswith("-")
    assert namespace_for(docs / "Pages_É.md", docs) == "doctest-pages"


def test_page_kubeconfig_defaults_to_the_page_namespace(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.write_text(
        yaml.safe_dump(
            {
                "current-context": "b",
                "contexts": [
                    {"name": "a", "context": {"cluster": "c"}},
                    {"name": "b", "context": {"cluster": "c", "namespace": "kube-system"}},
                ],
            }
        )
    )
    out = yaml.safe_load(page_kubeconfig(base, "doctest-p", tmp_path / "page").read_text())
    assert out["contexts"][1]["context"]["namespace"] == "doctest-p"
    assert "namespace" not in out["contexts"][0]["context"]
    assert oct((tmp_path / "page").stat().st_mode & 0o777) == "0o600"


def ref(kind: str, ns: str, name: str, fp: str = "x") -> ObjectRef:
    return ObjectRef(kind, ns, name, fp)


def test_leaks_created_changed_deleted_and_folded_namespaces() -> None:
    before = {
        "1": ref("ConfigMap", "kube-system", "coredns", "old"),
        "2": ref("ClusterRole", "", "view"),
        "3": ref("Namespace", "", "ancien"),
        "4": ref("Service", "ancien", "web"),
    }
    after = {
        "1": ref("ConfigMap", "kube-system", "coredns", "new"),
        "2": ref("ClusterRole", "", "view"),
        "5": ref("Namespace", "", "labo"),
        "6": ref("Pod", "labo", "outils"),
        "7": ref("ConfigMap", "labo", "kube-root-ca.crt"),
        "8": ref("ClusterRole", "", "lecteur"),
    }
    assert [str(c) for c in leaks(before, after)] == [
        "changed and not restored: ConfigMap kube-system/coredns",
        "created and left behind: ClusterRole lecteur",
        "created and left behind: Namespace labo (and 2 objects in it)",
        "deleted: Namespace ancien (and 1 objects in it)",
    ]
    assert leaks(before, dict(before)) == []


def test_changes_the_page_never_names_are_set_aside() -> None:
    changes = leaks(
        {}, {"1": ref("Namespace", "", "rk8s-test-21defe"), "2": ref("ClusterRole", "", "lecteur")}
    )
    mine, others = split(changes, "microk8s kubectl create clusterrole lecteur --verb=get")
    assert [c.ref.name for c in mine] == ["lecteur"]
    assert [c.ref.name for c in others] == ["rk8s-test-21defe"]
    # A name must appear as a word: "web" is not named by "webhook".
    (web,) = leaks({}, {"3": ref("Namespace", "", "web")})
    assert not web.named_in("a webhook") and web.named_in("curl http://web.web.svc")


def test_fingerprint_ignores_status_and_bookkeeping() -> None:
    obj = {
        "kind": "Deployment",
        "metadata": {"name": "coredns", "resourceVersion": "1", "generation": 1,
                     "annotations": {"deployment.kubernetes.io/revision": "1"}},
        "spec": {"replicas": 2, "template": {"metadata": {"annotations": {}}}},
        "status": {"readyReplicas": 2},
    }  # fmt: skip
    same = {
        "kind": "Deployment",
        "metadata": {"name": "coredns", "resourceVersion": "9", "generation": 3,
                     "annotations": {"deployment.kubernetes.io/revision": "2"}},
        "spec": {"replicas": 2, "template": {"metadata": {"annotations": {
            "kubectl.kubernetes.io/restartedAt": "2026-11-26T17:00:00Z"}}}},
        "status": {"readyReplicas": 0},
    }  # fmt: skip
    assert _fingerprint(obj) == _fingerprint(same)
    scaled = {**obj, "spec": {**obj["spec"], "replicas": 0}}
    assert _fingerprint(obj) != _fingerprint(scaled)


def test_exclusive_lock_excludes_shared_holders(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    lock = PageLock(tmp_path / "pages.lock")
    assert lock.acquire(exclusive=False, who="a.md") < 1
    probe = os.open(tmp_path / "pages.lock", os.O_RDWR)
    try:
        fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)  # another page may share it
        fcntl.flock(probe, fcntl.LOCK_UN)
        with pytest.raises(BlockingIOError):  # an exclusive page must wait
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.release()
        exclusive = PageLock(tmp_path / "pages.lock")
        exclusive.acquire(exclusive=True, who="dns.md")
        assert "dns.md" in (tmp_path / "pages.holder").read_text()
        with pytest.raises(BlockingIOError):  # and nobody runs beside it
            fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)
        exclusive.release()
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(probe)


def test_one_lock_per_api_server(tmp_path: Path) -> None:
    from tools.cluster.contract import ClusterInfo, ProviderKind
    from tools.doctest.plugin import _cluster_key

    def key(server: str, token: str) -> str:
        path = tmp_path / f"{server.replace('/', '_')}-{token}"
        path.write_text(
            yaml.safe_dump(
                {
                    "current-context": "c",
                    "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
                    "clusters": [{"name": "k", "cluster": {"server": server}}],
                    "users": [{"name": "u", "user": {"token": token}}],
                }
            )
        )
        return _cluster_key(ClusterInfo(ProviderKind.LOCAL, path, frozenset(), "", "", 1))

    # New credentials after a restart of the same cluster: still the same lock.
    assert key("https://10.152.182.1:6443", "a") == key("https://10.152.182.1:6443", "b")
    assert key("https://10.152.182.1:6443", "a") != key("https://127.0.0.1:40123", "a")
