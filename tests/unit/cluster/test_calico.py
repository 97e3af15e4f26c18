"""Calico's objects as MicroK8s deploys them, from a small manifest shaped like Calico's."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from tools.cluster.local import calico

# The parts of Calico's calico.yaml that MicroK8s edits, in the same shape (written here, not
# copied: the real manifest comes from the module zip at build time).
CNI_TEMPLATE = """{
  "name": "k8s-pod-network",
  "cniVersion": "0.3.1",
  "plugins": [
    {
      "type": "calico",
      "log_level": "info",
      "log_file_path": "/var/log/calico/cni/cni.log",
      "datastore_type": "kubernetes",
      "nodename": "__KUBERNETES_NODE_NAME__",
      "mtu": __CNI_MTU__,
      "ipam": {
          "type": "calico-ipam"
      },
      "kubernetes": {"kubeconfig": "__KUBECONFIG_FILEPATH__"}
    },
    {"type": "portmap", "snat": true, "capabilities": {"portMappings": true}},
    {"type": "bandwidth", "capabilities": {"bandwidth": true}}
  ]
}"""


def _env(**values: str) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in values.items()]


def _volume(name: str, path: str, kind: str | None = None) -> dict[str, object]:
    host_path: dict[str, str] = {"path": path}
    if kind:
        host_path["type"] = kind
    return {"name": name, "hostPath": host_path}


UPSTREAM = [
    {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": "calico-config", "namespace": "kube-system"},
        "data": {"calico_backend": "bird", "veth_mtu": "0", "cni_network_config": CNI_TEMPLATE},
    },
    {
        "kind": "DaemonSet",
        "apiVersion": "apps/v1",
        "metadata": {"name": "calico-node", "namespace": "kube-system"},
        "spec": {
            "template": {
                "spec": {
                    "hostNetwork": True,
                    "initContainers": [
                        {"name": "upgrade-ipam", "image": "docker.io/calico/cni:v3.28.5"},
                        {
                            "name": "install-cni",
                            "image": "docker.io/calico/cni:v3.28.5",
                            "env": _env(CNI_CONF_NAME="10-calico.conflist", SLEEP="false"),
                        },
                        {"name": "mount-bpffs", "image": "docker.io/calico/node:v3.28.5"},
                    ],
                    "containers": [
                        {
                            "name": "calico-node",
                            "image": "docker.io/calico/node:v3.28.5",
                            "env": _env(
                                IP="autodetect",
                                CALICO_IPV4POOL_IPIP="Always",
                                CALICO_IPV4POOL_VXLAN="Never",
                                FELIX_WIREGUARDMTU="0",
                                CALICO_DISABLE_FILE_LOGGING="true",
                            ),
                            "livenessProbe": {
                                "exec": {
                                    "command": ["/bin/calico-node", "-felix-live", "-bird-live"]
                                }
                            },
                            "readinessProbe": {
                                "exec": {
                                    "command": ["/bin/calico-node", "-felix-ready", "-bird-ready"]
                                }
                            },
                            "volumeMounts": [
                                {"name": "var-lib-calico", "mountPath": "/var/lib/calico"},
                                {"name": "bpffs", "mountPath": "/sys/fs/bpf"},
                            ],
                        }
                    ],
                    "volumes": [
                        _volume("var-run-calico", "/var/run/calico", "DirectoryOrCreate"),
                        _volume("var-lib-calico", "/var/lib/calico", "DirectoryOrCreate"),
                        _volume("bpffs", "/sys/fs/bpf", "Directory"),
                        _volume("nodeproc", "/proc"),
                        _volume("cni-bin-dir", "/opt/cni/bin", "DirectoryOrCreate"),
                        _volume("cni-net-dir", "/etc/cni/net.d"),
                        _volume("cni-log-dir", "/var/log/calico/cni"),
                        _volume("host-local-net-dir", "/var/lib/cni/networks"),
                        _volume("policysync", "/var/run/nodeagent", "DirectoryOrCreate"),
                    ],
                }
            }
        },
    },
    {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {"name": "calico-kube-controllers", "namespace": "kube-system"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "calico-kube-controllers",
                            "image": "docker.io/calico/kube-controllers:v3.28.5",
                        }
                    ]
                }
            }
        },
    },
]


def _manifest(docs: list[dict[str, object]] = UPSTREAM) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False)


def _by_name(objects: list[dict[str, object]]) -> dict[str, dict]:  # type: ignore[type-arg]
    return {o["metadata"]["name"]: o for o in objects}  # type: ignore[index]


def _node(objects: list[dict[str, object]]) -> dict:  # type: ignore[type-arg]
    return _by_name(objects)["calico-node"]["spec"]["template"]["spec"]


def test_config_map_is_microk8s() -> None:
    data = _by_name(calico.microk8s_objects(_manifest()))["calico-config"]["data"]
    assert data["calico_backend"] == "vxlan"
    assert data["veth_mtu"] == "0"  # Felix detects it
    template = data["cni_network_config"].replace("__CNI_MTU__", "1450")
    conf = json.loads(template)
    assert [p["type"] for p in conf["plugins"]] == ["calico", "portmap", "bandwidth"]
    plugin = conf["plugins"][0]
    assert plugin["log_file_path"] == "/var/snap/microk8s/common/var/log/calico/cni/cni.log"
    assert plugin["nodename_file"] == "/var/snap/microk8s/current/var/lib/calico/nodename"
    assert plugin["ipam"] == {"assign_ipv4": "true", "type": "calico-ipam"}


def test_daemonset_is_microk8s() -> None:
    spec = _node(calico.microk8s_objects(_manifest()))
    assert [c["name"] for c in spec["initContainers"]] == ["upgrade-ipam", "install-cni"]
    install = {e["name"]: e["value"] for e in spec["initContainers"][1]["env"]}
    assert install["CNI_NET_DIR"] == "/var/snap/microk8s/current/args/cni-network"
    assert install["CNI_CONF_NAME"] == "10-calico.conflist"
    node = spec["containers"][0]
    env = {e["name"]: e["value"] for e in node["env"]}
    assert env["IP_AUTODETECTION_METHOD"] == "first-found"
    assert "CALICO_IPV4POOL_IPIP" not in env
    assert env["CALICO_IPV4POOL_VXLAN"] == "Always"
    assert env["CALICO_IPV4POOL_CIDR"] == "10.1.0.0/16"
    assert env["FELIX_FEATUREDETECTOVERRIDE"] == "ChecksumOffloadBroken=true"
    assert node["livenessProbe"]["exec"]["command"] == ["/bin/calico-node", "-felix-live"]
    assert node["readinessProbe"]["exec"]["command"] == ["/bin/calico-node", "-felix-ready"]
    assert [m["name"] for m in node["volumeMounts"]] == ["var-lib-calico"]
    volumes = {v["name"]: v["hostPath"] for v in spec["volumes"]}
    assert "bpffs" not in volumes and "nodeproc" not in volumes
    assert volumes["var-lib-calico"] == {"path": "/var/snap/microk8s/current/var/lib/calico"}
    assert volumes["cni-net-dir"]["path"] == "/var/snap/microk8s/current/args/cni-network"
    assert volumes["cni-log-dir"]["path"] == "/var/snap/microk8s/common/var/log/calico/cni"
    assert volumes["policysync"] == {
        "path": "/var/snap/microk8s/current/var/run/nodeagent",
        "type": "DirectoryOrCreate",
    }


def test_local_deviations_are_the_listed_ones_only() -> None:
    microk8s = calico.microk8s_objects(_manifest())
    local = calico.local_objects(_manifest())
    env = {e["name"]: e["value"] for e in _node(local)["containers"][0]["env"]}
    assert env["IP_AUTODETECTION_METHOD"] == "kubernetes-internal-ip"
    assert env["FELIX_MTUIFACEPATTERN"] == "^rk8s0$"
    node = _node(local)["containers"][0]
    assert node["readinessProbe"]["periodSeconds"] == 2
    assert "periodSeconds" not in _node(microk8s)["containers"][0]["readinessProbe"]
    # Everything else is MicroK8s'.
    for obj in local:
        if obj["metadata"]["name"] != "calico-node":
            assert obj in microk8s
    names = [e["name"] for e in _node(local)["containers"][0]["env"]]
    assert names.index("IP_AUTODETECTION_METHOD") == names.index("IP") + 1


def test_images_in_order() -> None:
    assert calico.images(calico.local_objects(_manifest())) == [
        "docker.io/calico/cni:v3.28.5",
        "docker.io/calico/node:v3.28.5",
        "docker.io/calico/kube-controllers:v3.28.5",
    ]


def test_a_changed_upstream_manifest_is_a_clear_error(tmp_path: Path) -> None:
    docs = copy.deepcopy(UPSTREAM)
    docs[1]["spec"]["template"]["spec"]["initContainers"].pop()  # type: ignore[index]
    path = tmp_path / "calico.yaml"
    path.write_text(_manifest(docs))
    with pytest.raises(
        calico.ManifestError, match=r"calico\.yaml: .*no init container 'mount-bpffs'"
    ):
        calico.load_objects(path)
    docs = copy.deepcopy(UPSTREAM)
    docs[0]["data"]["cni_network_config"] = "{}"  # type: ignore[index]
    path.write_text(_manifest(docs))
    with pytest.raises(calico.ManifestError, match="cni_network_config"):
        calico.load_objects(path)
    with pytest.raises(calico.ManifestError, match="cannot read"):
        calico.load_objects(tmp_path / "missing.yaml")


def test_address_in_block() -> None:
    blocks = [
        {"spec": {"node": "reseau-k8s", "cidr": "10.1.37.0/26", "state": "confirmed"}},
        {"spec": {"node": "other", "cidr": "10.1.40.0/26", "state": "confirmed"}},
    ]
    assert calico.address_in_block("10.1.37.5", blocks, "reseau-k8s")
    assert not calico.address_in_block("10.1.37.70", blocks, "reseau-k8s")  # outside the /26
    assert not calico.address_in_block("10.1.40.2", blocks, "reseau-k8s")  # another node's
    assert not calico.address_in_block("", blocks, "reseau-k8s")


def test_only_the_controllers_need_the_pod_network() -> None:
    waiting = [o["metadata"]["name"] for o in UPSTREAM if calico.on_pod_network(o)]
    assert waiting == ["calico-kube-controllers"]  # calico-node is hostNetwork in the real one
