"""The local cluster does what the chapter needs: a Ready node, DNS through CoreDNS, Services,
kubectl exec/logs/port-forward, and it refuses anonymous requests."""

from __future__ import annotations

import http.client
import re
import ssl
import subprocess
import time

import pytest

from tests.cluster.kube import Kube, pod
from tools.cluster.local import addons, settings, upstream_dns

pytestmark = pytest.mark.cluster

BUSYBOX = "docker.io/library/busybox:latest"
NGINX = "docker.io/library/nginx:latest"


def test_node_is_ready(kube: Kube) -> None:
    node = kube.json("get", "node", settings.NODE_NAME)
    conditions = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert conditions["Ready"] == "True", conditions
    # As on MicroK8s: no podCIDR (Calico's IPAM gives the node /26 blocks instead).
    assert "podCIDR" not in node["spec"]
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    assert addresses["InternalIP"] == settings.node_ip()


def test_busybox_resolves_kubernetes_default(ns: Kube) -> None:
    # Two resolvers of busybox: nslookup has its own (it sends the name as given when it holds
    # a dot, ignoring the search list: hence the full name), wget goes through the C library,
    # which applies the search list of resolv.conf like any program in a pod.
    script = (
        "cat /etc/resolv.conf; nslookup kubernetes.default.svc.cluster.local; "
        "wget -O /dev/null http://kubernetes.default:443/ 2>&1; true"
    )
    ns.apply(pod("dns", BUSYBOX, ["sh", "-c", script]))
    phase = ns.wait_pod_done("dns")
    output = ns.run("logs", "dns")
    assert phase == "Succeeded", output
    assert f"nameserver {settings.DNS_SERVICE_IP}" in output
    # nslookup prints the server it asked, then the answer.
    assert re.search(rf"Server:\s+{re.escape(settings.DNS_SERVICE_IP)}", output), output
    answer = output.split("Name:", 1)[-1]
    assert f"Address: {settings.KUBERNETES_SERVICE_IP}" in answer, output
    # The short name, completed by the search list, reaches the kubernetes Service.
    ip = re.escape(settings.KUBERNETES_SERVICE_IP)
    assert re.search(rf"Connecting to kubernetes\.default:443 \({ip}:443\)", output), output


@pytest.fixture(scope="module")
def web(ns: Kube) -> list[str]:
    """Two nginx pods behind a Service `web`; returns the pods' names."""
    labels = {"app": "web"}
    ns.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "terminationGracePeriodSeconds": 1,
                        "containers": [
                            {
                                "name": "nginx",
                                "image": NGINX,
                                "ports": [{"containerPort": 80}],
                                "readinessProbe": {
                                    "httpGet": {"path": "/", "port": 80},
                                    "periodSeconds": 1,
                                },
                            }
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 80}]},
        },
    )

    def ready_pods() -> list[str]:
        pods = ns.json("get", "pods", "-l", "app=web")["items"]
        names = [
            p["metadata"]["name"]
            for p in pods
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in p.get("status", {}).get("conditions", [])
            )
        ]
        return names if len(names) == 2 else []

    names = ns.wait_for("two ready nginx pods", ready_pods, 120)
    ns.wait_for(
        "two endpoints behind the Service",
        lambda: (
            len(
                [
                    a
                    for s in ns.json(
                        "get", "endpointslices", "-l", "kubernetes.io/service-name=web"
                    )["items"]
                    for e in s.get("endpoints") or []
                    if e.get("conditions", {}).get("ready")
                    for a in e["addresses"]
                ]
            )
            == 2
        ),
        60,
    )
    return names


def test_service_is_answered_by_both_pods(ns: Kube, web: list[str]) -> None:
    requests = 30
    script = (
        f"i=0; while [ $i -lt {requests} ]; do "
        "timeout 5 wget -q -O /dev/null http://web/ || exit 1; i=$((i+1)); done; echo done"
    )
    ns.apply(pod("client", BUSYBOX, ["sh", "-c", script]))
    phase = ns.wait_pod_done("client")
    assert phase == "Succeeded", ns.run("logs", "client")
    client_ip = ns.json("get", "pod", "client")["status"]["podIP"]
    served = {}
    for name in web:
        # nginx logs each request on stdout: `kubectl logs` shows who answered the client.
        log = ns.run("logs", name)
        served[name] = sum(1 for line in log.splitlines() if line.startswith(client_ip + " "))
    assert sum(served.values()) == requests, served
    assert all(count > 0 for count in served.values()), served


def test_exec(ns: Kube, web: list[str]) -> None:
    hostname = ns.run("exec", web[0], "--", "cat", "/etc/hostname").strip()
    assert hostname == web[0]


def test_logs(ns: Kube) -> None:
    ns.apply(pod("hello", BUSYBOX, ["sh", "-c", "echo bonjour depuis le pod"]))
    assert ns.wait_pod_done("hello") == "Succeeded"
    assert ns.run("logs", "hello").strip() == "bonjour depuis le pod"


def test_port_forward(ns: Kube, web: list[str]) -> None:
    process = subprocess.Popen(
        ns.argv("port-forward", f"pod/{web[0]}", "0:80", "--address", "127.0.0.1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"127\.0\.0\.1:(\d+) -> 80", line)
        assert match, f"unexpected port-forward output: {line!r}"
        conn = http.client.HTTPConnection("127.0.0.1", int(match[1]), timeout=10)
        conn.request("GET", "/")
        response = conn.getresponse()
        body = response.read().decode()
        assert response.status == 200
        assert "Welcome to nginx!" in body
    finally:
        process.terminate()
        process.wait(timeout=10)


def _status_without_credentials(host: str, port: int, path: str) -> int:
    """HTTPS request trusting the cluster CA but presenting no client certificate."""
    layout = settings.Layout(settings.state_dir())
    context = ssl.create_default_context(cafile=str(layout.pki / "ca.crt"))
    conn = http.client.HTTPSConnection(host, port, timeout=5, context=context)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def test_anonymous_requests_are_refused(cluster: object) -> None:
    node_ip = settings.node_ip()
    assert _status_without_credentials(node_ip, settings.APISERVER_PORT, "/api") == 401
    assert _status_without_credentials(node_ip, settings.APISERVER_PORT, "/readyz") == 401
    assert _status_without_credentials(node_ip, settings.KUBELET_PORT, "/pods") == 401


def test_coredns_objects_match_microk8s(kube: Kube) -> None:
    deployment = kube.json("get", "deployment", settings.COREDNS_DEPLOYMENT, "-n", "kube-system")
    assert deployment["status"].get("readyReplicas") == 1
    service = kube.json("get", "service", settings.COREDNS_SERVICE, "-n", "kube-system")
    assert service["spec"]["clusterIP"] == settings.DNS_SERVICE_IP
    key, value = settings.COREDNS_LABEL.split("=")
    assert service["spec"]["selector"] == {key: value}
    corefile = kube.json("get", "configmap", "coredns", "-n", "kube-system")["data"]["Corefile"]
    # MicroK8s' own, `forward . /etc/resolv.conf` included (the unit tests compare it with
    # the dns addon's text).
    assert corefile == addons.COREFILE
    assert re.search(r"^\s*forward \. /etc/resolv\.conf$", corefile, re.M), corefile


def test_a_name_outside_the_cluster_does_not_exist(ns: Kube) -> None:
    """CoreDNS forwards it to the Node's DNS server, the local upstream, which answers NXDOMAIN
    as the public DNS does for such a name (without `forward`, CoreDNS answered SERVFAIL).
    busybox's nslookup sends a dotted name as is; .invalid exists nowhere (RFC 2606)."""
    script = f"nslookup -type=a {upstream_dns.PROBE_NAME}; true"
    ns.apply(pod("outside", BUSYBOX, ["sh", "-c", script]))
    assert ns.wait_pod_done("outside") == "Succeeded"
    output = ns.run("logs", "outside")
    assert re.search(rf"Server:\s+{re.escape(settings.DNS_SERVICE_IP)}", output), output
    assert f"can't find {upstream_dns.PROBE_NAME}: NXDOMAIN" in output, output


def test_kubernetes_service_points_at_the_node(kube: Kube) -> None:
    service = kube.json("get", "service", "kubernetes", "-n", "default")
    assert service["spec"]["clusterIP"] == settings.KUBERNETES_SERVICE_IP
    deadline = time.monotonic() + 10
    while True:
        slices = kube.json(
            "get", "endpointslices", "-n", "default", "-l", "kubernetes.io/service-name=kubernetes"
        )["items"]
        addresses = [a for s in slices for e in s.get("endpoints") or [] for a in e["addresses"]]
        if addresses or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert addresses == [settings.node_ip()]
