"""Calico, installed as MicroK8s installs it: the objects `up` creates, and how to tell it works.

MicroK8s deploys Calico's own `manifests/calico.yaml` with a few edits (its
`upgrade-scripts/000-switch-to-calico/resources/calico.yaml`, then `scripts/generate-cni.sh`):
the VXLAN backend instead of BIRD, VXLAN instead of IP-in-IP on the default pool, the pool
10.1.0.0/16, no eBPF mount container, no BIRD probes, and every node path moved under
/var/snap/microk8s. This module makes the same edits to the upstream manifest of the pinned
release (collected from the module zip at build time, never copied into this repository), so
that `kubectl get` on the local cluster shows what a MicroK8s reader's cluster shows.

Deviations of our own, for this machine's sake (`LOCAL_DEVIATIONS`, and the readiness
probe's period): the node address is taken from the Kubernetes node (the cluster's own
interface), never found by scanning the machine's interfaces; the MTU is measured on that
interface, so that pods get MicroK8s' 1450 bytes whatever this machine's network card uses;
and calico-node's readiness is probed every 2 s instead of 10 (see READINESS_PERIOD_SECONDS).
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any, Final

import yaml

from tools.cluster.local import settings

NAMESPACE: Final = "kube-system"
SNAP_DATA: Final = settings.MICROK8S_SNAP_LINK / "current"
SNAP_COMMON: Final = settings.MICROK8S_SNAP_LINK / "common"
CONFLIST: Final = "10-calico.conflist"
POOL_NAME: Final = "default-ipv4-ippool"
BLOCK_PREFIX: Final = 26  # Calico's default IPv4 block size, which MicroK8s keeps
VXLAN_DEVICE: Final = "vxlan.calico"
VXLAN_V6_DEVICE: Final = "vxlan-v6.calico"
WORKLOAD_PREFIX: Final = "cali"  # host ends of the pods' veths
NODE_LABEL: Final = "k8s-app=calico-node"
CONTROLLERS_LABEL: Final = "k8s-app=calico-kube-controllers"

# Node paths: MicroK8s' hostPath for each volume of the calico-node DaemonSet.
MICROK8S_HOST_PATHS: Final = {
    "var-run-calico": SNAP_DATA / "var/run/calico",
    "var-lib-calico": SNAP_DATA / "var/lib/calico",
    "cni-bin-dir": SNAP_DATA / "opt/cni/bin",
    "cni-net-dir": SNAP_DATA / "args/cni-network",
    "cni-log-dir": SNAP_COMMON / "var/log/calico/cni",
    "host-local-net-dir": SNAP_DATA / "var/lib/cni/networks",
    "policysync": SNAP_DATA / "var/run/nodeagent",
}
# MicroK8s' install hook links these to its SNAP_DATA when they are free (path -> path under
# SNAP_DATA): the Calico CNI plugin reads its MTU from /var/lib/calico/mtu.
MICROK8S_HOST_LINKS: Final = {
    Path("/var/lib/calico"): "var/lib/calico",
    Path("/etc/cni/net.d"): "args/cni-network",
    Path("/opt/cni/bin"): "opt/cni/bin",
}
# The Calico IPAM plugin's host-wide lock: a fixed path on the host, where containerd runs the
# plugin (ipam_lock_linux.go), not under SNAP_DATA.
IPAM_LOCK: Final = Path("/var/run/calico/ipam.lock")
# Volumes and init containers MicroK8s comments out (the eBPF data plane's).
MICROK8S_DROPPED_VOLUMES: Final = ("bpffs", "nodeproc")
MICROK8S_DROPPED_INIT_CONTAINERS: Final = ("mount-bpffs",)

LOCAL_DEVIATIONS: Final = {
    # Calico's `first-found` would pick this machine's network card; the node address lives on
    # the cluster's own interface, which the kubelet reports as the node's InternalIP.
    "IP_AUTODETECTION_METHOD": "kubernetes-internal-ip",
    # veth_mtu "0" lets Felix take the smallest MTU of the host interfaces matching this
    # pattern, minus 50 for VXLAN: the cluster's interface (1500) gives MicroK8s' usual 1450.
    "FELIX_MTUIFACEPATTERN": f"^{settings.NODE_LINK}$",
}


class ManifestError(RuntimeError):
    """Calico's manifest is not shaped as expected (a new release moved what MicroK8s edits)."""


def _fail(what: str) -> ManifestError:
    return ManifestError(f"calico.yaml of the pinned Calico release: {what}")


def _find(items: list[dict[str, Any]], name: str, what: str) -> dict[str, Any]:
    for item in items:
        if item.get("name") == name:
            return item
    raise _fail(f"no {what} {name!r}")


def _replace_once(text: str, old: str, new: str, what: str) -> str:
    if text.count(old) != 1:
        raise _fail(f"{what}: expected one `{old.strip()}`, found {text.count(old)}")
    return text.replace(old, new)


def cni_network_config(upstream: str) -> str:
    """The conflist template of ConfigMap calico-config, edited as MicroK8s edits it.

    Text edits, as MicroK8s makes them (the template is not JSON until install-cni fills in
    `__CNI_MTU__`): the plugin logs and reads the node name under /var/snap/microk8s, and the
    IPAM assigns IPv4 addresses (generate-cni.sh, IPv4 enabled), from 10.1.0.0/16.
    """
    text = _replace_once(
        upstream,
        '"log_file_path": "/var/log/calico/cni/cni.log",',
        f'"log_file_path": "{SNAP_COMMON}/var/log/calico/cni/cni.log",',
        "cni_network_config",
    )
    marker = '"nodename": "__KUBERNETES_NODE_NAME__",'
    indent = _line_indent(text, marker)
    text = _replace_once(
        text,
        marker,
        f'{marker}\n{indent}"nodename_file": "{SNAP_DATA}/var/lib/calico/nodename",',
        "cni_network_config",
    )
    marker = '"type": "calico-ipam"'
    indent = _line_indent(text, marker)
    return _replace_once(
        text, marker, f'"assign_ipv4": "true",\n{indent}{marker}', "cni_network_config"
    )


def _line_indent(text: str, marker: str) -> str:
    for line in text.splitlines():
        if marker in line:
            return line[: len(line) - len(line.lstrip())]
    raise _fail(f"cni_network_config: no `{marker}`")


def _set_env(env: list[dict[str, Any]], name: str, value: str, after: str | None = None) -> None:
    """Set a plain env var, replacing it in place or inserting it (after `after`, else last)."""
    entry = {"name": name, "value": value}
    for index, item in enumerate(env):
        if item["name"] == name:
            env[index] = entry
            return
    if after is None:
        env.append(entry)
        return
    position = next((i for i, item in enumerate(env) if item["name"] == after), None)
    if position is None:
        raise _fail(f"calico-node has no env {after}")
    env.insert(position + 1, entry)


def _adapt_daemonset(daemonset: dict[str, Any]) -> None:
    spec = daemonset["spec"]["template"]["spec"]
    inits = spec["initContainers"]
    for name in MICROK8S_DROPPED_INIT_CONTAINERS:
        _find(inits, name, "init container")
    spec["initContainers"] = [c for c in inits if c["name"] not in MICROK8S_DROPPED_INIT_CONTAINERS]
    install = _find(spec["initContainers"], "install-cni", "init container")
    _set_env(install["env"], "CNI_NET_DIR", str(SNAP_DATA / "args/cni-network"))

    node = _find(spec["containers"], "calico-node", "container")
    env = node["env"]
    _set_env(env, "IP_AUTODETECTION_METHOD", "first-found", after="IP")
    if not any(e["name"] == "CALICO_IPV4POOL_IPIP" for e in env):
        raise _fail("calico-node has no env CALICO_IPV4POOL_IPIP")
    env[:] = [e for e in env if e["name"] != "CALICO_IPV4POOL_IPIP"]
    _find(env, "CALICO_IPV4POOL_VXLAN", "env")
    _set_env(env, "CALICO_IPV4POOL_VXLAN", "Always")
    _set_env(env, "CALICO_IPV4POOL_CIDR", settings.POD_CIDR, after="FELIX_WIREGUARDMTU")
    _set_env(env, "FELIX_FEATUREDETECTOVERRIDE", "ChecksumOffloadBroken=true")
    for probe, flag in (("livenessProbe", "-bird-live"), ("readinessProbe", "-bird-ready")):
        command = node[probe]["exec"]["command"]
        if flag not in command:
            raise _fail(f"calico-node {probe} has no {flag}")
        command.remove(flag)
    node["volumeMounts"] = [
        m for m in node["volumeMounts"] if m["name"] not in MICROK8S_DROPPED_VOLUMES
    ]
    volumes = spec["volumes"]
    for name in MICROK8S_DROPPED_VOLUMES:
        _find(volumes, name, "volume")
    spec["volumes"] = [v for v in volumes if v["name"] not in MICROK8S_DROPPED_VOLUMES]
    for name, path in MICROK8S_HOST_PATHS.items():
        volume = _find(spec["volumes"], name, "volume")
        host_path = volume["hostPath"]
        host_path["path"] = str(path)
        # MicroK8s drops the type of the two Calico state directories (its snap creates them).
        if name in ("var-run-calico", "var-lib-calico"):
            host_path.pop("type", None)


# Felix is ready a few seconds after it starts, but the kubelet probes it every 10 s, so
# calico-node would turn Ready 0 to 10 s later, at random: probed every 2 s, as CoreDNS is
# here, `up` does not wait on the probe's period.
READINESS_PERIOD_SECONDS: Final = 2


def _apply_local_deviations(daemonset: dict[str, Any]) -> None:
    spec = daemonset["spec"]["template"]["spec"]
    node = _find(spec["containers"], "calico-node", "container")
    for name, value in LOCAL_DEVIATIONS.items():
        _set_env(node["env"], name, value, after="IP" if name.startswith("IP_") else None)
    node["readinessProbe"]["periodSeconds"] = READINESS_PERIOD_SECONDS


def microk8s_objects(upstream_manifest: str) -> list[dict[str, Any]]:
    """Calico's objects from its calico.yaml, edited as MicroK8s edits them (see the module)."""
    objects = [doc for doc in yaml.safe_load_all(upstream_manifest) if doc]
    seen = set()
    for obj in objects:
        key = (obj["kind"], obj["metadata"]["name"])
        seen.add(key)
        if key == ("ConfigMap", "calico-config"):
            data = obj["data"]
            if "calico_backend" not in data:
                raise _fail("calico-config has no calico_backend")
            data["calico_backend"] = "vxlan"
            data["cni_network_config"] = cni_network_config(data["cni_network_config"])
        elif key == ("DaemonSet", "calico-node"):
            _adapt_daemonset(obj)
    for needed in (("ConfigMap", "calico-config"), ("DaemonSet", "calico-node")):
        if needed not in seen:
            raise _fail(f"no {needed[0]} {needed[1]}")
    return objects


def local_objects(upstream_manifest: str) -> list[dict[str, Any]]:
    """The objects `up` creates: MicroK8s' Calico plus this machine's deviations."""
    objects = microk8s_objects(upstream_manifest)
    for obj in objects:
        if (obj["kind"], obj["metadata"]["name"]) == ("DaemonSet", "calico-node"):
            _apply_local_deviations(obj)
    return objects


def load_objects(manifest: Path) -> list[dict[str, Any]]:
    """`local_objects` of the collected calico.yaml, with a clear error naming the file."""
    try:
        text = manifest.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(f"{manifest}: cannot read ({exc.strerror})") from exc
    try:
        return local_objects(text)
    except ManifestError as exc:
        raise ManifestError(f"{manifest}: {exc}") from None
    except (yaml.YAMLError, KeyError, TypeError) as exc:
        raise ManifestError(f"{manifest}: unexpected shape ({exc})") from exc


def on_pod_network(obj: dict[str, Any]) -> bool:
    """Whether `obj` runs pods on the pod network (calico-kube-controllers): such pods can only
    get an address once calico-node has started."""
    template = obj.get("spec", {}).get("template", {}).get("spec")
    return template is not None and not template.get("hostNetwork", False)


def images(objects: list[dict[str, Any]], daemonsets_only: bool = False) -> list[str]:
    """Every image the objects run (init containers included), in order, once each; only the
    DaemonSets' (what every node runs) with `daemonsets_only`."""
    found: list[str] = []
    for obj in objects:
        if daemonsets_only and obj.get("kind") != "DaemonSet":
            continue
        template = obj.get("spec", {}).get("template", {}).get("spec", {})
        for container in template.get("initContainers", []) + template.get("containers", []):
            if container["image"] not in found:
                found.append(container["image"])
    return found


def manifest_text(objects: list[dict[str, Any]]) -> str:
    """The objects as one YAML stream: what MicroK8s keeps in args/cni-network/cni.yaml."""
    header = "# Calico as MicroK8s deploys it (written by the local cluster's `up`).\n"
    return header + yaml.safe_dump_all(objects, sort_keys=False)


# --- what a working Calico looks like ---------------------------------------------------


def pod_ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def address_in_block(address: str, blocks: list[dict[str, Any]], node: str) -> bool:
    """Whether `address` lies in a /26 block of the default pool affine to `node`.

    `blocks` are `blockaffinities.crd.projectcalico.org` items: Calico's IPAM records there
    which block each node holds.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for block in blocks:
        spec = block.get("spec", {})
        if spec.get("node") != node or spec.get("state") != "confirmed":
            continue
        cidr = ipaddress.ip_network(spec.get("cidr", "0.0.0.0/32"), strict=False)
        if cidr.prefixlen == BLOCK_PREFIX and ip in cidr:
            return True
    return False


def conflist_plugins(conflist: Path) -> list[str]:
    """The plugin types of the installed conflist, in chain order (empty if not written yet)."""
    try:
        return [p["type"] for p in json.loads(conflist.read_text())["plugins"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []
