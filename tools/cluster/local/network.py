"""The node's network and the safety guards: all traffic stays on this machine.

- The node address lives on an interface the cluster owns (never the machine's NIC).
- The service range is routed to that interface: a ClusterIP packet that kube-proxy did
  not rewrite is dropped there instead of following the default route.
- Our own iptables chains reject pod traffic to anything but the pod and service ranges and
  the node address (FORWARD), and pod traffic to the host's own services but the apiserver and
  the kubelet (INPUT).
- Sysctls are changed only when needed, each one recorded with its previous value.

Every change is recorded in the journal before it is made; `undo` reverses one entry and
accepts that the resource may never have been created.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import shlex
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from tools.cluster.local import settings
from tools.cluster.local.settings import Layout
from tools.cluster.local.state import Entry, record


class NetworkError(RuntimeError):
    """The host's network does not allow the cluster (a collision, a missing tool)."""


def run(argv: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(list(argv), capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise NetworkError(f"{argv[0]} not found (are the system packages installed?)") from exc
    if check and result.returncode != 0:
        raise NetworkError(f"{' '.join(argv)}: {result.stderr.strip() or result.stdout.strip()}")
    return result


# --- checks -----------------------------------------------------------------------------


def host_prefixes() -> list[str]:
    """Destinations of the host's IPv4 routes (every table) and its IPv4 addresses."""
    prefixes: list[str] = []
    routes = json.loads(run(["ip", "-4", "-j", "route", "show", "table", "all"]).stdout or "[]")
    for route in routes:
        dst = route.get("dst")
        if dst and dst != "default" and route.get("type") not in ("broadcast",):
            prefixes.append(dst)
    addresses = json.loads(run(["ip", "-4", "-j", "addr", "show"]).stdout or "[]")
    for link in addresses:
        for info in link.get("addr_info", []):
            prefixes.append(f"{info['local']}/32")
    return prefixes


def conflicts(prefixes: Iterable[str], node_ip: str, own_links: Iterable[str] = ()) -> list[str]:
    """Which host prefixes overlap the node address, the pod range or the service range.

    Loopback and multicast prefixes never matter. Pure function: `prefixes` come from
    `host_prefixes` (or a test).
    """
    ours = {
        f"{node_ip}/32": "the node address",
        settings.POD_CIDR: "the pod range",
        settings.SERVICE_CIDR: "the service range",
    }
    found: list[str] = []
    for prefix in prefixes:
        try:
            network = ipaddress.ip_network(prefix, strict=False)
        except ValueError:
            continue
        if network.is_loopback or network.is_multicast or network.prefixlen == 0:
            continue
        for cidr, what in ours.items():
            if network.overlaps(ipaddress.ip_network(cidr)):
                found.append(f"{prefix} overlaps {what} ({cidr})")
    return found


def link_exists(name: str) -> bool:
    return run(["ip", "link", "show", "dev", name], check=False).returncode == 0


# kube-proxy writes its chains for IPv4 and IPv6 alike (the host has both stacks).
IPTABLES = ("iptables", "ip6tables")
TABLES = ("filter", "nat", "mangle", "raw")


def chains(table: str, binary: str = "iptables") -> list[str]:
    """Names of the chains of an iptables (or ip6tables) table."""
    out = run([binary, "-w", "-t", table, "-S"]).stdout
    return [line.split()[1] for line in out.splitlines() if line.startswith("-N ")]


def cluster_chains(prefixes: tuple[str, ...] = ("KUBE-", "CNI-")) -> list[str]:
    """`binary/table/chain` of every chain named with `prefixes`, IPv4 and IPv6."""
    found = []
    for binary in IPTABLES:
        for table in TABLES:
            found += [
                f"{binary}/{table}/{c}" for c in chains(table, binary) if c.startswith(prefixes)
            ]
    return found


def foreign_cluster_chains() -> list[str]:
    """KUBE-*/CNI-* chains already present: another cluster's, which `down` must not touch."""
    return cluster_chains()


# --- the guard --------------------------------------------------------------------------


def guard_rules(node_ip: str) -> list[list[str]]:
    """The rules of the FORWARD guard chain, in order (`iptables -A GUARD_CHAIN <rule>`).

    It is jumped to for packets routed from the pod range; what it lets through (RETURN) goes
    on to the usual rules, everything else is rejected here: nothing leaves the machine.
    """
    comment = ["-m", "comment", "--comment"]
    return [
        ["-d", settings.POD_CIDR, *comment, "reseau-k8s: pod to pod", "-j", "RETURN"],
        ["-d", settings.SERVICE_CIDR, *comment, "reseau-k8s: pod to Service", "-j", "RETURN"],
        ["-d", f"{node_ip}/32", *comment, "reseau-k8s: pod to node", "-j", "RETURN"],
        [*comment, "reseau-k8s: pods never leave the machine", *REJECT],
    ]


REJECT = ["-j", "REJECT", "--reject-with", "icmp-admin-prohibited"]


def guard_input_rules(node_ip: str) -> list[list[str]]:
    """The rules of the INPUT guard chain: what pods may ask of the host itself.

    Replies to the host's own connections (kubelet probes, the DNS check of `up`), the
    apiserver and the kubelet on the node address (the kubernetes Service leads there), and
    ping of the node and of the pods' gateway; every other port of every host address (what
    listens on 0.0.0.0, the machine's own address) is refused.
    """
    comment = ["-m", "comment", "--comment"]
    node = f"{node_ip}/32"
    rules = [
        [
            "-m",
            "conntrack",
            "--ctstate",
            "RELATED,ESTABLISHED",
            *comment,
            "reseau-k8s: replies to the host",
            "-j",
            "RETURN",
        ]
    ]
    for port, what in ((settings.APISERVER_PORT, "apiserver"), (settings.KUBELET_PORT, "kubelet")):
        rules.append(
            ["-d", node, "-p", "tcp", "-m", "tcp", "--dport", str(port), *comment,
             f"reseau-k8s: pod to {what}", "-j", "RETURN"]
        )  # fmt: skip
    for destination, what in ((node, "node"), (settings.POD_CIDR, "gateway")):
        rules.append(
            ["-d", destination, "-p", "icmp", *comment, f"reseau-k8s: ping {what}", "-j", "RETURN"]
        )
    rules.append([*comment, "reseau-k8s: no other host service for pods", *REJECT])
    return rules


def guard_output_rules(node_ip: str) -> list[list[str]]:
    """The rules of the OUTPUT guard chain, jumped to only for packets the host DNATed.

    The host's own traffic is not the cluster's business, but a Service asked from the node
    (a ClusterIP or a NodePort, translated by kube-proxy in nat OUTPUT) must still land in the
    cluster: a Service whose EndpointSlice was written by hand with an outside address would
    otherwise lead off the machine.
    """
    comment = ["-m", "comment", "--comment"]
    return [
        ["-d", settings.POD_CIDR, *comment, "reseau-k8s: node to pod via Service", "-j", "RETURN"],
        ["-d", f"{node_ip}/32", *comment, "reseau-k8s: node to itself via Service", "-j", "RETURN"],
        ["-d", "127.0.0.0/8", *comment, "reseau-k8s: loopback", "-j", "RETURN"],
        [*comment, "reseau-k8s: Services never lead off the machine", *REJECT],
    ]


def guard_chains(node_ip: str) -> dict[str, list[list[str]]]:
    """Each guard chain and its rules."""
    return {
        settings.GUARD_CHAIN: guard_rules(node_ip),
        settings.GUARD_INPUT_CHAIN: guard_input_rules(node_ip),
        settings.GUARD_OUTPUT_CHAIN: guard_output_rules(node_ip),
    }


def guard_jumps() -> list[tuple[str, list[str]]]:
    """(built-in chain, rule) for the jumps into the guards, inserted first in each chain."""
    # FORWARD: pod traffic routed anywhere; INPUT: pod traffic to the host's own addresses;
    # OUTPUT: the host's packets that a Service rule translated.
    return [
        ("FORWARD", ["-s", settings.POD_CIDR, "-j", settings.GUARD_CHAIN]),
        ("INPUT", ["-s", settings.POD_CIDR, "-j", settings.GUARD_INPUT_CHAIN]),
        ("OUTPUT", ["-m", "conntrack", "--ctstate", "DNAT", "-j", settings.GUARD_OUTPUT_CHAIN]),
    ]


def guard_script(node_ip: str) -> str:
    """The guards as iptables-save text (for the docs and the tests)."""
    chains = guard_chains(node_ip)
    lines = ["*filter", *(f":{name} - [0:0]" for name in chains)]
    for chain, rule in guard_jumps():
        lines.append(" ".join(["-I", chain, "1", *_quoted(rule)]))
    for name, rules in chains.items():
        lines += [" ".join(["-A", name, *_quoted(rule)]) for rule in rules]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def _quoted(rule: Iterable[str]) -> list[str]:
    return [f'"{word}"' if " " in word else word for word in rule]


def install_guard(layout: Layout, node_ip: str) -> None:
    """Create the guard chains and jump to them first from FORWARD, INPUT and OUTPUT."""
    for chain, rules in guard_chains(node_ip).items():
        record(layout, Entry("chain", {"table": "filter", "name": chain}))
        run(["iptables", "-w", "-t", "filter", "-N", chain])
        for rule in rules:
            run(["iptables", "-w", "-t", "filter", "-A", chain, *rule])
    for builtin, rule in guard_jumps():
        record(layout, Entry("rule", {"table": "filter", "chain": builtin, "rule": rule}))
        run(["iptables", "-w", "-t", "filter", "-I", builtin, "1", *rule])


def keep_guard_first() -> None:
    """Move the guard jumps back to the head of FORWARD, INPUT and OUTPUT.

    kube-proxy prepends its own jumps when it starts; its chains accept established and
    masquerade-marked traffic, so the guard is put back in front of them.
    """
    for builtin, rule in guard_jumps():
        listing = run(["iptables", "-w", "-t", "filter", "-S", builtin]).stdout.splitlines()
        rules = [line for line in listing if line.startswith("-A ")]
        first = shlex.split(rules[0]) if rules else []
        if first[2:] == rule:
            continue
        with contextlib.suppress(NetworkError):
            run(["iptables", "-w", "-t", "filter", "-D", builtin, *rule])
        run(["iptables", "-w", "-t", "filter", "-I", builtin, "1", *rule])


# --- the node's interface ---------------------------------------------------------------


def create_node_link(layout: Layout, node_ip: str) -> None:
    """The interface holding the node address, and the local route of the service range.

    A bridge without ports, not a dummy interface: this kernel has no dummy driver, and a
    port-less bridge behaves the same (whatever is routed to it is discarded on the spot). No
    ARP and no IPv6 link-local address: it never sends anything, not even a solicitation.
    """
    link = settings.NODE_LINK
    record(layout, Entry("link", {"name": link}))
    run(["ip", "link", "add", link, "type", "bridge"])
    run(["ip", "link", "set", "dev", link, "arp", "off", "addrgenmode", "none"])
    run(["ip", "addr", "add", f"{node_ip}/32", "dev", link])
    run(["ip", "link", "set", link, "up"])
    route = [settings.SERVICE_CIDR, "dev", link, "src", node_ip]
    record(layout, Entry("route", {"route": route}))
    run(["ip", "route", "add", *route])


# --- sysctls ----------------------------------------------------------------------------


def sysctl_path(key: str) -> Path:
    return Path("/proc/sys") / key.replace(".", "/")


def read_sysctl(key: str) -> str | None:
    try:
        return sysctl_path(key).read_text().strip()
    except OSError:
        return None


def remember_sysctl(layout: Layout, key: str) -> None:
    """Record a sysctl's value so that `down` restores it (a component may change it)."""
    previous = read_sysctl(key)
    if previous is not None:
        record(layout, Entry("sysctl", {"key": key, "previous": previous}))


def set_sysctl(layout: Layout, key: str, value: str) -> None:
    """Set a sysctl if it differs, recording the previous value first."""
    previous = read_sysctl(key)
    if previous is None:
        raise NetworkError(f"sysctl {key} missing from this kernel")
    if previous == value:
        return
    record(layout, Entry("sysctl", {"key": key, "previous": previous}))
    sysctl_path(key).write_text(value)


# --- undo -------------------------------------------------------------------------------


def delete_link(name: str) -> None:
    if link_exists(name):
        run(["ip", "link", "delete", name])


def delete_links_on(bridge: str) -> None:
    """Delete the veths enslaved to `bridge` (pods' host ends)."""
    if not link_exists(bridge):
        return
    links = json.loads(run(["ip", "-j", "link", "show", "master", bridge]).stdout or "[]")
    for link in links:
        run(["ip", "link", "delete", link["ifname"]], check=False)


def delete_route(route: Sequence[str]) -> None:
    run(["ip", "route", "del", *route], check=False)


def delete_rule(table: str, chain: str, rule: Sequence[str]) -> None:
    """Delete every copy of a rule (an interrupted `up` may have inserted it twice)."""
    for _ in range(10):
        if run(["iptables", "-w", "-t", table, "-D", chain, *rule], check=False).returncode:
            return


def delete_chain(table: str, name: str) -> None:
    """Remove the jumps to a chain, then flush and delete it (absent chains are fine)."""
    if name not in chains(table):
        return
    listing = run(["iptables", "-w", "-t", table, "-S"]).stdout.splitlines()
    for line in listing:
        words = shlex.split(line)
        if words[:1] == ["-A"] and "-j" in words and words[words.index("-j") + 1] == name:
            run(["iptables", "-w", "-t", table, "-D", *words[1:]], check=False)
    run(["iptables", "-w", "-t", table, "-F", name], check=False)
    run(["iptables", "-w", "-t", table, "-X", name], check=False)


def chain_cleanup_script(save_text: str, prefixes: tuple[str, ...]) -> tuple[str, list[str]]:
    """An `iptables-restore --noflush` script removing the chains named with `prefixes`.

    From one table's `iptables-save` text: delete every rule of another chain that jumps to
    them, then flush them all, then delete them all (they may jump to each other). Returns the
    script and the chains it removes. Pure function.
    """
    lines = save_text.splitlines()
    table = next((line for line in lines if line.startswith("*")), None)
    names = [
        line[1:].split()[0]
        for line in lines
        if line.startswith(":") and line[1:].split()[0].startswith(prefixes)
    ]
    if table is None or not names:
        return "", []
    deletes = []
    for line in lines:
        if not line.startswith("-A "):
            continue
        words = shlex.split(line)
        if words[1] in names:
            continue  # flushed below
        for flag in ("-j", "-g"):
            if flag in words and words[words.index(flag) + 1] in names:
                deletes.append("-D " + line[3:])
                break
    script = [table, *deletes]
    script += [f"-F {name}" for name in names]
    script += [f"-X {name}" for name in names]
    script.append("COMMIT")
    return "\n".join(script) + "\n", names


def delete_chains_with_prefix(prefixes: tuple[str, ...]) -> list[str]:
    """Delete the chains whose names start with `prefixes` (kube-proxy's, portmap's) in every
    table of iptables and ip6tables, one `*-restore` per table."""
    removed: list[str] = []
    for binary in IPTABLES:
        for table in TABLES:
            saved = run([f"{binary}-save", "-t", table]).stdout
            script, names = chain_cleanup_script(saved, prefixes)
            if not names:
                continue
            result = subprocess.run(
                [f"{binary}-restore", "-w", "--noflush"],
                input=script,
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise NetworkError(f"{binary}-restore ({table}): {result.stderr.strip()}")
            removed += [f"{binary}/{table}/{name}" for name in names]
    return removed


def restore_sysctl(key: str, previous: str) -> None:
    path = sysctl_path(key)
    with contextlib.suppress(OSError):
        if path.read_text().strip() != previous:
            path.write_text(previous)
