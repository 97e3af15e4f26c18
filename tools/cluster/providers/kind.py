"""A throwaway kind cluster with MicroK8s' networking, deleted after the run.

Pods get 10.1.0.0/16 and Services 10.152.183.0/24 as on MicroK8s, so the `kubernetes`
Service is 10.152.183.1 and kube-dns 10.152.183.10 (kind gives CoreDNS the tenth address),
and pages show what readers see.  Docker is needed; it cannot run on the project's machine,
where only the commands are unit-tested (tests/unit/doctest/test_providers.py).
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil

from tools.cluster import microk8s as values
from tools.cluster.contract import ClusterInfo, ProviderError, ProviderKind
from tools.cluster.kubectl import describe, run
from tools.cluster.providers.base import Provider

KIND_CONFIG = f"""\
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  podSubnet: "{values.POD_CIDR}"
  serviceSubnet: "{values.SERVICE_CIDR}"
nodes:
  - role: control-plane
"""


class KindProvider(Provider):
    kind = ProviderKind.KIND

    def __init__(self, *args: object, **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.cluster = f"reseau-k8s-doctest-{secrets.token_hex(3)}"
        self.created = False
        # A node image can be pinned (KIND_NODE_IMAGE=kindest/node:v1.37.x); kind's own
        # default otherwise, which matches the kind release CI installs.
        self.image = os.environ.get("KIND_NODE_IMAGE")

    def start(self) -> ClusterInfo:
        kind = shutil.which("kind")
        if kind is None:
            raise ProviderError("--cluster=kind: the kind command is not installed")
        config = self.workdir / "kind.yaml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(KIND_CONFIG)
        kubeconfig = self.workdir / "kubeconfig"
        argv = [
            kind, "create", "cluster",
            "--name", self.cluster,
            "--config", str(config),
            "--kubeconfig", str(kubeconfig),
            "--wait", "180s",
        ]  # fmt: skip
        if self.image:
            argv += ["--image", self.image]
        self.progress(f"cluster: creating kind cluster {self.cluster}")
        self.created = True  # even a half-created cluster must be deleted
        atexit.register(self._stop_at_exit)  # also when the run dies before its normal end
        run(argv, what="kind create cluster", timeout=600)
        os.chmod(kubeconfig, 0o600)
        return describe(self.kind, kubeconfig, self.extra, context=f"kind-{self.cluster}")

    def _stop_at_exit(self) -> None:
        try:
            self.stop()
        except ProviderError as exc:
            print(f"doctest: {exc} (delete it with `kind delete cluster --name {self.cluster}`)")

    def stop(self) -> None:
        atexit.unregister(self._stop_at_exit)
        if not self.created:
            return
        kind = shutil.which("kind") or "kind"
        self.progress(f"cluster: deleting kind cluster {self.cluster}")
        run(
            [kind, "delete", "cluster", "--name", self.cluster,
             "--kubeconfig", str(self.workdir / "kubeconfig")],
            what="kind delete cluster",
            timeout=300,
        )  # fmt: skip
        self.created = False
