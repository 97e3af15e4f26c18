"""Cluster providers, without a cluster: fake `kind`, `microk8s`, `docker` and `kubectl`.

kind and MicroK8s cannot run on the project's machine, so these tests pin the exact
commands each provider runs and how it reads their answers.  Each fake logs its argv to a
file and prints a canned answer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.cluster import providers
from tools.cluster.contract import (
    Capability,
    ClusterInfo,
    ProviderError,
    ProviderKind,
)
from tools.cluster.local import lifecycle

KUBECONFIG = """\
apiVersion: v1
kind: Config
current-context: ctx
contexts:
- name: ctx
  context: {cluster: c, user: u}
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: u
  user: {token: t}
"""

FAKE = """#!/bin/bash
printf '%s\\n' "$(basename "$0") $*" >> "{log}"
{body}
"""

KUBECTL_BODY = r"""
case "$*" in
  *"get --raw /version"*) echo '{"gitVersion": "v1.37.2"}' ;;
  *"get nodes -o name"*) printf 'node/a\n%s' "${FAKE_SECOND_NODE:+node/b}" ;;
  *"get daemonsets -A -o name"*) echo "${FAKE_DAEMONSETS:-daemonset.apps/kube-proxy}" ;;
  *"config view"*) cat "$FAKE_KUBECONFIG" ;;
  *"version --client"*) echo '{"clientVersion": {"gitVersion": "v1.37.1"}}' ;;
  *) echo "unexpected kubectl $*" >&2; exit 1 ;;
esac
"""

KIND_BODY = r"""
if [ "$1" = create ]; then
  while [ $# -gt 0 ]; do
    if [ "$1" = --kubeconfig ]; then cat "$FAKE_KUBECONFIG" > "$2"; fi
    if [ "$1" = --config ]; then cp "$2" "$FAKE_DIR/kind-config-seen.yaml"; fi
    shift
  done
fi
exit "${FAKE_KIND_EXIT:-0}"
"""

MICROK8S_BODY = r"""
case "$1" in
  status) if [ "$2" = --addon ]; then echo "${FAKE_METALLB:-disabled}"; fi ;;
  config) cat "$FAKE_KUBECONFIG" ;;
esac
"""


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    (tmp_path / "kubeconfig.src").write_text(KUBECONFIG)
    for name, body in (
        ("kubectl", KUBECTL_BODY),
        ("kind", KIND_BODY),
        ("microk8s", MICROK8S_BODY),
        ("docker", 'echo "28.2.2"'),
    ):
        path = bin_dir / name
        path.write_text(FAKE.format(log=log, body=body))
        path.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("RESEAU_K8S_KUBECTL", str(bin_dir / "kubectl"))
    monkeypatch.setenv("FAKE_KUBECONFIG", str(tmp_path / "kubeconfig.src"))
    monkeypatch.setenv("FAKE_DIR", str(tmp_path))
    monkeypatch.delenv("KIND_NODE_IMAGE", raising=False)
    yield tmp_path


def calls(root: Path) -> list[str]:
    log = root / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def quiet(_: str) -> None:
    pass


def test_kind_creates_a_microk8s_shaped_cluster_and_deletes_it(fakes: Path) -> None:
    work = fakes / "work"
    p = providers.make("kind", work, progress=quiet)
    info = p.start()
    name = p.cluster  # type: ignore[attr-defined]
    assert name.startswith("reseau-k8s-doctest-")
    assert calls(fakes)[0] == (
        f"kind create cluster --name {name} --config {work}/kind.yaml "
        f"--kubeconfig {work}/kubeconfig --wait 180s"
    )
    config = (fakes / "kind-config-seen.yaml").read_text()
    assert 'podSubnet: "10.1.0.0/16"' in config
    assert 'serviceSubnet: "10.152.183.0/24"' in config
    assert info.provider == "kind" and info.server_version == "v1.37.2"
    assert info.capabilities == frozenset()
    assert info.kubeconfig == work / "kubeconfig"
    assert oct(info.kubeconfig.stat().st_mode & 0o777) == "0o600"
    p.stop()
    assert calls(fakes)[-1] == f"kind delete cluster --name {name} --kubeconfig {work}/kubeconfig"


def test_kind_node_image_can_be_pinned(fakes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIND_NODE_IMAGE", "kindest/node:v1.37.2")
    p = providers.make("kind", fakes / "work", progress=quiet)
    p.start()
    assert calls(fakes)[0].endswith("--wait 180s --image kindest/node:v1.37.2")
    p.stop()


def test_kind_failure_still_deletes_the_half_made_cluster(
    fakes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KIND_EXIT", "1")
    p = providers.make("kind", fakes / "work", progress=quiet)
    with pytest.raises(ProviderError, match="kind create cluster"):
        p.start()
    monkeypatch.setenv("FAKE_KIND_EXIT", "0")
    p.stop()
    assert calls(fakes)[-1].startswith("kind delete cluster --name reseau-k8s-doctest-")


def test_microk8s_uses_its_config_and_detects_capabilities(
    fakes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DAEMONSETS", "daemonset.apps/calico-node\ndaemonset.apps/x")
    monkeypatch.setenv("FAKE_SECOND_NODE", "1")
    monkeypatch.setenv("FAKE_METALLB", "enabled")
    info = providers.make("microk8s", fakes / "work", progress=quiet).start()
    assert [c for c in calls(fakes) if c.startswith("microk8s")] == [
        "microk8s status --wait-ready --timeout 120",
        "microk8s config",
        "microk8s status --addon metallb",
    ]
    assert info.capabilities == {
        "microk8s",
        "node-shell",
        "microk8s-paths",
        "calico",
        "multi-node",
        "loadbalancer",
    }
    assert (info.network_plugin, info.nodes) == ("calico", 2)
    assert info.kubeconfig.read_text() == KUBECONFIG


def test_microk8s_without_calico_or_metallb(fakes: Path) -> None:
    info = providers.make("microk8s", fakes / "work", progress=quiet).start()
    assert info.capabilities == {"microk8s", "node-shell", "microk8s-paths"}


def test_existing_context_is_flattened_into_one_file(fakes: Path) -> None:
    info = providers.make("existing", fakes / "work", context="ctx", progress=quiet).start()
    kubectl_calls = [c for c in calls(fakes) if c.startswith("kubectl")]
    assert kubectl_calls[0] == "kubectl config view --minify --flatten --raw --context ctx"
    assert info.provider == "existing" and info.context == "ctx"
    assert info.kubeconfig.read_text() == KUBECONFIG


def test_extra_capabilities_are_added(fakes: Path) -> None:
    info = providers.make(
        "existing", fakes / "work", capabilities=frozenset({"node-shell"}), progress=quiet
    ).start()
    assert info.capabilities == {"node-shell"}


def test_local_delegates_to_the_lifecycle_module(
    fakes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[object] = []

    def up(progress: object) -> ClusterInfo:
        seen.append(progress)
        return ClusterInfo(
            ProviderKind.LOCAL,
            fakes / "kubeconfig.src",
            frozenset({Capability.NODE_SHELL}),
            "v1.37.2",
            "bridge",
            1,
        )

    monkeypatch.setattr(lifecycle, "up", up)
    monkeypatch.setattr(lifecycle, "down", lambda *a: seen.append("down"))
    p = providers.make("local", fakes / "work", capabilities=frozenset({"calico"}), progress=quiet)
    info = p.start()
    assert seen == [quiet]
    assert (info.provider, info.server_version, info.network_plugin) == (
        "local",
        "v1.37.2",
        "bridge",
    )
    assert info.capabilities == {"node-shell", "calico"}
    p.stop()  # never `down`: the local cluster is shared
    assert seen == [quiet]


def test_local_failure_is_a_clear_error(fakes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def up(progress: object) -> ClusterInfo:
        raise RuntimeError("the local cluster must run as root")

    monkeypatch.setattr(lifecycle, "up", up)
    with pytest.raises(ProviderError, match=r"local cluster did not start \(.*must run as root\)"):
        providers.make("local", fakes / "work", progress=quiet).start()


def test_none_gives_an_empty_kubeconfig(tmp_path: Path) -> None:
    info = providers.make("none", tmp_path, capabilities=frozenset({"calico"})).start()
    assert info.provider == "none" and info.capabilities == {"calico"}
    assert "clusters" not in info.kubeconfig.read_text()


# -- automatic choice ----------------------------------------------------------------------


def test_explicit_flag_wins(fakes: Path) -> None:
    assert providers.choose("kind", "ctx") == ("kind", "--cluster")
    with pytest.raises(ProviderError, match="unknown cluster provider"):
        providers.choose("docker", None)


def test_context_then_microk8s_then_kind(fakes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert providers.choose("auto", "ctx")[0] == "existing"
    assert providers.choose("auto", None)[0] == "microk8s"
    (fakes / "bin" / "microk8s").unlink()
    assert providers.choose(None, None)[0] == "kind"


def test_kind_needs_a_docker_engine(fakes: Path) -> None:
    (fakes / "bin" / "microk8s").unlink()
    docker = fakes / "bin" / "docker"
    docker.write_text("#!/bin/bash\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    if os.geteuid() != 0:
        with pytest.raises(ProviderError, match="no cluster"):
            providers.choose("auto", None)
        return
    name, why = providers.choose("auto", None)
    assert name == "local" and "root" in why


# -- what a cluster shows ------------------------------------------------------------------


def test_kind_network_plugin_and_nodes_are_detected(
    fakes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DAEMONSETS", "daemonset.apps/kindnet\ndaemonset.apps/kube-proxy")
    p = providers.make("kind", fakes / "work", progress=quiet)
    info = p.start()
    assert (info.network_plugin, info.nodes, info.capabilities) == ("kindnet", 1, frozenset())
    p.stop()


def test_an_unknown_network_plugin_is_said_so(fakes: Path) -> None:
    info = providers.make("existing", fakes / "work", progress=quiet).start()
    assert info.network_plugin == "unknown"


def test_unknown_capability_names_the_known_ones(fakes: Path) -> None:
    with pytest.raises(ProviderError, match="unknown capability calicoo; known: calico, "):
        providers.make("existing", fakes / "work", capabilities=frozenset({"calicoo"}))


def test_cluster_info_survives_the_trip_to_an_xdist_worker(tmp_path: Path) -> None:
    info = ClusterInfo(
        ProviderKind.MICROK8S,
        tmp_path / "kubeconfig",
        frozenset({Capability.CALICO, Capability.MULTI_NODE}),
        "v1.37.2",
        "calico",
        3,
        context="microk8s",
    )
    assert ClusterInfo.from_dict(info.to_dict()) == info
