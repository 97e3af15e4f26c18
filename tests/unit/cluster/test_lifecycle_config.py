"""Component flags and configuration files: the host's facts, safety and MicroK8s values."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml

from tools.cluster.local import addons, components, pki, settings
from tools.cluster.local.settings import Layout

NODE_IP = "10.152.182.1"


@pytest.fixture
def ctx(tmp_path: Path) -> components.Context:
    layout = Layout(tmp_path / "state")
    return components.Context(
        layout=layout,
        pki=pki.load(layout.pki, NODE_IP),
        node_ip=NODE_IP,
        bin_dir=Path("/cache/bin"),
        runc=Path("/usr/sbin/runc"),
        pause_image="registry.k8s.io/pause:3.10.2",
    )


def _flags(argv: list[str]) -> dict[str, str]:
    return dict(a[2:].split("=", 1) for a in argv[1:] if a.startswith("--"))


def test_etcd_listens_on_loopback_with_client_certificates(ctx: components.Context) -> None:
    flags = _flags(components.etcd_argv(ctx))
    for key in ("listen-client-urls", "listen-peer-urls", "advertise-client-urls"):
        assert flags[key].startswith("https://127.0.0.1:"), key
    assert flags["client-cert-auth"] == "true"
    assert flags["peer-client-cert-auth"] == "true"


def test_apiserver_security_flags(ctx: components.Context) -> None:
    flags = _flags(components.apiserver_argv(ctx))
    assert flags["bind-address"] == NODE_IP
    assert flags["anonymous-auth"] == "false"
    assert flags["authorization-mode"] == "Node,RBAC"
    assert flags["service-cluster-ip-range"] == settings.SERVICE_CIDR == "10.152.183.0/24"
    assert flags["etcd-servers"] == "https://127.0.0.1:2379"
    assert flags["kubelet-certificate-authority"].endswith("ca.crt")
    assert flags["service-account-signing-key-file"].endswith("sa.key")


def test_apiserver_keeps_events_as_microk8s_does(ctx: components.Context) -> None:
    # 7.5 tells readers that events live 5 minutes on MicroK8s (--event-ttl=5m in its args).
    assert _flags(components.apiserver_argv(ctx))["event-ttl"] == "5m"


def test_controller_manager_allocates_no_node_pod_range(ctx: components.Context) -> None:
    # As MicroK8s: the cluster range is set, no podCIDR per node (Calico's IPAM does that).
    flags = _flags(components.controller_manager_argv(ctx))
    assert "allocate-node-cidrs" not in flags
    assert "node-cidr-mask-size" not in flags
    assert flags["cluster-cidr"] == "10.1.0.0/16"
    assert flags["bind-address"] == "127.0.0.1"


def test_kubelet_config_for_this_host(ctx: components.Context) -> None:
    config = components.kubelet_config(ctx)
    assert config["failCgroupV1"] is False
    assert config["cgroupDriver"] == "cgroupfs"
    assert config["failSwapOn"] is False
    assert config["authentication"]["anonymous"]["enabled"] is False
    assert config["authentication"]["webhook"]["enabled"] is True
    assert config["authorization"]["mode"] == "Webhook"
    assert config["readOnlyPort"] == 0
    assert config["address"] == NODE_IP
    assert config["clusterDNS"] == ["10.152.183.10"]
    assert config["clusterDomain"] == "cluster.local"
    assert config["containerRuntimeEndpoint"] == f"unix://{ctx.layout.containerd_socket}"
    assert config["oomScoreAdj"] == 0  # no CAP_SYS_RESOURCE on this host


def test_kube_proxy_leaves_sysctls_alone(ctx: components.Context) -> None:
    config = components.kube_proxy_config(ctx)
    assert config["mode"] == "iptables"
    assert config["conntrack"]["maxPerCore"] == 0
    assert config["conntrack"]["tcpEstablishedTimeout"] == "0s"
    assert config["nodePortAddresses"] == [f"{NODE_IP}/32"]
    assert config["iptables"]["localhostNodePorts"] is False
    assert config["clusterCIDR"] == settings.POD_CIDR


def test_containerd_config_keeps_state_under_the_state_directory(ctx: components.Context) -> None:
    config = tomllib.loads(components.containerd_config(ctx))
    root = str(ctx.layout.root)
    assert config["version"] == 3
    assert config["root"].startswith(root)
    assert config["state"].startswith(root)
    assert config["grpc"]["address"].startswith(root)
    assert config["imports"] == []
    assert "io.containerd.nri.v1.nri" in config["disabled_plugins"]
    cri_runtime = config["plugins"]["io.containerd.cri.v1.runtime"]
    assert cri_runtime["netns_mounts_under_state_dir"] is True
    assert cri_runtime["restrict_oom_score_adj"] is True
    options = cri_runtime["containerd"]["runtimes"]["runc"]["options"]
    assert options["SystemdCgroup"] is False
    assert options["Root"].startswith(root)
    images = config["plugins"]["io.containerd.cri.v1.images"]
    assert images["pinned_images"]["sandbox"] == ctx.pause_image
    assert images["registry"]["config_path"].startswith(root)
    assert config["plugins"]["io.containerd.grpc.v1.cri"]["stream_server_address"] == "127.0.0.1"
    # MicroK8s' CNI directories, kept in the state directory.
    cni = cri_runtime["cni"]
    assert cni["conf_dir"] == str(ctx.layout.root / "snap/current/args/cni-network")
    assert cni["bin_dirs"] == [str(ctx.layout.root / "snap/current/opt/cni/bin")]


def test_write_configs(ctx: components.Context) -> None:
    components.write_configs(ctx)
    layout = ctx.layout
    assert yaml.safe_load((layout.config / "kubelet.yaml").read_text())["kind"] == (
        "KubeletConfiguration"
    )
    # The CNI configuration is Calico's install-cni's to write, not ours.
    assert not layout.cni_conf.exists() or not list(layout.cni_conf.iterdir())


# The Corefile of MicroK8s' dns addon (addons/dns/coredns.yaml in
# canonical/microk8s-core-addons), with `$NAMESERVERS` as its enable script sets it when the
# kubelet has a resolv.conf: `/etc/resolv.conf`. Section 7.3 quotes this text.
MICROK8S_COREFILE = """.:53 {
    errors
    health {
      lameduck 5s
    }
    ready
    log . {
      class error
    }
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
    }
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
}
"""


def test_corefile_is_microk8s() -> None:
    assert addons.COREFILE == MICROK8S_COREFILE


def test_corefile_is_the_one_section_7_3_quotes() -> None:
    page = Path(__file__).parents[3] / "docs/fr/07-reseau-kubernetes-interne"
    text = (page / "03-dns-interne-avec-coredns.md").read_text()
    quoted = text.split('```text title="Corefile de MicroK8s (addon dns)"\n', 1)[1]
    assert quoted.split("```", 1)[0] == MICROK8S_COREFILE


def test_coredns_forwards_to_the_nodes_resolv_conf(ctx: components.Context) -> None:
    """CoreDNS's /etc/resolv.conf is the Node's (dnsPolicy Default), whose only server is the
    local upstream on the node address: `forward` never leaves the machine."""
    deployment = next(o for o in addons.coredns_objects("img:1") if o["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["dnsPolicy"] == "Default"
    assert components.kubelet_config(ctx)["resolvConf"] == str(ctx.layout.resolv_conf)
    components.write_configs(ctx)
    lines = ctx.layout.resolv_conf.read_text().splitlines()
    assert [line for line in lines if not line.startswith("#")] == [f"nameserver {NODE_IP}"]
    assert (ctx.layout.config / "upstream-dns.Corefile").read_text().count(f"bind {NODE_IP}") == 1


def test_coredns_objects() -> None:
    objects = {(o["kind"], o["metadata"]["name"]): o for o in addons.coredns_objects("img:1")}
    service = objects[("Service", "kube-dns")]
    assert service["spec"]["clusterIP"] == "10.152.183.10"
    assert service["metadata"]["namespace"] == "kube-system"
    assert service["spec"]["selector"] == {"k8s-app": "kube-dns"}
    deployment = objects[("Deployment", "coredns")]
    template = deployment["spec"]["template"]
    assert template["metadata"]["labels"] == {"k8s-app": "kube-dns"}
    assert template["spec"]["containers"][0]["image"] == "img:1"
    assert ("ConfigMap", "coredns") in objects
    assert ("ClusterRoleBinding", "system:coredns") in objects
    documents = list(yaml.safe_load_all(addons.manifest("img:1")))
    assert documents[0]["roleRef"]["name"] == "system:kubelet-api-admin"
    assert len(documents) == len(objects) + 1


def test_kubelet_reports_status_on_change_only(ctx: components.Context) -> None:
    # nodeStatusUpdateFrequency alone would make the kubelet send its status every 2 s
    # (and wake Felix each time).
    config = components.kubelet_config(ctx)
    assert config["nodeStatusUpdateFrequency"] == "2s"
    assert config["nodeStatusReportFrequency"] == "5m"


def test_another_node_has_its_own_kubelet_kube_proxy_and_containerd(
    ctx: components.Context,
) -> None:
    second = settings.nodes(2, NODE_IP)[1]
    node = ctx.for_node(second)
    own = ctx.layout.root / "nodes" / second.name
    flags = _flags(components.kubelet_argv(node))
    assert flags["hostname-override"] == "reseau-k8s-2"
    assert flags["node-ip"] == "10.152.182.2"
    assert flags["root-dir"] == str(own / "kubelet")
    assert flags["kubeconfig"].endswith("/kubelet-reseau-k8s-2.conf")
    config = components.kubelet_config(node)
    assert config["address"] == "10.152.182.2"
    assert config["cgroupRoot"] == "/reseau-k8s/reseau-k8s-2"  # below the first node's tree
    assert config["tlsCertFile"].endswith("/kubelet-reseau-k8s-2.crt")
    assert config["containerRuntimeEndpoint"] == f"unix://{own}/containerd/containerd.sock"
    assert config["podLogsDir"] == str(own / "pod-logs")
    proxy = components.kube_proxy_config(node)
    assert proxy["hostnameOverride"] == "reseau-k8s-2"
    assert proxy["bindAddress"] == "10.152.182.2"
    assert proxy["nodePortAddresses"] == ["10.152.182.2/32"]
    containerd = tomllib.loads(components.containerd_config(node))
    assert containerd["root"].startswith(str(own))
    assert containerd["grpc"]["address"] == f"{own}/containerd/containerd.sock"
    cri = containerd["plugins"]["io.containerd.cri.v1.runtime"]
    assert cri["cni"]["conf_dir"] == str(own / "snap/current/args/cni-network")
    # One registry for every node.
    images = containerd["plugins"]["io.containerd.cri.v1.images"]
    assert images["registry"]["config_path"] == str(ctx.layout.registry_hosts)


def test_pods_that_name_no_node_go_to_the_first_one(ctx: components.Context) -> None:
    """The scheduler prefers the first node (a preference, so a pod placed on another node
    goes there), weighted above the sum of every other score (at most 100 each)."""
    config = components.scheduler_config(ctx)
    profile = config["profiles"][0]
    weights = {p["name"]: p["weight"] for p in profile["plugins"]["multiPoint"]["enabled"]}
    others = 3 + 1 + 2 + 2 + 1 + 1  # TaintToleration … ImageLocality: their default weights
    assert weights["NodeAffinity"] * 100 > others * 100
    added = profile["pluginConfig"][0]["args"]["addedAffinity"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in added
    (term,) = added["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["preference"]["matchExpressions"] == [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": [settings.NODE_NAME]}
    ]
    flags = _flags(components.scheduler_argv(ctx))
    assert flags["config"] == str(ctx.layout.config / "scheduler.yaml")
    assert "kubeconfig" not in flags and "leader-elect" not in flags  # in the file


def test_node_names_and_addresses() -> None:
    assert [(n.name, n.ip) for n in settings.nodes(3, NODE_IP)] == [
        ("reseau-k8s", "10.152.182.1"),
        ("reseau-k8s-2", "10.152.182.2"),
        ("reseau-k8s-3", "10.152.182.3"),
    ]
    assert settings.node_range(NODE_IP) == "10.152.182.0/24"
    with pytest.raises(ValueError, match="between 1 and 3"):
        settings.nodes(4, NODE_IP)
    with pytest.raises(ValueError, match=r"outside 10\.152\.182\.0/24"):
        settings.nodes(3, "10.152.182.254")
