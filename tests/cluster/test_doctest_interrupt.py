"""Ctrl-C in the middle of the DNS page, the one that stops CoreDNS and edits its Corefile:
when the run exits, the cluster is as it was (no namespace but its own, CoreDNS Ready with
its original Corefile), and the next run of the page passes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cluster.kube import Kube

pytestmark = pytest.mark.cluster

REPO_ROOT = Path(__file__).resolve().parents[2]
PAGE = "docs/fr/07-reseau-kubernetes-interne/03-dns-interne-avec-coredns.md"
PAGE_NAMESPACE = "doctest-03-dns-interne-avec-coredns"
INTO_THE_PAGE = 45  # seconds


def _as_in_a_terminal() -> None:
    # A command started in the background by a script inherits an ignored SIGINT (and Python
    # then keeps ignoring it): a terminal's foreground command does not.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _doctest(report: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "pytest", "-p", "no:doctest", "-p", "tools.doctest.plugin",
        "-p", "no:cacheprovider", "docs/fr", "--cluster=local", "--pages", PAGE,
        "--doctest-report", str(report), *args,
    ]  # fmt: skip


def _namespaces(kube: Kube) -> set[str]:
    listed = kube.run("get", "namespaces", "-o", "name").split()
    names = {n.removeprefix("namespace/") for n in listed}
    # Other cluster tests' throwaway namespaces are theirs, not the doctest's.
    return {n for n in names if not n.startswith("rk8s-test-")}


def _coredns(kube: Kube) -> tuple[str, int]:
    corefile = kube.json("get", "configmap", "coredns", "-n", "kube-system")["data"]["Corefile"]
    replicas = kube.json("get", "deployment", "coredns", "-n", "kube-system")["spec"]["replicas"]
    return corefile, replicas


def test_ctrl_c_in_the_dns_page_leaves_the_cluster_as_it_was(kube: Kube, tmp_path: Path) -> None:
    namespaces = _namespaces(kube)
    corefile, replicas = _coredns(kube)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    env.pop("PYTEST_ADDOPTS", None)
    log = (tmp_path / "interrupted.log").open("w")
    run = subprocess.Popen(
        # --keep-going: the page must still be running 45 s in, even if an example fails.
        _doctest(tmp_path / "interrupted.json", "--keep-going"),
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a terminal's foreground group: Ctrl-C reaches all of it
        preexec_fn=_as_in_a_terminal,
    )
    try:
        kube.wait_for(
            "the page to start",
            lambda: PAGE_NAMESPACE in _namespaces(kube) or run.poll() is not None,
            180,
        )
        assert run.poll() is None, (tmp_path / "interrupted.log").read_text()
        time.sleep(INTO_THE_PAGE)
        os.killpg(run.pid, signal.SIGINT)
        code = run.wait(timeout=600)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
        log.close()
    output = (tmp_path / "interrupted.log").read_text()
    print(output)
    assert code == 2, output  # pytest's "interrupted"
    assert "FileNotFoundError" not in output

    # The cluster, when the run has exited: nothing left, CoreDNS as it was, and Ready.
    assert _namespaces(kube) == namespaces
    assert _coredns(kube) == (corefile, replicas)
    kube.wait_for(
        "CoreDNS to be Ready",
        lambda: (
            kube.json("get", "deployment", "coredns", "-n", "kube-system")
            .get("status", {})
            .get("readyReplicas")
            == replicas
        ),
        120,
    )

    again = subprocess.run(
        _doctest(tmp_path / "again.json"),
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    report = json.loads((tmp_path / "again.json").read_text())
    page = report["pages"][PAGE]
    assert page["result"] == "passed", again.stdout[-5000:]
