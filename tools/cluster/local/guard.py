"""The network guard: an nftables table of the cluster's own that only ever rejects.

Everything the pods send stays on this machine, whatever kube-proxy and Calico program. Their
rules live in the iptables filter table, whose base chains hook at priority 0, and they
insert their jumps at the head of FORWARD, INPUT and OUTPUT when they start (Felix accepts
workload traffic in its own chains). A guard placed first in those chains would lose that
race. This table's base chains hook the same points at priority -10 instead, so they always
run before the filter table, and they never accept for good: in netfilter an accept only ends
one base chain (the next one still runs), while a reject ends the packet. So the guard holds
whatever order the other chains are in.

Each node has the same table in its own network namespace (the first node's is the
machine's), with its own address.

- forward: traffic from the pods (a `cali*` interface or the pod range) may only go to the
  pods, the Services or the nodes; IPv6 from the pods goes nowhere (the pods have none but
  link-local addresses). What comes from the nodes' link (the bridge between the nodes, on
  the machine) may only go back onto it, from a node to a node, as VXLAN or ping: never
  routed anywhere else.
- input: the pods may ask the node itself only for the apiserver and the kubelet on the node
  address, and ping it or the VXLAN tunnel address. The other nodes may reach the apiserver,
  the kubelet and the image registry on the node address, send it VXLAN and ping it. On the
  first node, the pods and the other nodes may also ask the upstream DNS (UDP and TCP 53:
  what CoreDNS forwards to, see upstream_dns.py).
- output: a packet of the node that a Service rule translated must land on a pod, a node or
  loopback (a hand-written EndpointSlice could otherwise lead off the machine).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from typing import Any, Final

from tools.cluster.local import settings, upstream_dns
from tools.cluster.local.settings import Layout
from tools.cluster.local.state import Entry, record

FAMILY: Final = "inet"
TABLE: Final = settings.GUARD_TABLE
# Before the iptables filter table (NF_IP_PRI_FILTER = 0), after conntrack and NAT's DNAT
# (-200, -100): the guard sees translated destinations.
PRIORITY: Final = -10
HOOKS: Final = {"forward": "forward", "input": "input", "output": "output"}
REJECT: Final = "reject with icmpx admin-prohibited"
POD_INTERFACES: Final = '"cali*"'


class GuardError(RuntimeError):
    """nft refused the guard, or is missing."""


def _comment(text: str) -> str:
    return f'comment "reseau-k8s: {text}"'


VXLAN_PORT: Final = 4789


def chains(node_ip: str, registry_port: int | None = None) -> dict[str, list[str]]:
    """Each chain of the table of the node at `node_ip` and its rules, as `nft list table`
    prints them. `registry_port`: the image registry's, on the first node."""
    pods, services = settings.POD_CIDR, settings.SERVICE_CIDR
    nodes = settings.node_range(node_ip)
    link = f'"{settings.NODE_LINK}"'
    between_nodes = f"oifname {link} ip saddr {nodes} ip daddr {nodes}"
    node_services = [
        f"ip daddr {node_ip} tcp dport {settings.APISERVER_PORT} accept "
        + _comment("node to apiserver"),
        f"ip daddr {node_ip} tcp dport {settings.KUBELET_PORT} accept "
        + _comment("node to kubelet"),
    ]
    if registry_port is not None:
        node_services.append(
            f"ip daddr {node_ip} tcp dport {registry_port} accept "
            + _comment("node to image registry")
        )

    # The first node (the one with the registry) runs the upstream DNS that every node's
    # resolv.conf names: CoreDNS's `forward . /etc/resolv.conf`.
    def to_upstream_dns(who: str) -> list[str]:
        if registry_port is None:
            return []
        return [
            f"ip daddr {node_ip} {proto} dport {upstream_dns.PORT} accept "
            + _comment(f"{who} to upstream DNS")
            for proto in ("udp", "tcp")
        ]

    return {
        "forward": [
            f"meta nfproto ipv6 iifname {POD_INTERFACES} {REJECT} {_comment('no IPv6 from pods')}",
            f"iifname {POD_INTERFACES} jump pod-forward",
            f"ip saddr {pods} jump pod-forward",
            f"iifname {link} jump node-forward",
        ],
        "pod-forward": [
            f"ip daddr {pods} accept {_comment('pod to pod')}",
            f"ip daddr {services} accept {_comment('pod to Service')}",
            f"ip daddr {nodes} accept {_comment('pod to node')}",
            f"{REJECT} {_comment('pods never leave the machine')}",
        ],
        "node-forward": [
            f"ct state established,related accept {_comment('replies')}",
            f"{between_nodes} udp dport {VXLAN_PORT} accept {_comment('VXLAN between nodes')}",
            f"{between_nodes} meta l4proto icmp accept {_comment('ping between nodes')}",
            f"{REJECT} {_comment('the nodes link leads nowhere else')}",
        ],
        "input": [
            f"meta nfproto ipv6 iifname {POD_INTERFACES} meta l4proto != ipv6-icmp {REJECT} "
            + _comment("no host service for pods over IPv6"),
            f"ip saddr {pods} jump pod-input",
            f"iifname {link} ip saddr {nodes} jump node-input",
        ],
        "pod-input": [
            f"ct state established,related accept {_comment('replies to the host')}",
            f"ip daddr {node_ip} tcp dport {settings.APISERVER_PORT} accept "
            + _comment("pod to apiserver"),
            f"ip daddr {node_ip} tcp dport {settings.KUBELET_PORT} accept "
            + _comment("pod to kubelet"),
            *to_upstream_dns("pod"),
            f"ip daddr {node_ip} meta l4proto icmp accept {_comment('ping node')}",
            f"ip daddr {pods} meta l4proto icmp accept {_comment('ping tunnel address')}",
            f"{REJECT} {_comment('no other host service for pods')}",
        ],
        "node-input": [
            f"ct state established,related accept {_comment('replies to the node')}",
            *node_services,
            *to_upstream_dns("node"),
            f"ip daddr {node_ip} udp dport {VXLAN_PORT} accept {_comment('VXLAN from a node')}",
            f"ip daddr {node_ip} meta l4proto icmp accept {_comment('ping from a node')}",
            f"{REJECT} {_comment('no other service for the nodes')}",
        ],
        "output": ["ct status dnat jump node-dnat"],
        "node-dnat": [
            f"ip daddr {pods} accept {_comment('node to pod via Service')}",
            f"ip daddr {nodes} accept {_comment('node to a node via Service')}",
            f"ip daddr 127.0.0.0/8 accept {_comment('loopback')}",
            f"{REJECT} {_comment('Services never lead off the machine')}",
        ],
    }


def script(node_ip: str, registry_port: int | None = None) -> str:
    """The `nft -f` input creating the table (it is created whole, or not at all)."""
    lines = [f"table {FAMILY} {TABLE} {{"]
    for name, rules in chains(node_ip, registry_port).items():
        lines.append(f"\tchain {name} {{")
        if name in HOOKS:
            lines.append(f"\t\ttype filter hook {HOOKS[name]} priority {PRIORITY}; policy accept;")
        lines += [f"\t\t{rule}" for rule in rules]
        lines.append("\t}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _nft(*args: str, stdin: str | None = None, enter: Sequence[str] = ()) -> str:
    """`nft ARGS`, in a node's network namespace when `enter` is its nsenter prefix."""
    try:
        result = subprocess.run(
            [*enter, "nft", *args], input=stdin, capture_output=True, text=True, check=False
        )
    except FileNotFoundError as exc:
        raise GuardError("nft not found (Debian package nftables)") from exc
    if result.returncode != 0:
        raise GuardError(f"nft {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def install(layout: Layout, node_ip: str, registry_port: int | None = None) -> None:
    """Create the machine's guard table (recorded first, so that `down` removes it even
    half-made)."""
    record(layout, Entry("nft-table", {"family": FAMILY, "name": TABLE}))
    _nft("-f", "-", stdin=script(node_ip, registry_port))


def install_in(enter: Sequence[str], node_ip: str) -> None:
    """Create the guard table of a node in its own network namespace (it goes with it)."""
    _nft("-f", "-", stdin=script(node_ip), enter=enter)


def exists(family: str = FAMILY, name: str = TABLE) -> bool:
    return any(
        t.get("family") == family and t.get("name") == name for t in _objects("table", "tables")
    )


def delete_table(family: str, name: str) -> None:
    """Delete a table if it is there."""
    if exists(family, name):
        _nft("delete", "table", family, name)


def _objects(kind: str, *args: str) -> list[dict[str, Any]]:
    listing = json.loads(_nft("-j", "list", *args) or "{}")
    return [item[kind] for item in listing.get("nftables", []) if kind in item]


def base_chains() -> list[dict[str, Any]]:
    """Every base chain of the ruleset (any table): family, table, name, hook, prio, policy."""
    return [c for c in _objects("chain", "ruleset") if "hook" in c]


def listed_rules(chain: str, enter: Sequence[str] = ()) -> list[str]:
    """The rules of one chain of the guard table, as nft prints them (handles dropped)."""
    text = _nft("list", "chain", FAMILY, TABLE, chain, enter=enter)
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("table ", "chain ", "type ", "}")):
            continue
        rules.append(line)
    return rules
