"""Each page in its own namespace, nothing left behind, cluster-wide pages alone.

- `page_kubeconfig`: the provider's kubeconfig with the page namespace as the current
  context's default, so pages never write `-n` for their own objects.
- `Namespaces`: create `doctest-<slug>` before a page, delete it after, even on failure,
  Ctrl-C or SIGTERM (try/finally in the runtime, plus an atexit handler here), and delete
  stale `doctest-*` namespaces left by a killed run at start.
- `snapshot`/`leaks`: every object outside the doctest namespaces, by UID with a fingerprint
  of what it says (not its status), before and after a page.
- `PageLock`: pages marked exclusive hold an exclusive lock, the others a shared one, so
  under pytest-xdist an exclusive page runs alone.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tools.cluster.contract import ProviderError
from tools.cluster.kubectl import kubectl as run_kubectl
from tools.cluster.private import write_private

PREFIX = "doctest-"
MANAGED_BY = "app.kubernetes.io/managed-by=reseau-k8s-doctest"


class ClusterError(RuntimeError):
    pass


def namespace_for(page: Path, docs_root: Path) -> str:
    """`doctest-<slug>`: the file stem (the folder name for index.md), a DNS label."""
    rel = page.relative_to(docs_root) if page.is_relative_to(docs_root) else Path(page.name)
    stem = rel.parent.name if rel.stem == "index" and rel.parent.name else rel.stem
    slug = re.sub(r"[^a-z0-9-]+", "-", stem.lower()).strip("-") or "page"
    name = PREFIX + slug
    if len(name) > 63:
        digest = hashlib.sha256(str(rel).encode()).hexdigest()[:6]
        name = name[: 63 - 7].rstrip("-") + "-" + digest
    return name


def kubectl(
    kubeconfig: Path,
    *args: str,
    timeout: float = 60,
    check: bool = True,
    input_text: str | None = None,
) -> str:
    """The project's kubectl runner; a failure is a ClusterError (ignored with check=False)."""
    try:
        return run_kubectl(
            kubeconfig, *args, what="kubectl", timeout=timeout, input_text=input_text
        )
    except ProviderError as exc:
        if check:
            raise ClusterError(str(exc)) from None
        return ""


def page_kubeconfig(base: Path, namespace: str, dest: Path) -> Path:
    """A copy of `base` whose current context defaults to `namespace`."""
    try:
        config = yaml.safe_load(base.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ClusterError(f"cannot read kubeconfig {base}: {exc}") from exc
    current = config.get("current-context")
    for ctx in config.get("contexts") or []:
        if ctx.get("name") == current:
            ctx.setdefault("context", {})["namespace"] = namespace
            break
    else:
        raise ClusterError(f"kubeconfig {base} has no current context")
    return write_private(dest, yaml.safe_dump(config, sort_keys=False))


OWNER = "reseau-k8s/doctest-run"


def _alive(owner: str) -> bool:
    """Is the run that owns a namespace ("host:pid") still running on this machine?"""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Namespaces:
    """Creates and deletes page namespaces; whatever is left at exit is deleted then.

    Several runs may share one cluster (writers run their own pages on the shared local
    cluster): each namespace is annotated with the run that owns it, stale ones are those
    whose run is gone, and a page whose namespace another live run holds waits for it.
    """

    def __init__(self, kubeconfig: Path, owner: int | None = None):
        self.kubeconfig = kubeconfig
        self.owner = f"{socket.gethostname()}:{owner or os.getpid()}"
        self.live: set[str] = set()
        atexit.register(self.delete_all)

    def _owners(self) -> dict[str, str]:
        out = kubectl(self.kubeconfig, "get", "namespaces", "-l", MANAGED_BY, "-o", "json")
        items = json.loads(out).get("items", []) if out.strip() else []
        return {
            i["metadata"]["name"]: (i["metadata"].get("annotations") or {}).get(OWNER, "")
            for i in items
        }

    def delete_stale(self) -> list[str]:
        stale = [
            name
            for name, owner in self._owners().items()
            if owner != self.owner and not _alive(owner)
        ]
        for name in stale:
            self.delete(name)
        return stale

    def create(self, name: str, wait: float = 900) -> None:
        deadline = time.monotonic() + wait
        while True:
            got = kubectl(
                self.kubeconfig, "get", "namespace", name, "--ignore-not-found", "-o", "json"
            )
            if not got.strip():
                break
            meta = json.loads(got)["metadata"]
            owner = (meta.get("annotations") or {}).get(OWNER, "")
            if owner and owner != self.owner and _alive(owner):
                # Another live run is on this page: wait for it rather than break it.
                if time.monotonic() > deadline:
                    raise ClusterError(f"namespace {name} is held by another doctest run ({owner})")
            elif not meta.get("deletionTimestamp"):
                kubectl(self.kubeconfig, "delete", "namespace", name, "--wait=false")
            time.sleep(1)
        manifest = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "labels": dict([MANAGED_BY.split("=", 1)]),
                "annotations": {OWNER: self.owner},
            },
        }
        self.live.add(name)
        try:
            kubectl(self.kubeconfig, "create", "-f", "-", input_text=json.dumps(manifest))
        except ClusterError as exc:
            raise ClusterError(f"creating namespace {name}: {exc}") from None
        # Pods cannot be created before the namespace's default ServiceAccount exists.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            got = kubectl(
                self.kubeconfig, "get", "serviceaccount", "default", "-n", name,
                "--ignore-not-found", "-o", "name",
            )  # fmt: skip
            if got.strip():
                return
            time.sleep(0.3)
        raise ClusterError(f"namespace {name}: no default ServiceAccount after 60 s")

    def delete(self, name: str) -> None:
        # --wait=false: pods get their grace period in the background; `create` waits for
        # a namespace that is still terminating.
        kubectl(
            self.kubeconfig, "delete", "namespace", name, "--ignore-not-found", "--wait=false",
            check=False,
        )  # fmt: skip
        self.live.discard(name)

    def delete_all(self) -> None:
        for name in sorted(self.live):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                self.delete(name)


# -- leaks ---------------------------------------------------------------------------------

# Kinds whose objects come and go by themselves, or that are derived from others.
_IGNORED_KINDS = {
    "Event",
    # A Service's ClusterIP allocation (networking.k8s.io IPAddress, cluster-scoped) follows
    # the Service, which is checked itself; the page's own Services live until its
    # namespace is deleted, after the check.
    "IPAddress",
    "Lease",
    "Endpoints",
    "EndpointSlice",
    "CertificateSigningRequest",
    "ComponentStatus",
    "TokenReview",
    # Calico's IPAM records (cluster-scoped) follow the pods: a handle per pod, the blocks'
    # allocations, a node's affinity to a block. The pods are checked themselves.
    "IPAMHandle",
    "IPAMBlock",
    "BlockAffinity",
}
# Annotations that change without anyone changing the object's meaning.
_IGNORED_ANNOTATIONS = {
    "deployment.kubernetes.io/revision",
    "control-plane.alpha.kubernetes.io/leader",
    "kubectl.kubernetes.io/restartedAt",
    "endpoints.kubernetes.io/last-change-trigger-time",
    "node.alpha.kubernetes.io/ttl",
}


@dataclass(frozen=True)
class ObjectRef:
    kind: str
    namespace: str
    name: str
    fingerprint: str

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


def _fingerprint(obj: dict[str, Any]) -> str:
    """What the object *says*: everything but status and server-managed metadata."""
    meta = obj.get("metadata", {})
    annotations = {
        k: v for k, v in (meta.get("annotations") or {}).items() if k not in _IGNORED_ANNOTATIONS
    }
    content = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
    template = (
        (content.get("spec") or {}).get("template")
        if isinstance(content.get("spec"), dict)
        else None
    )
    if isinstance(template, dict):
        t_ann = (template.get("metadata") or {}).get("annotations") or {}
        t_ann.pop("kubectl.kubernetes.io/restartedAt", None)
    data = {
        "labels": meta.get("labels") or {},
        "annotations": annotations,
        "content": content,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def list_kinds(kubeconfig: Path) -> list[str]:
    out = kubectl(kubeconfig, "api-resources", "--verbs=list", "-o", "name", timeout=60)
    return sorted(name for name in out.split() if name)


def _get(kubeconfig: Path, kinds: list[str]) -> list[dict[str, Any]]:
    out = kubectl(
        kubeconfig, "get", ",".join(kinds), "-A", "-o", "json", "--ignore-not-found",
        timeout=120,
    )  # fmt: skip
    return json.loads(out).get("items", []) if out.strip() else []


def snapshot(kubeconfig: Path, kinds: list[str]) -> dict[str, ObjectRef]:
    """Every object outside doctest namespaces, keyed by UID."""
    if not kinds:
        return {}
    try:
        items = _get(kubeconfig, kinds)
    except ClusterError:
        # One kind that cannot be listed (an aggregated API that is down) fails the whole
        # request: list kind by kind and leave out the ones that fail.
        items = []
        for kind in kinds:
            try:
                items += _get(kubeconfig, [kind])
            except ClusterError:
                continue
    snap: dict[str, ObjectRef] = {}
    for obj in items:
        kind = obj.get("kind", "?")
        meta = obj.get("metadata", {})
        ns = meta.get("namespace", "")
        name = meta.get("name", "")
        if kind in _IGNORED_KINDS or ns.startswith(PREFIX):
            continue
        if kind == "Namespace" and name.startswith(PREFIX):
            continue
        # Objects a controller owns (the Pods of a ReplicaSet…) follow their owner, which is
        # checked itself; a page deleting a CoreDNS Pod to show self-healing leaves nothing.
        if meta.get("ownerReferences"):
            continue
        uid = meta.get("uid") or f"{kind}/{ns}/{name}"
        snap[uid] = ObjectRef(kind, ns, name, _fingerprint(obj))
    return snap


@dataclass(frozen=True)
class Change:
    what: str  # "created and left behind", "changed and not restored", "deleted"
    ref: ObjectRef
    inside: int = 0  # objects of a created/deleted namespace, folded into it

    def __str__(self) -> str:
        extra = f" (and {self.inside} objects in it)" if self.inside else ""
        return f"{self.what}: {self.ref}{extra}"

    def named_in(self, text: str) -> bool:
        """Does the page name this object (or its namespace)?  See `split`."""
        names = {self.ref.name, self.ref.namespace} - {""}
        return any(re.search(rf"(?<![\w.-]){re.escape(n)}(?![\w-])", text) for n in names)


def leaks(before: dict[str, ObjectRef], after: dict[str, ObjectRef]) -> list[Change]:
    changes: list[Change] = []
    for uid, ref in after.items():
        if uid not in before:
            changes.append(Change("created and left behind", ref))
        elif before[uid].fingerprint != ref.fingerprint:
            changes.append(Change("changed and not restored", ref))
    for uid, ref in before.items():
        if uid not in after:
            changes.append(Change("deleted", ref))
    # The contents of a namespace that appeared or vanished are that namespace's story.
    gone = {(c.what, c.ref.name) for c in changes if c.ref.kind == "Namespace"}
    folded: dict[tuple[str, str], int] = {}
    kept: list[Change] = []
    for c in changes:
        if c.ref.namespace and (c.what, c.ref.namespace) in gone:
            key = (c.what, c.ref.namespace)
            folded[key] = folded.get(key, 0) + 1
        else:
            kept.append(c)
    kept = [
        Change(c.what, c.ref, folded.get((c.what, c.ref.name), 0))
        if c.ref.kind == "Namespace"
        else c
        for c in kept
    ]
    return sorted(kept, key=lambda c: (c.what, str(c.ref)))


def split(changes: list[Change], page_text: str) -> tuple[list[Change], list[Change]]:
    """(the page's, probably someone else's).

    The cluster may be shared (writers run their pages on the shared local cluster while
    the cluster's own tests run): an object the page never names, in its text or the
    snippets it includes, was not created, changed or deleted by it.  Pages create what
    they show, so in a cluster of its own (CI) this sets nothing aside.
    """
    mine = [c for c in changes if c.named_in(page_text)]
    others = [c for c in changes if not c.named_in(page_text)]
    return mine, others


class LeakCheck:
    """What a page changes outside its namespace: a snapshot before it, one after, the
    differences the page accounts for (errors) and the others (warnings)."""

    def __init__(self, kubeconfig: Path, kinds: list[str], page_text: str, page_rel: str):
        self.kubeconfig = kubeconfig
        self.kinds = kinds
        self.page_text = page_text
        self.page_rel = page_rel
        self.before = snapshot(kubeconfig, kinds)

    def after(self) -> tuple[list[Change], list[str]]:
        """(the page's leaks, warnings about changes it never names)."""
        changes = leaks(self.before, snapshot(self.kubeconfig, self.kinds))
        mine, others = split(changes, self.page_text)
        warnings = [
            f"{self.page_rel}: not counted against the page (it never names them; another "
            f"user of the cluster?): {c}"
            for c in others
        ]
        return mine, warnings


# -- exclusive pages -----------------------------------------------------------------------


class PageLock:
    """flock on a file shared by every worker of a run (and by every run on the same
    cluster): shared for pages, exclusive for the pages marked `page exclusive`."""

    def __init__(self, path: Path):
        self.path = path
        self.holder = path.with_suffix(".holder")
        self.fd: int | None = None

    def acquire(self, exclusive: bool, who: str = "") -> float:
        """Take the lock; returns how long it waited (seconds)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        t = time.monotonic()
        try:
            fcntl.flock(self.fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                held = self.holder.read_text().strip()
            except OSError:
                held = ""
            reason = f"an exclusive page runs ({held})" if held else "other pages run"
            print(
                f"doctest: {who} waits for the cluster: {reason}", file=sys.__stderr__, flush=True
            )
            fcntl.flock(self.fd, mode)
        if exclusive:
            self.holder.write_text(f"{who}, pid {os.getpid()}\n")
        return time.monotonic() - t

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
