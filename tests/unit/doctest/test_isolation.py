"""Namespaces, page kubeconfigs, the leak check and the exclusive-page lock (no cluster)."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest
import yaml

from tools.doctest import isolation
from tools.doctest.isolation import (
    JOURNAL,
    Change,
    ObjectRef,
    PageLock,
    _fingerprint,
    encode_journal,
    journal_changes,
    leaks,
    namespace_for,
    namespaces_created_by,
    page_kubeconfig,
    read_journal,
    ref_of,
    restorable,
    split,
    undo,
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


def _obj(kind: str, ns: str, name: str, uid: str, **content: object) -> dict:
    meta = {"name": name, "uid": uid, "resourceVersion": "7"}
    if ns:
        meta["namespace"] = ns
    return {"apiVersion": "v1", "kind": kind, "metadata": meta, **content}


def test_journal_round_trip_and_its_size_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    saved = {"u1": restorable(_obj("ConfigMap", "kube-system", "coredns", "u1", data={"a": "1"}))}
    assert "resourceVersion" not in saved["u1"]["metadata"]
    text = encode_journal("docs/fr/p.md", saved)
    assert read_journal({JOURNAL: text}) == {"page": "docs/fr/p.md", "saved": saved}
    assert read_journal({JOURNAL: "not base64 gzip"}) is None
    assert read_journal({}) is None
    monkeypatch.setattr(isolation, "JOURNAL_BUDGET", 10)
    small = read_journal({JOURNAL: encode_journal("docs/fr/p.md", saved)})
    assert small == {"page": "docs/fr/p.md", "saved": {"u1": None}}


def test_what_a_dead_run_changed_comes_from_its_journal() -> None:
    before = _obj("ConfigMap", "kube-system", "coredns", "u1", data={"Corefile": "a"})
    journal = {"page": "p.md", "saved": {"u1": restorable(before), "u2": None}}
    now = [
        _obj("ConfigMap", "kube-system", "coredns", "u1", data={"Corefile": "a\nlog"}),
        _obj("Namespace", "", "labo-dns", "u3"),  # named by the page, new: its own
        _obj("Namespace", "", "ailleurs", "u4"),  # someone else's
        _obj("Service", "default", "kubernetes", "u2"),  # existed before (UID known)
    ]
    text = "microk8s kubectl create namespace labo-dns; coredns; kubernetes"
    changes = [str(c) for c in journal_changes(journal, now, text)]
    assert changes == [
        "changed and not restored: ConfigMap kube-system/coredns",
        "created and left behind: Namespace labo-dns",
    ]


def test_namespaces_a_page_creates_are_known_by_name() -> None:
    text = (
        "$ microk8s kubectl create namespace labo-dns\n"
        "```yaml\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: boutique\n```\n"
        "kubectl create ns doctest-x\n"
    )
    assert namespaces_created_by(text) == {"labo-dns", "boutique"}


FAKE_KUBECTL = """#!/bin/bash
# Logs each call with what it read on stdin; `get -f -` answers the object as it is now.
input=$(cat)
printf '%s\\n%s\\n---\\n' "$*" "$input" >> "$FAKE_LOG"
case "$*" in
  *" get -f - -o json") echo '{"metadata": {"resourceVersion": "42",
    "annotations": {"deployment.kubernetes.io/revision": "5"}}}' ;;
esac
"""


def test_undo_restores_recreates_and_deletes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "kubectl"
    fake.write_text(FAKE_KUBECTL)
    fake.chmod(0o755)
    monkeypatch.setenv("RESEAU_K8S_KUBECTL", str(fake))
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "log"))
    deploy = _obj("Deployment", "kube-system", "coredns", "u1", spec={"replicas": 1})
    deploy["apiVersion"] = "apps/v1"
    deploy["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "1", "x": "y"}
    role = _obj("ClusterRole", "", "lecteur", "u2", rules=[])
    role["apiVersion"] = "rbac.authorization.k8s.io/v1"
    saved = {"u1": restorable(deploy), "u2": restorable(role)}
    changes = [
        Change("created and left behind", ref_of(_obj("Namespace", "", "labo-dns", "u3"))),
        Change("created and left behind", ref_of(_obj("ConfigMap", "kube-system", "x", "u4"))),
        Change("deleted", ref_of(role)),
        Change("changed and not restored", ref_of(deploy)),
    ]
    done, failed = undo(tmp_path / "kubeconfig", changes, saved)
    assert failed == []
    assert done == [
        "restored Deployment kube-system/coredns",
        "recreated ClusterRole lecteur",
        "deleted ConfigMap kube-system/x",
        "deleted Namespace labo-dns",
    ]
    calls = [c.split("\n", 1) for c in (tmp_path / "log").read_text().split("\n---\n") if c]
    replace = next(json.loads(body) for argv, body in calls if " replace -f -" in argv)
    assert replace["spec"] == {"replicas": 1}
    assert replace["metadata"]["resourceVersion"] == "42"  # the current one
    # The Deployment's revision stays what the controller says now; the rest is the copy.
    assert replace["metadata"]["annotations"] == {
        "deployment.kubernetes.io/revision": "5",
        "x": "y",
    }
    assert "uid" not in replace["metadata"]
    create = next(json.loads(body) for argv, body in calls if " create -f -" in argv)
    assert create["kind"] == "ClusterRole" and "uid" not in create["metadata"]
    delete = next(json.loads(body) for argv, body in calls if " delete -f -" in argv)
    assert delete == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": "kube-system"},
    }
    # A namespace goes without waiting, its Pods given one second instead of thirty.
    argvs = [argv for argv, _ in calls]
    assert any(" delete namespace labo-dns --ignore-not-found --wait=false" in a for a in argvs)
    assert any(" delete pods --all -n labo-dns --grace-period=1" in a for a in argvs)
