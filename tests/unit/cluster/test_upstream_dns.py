"""The Node's upstream DNS server: what it answers, where it listens, how `up` and `down` treat
it, and the Node's resolv.conf that names it."""

from __future__ import annotations

import glob
import os
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

from tools.cluster.local import dnsclient, preflight, teardown, upstream_dns
from tools.cluster.local.settings import Layout

NODE_IP = "10.152.182.1"


def test_corefile_answers_nxdomain_on_the_node_address_only() -> None:
    corefile = upstream_dns.corefile(NODE_IP)
    lines = [line.strip() for line in corefile.splitlines()]
    assert lines[0] == ".:53 {"
    assert f"bind {NODE_IP}" in lines
    assert "rcode NXDOMAIN" in lines
    # A recursive resolver's flags, the root zone's SOA as the root servers give it.
    assert [line for line in lines if line.startswith("response ")] == [
        "response set ra",
        "response clear aa",
    ]
    assert f'authority "{upstream_dns.ROOT_SOA}"' in lines
    assert upstream_dns.ROOT_SOA.startswith(". 86400 IN SOA a.root-servers.net. ")
    # It knows no name and asks no one.
    for plugin in ("forward", "kubernetes", "hosts", "file", "auto", "secondary", "grpc"):
        assert not any(line.split()[0] == plugin for line in lines if line), plugin


def test_resolv_conf_names_the_upstream_only() -> None:
    text = upstream_dns.resolv_conf(NODE_IP)
    directives = [line.split() for line in text.splitlines() if line and line[0] != "#"]
    assert directives == [["nameserver", NODE_IP]]


def test_command_line(tmp_path: Path) -> None:
    layout = Layout(tmp_path / "state")
    upstream_dns.write_config(layout, NODE_IP)
    argv = upstream_dns.argv("/cache/bin/coredns", layout)
    assert argv == ["/cache/bin/coredns", "-conf", str(layout.config / "upstream-dns.Corefile")]
    assert Path(argv[2]).read_text() == upstream_dns.corefile(NODE_IP)
    # Its command line names the state directory: the teardown check finds a leftover.
    assert str(layout.root) in argv[2]
    assert "coredns" in teardown.COMPONENT_BINARIES


def test_preflight_wants_port_53_of_the_node_address() -> None:
    wanted = preflight.ports(NODE_IP)
    assert preflight.Port(NODE_IP, 53, "upstream-dns") in wanted
    # A DNS server of the host on every address (dnsmasq…) is in the way.
    assert preflight.taken(wanted, {("0.0.0.0", 53)}) == [
        "port 10.152.182.1:53 (upstream-dns) is taken (something listens on 0.0.0.0:53)"
    ]


def test_down_stops_it_with_the_apiserver() -> None:
    assert upstream_dns.NAME in teardown.STORAGE_TIERS[0]


# --- the real server, on loopback ------------------------------------------------------------


def _coredns() -> str:
    """A CoreDNS binary the cluster built (the local cluster's cache), else skip."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "reseau-k8s"
    found = sorted(glob.glob(str(cache / "components" / "coredns-*" / "coredns")))
    if not found:
        pytest.skip("no CoreDNS binary built yet (the local cluster's cache is empty)")
    return found[-1]


def _query(name: str, qtype: int, port: int, tcp: bool = False) -> bytes:
    query = dnsclient.build_query(name, 0x4242)
    query = query[:-4] + struct.pack("!HH", qtype, 1)
    if tcp:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(struct.pack("!H", len(query)) + query)
            length = struct.unpack("!H", sock.recv(2))[0]
            data = b""
            while len(data) < length:
                data += sock.recv(length - len(data))
            return data
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(query, ("127.0.0.1", port))
        return sock.recvfrom(4096)[0]


def test_the_server_answers_like_the_public_dns_for_a_missing_name(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    conf = tmp_path / "Corefile"
    conf.write_text(upstream_dns.corefile("127.0.0.1", port))
    server = subprocess.Popen(
        [_coredns(), "-conf", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                packet = _query("catalogue", 1, port)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.05)
        answers = [packet, _query("web.labo-dns", 28, port), _query("kubernetes.io", 1, port, True)]
    finally:
        server.terminate()
        server.wait(5)
    for packet in answers:
        _, flags, _, ancount, nscount, _ = struct.unpack("!HHHHHH", packet[:12])
        assert flags & 0x000F == 3  # NXDOMAIN
        assert flags & 0x0080  # ra: recursion available, as a resolver answers
        assert not flags & 0x0400  # not aa: not authoritative
        assert (ancount, nscount) == (0, 1)
        assert b"\x01a\x0croot-servers\x03net\x00" in packet  # the root SOA's primary server
