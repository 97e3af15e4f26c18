"""A tiny DNS client (A records over UDP): `up` asks CoreDNS, through the kube-dns ClusterIP,
for kubernetes.default.svc.cluster.local (an address) and for a name outside the cluster
(NXDOMAIN, from the local upstream) before it says the cluster is ready.

Only the pieces needed for that: one question, the header's rcode, and the A records of the
answer section (names may be compressed).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct

TYPE_A = 1
CLASS_IN = 1


class DnsError(RuntimeError):
    """No usable answer (timeout, malformed packet, error rcode); `rcode` names the response
    code (NXDOMAIN, SERVFAIL…) when the server did answer."""

    def __init__(self, message: str, rcode: str | None = None) -> None:
        super().__init__(message)
        self.rcode = rcode


def build_query(name: str, query_id: int) -> bytes:
    """A recursive-desired query for the A records of `name`."""
    header = struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0)
    labels = b""
    for label in name.rstrip(".").split("."):
        encoded = label.encode("ascii")
        if not 0 < len(encoded) < 64:
            raise ValueError(f"invalid DNS label in {name!r}")
        labels += bytes([len(encoded)]) + encoded
    return header + labels + b"\0" + struct.pack("!HH", TYPE_A, CLASS_IN)


def _skip_name(packet: bytes, offset: int) -> int:
    """Offset just past the (possibly compressed) name starting at `offset`."""
    while True:
        if offset >= len(packet):
            raise DnsError("truncated name")
        length = packet[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:
            return offset + 2  # a pointer ends the name
        offset += 1 + length


def parse_response(packet: bytes, query_id: int) -> list[str]:
    """The A records of a response to query `query_id`; DnsError on any other outcome."""
    if len(packet) < 12:
        raise DnsError("response shorter than a DNS header")
    rid, flags, qdcount, ancount, _, _ = struct.unpack("!HHHHHH", packet[:12])
    if rid != query_id:
        raise DnsError(f"response id {rid} does not match query id {query_id}")
    if not flags & 0x8000:
        raise DnsError("not a response")
    rcode = flags & 0x000F
    if rcode != 0:
        names = {1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
        name = names.get(rcode, str(rcode))
        raise DnsError(f"rcode {name}", rcode=name)
    offset = 12
    for _ in range(qdcount):
        offset = _skip_name(packet, offset) + 4
    addresses: list[str] = []
    for _ in range(ancount):
        offset = _skip_name(packet, offset)
        if offset + 10 > len(packet):
            raise DnsError("truncated answer")
        rtype, rclass, _ttl, rdlength = struct.unpack("!HHIH", packet[offset : offset + 10])
        offset += 10
        rdata = packet[offset : offset + rdlength]
        offset += rdlength
        if rtype == TYPE_A and rclass == CLASS_IN and rdlength == 4:
            addresses.append(str(ipaddress.IPv4Address(rdata)))
    return addresses


def resolve_a(name: str, server: str, port: int = 53, timeout: float = 1.0) -> list[str]:
    """Ask `server` for the A records of `name` (one UDP exchange)."""
    query_id = int.from_bytes(os.urandom(2), "big")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(build_query(name, query_id), (server, port))
            packet, _ = sock.recvfrom(4096)
        except OSError as exc:  # timeout, ICMP unreachable surfaced as ECONNREFUSED
            raise DnsError(f"{server}:{port}: {exc}") from exc
    return parse_response(packet, query_id)
