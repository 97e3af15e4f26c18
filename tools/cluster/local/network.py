"""The node's network, and undoing what the cluster's network made: all traffic stays here.

- The node address lives on an interface the cluster owns (never the machine's NIC).
- The service range is routed to that interface: a ClusterIP packet that kube-proxy did
  not rewrite is dropped there instead of following the default route.
- The guard that rejects pod traffic bound elsewhere is guard.py's nftables table.
- Sysctls are changed only when needed, each one recorded with its previous value.
- What kube-proxy, the CNI plugins and Calico create (chains, interfaces, routes, ipsets) is
  found by name or range at `down`, since they create it themselves.

Every change is recorded in the journal before it is made; `undo` reverses one entry and
accepts that the resource may never have been created.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import shlex
import shutil
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
        settings.node_range(node_ip): "the nodes' range",
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


# kube-proxy writes its chains for IPv4 and IPv6 alike (the host has both stacks), with the
# host's iptables (nft back-end here); Felix picks a back-end itself ("auto": legacy unless
# nft holds more rules). Both back-ends are searched.
BACKENDS = ("iptables-nft", "ip6tables-nft", "iptables-legacy", "ip6tables-legacy")
TABLES = ("filter", "nat", "mangle", "raw")
# Prefixes of the chains made by kube-proxy, the portmap plugin and Calico's Felix; rules
# Felix puts in built-in chains carry a `cali:` comment.
CLUSTER_CHAIN_PREFIXES = ("KUBE-", "CNI-", "cali-")
CLUSTER_RULE_MARKERS = ("cali:",)


def chains(table: str, binary: str = "iptables") -> list[str]:
    """Names of the chains of an iptables (or ip6tables) table."""
    out = run([binary, "-w", "-t", table, "-S"]).stdout
    return [line.split()[1] for line in out.splitlines() if line.startswith("-N ")]


def saved_tables(binary: str) -> dict[str, str]:
    """`<binary>-save` of every table that exists, split per table ({} if not installed).

    A plain `-save` never creates a table (`-t raw` would, with the legacy back-end).
    """
    if shutil.which(f"{binary}-save") is None:
        return {}
    out = run([f"{binary}-save"]).stdout
    tables: dict[str, str] = {}
    current = None
    for line in out.splitlines():
        if line.startswith("*"):
            current = line[1:]
            tables[current] = ""
        if current is not None:
            tables[current] += line + "\n"
    return tables


def cluster_chains(prefixes: tuple[str, ...] = CLUSTER_CHAIN_PREFIXES) -> list[str]:
    """`binary/table/chain` of every chain named with `prefixes`, both back-ends, v4 and v6."""
    found = []
    for binary in BACKENDS:
        for table, text in saved_tables(binary).items():
            for line in text.splitlines():
                if line.startswith(":") and line[1:].split()[0].startswith(prefixes):
                    found.append(f"{binary}/{table}/{line[1:].split()[0]}")
    return found


def marked_rules(markers: tuple[str, ...] = CLUSTER_RULE_MARKERS) -> list[str]:
    """`binary/table: rule` of every rule carrying a comment that starts with `markers`."""
    found = []
    for binary in BACKENDS:
        for table, text in saved_tables(binary).items():
            found += [
                f"{binary}/{table}: {line}"
                for line in text.splitlines()
                if line.startswith("-A ") and _marked(shlex.split(line), markers)
            ]
    return found


def _marked(words: list[str], markers: tuple[str, ...]) -> bool:
    return any(
        word == "--comment" and i + 1 < len(words) and words[i + 1].startswith(markers)
        for i, word in enumerate(words)
    )


def foreign_cluster_chains() -> list[str]:
    """KUBE-*/CNI-* chains already present: another cluster's, which `down` must not touch."""
    return cluster_chains()


# --- the node's interface ---------------------------------------------------------------


def create_node_link(layout: Layout, node_ip: str) -> None:
    """The bridge holding the first node's address, and the local route of the service range.

    The nodes' bridge: the other nodes' namespaces plug into it (see nodes.py), as machines
    into a switch; with a single node it has no port, and whatever is routed to it is
    discarded on the spot (this kernel has no dummy driver; a port-less bridge behaves the
    same). No IPv6 link-local address: nothing here speaks IPv6, not even a solicitation.
    """
    link = settings.NODE_LINK
    record(layout, Entry("link", {"name": link}))
    run(["ip", "link", "add", link, "type", "bridge"])
    run(["ip", "link", "set", "dev", link, "addrgenmode", "none"])
    run(["ip", "addr", "add", f"{node_ip}/{settings.NODE_PREFIX}", "dev", link])
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


def links_named(prefixes: tuple[str, ...]) -> list[str]:
    """The interfaces whose names start with `prefixes` (Calico's `cali…` veth ends)."""
    links = json.loads(run(["ip", "-j", "link", "show"]).stdout or "[]")
    return [link["ifname"] for link in links if link["ifname"].startswith(prefixes)]


def routes_within(cidr: str) -> list[list[str]]:
    """`ip route del` arguments of every IPv4 route (any table) inside `cidr`: what Calico
    left (the blackhole route of a node's /26 block) once its interfaces are gone."""
    network = ipaddress.ip_network(cidr)
    found = []
    routes = json.loads(run(["ip", "-4", "-j", "route", "show", "table", "all"]).stdout or "[]")
    for route in routes:
        dst = route.get("dst", "default")
        try:
            inside = ipaddress.ip_network(dst, strict=False).subnet_of(network)  # type: ignore[arg-type]
        except (ValueError, TypeError):
            continue
        if inside:
            kind = [route["type"]] if route.get("type") not in (None, "unicast") else []
            found.append([*kind, dst, "table", str(route.get("table", "main"))])
    return found


def ipsets(prefixes: tuple[str, ...]) -> list[str]:
    """The ipsets whose names start with `prefixes` (Felix's are `cali40…`, `cali60…`)."""
    if shutil.which("ipset") is None:
        return []
    out = run(["ipset", "list", "-n"], check=False).stdout
    return [name for name in out.split() if name.startswith(prefixes)]


def destroy_ipsets(prefixes: tuple[str, ...]) -> list[str]:
    """Destroy those ipsets (after the iptables rules that used them); returns their names."""
    names = ipsets(prefixes)
    for name in names:
        run(["ipset", "destroy", name])
    return names


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


def chain_cleanup_script(
    save_text: str, prefixes: tuple[str, ...], markers: tuple[str, ...] = ()
) -> tuple[str, list[str]]:
    """An `iptables-restore --noflush` script removing the chains named with `prefixes`.

    From one table's `iptables-save` text: delete every rule of another chain that jumps to
    them or whose comment starts with one of `markers`, then flush them all, then delete them
    all (they may jump to each other). Returns the script and the chains it removes. Pure
    function.
    """
    lines = save_text.splitlines()
    table = next((line for line in lines if line.startswith("*")), None)
    names = [
        line[1:].split()[0]
        for line in lines
        if line.startswith(":") and line[1:].split()[0].startswith(prefixes)
    ]
    deletes = []
    for line in lines:
        if not line.startswith("-A "):
            continue
        words = shlex.split(line)
        if words[1] in names:
            continue  # flushed below
        if _marked(words, markers):
            deletes.append("-D " + line[3:])
            continue
        for flag in ("-j", "-g"):
            if flag in words and words[words.index(flag) + 1] in names:
                deletes.append("-D " + line[3:])
                break
    if table is None or not (names or deletes):
        return "", []
    script = [table, *deletes]
    script += [f"-F {name}" for name in names]
    script += [f"-X {name}" for name in names]
    script.append("COMMIT")
    return "\n".join(script) + "\n", names


def delete_chains_with_prefix(
    prefixes: tuple[str, ...], markers: tuple[str, ...] = ()
) -> list[str]:
    """Delete the chains whose names start with `prefixes` (kube-proxy's, portmap's, Calico's),
    and the rules marked with `markers`, in every table of both back-ends, IPv4 and IPv6, one
    `*-restore` per table."""
    removed: list[str] = []
    for binary in BACKENDS:
        for table, saved in saved_tables(binary).items():
            script, names = chain_cleanup_script(saved, prefixes, markers)
            if not script:
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
