"""Variables and macros for the pages (mkdocs-macros-plugin, `module_name: macros`).

Pages opt in with `render_macros: true` in their front matter (`render_by_default: false`
in mkdocs.yml), so Jinja never touches the code blocks of pages that do not need it.
"""

from __future__ import annotations

from typing import Any

from tools.cluster import microk8s
from tools.cluster.local.build import kubernetes_version

from . import errors
from .links import section_link


def variables() -> dict[str, str]:
    """The names pages use, e.g. `{{ service_cidr }}`; values come from
    `tools/cluster/microk8s.py`, and the Kubernetes version from the release the local cluster
    is built from (its go.mod pin), so the version readers are told is the one the examples
    ran on."""
    return {
        "k8s_version": kubernetes_version(),
        "kubectl": microk8s.KUBECTL,
        "pod_cidr": microk8s.POD_CIDR,
        "service_cidr": microk8s.SERVICE_CIDR,
        "kubernetes_service_ip": microk8s.KUBERNETES_SERVICE_IP,
        "dns_service_ip": microk8s.DNS_SERVICE_IP,
        "cluster_domain": microk8s.CLUSTER_DOMAIN,
        "node_port_range": microk8s.NODE_PORT_RANGE,
        "coredns_deployment": microk8s.COREDNS_DEPLOYMENT,
        "coredns_service": microk8s.COREDNS_SERVICE,
        "coredns_label": microk8s.COREDNS_LABEL,
    }


def define_env(env: Any) -> None:
    """Entry point called by mkdocs-macros-plugin once per build."""
    errors.register()
    env.variables.update(variables())

    def _section_link(target: str, title: str) -> str:
        # env.page is the page being rendered: links are relative to it, like Markdown links.
        return section_link(env.conf["docs_dir"], env.page.file.src_uri, target, title)

    env.macro(_section_link, "section_link")
