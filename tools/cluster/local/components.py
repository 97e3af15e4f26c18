"""Each component's command line and configuration files.

Pure functions from the cluster's values to argv lists and file contents, so that they can be
read and unit-tested without starting anything. Choices that this host imposes: cgroup v1
with the cgroupfs driver, no systemd, swap allowed, kube-proxy never writes the conntrack
sysctls. Choices for safety (nothing of the cluster may reach outside the machine): every
listener on loopback or the node address, TLS with the cluster CA everywhere, no anonymous
access.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tools.cluster.local import settings, upstream_dns
from tools.cluster.local.kubeconfig import kubelet_name
from tools.cluster.local.pki import Pki, kubelet_cert
from tools.cluster.local.settings import Layout, Node, NodePaths

# The kubelets' cgroup root: every pod cgroup lives under it, in each hierarchy, so that
# `down` removes exactly what the cluster created. Each node beyond the first has its own
# below it (see `cgroup_root`).
CGROUP_ROOT = "/reseau-k8s"


def cgroup_root(node: Node) -> str:
    """The node's kubelet cgroupRoot: two kubelets never share the pods' cgroups."""
    return CGROUP_ROOT if node.is_host else f"{CGROUP_ROOT}/{node.name}"


@dataclass(frozen=True)
class Context:
    """Everything a component's configuration depends on. `node_ip` is the first node's
    address, where the control plane listens; `node` is the node whose programs are being
    configured (the first one unless set)."""

    layout: Layout
    pki: Pki
    node_ip: str
    bin_dir: Path
    runc: Path
    pause_image: str
    node: Node | None = None

    def bin(self, name: str) -> str:
        return str(self.bin_dir / name)

    def kubeconfig(self, name: str) -> str:
        return str(self.layout.kubeconfigs / f"{name}.conf")

    @property
    def this_node(self) -> Node:
        return self.node or Node(1, settings.NODE_NAME, self.node_ip)

    @property
    def paths(self) -> NodePaths:
        return self.layout.node(self.this_node)

    def for_node(self, node: Node) -> Context:
        return dataclasses.replace(self, node=node)


def _flags(values: dict[str, Any]) -> list[str]:
    """--key=value flags, in the given order (booleans as true/false)."""
    out = []
    for key, value in values.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        out.append(f"--{key}={value}")
    return out


# --- etcd -------------------------------------------------------------------------------


def etcd_argv(ctx: Context) -> list[str]:
    pki = ctx.pki
    client = f"https://{settings.LOOPBACK}:{settings.ETCD_CLIENT_PORT}"
    peer = f"https://{settings.LOOPBACK}:{settings.ETCD_PEER_PORT}"
    return [
        ctx.bin("etcd"),
        *_flags(
            {
                "name": settings.NODE_NAME,
                "data-dir": ctx.layout.etcd_data,
                # Loopback only, clients and peer alike.
                "listen-client-urls": client,
                "advertise-client-urls": client,
                "listen-peer-urls": peer,
                "initial-advertise-peer-urls": peer,
                "initial-cluster": f"{settings.NODE_NAME}={peer}",
                "initial-cluster-state": "new",
                "cert-file": pki.cert("etcd"),
                "key-file": pki.key("etcd"),
                "trusted-ca-file": pki.ca_cert,
                "client-cert-auth": True,
                "peer-cert-file": pki.cert("etcd"),
                "peer-key-file": pki.key("etcd"),
                "peer-trusted-ca-file": pki.ca_cert,
                "peer-client-cert-auth": True,
                # A throwaway single-node test cluster: skipping fsync makes every write (and
                # so `up`) faster; the data dies with `down` anyway.
                "unsafe-no-fsync": True,
                "log-level": "warn",
            }
        ),
    ]


# --- control plane ----------------------------------------------------------------------


def apiserver_argv(ctx: Context) -> list[str]:
    pki = ctx.pki
    return [
        ctx.bin("kube-apiserver"),
        *_flags(
            {
                # The node address only: it is local (on the cluster's own interface), so the
                # host reaches it like loopback, and pods reach it through the kubernetes
                # Service; --bind-address takes a single address.
                "advertise-address": ctx.node_ip,
                "bind-address": ctx.node_ip,
                "secure-port": settings.APISERVER_PORT,
                "etcd-servers": f"https://{settings.LOOPBACK}:{settings.ETCD_CLIENT_PORT}",
                "etcd-cafile": pki.ca_cert,
                "etcd-certfile": pki.cert("apiserver-etcd-client"),
                "etcd-keyfile": pki.key("apiserver-etcd-client"),
                "client-ca-file": pki.ca_cert,
                "tls-cert-file": pki.cert("apiserver"),
                "tls-private-key-file": pki.key("apiserver"),
                "kubelet-client-certificate": pki.cert("apiserver-kubelet-client"),
                "kubelet-client-key": pki.key("apiserver-kubelet-client"),
                "kubelet-certificate-authority": pki.ca_cert,
                "kubelet-preferred-address-types": "InternalIP",
                "authorization-mode": "Node,RBAC",
                "anonymous-auth": False,
                "enable-admission-plugins": "NodeRestriction",
                "allow-privileged": True,
                "service-cluster-ip-range": settings.SERVICE_CIDR,
                "service-node-port-range": settings.NODE_PORT_RANGE,
                "service-account-issuer": f"https://kubernetes.default.svc.{settings.CLUSTER_DOMAIN}",
                "service-account-key-file": pki.sa_pub,
                "service-account-signing-key-file": pki.sa_key,
                # MicroK8s keeps events 5 minutes (its kube-apiserver args), not upstream's hour:
                # what 7.5 tells readers about events going stale holds here too.
                "event-ttl": "5m",
                "profiling": False,
                "v": 1,
            }
        ),
    ]


def controller_manager_argv(ctx: Context) -> list[str]:
    pki = ctx.pki
    kubeconfig = ctx.kubeconfig("controller-manager")
    return [
        ctx.bin("kube-controller-manager"),
        *_flags(
            {
                "kubeconfig": kubeconfig,
                "authentication-kubeconfig": kubeconfig,
                "authorization-kubeconfig": kubeconfig,
                "bind-address": settings.LOOPBACK,
                "secure-port": settings.CONTROLLER_MANAGER_PORT,
                "client-ca-file": pki.ca_cert,
                "root-ca-file": pki.ca_cert,
                "service-account-private-key-file": pki.sa_key,
                "use-service-account-credentials": True,
                "cluster-signing-cert-file": pki.ca_cert,
                "cluster-signing-key-file": pki.ca_key,
                # As on MicroK8s: the pod range is known, but no node gets a podCIDR (Calico's
                # IPAM hands out /26 blocks itself).
                "cluster-cidr": settings.POD_CIDR,
                "service-cluster-ip-range": settings.SERVICE_CIDR,
                "configure-cloud-routes": False,
                # One instance: no lease to wait for at start.
                "leader-elect": False,
                # At start it builds one client per controller (service-account credentials):
                # the default 20 requests/s throttle made that take five seconds.
                "kube-api-qps": 200,
                "kube-api-burst": 400,
                "profiling": False,
                "v": 1,
            }
        ),
    ]


# A pod that names no node goes to the first node, as on the single machine most readers run
# MicroK8s on; the other nodes run what is placed on them (nodeName, a nodeSelector or an
# affinity on kubernetes.io/hostname, DaemonSets). The preference is the scheduler's own
# (NodeAffinity's addedAffinity, weighted above every other score), not written in any pod.
FIRST_NODE_PREFERENCE_WEIGHT = 50


def scheduler_config(ctx: Context) -> dict[str, Any]:
    first = {
        "weight": 100,
        "preference": {
            "matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [settings.NODE_NAME]}
            ]
        },
    }
    return {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "clientConnection": {"kubeconfig": ctx.kubeconfig("scheduler")},
        "leaderElection": {"leaderElect": False},
        "profiles": [
            {
                "schedulerName": "default-scheduler",
                "plugins": {
                    "multiPoint": {
                        "enabled": [
                            {"name": "NodeAffinity", "weight": FIRST_NODE_PREFERENCE_WEIGHT}
                        ]
                    }
                },
                "pluginConfig": [
                    {
                        "name": "NodeAffinity",
                        "args": {
                            "addedAffinity": {
                                "preferredDuringSchedulingIgnoredDuringExecution": [first]
                            }
                        },
                    }
                ],
            }
        ],
    }


def scheduler_argv(ctx: Context) -> list[str]:
    kubeconfig = ctx.kubeconfig("scheduler")
    return [
        ctx.bin("kube-scheduler"),
        *_flags(
            {
                "config": ctx.layout.config / "scheduler.yaml",
                "authentication-kubeconfig": kubeconfig,
                "authorization-kubeconfig": kubeconfig,
                "bind-address": settings.LOOPBACK,
                "secure-port": settings.SCHEDULER_PORT,
                "profiling": False,
                "v": 1,
            }
        ),
    ]


# --- node -------------------------------------------------------------------------------


def _toml(value: Any) -> str:
    """A TOML value for strings, booleans, integers and lists of them (JSON is a subset)."""
    return json.dumps(value)


def containerd_config(ctx: Context) -> str:
    """containerd 2.x configuration (version 3): every path under the state directory, the
    node's own (its socket, content, state, CNI files); the registry mirrors are shared."""
    layout = ctx.paths
    cri_images = 'plugins."io.containerd.cri.v1.images"'
    cri_runtime = 'plugins."io.containerd.cri.v1.runtime"'
    runc = f"{cri_runtime}.containerd.runtimes.runc"
    disabled = [
        # NRI would open a socket under /var/run/nri; the others are unused here.
        "io.containerd.nri.v1.nri",
        "io.containerd.snapshotter.v1.btrfs",
        "io.containerd.snapshotter.v1.zfs",
        "io.containerd.snapshotter.v1.devmapper",
        "io.containerd.snapshotter.v1.blockfile",
        "io.containerd.snapshotter.v1.erofs",
        "io.containerd.tracing.processor.v1.otlp",
        "io.containerd.internal.v1.tracing",
    ]
    lines = [
        "# Generated by tools/cluster/local (reseau-k8s): removed by `down`.",
        "version = 3",
        f"root = {_toml(str(layout.containerd / 'root'))}",
        f"state = {_toml(str(layout.containerd_state))}",
        "imports = []",
        f"disabled_plugins = {_toml(disabled)}",
        "",
        "[grpc]",
        f"  address = {_toml(str(layout.containerd_socket))}",
        "",
        "[ttrpc]",
        '  address = ""',
        "",
        "[debug]",
        '  address = ""',
        '  level = "info"',
        "",
        "[metrics]",
        '  address = ""',
        "",
        f"[{cri_images}]",
        '  snapshotter = "overlayfs"',
        "",
        f"[{cri_images}.pinned_images]",
        f"  sandbox = {_toml(ctx.pause_image)}",
        "",
        f"[{cri_images}.registry]",
        f"  config_path = {_toml(str(ctx.layout.registry_hosts))}",
        "",
        f"[{cri_runtime}]",
        "  netns_mounts_under_state_dir = true",
        # This host's root lacks CAP_SYS_RESOURCE, so no process may lower its oom_score_adj
        # (the kubelet asks -998 for every sandbox and runc fails with "can't get final
        # child's PID from pipe"): containerd clamps the value to its own (0) instead.
        "  restrict_oom_score_adj = true",
        "  enable_cdi = false",
        "  cdi_spec_dirs = []",
        "",
        f"[{cri_runtime}.containerd]",
        '  default_runtime_name = "runc"',
        "",
        f"[{runc}]",
        '  runtime_type = "io.containerd.runc.v2"',
        "",
        f"[{runc}.options]",
        f"  BinaryName = {_toml(str(ctx.runc))}",
        f"  Root = {_toml(str(layout.runc_root))}",
        # cgroup v1 host without systemd: the cgroupfs driver, as on the kubelet.
        "  SystemdCgroup = false",
        "",
        # MicroK8s' places (SNAP_DATA/opt/cni/bin, SNAP_DATA/args/cni-network), filled by
        # Calico's install-cni.
        f"[{cri_runtime}.cni]",
        f"  bin_dirs = {_toml([str(layout.cni_bin)])}",
        f"  conf_dir = {_toml(str(layout.cni_conf))}",
        "",
        '[plugins."io.containerd.grpc.v1.cri"]',
        # The exec/attach/port-forward streaming server: loopback, any free port.
        f"  stream_server_address = {_toml(settings.LOOPBACK)}",
        '  stream_server_port = "0"',
        "",
        '[plugins."io.containerd.internal.v1.opt"]',
        f"  path = {_toml(str(layout.containerd / 'opt'))}",
        "",
    ]
    return "\n".join(lines)


def containerd_argv(ctx: Context) -> list[str]:
    return [ctx.bin("containerd"), "--config", str(ctx.paths.config / "containerd.toml")]


def kubelet_config(ctx: Context) -> dict[str, Any]:
    pki = ctx.pki
    node = ctx.this_node
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": node.ip,
        "port": settings.KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": settings.LOOPBACK,
        "healthzPort": settings.KUBELET_HEALTHZ_PORT,
        "tlsCertFile": str(pki.cert(kubelet_cert(node))),
        "tlsPrivateKeyFile": str(pki.key(kubelet_cert(node))),
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True, "cacheTTL": "30s"},
            "x509": {"clientCAFile": str(pki.ca_cert)},
        },
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": f"unix://{ctx.paths.containerd_socket}",
        # This host: cgroup v1 (hybrid), no systemd, swap tolerated.
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": cgroup_root(node),
        "failCgroupV1": False,
        "failSwapOn": False,
        "clusterDomain": settings.CLUSTER_DOMAIN,
        "clusterDNS": [settings.DNS_SERVICE_IP],
        # The Node's resolv.conf is the cluster's own, never the host's (its search domains and
        # nameservers do not leak into pods): one nameserver, the local upstream DNS on the
        # first node's address (upstream_dns.py), which CoreDNS (`dnsPolicy: Default`)
        # forwards to.
        "resolvConf": str(ctx.paths.resolv_conf),
        "podLogsDir": str(ctx.paths.pod_logs),
        # The kubelet's helper chains stay, as on MicroK8s: KUBE-IPTABLES-HINT (mangle) is how
        # Felix, like iptables-wrappers, sees which iptables back-end the node uses; without it
        # Felix probes the legacy back-end too, which creates legacy tables on the host.
        "makeIPTablesUtilChains": True,
        # A test machine may have little free disk: evict only when it is really full.
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "nodefs.inodesFree": "1%",
            "imagefs.available": "1%",
        },
        "imageGCHighThresholdPercent": 99,
        "imageGCLowThresholdPercent": 98,
        "serializeImagePulls": False,
        # Status is computed every 2 s but only sent when it changes: the node turns Ready
        # as soon as the network is, at no cost to the apiserver.
        "nodeStatusUpdateFrequency": "2s",
        # Setting the line above also makes the kubelet *send* its status every 2 s, unless
        # this is set (upstream default, MicroK8s' too): every Node update wakes Felix, whose
        # log would repeat a host metadata line every 2 s.
        "nodeStatusReportFrequency": "5m",
        # Pods are re-synced every 10 s (upstream: 1 min), so an edited ConfigMap (the Corefile
        # that section 7.3 changes) reaches the pod's volume sooner; cheap with few pods.
        "syncFrequency": "10s",
        "shutdownGracePeriod": "0s",
        # Without CAP_SYS_RESOURCE (this host) a negative value cannot be set: keep the
        # kubelet's own oom_score_adj as it is.
        "oomScoreAdj": 0,
        "registerNode": True,
    }


def kubelet_argv(ctx: Context) -> list[str]:
    node = ctx.this_node
    return [
        ctx.bin("kubelet"),
        *_flags(
            {
                "config": ctx.paths.config / "kubelet.yaml",
                "kubeconfig": ctx.kubeconfig(kubelet_name(node)),
                "root-dir": ctx.paths.kubelet,
                "hostname-override": node.name,
                "node-ip": node.ip,
                "v": 1,
            }
        ),
    ]


def kube_proxy_config(ctx: Context) -> dict[str, Any]:
    node = ctx.this_node
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": ctx.kubeconfig("kube-proxy")},
        "hostnameOverride": node.name,
        "mode": "iptables",
        "clusterCIDR": settings.POD_CIDR,
        "detectLocalMode": "ClusterCIDR",
        "bindAddress": node.ip,
        "healthzBindAddress": f"{settings.LOOPBACK}:{settings.KUBE_PROXY_HEALTHZ_PORT}",
        "metricsBindAddress": f"{settings.LOOPBACK}:{settings.KUBE_PROXY_METRICS_PORT}",
        # NodePorts answer on the node address only, never on the machine's NIC.
        "nodePortAddresses": [f"{node.ip}/32"],
        # Zero: leave the host's conntrack sysctls alone (they are not namespaced here).
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
        "iptables": {
            "masqueradeAll": False,
            # No NodePort on 127.0.0.1: that would need the route_localnet sysctl.
            "localhostNodePorts": False,
            "syncPeriod": "30s",
            "minSyncPeriod": "1s",
        },
        # See the kubelet: no CAP_SYS_RESOURCE here, so no negative oom_score_adj.
        "oomScoreAdj": 0,
    }


def kube_proxy_argv(ctx: Context) -> list[str]:
    return [
        ctx.bin("kube-proxy"),
        f"--config={ctx.paths.config / 'kube-proxy.yaml'}",
        "--v=1",
    ]


def configured_cni_plugin(layout: NodePaths) -> str:
    """The network plugin the node's CNI configuration runs (the first plugin of the first
    file containerd reads), "" when there is none: what the cluster really uses, read back
    rather than assumed."""
    for path in sorted(layout.cni_conf.glob("*.conf*")):
        try:
            config = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        plugins = config.get("plugins") or [config]
        if plugins and isinstance(plugins[0], dict) and plugins[0].get("type"):
            return str(plugins[0]["type"])
    return ""


def write_configs(ctx: Context) -> None:
    """Write the node's configuration files (containerd, kubelet, kube-proxy, the Node's
    resolv.conf), and with the first node's, the scheduler's and the Corefile of the upstream
    DNS server that every node's resolv.conf names.

    The CNI configuration is Calico's install-cni's to write, as on MicroK8s.
    """
    paths = ctx.paths
    paths.config.mkdir(mode=0o700, parents=True, exist_ok=True)
    (paths.config / "containerd.toml").write_text(containerd_config(ctx))
    (paths.config / "kubelet.yaml").write_text(yaml.safe_dump(kubelet_config(ctx)))
    (paths.config / "kube-proxy.yaml").write_text(yaml.safe_dump(kube_proxy_config(ctx)))
    paths.resolv_conf.write_text(upstream_dns.resolv_conf(ctx.node_ip))
    if ctx.this_node.is_host:
        (paths.config / "scheduler.yaml").write_text(yaml.safe_dump(scheduler_config(ctx)))
        upstream_dns.write_config(ctx.layout, ctx.node_ip)
