"""Host-side pieces without a cluster: the guard rules, route conflicts, port checks, mounts,
cgroup hierarchies and the tiny DNS client."""

from __future__ import annotations

import re
import socket
import struct
import threading
from pathlib import Path

import pytest

from tests.cluster.local import cgroups, dnsclient, mounts, network, preflight, settings

NODE_IP = "10.152.182.1"


# --- guard ------------------------------------------------------------------------------


def test_guard_lets_only_cluster_destinations_through() -> None:
    rules = network.guard_rules(NODE_IP)
    returns = [r[r.index("-d") + 1] for r in rules if r[-1] == "RETURN"]
    assert returns == ["10.1.0.0/16", "10.152.183.0/24", f"{NODE_IP}/32"]
    assert rules[-1][-3:] == ["REJECT", "--reject-with", "icmp-admin-prohibited"]
    assert "-d" not in rules[-1]  # the last rule catches everything else


def test_guard_jumps_from_forward_and_input_for_the_pod_range() -> None:
    jumps = network.guard_jumps()
    assert [chain for chain, _ in jumps] == ["FORWARD", "INPUT"]
    for _, rule in jumps:
        assert rule == ["-s", "10.1.0.0/16", "-j", settings.GUARD_CHAIN]


def test_guard_script_text() -> None:
    script = network.guard_script(NODE_IP)
    assert script.startswith("*filter\n:RESEAU-K8S-GUARD - [0:0]\n")
    assert "-I FORWARD 1 -s 10.1.0.0/16 -j RESEAU-K8S-GUARD" in script
    assert '"reseau-k8s: pods never leave the machine"' in script
    assert script.endswith("COMMIT\n")


@pytest.mark.parametrize(
    ("prefix", "overlaps"),
    [
        ("192.0.2.0/24", False),
        ("127.0.0.0/8", False),
        ("10.0.0.0/8", True),  # covers every range of the cluster
        ("10.1.5.0/24", True),
        ("10.152.183.128/25", True),
        (f"{NODE_IP}/32", True),
        ("10.152.182.0/24", True),
        ("10.152.184.0/24", False),
        ("224.0.0.0/4", False),
    ],
)
def test_route_conflicts(prefix: str, overlaps: bool) -> None:
    assert bool(network.conflicts([prefix], NODE_IP)) is overlaps


def test_node_ip_override_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESEAU_K8S_NODE_IP", "10.1.0.7")
    with pytest.raises(ValueError, match=re.escape("10.1.0.0/16")):
        settings.node_ip()
    monkeypatch.setenv("RESEAU_K8S_NODE_IP", "8.8.8.8")
    with pytest.raises(ValueError, match="private"):
        settings.node_ip()
    monkeypatch.setenv("RESEAU_K8S_NODE_IP", "172.31.0.1")
    assert settings.node_ip() == "172.31.0.1"


# --- ports ------------------------------------------------------------------------------

PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0947 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 00000000:280A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 0100007F:1F90 0100007F:A0C2 01 00000000:00000000 00:00000000 00000000     0        0 3 1
"""


def test_listeners_parse_proc_net_tcp() -> None:
    # 0x0947 = 2375, 0x280A = 10250; the third line is an established connection.
    assert preflight.listeners(PROC_NET_TCP) == {("127.0.0.1", 2375), ("0.0.0.0", 10250)}


def test_taken_sees_exact_and_wildcard_listeners() -> None:
    wanted = preflight.ports(NODE_IP)
    problems = preflight.taken(wanted, {("0.0.0.0", 10250), ("127.0.0.1", 2380), ("::1", 2379)})
    assert len(problems) == 2
    assert any("kubelet" in p and "10250" in p for p in problems)
    assert any("etcd (peer)" in p for p in problems)


def test_taken_detects_a_real_listener() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        wanted = [preflight.Port("127.0.0.1", port, "test")]
        assert preflight.taken(wanted, preflight.current_listeners())
    assert not preflight.taken(wanted, preflight.current_listeners())


# --- mounts and cgroups -----------------------------------------------------------------

MOUNTINFO = """\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
30 22 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
31 22 0:27 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
40 22 0:40 / /var/lib/reseau-k8s/local/kubelet/pods/a/volumes/x rw - tmpfs tmpfs rw
41 22 0:41 / /var/lib/reseau-k8s/local/containerd/state/k8s.io/b/rootfs rw - overlay overlay rw
42 22 0:42 / /var/lib/reseau-k8s/local-other rw - tmpfs tmpfs rw
43 22 0:43 / /var/lib/reseau-k8s/local/with\\040space rw - tmpfs tmpfs rw
"""


def test_mounts_under_the_state_directory_deepest_first() -> None:
    found = mounts.under(Path("/var/lib/reseau-k8s/local"), MOUNTINFO)
    # Deepest first; at equal depth, the latest mount first.
    assert found == [
        "/var/lib/reseau-k8s/local/containerd/state/k8s.io/b/rootfs",
        "/var/lib/reseau-k8s/local/kubelet/pods/a/volumes/x",
        "/var/lib/reseau-k8s/local/with space",
    ]


def test_cgroup_hierarchies() -> None:
    assert cgroups.hierarchies(MOUNTINFO) == [
        Path("/sys/fs/cgroup/memory"),
        Path("/sys/fs/cgroup/unified"),
    ]
    assert cgroups.paths("/reseau-k8s", MOUNTINFO)[0] == Path("/sys/fs/cgroup/memory/reseau-k8s")


# --- DNS --------------------------------------------------------------------------------


def _response(query: bytes, rcode: int = 0, answers: list[str] = ()) -> bytes:  # type: ignore[assignment]
    qid = struct.unpack("!H", query[:2])[0]
    header = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, len(answers), 0, 0)
    body = query[12:]
    for address in answers:
        # A compressed name (pointer to the question at offset 12), type A, class IN.
        body += struct.pack("!HHHIH", 0xC00C, 1, 1, 5, 4) + socket.inet_aton(address)
    return header + body


def test_build_query() -> None:
    query = dnsclient.build_query("kubernetes.default.svc.cluster.local", 0x1234)
    assert query[:2] == b"\x12\x34"
    assert b"\x0akubernetes\x07default\x03svc\x07cluster\x05local\x00" in query
    assert query.endswith(b"\x00\x01\x00\x01")


def test_parse_response() -> None:
    query = dnsclient.build_query("kubernetes.default.svc.cluster.local", 7)
    assert dnsclient.parse_response(_response(query, answers=["10.152.183.1"]), 7) == [
        "10.152.183.1"
    ]
    with pytest.raises(dnsclient.DnsError, match="NXDOMAIN"):
        dnsclient.parse_response(_response(query, rcode=3), 7)
    with pytest.raises(dnsclient.DnsError, match="does not match"):
        dnsclient.parse_response(_response(query), 8)
    with pytest.raises(dnsclient.DnsError):
        dnsclient.parse_response(b"\x00\x07", 7)


def test_resolve_against_a_local_server() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]

        def answer() -> None:
            data, peer = server.recvfrom(512)
            server.sendto(_response(data, answers=["10.152.183.1", "10.152.183.2"]), peer)

        thread = threading.Thread(target=answer)
        thread.start()
        found = dnsclient.resolve_a("kubernetes.default.svc.cluster.local", "127.0.0.1", port)
        thread.join()
    assert found == ["10.152.183.1", "10.152.183.2"]


def test_resolve_times_out() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        with pytest.raises(dnsclient.DnsError):
            dnsclient.resolve_a("x.cluster.local", "127.0.0.1", port, timeout=0.2)
