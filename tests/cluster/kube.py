"""kubectl, driven as a reader would, for the cluster tests."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tools.cluster.kubectl import kubectl_binary


@dataclass
class Kube:
    """kubectl bound to the cluster's admin kubeconfig and, optionally, a namespace."""

    kubeconfig: Path
    namespace: str | None = None

    def argv(self, *args: str) -> list[str]:
        base = [kubectl_binary(), "--kubeconfig", str(self.kubeconfig)]
        if self.namespace:
            base += ["--namespace", self.namespace]
        return [*base, *args]

    def run(self, *args: str, input_text: str | None = None, timeout: float = 60) -> str:
        result = subprocess.run(
            self.argv(*args), capture_output=True, text=True, input=input_text, timeout=timeout
        )
        if result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
            )
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json"))

    def apply(self, *objects: dict[str, Any]) -> None:
        self.run("apply", "-f", "-", input_text=yaml.safe_dump_all(objects))

    def wait_for(self, what: str, condition: Any, timeout: float = 90) -> Any:
        """Poll `condition()` until it returns something truthy (never a bare sleep)."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            last = condition()
            if last:
                return last
            time.sleep(0.5)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last})")

    def pod_phase(self, name: str) -> str:
        return self.json("get", "pod", name).get("status", {}).get("phase", "")

    def wait_pod_done(self, name: str, timeout: float = 90) -> str:
        """Wait until a pod has Succeeded or Failed; returns the phase."""
        return self.wait_for(
            f"pod {name} to finish",
            lambda: (p := self.pod_phase(name)) in ("Succeeded", "Failed") and p,
            timeout,
        )


def pod(name: str, image: str, command: list[str], **spec: Any) -> dict[str, Any]:
    """A one-container pod manifest."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": name, "image": image, "command": command}],
            **spec,
        },
    }
