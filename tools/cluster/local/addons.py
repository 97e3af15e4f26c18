"""Objects applied once the apiserver answers: the apiserver's access to kubelets, and CoreDNS.

CoreDNS is deployed as MicroK8s' dns addon deploys it (Deployment `coredns`, Service
`kube-dns` at 10.152.183.10, label k8s-app=kube-dns, in kube-system), with MicroK8s' Corefile:
it answers cluster.local and the reverse zones, and forwards every other name to the Node's
resolv.conf, whose only server is the local upstream of upstream_dns.py (NXDOMAIN for all).
"""

from __future__ import annotations

from typing import Any

import yaml

from tools.cluster.local import settings

NAMESPACE = "kube-system"
APP_LABEL_KEY, APP_LABEL_VALUE = settings.COREDNS_LABEL.split("=")

# MicroK8s' Corefile: its dns addon's (addons/dns/coredns.yaml of canonical/microk8s-core-addons)
# with `$NAMESERVERS` as its enable script sets it when the kubelet has a resolv.conf. The
# servers of that resolv.conf are the local upstream's (upstream_dns.py): nothing leaves.
COREFILE = f""".:53 {{
    errors
    health {{
      lameduck 5s
    }}
    ready
    log . {{
      class error
    }}
    kubernetes {settings.CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
    }}
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
}}
"""


def kubelet_api_binding() -> dict[str, Any]:
    """Lets the apiserver's kubelet client certificate use the kubelet API (exec, logs,
    port-forward), as kubeadm does."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "reseau-k8s:apiserver-kubelet-api-admin"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "system:kubelet-api-admin",
        },
        "subjects": [
            {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "User",
                "name": "kube-apiserver-kubelet-client",
            }
        ],
    }


def coredns_objects(image: str) -> list[dict[str, Any]]:
    """ServiceAccount, RBAC, ConfigMap, Deployment and Service of CoreDNS."""
    labels = {APP_LABEL_KEY: APP_LABEL_VALUE}
    meta = {"namespace": NAMESPACE, "labels": labels}
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "coredns", **meta},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "system:coredns", "labels": labels},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["endpoints", "services", "pods", "namespaces"],
                    "verbs": ["list", "watch"],
                },
                {
                    "apiGroups": ["discovery.k8s.io"],
                    "resources": ["endpointslices"],
                    "verbs": ["list", "watch"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "system:coredns", "labels": labels},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:coredns",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "coredns", "namespace": NAMESPACE}],
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "coredns", **meta},
            "data": {"Corefile": COREFILE},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": settings.COREDNS_DEPLOYMENT, **meta},
            "spec": {
                "replicas": 1,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": _coredns_pod_spec(image),
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": settings.COREDNS_SERVICE,
                "namespace": NAMESPACE,
                "labels": {**labels, "kubernetes.io/name": "CoreDNS"},
            },
            "spec": {
                "selector": labels,
                "clusterIP": settings.DNS_SERVICE_IP,
                "ports": [
                    {"name": "dns", "port": 53, "protocol": "UDP"},
                    {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
                    {"name": "metrics", "port": 9153, "protocol": "TCP"},
                ],
            },
        },
    ]


def _coredns_pod_spec(image: str) -> dict[str, Any]:
    return {
        "serviceAccountName": "coredns",
        "priorityClassName": "system-cluster-critical",
        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
        # CoreDNS itself must not resolve through CoreDNS: its resolv.conf is the Node's, whose
        # server (the local upstream) is what `forward . /etc/resolv.conf` asks.
        "dnsPolicy": "Default",
        "containers": [
            {
                "name": "coredns",
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "args": ["-conf", "/etc/coredns/Corefile"],
                "resources": {
                    "limits": {"memory": "170Mi"},
                    "requests": {"cpu": "100m", "memory": "70Mi"},
                },
                "volumeMounts": [
                    {"name": "config-volume", "mountPath": "/etc/coredns", "readOnly": True}
                ],
                "ports": [
                    {"containerPort": 53, "name": "dns", "protocol": "UDP"},
                    {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
                    {"containerPort": 9153, "name": "metrics", "protocol": "TCP"},
                ],
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                    "readOnlyRootFilesystem": True,
                },
                "livenessProbe": {
                    "httpGet": {"path": "/health", "port": 8080, "scheme": "HTTP"},
                    "initialDelaySeconds": 60,
                    "timeoutSeconds": 5,
                    "successThreshold": 1,
                    "failureThreshold": 5,
                },
                # Probed every 2 s (upstream: 10 s) so that `up` does not wait on it.
                "readinessProbe": {
                    "httpGet": {"path": "/ready", "port": 8181, "scheme": "HTTP"},
                    "periodSeconds": 2,
                },
            }
        ],
        "volumes": [
            {
                "name": "config-volume",
                "configMap": {
                    "name": "coredns",
                    "items": [{"key": "Corefile", "path": "Corefile"}],
                },
            }
        ],
    }


def manifest(coredns_image: str) -> str:
    """Every object as one multi-document YAML stream (for `kubectl apply -f -`)."""
    objects = [kubelet_api_binding(), *coredns_objects(coredns_image)]
    return yaml.safe_dump_all(objects, sort_keys=False)
