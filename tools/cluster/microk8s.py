"""The MicroK8s values the chapter documents.

One source of truth: the local cluster (tools/cluster/local) and the kind provider are
configured with these values, and the pages print them through `macros/`, so what readers see
on MicroK8s is what the doctest checks. The Kubernetes version is not here: it is the local
cluster's build pin (`local/build.py`, `kubernetes_version`).
"""

from typing import Final

KUBECTL: Final = "microk8s kubectl"
CLUSTER_DOMAIN: Final = "cluster.local"
POD_CIDR: Final = "10.1.0.0/16"
SERVICE_CIDR: Final = "10.152.183.0/24"
KUBERNETES_SERVICE_IP: Final = "10.152.183.1"
DNS_SERVICE_IP: Final = "10.152.183.10"
COREDNS_DEPLOYMENT: Final = "coredns"
COREDNS_SERVICE: Final = "kube-dns"
COREDNS_LABEL: Final = "k8s-app=kube-dns"
NODE_PORT_RANGE: Final = "30000-32767"
