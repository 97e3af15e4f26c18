"""MicroK8s on this machine: kubeconfig from `microk8s config`.

The doctest runs on the MicroK8s node itself, so `node-shell` examples can run; Calico is
MicroK8s' default CNI and is detected (not assumed), as are extra nodes and MetalLB.
"""

from __future__ import annotations

import shutil
from dataclasses import replace

from tools.cluster.contract import Capability, ClusterInfo, ProviderError, ProviderKind
from tools.cluster.kubectl import describe, run
from tools.cluster.private import write_private
from tools.cluster.providers.base import Provider


class MicroK8sProvider(Provider):
    kind = ProviderKind.MICROK8S

    def start(self) -> ClusterInfo:
        microk8s = shutil.which("microk8s")
        if microk8s is None:
            raise ProviderError("--cluster=microk8s: the microk8s command is not installed")
        self.progress("cluster: waiting for MicroK8s to be ready")
        run(
            [microk8s, "status", "--wait-ready", "--timeout", "120"],
            what="microk8s status",
            timeout=150,
        )
        text = run([microk8s, "config"], what="microk8s config")
        path = write_private(self.workdir / "kubeconfig", text)
        caps = {Capability.MICROK8S, Capability.NODE_SHELL, Capability.MICROK8S_PATHS} | self.extra
        info = describe(self.kind, path, caps)
        addon = run(
            [microk8s, "status", "--addon", "metallb"], what="microk8s status --addon metallb"
        )
        if addon.strip() == "enabled":
            info = replace(info, capabilities=info.capabilities | {Capability.LOADBALANCER})
        return info
