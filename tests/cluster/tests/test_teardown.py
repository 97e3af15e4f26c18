"""After `down`, nothing of the cluster remains: no process, mount, link, route, iptables
chain, cgroup or state file, and every sysctl it touched has its previous value back.

It stops the shared cluster, so it runs only when asked (RESEAU_K8S_TEARDOWN_TEST=1, as
`nox -s verify` does at the very end, after the doctest).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cluster.local import lifecycle, network, settings, state, supervisor, teardown
from tests.cluster.local.settings import Layout

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(
        os.environ.get("RESEAU_K8S_TEARDOWN_TEST") != "1",
        reason="stops the shared cluster: set RESEAU_K8S_TEARDOWN_TEST=1 (nox -s verify does)",
    ),
]


def test_down_leaves_nothing_behind(cluster: lifecycle.LocalCluster) -> None:
    layout = Layout(settings.state_dir())
    journal = state.entries(layout)
    records = supervisor.records(layout)
    sysctls = {e.data["key"]: e.data["previous"] for e in journal if e.kind == "sysctl"}
    # What is about to be torn down was really there.
    assert {r.name for r in records} >= {"etcd", "kube-apiserver", "containerd", "kubelet"}
    assert network.link_exists(settings.BRIDGE)
    assert settings.GUARD_CHAIN in network.chains("filter")

    lifecycle.down(lambda line: print(line, flush=True))

    assert teardown.leftovers(layout, cluster.node_ip) == []
    for record in records:
        assert not supervisor.is_same_process(record), record
        assert not supervisor.session_members(record.pid), record
    for key, previous in sysctls.items():
        assert network.read_sysctl(key) == previous, key
    log_links = Path("/var/log/containers")
    if log_links.is_dir():
        assert not [
            p for p in log_links.iterdir() if os.readlink(p).startswith(str(layout.pod_logs))
        ]
    cni_results = Path("/var/lib/cni/results")
    if cni_results.is_dir():
        assert not list(cni_results.glob(f"{settings.CNI_NETWORK}-*"))
    # A second `down` finds nothing to do and does not fail.
    lifecycle.down(lambda line: None)
