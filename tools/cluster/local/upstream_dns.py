"""The Node's DNS server, as CoreDNS sees it: a local stand-in for the outside world's DNS.

On MicroK8s, CoreDNS answers the cluster's names itself and passes every other name to the
servers of the Node's resolv.conf (`forward . /etc/resolv.conf` in its Corefile; CoreDNS runs
with `dnsPolicy: Default`, so its /etc/resolv.conf is the one the kubelet takes from the Node).
Those servers ask the public DNS, where the names the chapter's pages try outside the cluster
(`catalogue.`, `web.`, `web.labo-dns.`…) do not exist: NXDOMAIN.

Nothing of the local cluster may leave this machine, so its Node's resolv.conf (the kubelet's
`resolvConf`) names this server instead: a second CoreDNS process (the binary the cluster
builds anyway), supervised like the other host components and bound to the node address,
port 53. It answers every question as a recursive resolver relays the root servers' answer
for a name that does not exist: NXDOMAIN, the `ra` flag and not `aa`, the root zone's SOA in
the authority section (from which the negative answer's lifetime comes). CoreDNS then runs
MicroK8s' Corefile unchanged, `forward` included. A name that does exist out there
(kubernetes.io) gets NXDOMAIN too: this server knows no name at all, and asks no one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from tools.cluster.local.settings import Layout

# The component's name: its log (logs/upstream-dns.log), PID file and line in `status`.
NAME: Final = "upstream-dns"
PORT: Final = 53
# The root zone's SOA as the root servers give it in a negative answer (refresh, retry,
# expire and minimum are the root zone's; the serial is a fixed one of the same YYYYMMDDNN
# form, since no answer here depends on it).
ROOT_SOA: Final = (
    ". 86400 IN SOA a.root-servers.net. nstld.verisign-grs.com. 2026010100 1800 900 604800 86400"
)
# A name that exists nowhere (RFC 2606 reserves .invalid): `up` checks that CoreDNS answers it
# NXDOMAIN, i.e. that its `forward` reaches this server through the network guard.
PROBE_NAME: Final = "reseau-k8s.invalid"


def corefile(node_ip: str, port: int = PORT) -> str:
    """This server's Corefile: the node address only, every name NXDOMAIN (another `port` for
    the tests only)."""
    return f""".:{port} {{
    bind {node_ip}
    header {{
      response set ra
      response clear aa
    }}
    template ANY ANY {{
      rcode NXDOMAIN
      authority "{ROOT_SOA}"
    }}
}}
"""


def resolv_conf(node_ip: str) -> str:
    """The Node's resolv.conf that the kubelet hands to `dnsPolicy: Default` pods (CoreDNS
    among them) and to host-network pods: this server as its only nameserver."""
    return (
        "# reseau-k8s: the Node's DNS server is the local upstream (see upstream_dns.py),\n"
        "# which answers NXDOMAIN for every name: nothing is ever asked outside the machine.\n"
        f"nameserver {node_ip}\n"
    )


def corefile_path(layout: Layout) -> Path:
    return layout.config / f"{NAME}.Corefile"


def write_config(layout: Layout, node_ip: str) -> None:
    path = corefile_path(layout)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(corefile(node_ip))


def argv(coredns: str, layout: Layout) -> list[str]:
    """The command line, given the path of the coredns binary."""
    return [coredns, "-conf", str(corefile_path(layout))]
