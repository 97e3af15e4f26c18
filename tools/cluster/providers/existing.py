"""An existing cluster, by kubeconfig context (`--cluster=existing --context NAME`)."""

from __future__ import annotations

from tools.cluster.contract import ClusterInfo, ProviderKind
from tools.cluster.kubectl import describe, kubectl_binary, run
from tools.cluster.private import write_private
from tools.cluster.providers.base import Provider


class ExistingProvider(Provider):
    kind = ProviderKind.EXISTING

    def __init__(self, *args: object, context: str | None = None, **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.context = context

    def start(self) -> ClusterInfo:
        # One self-contained file (certificates inlined, only that context), so that the
        # page kubeconfigs derived from it never depend on relative paths or other contexts.
        argv = [kubectl_binary(), "config", "view", "--minify", "--flatten", "--raw"]
        if self.context:
            argv += ["--context", self.context]
        what = f"reading kubeconfig context {self.context or '(current)'}"
        text = run(argv, what=what)
        path = write_private(self.workdir / "kubeconfig", text)
        self.progress(f"cluster: existing context {self.context or '(current)'}")
        return describe(self.kind, path, self.extra, context=self.context)
