"""Each page in its own namespace, nothing left behind, cluster-wide pages alone.

- `page_kubeconfig`: the provider's kubeconfig with the page namespace as the current
  context's default, so pages never write `-n` for their own objects.
- `Namespaces`: create `doctest-<slug>` before a page, delete it after, even on failure,
  Ctrl-C or SIGTERM (the runtime's close, plus an atexit handler here), and find the
  `doctest-*` namespaces of runs that are gone (`stale`).
- `snapshot`/`leaks`: every object outside the doctest namespaces, by UID with a fingerprint
  of what it says (not its status), before and after a page.
- `LeakCheck`: a page's before/after, with full copies of the objects the page names, so
  that what it changed outside its namespace can be put back (`undo`), at its end or, from
  the journal kept on its namespace, by the next run if this one was killed.
- `PageLock`: pages marked exclusive hold an exclusive lock, the others a shared one, so
  an exclusive page runs alone.

Why a journal and names, not a label on what pages create: a label would have to be added
by the harness to every object a page creates, but `kubectl apply -f` of a manifest, `run`,
`expose`, `create deployment` offer no such option (a wrapper would have to rewrite the
reader's files or arguments), and admission (a mutating webhook or policy) works only where
the harness may install it, not on a reader's MicroK8s or an existing context.  A page
creates what its text names, and what existed before it is in its journal: an object named
by the page and missing from its journal was created by it.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import copy
import fcntl
import gzip
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
JOURNAL = "reseau-k8s/doctest-journal"


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
        self.deleted: set[str] = set()
        atexit.register(self.delete_all)

    def _managed(self) -> list[dict[str, Any]]:
        out = kubectl(self.kubeconfig, "get", "namespaces", "-l", MANAGED_BY, "-o", "json")
        return json.loads(out).get("items", []) if out.strip() else []

    def stale(self) -> list[tuple[str, dict[str, str]]]:
        """(name, annotations) of the doctest namespaces whose run died before the page was
        over: a namespace being deleted belongs to a page that ended (its deletion comes
        last, after the page put back what it changed)."""
        found = []
        for item in self._managed():
            meta = item["metadata"]
            annotations = meta.get("annotations") or {}
            owner = annotations.get(OWNER, "")
            if meta.get("deletionTimestamp"):
                continue
            if owner != self.owner and not _alive(owner):
                found.append((meta["name"], annotations))
        return sorted(found)

    def live_pages(self) -> list[str]:
        """The pages that other live runs are running on this cluster (from their journals)."""
        pages = []
        for item in self._managed():
            annotations = item["metadata"].get("annotations") or {}
            owner = annotations.get(OWNER, "")
            if owner and owner != self.owner and _alive(owner):
                journal = read_journal(annotations)
                if journal and journal.get("page"):
                    pages.append(str(journal["page"]))
        return pages

    def create(
        self,
        name: str,
        wait: float = 900,
        journal: str | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        """Create the page namespace (`journal`: see LeakCheck.journal), once a namespace of
        that name left by an earlier page or run is gone."""
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
            if _pause(cancel, 0.5):
                raise Interrupted(f"interrupted while waiting for namespace {name} to go")
        annotations = {OWNER: self.owner}
        if journal:
            annotations[JOURNAL] = journal
        manifest = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "labels": dict([MANAGED_BY.split("=", 1)]),
                "annotations": annotations,
            },
        }
        self.live.add(name)
        self.deleted.discard(name)
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
            if _pause(cancel, 0.2):
                raise Interrupted(f"interrupted while namespace {name} was being created")
        raise ClusterError(f"namespace {name}: no default ServiceAccount after 60 s")

    def delete(self, name: str) -> None:
        delete_namespace(self.kubeconfig, name)
        self.live.discard(name)
        self.deleted.add(name)

    def delete_all(self) -> None:
        for name in sorted(self.live):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                self.delete(name)

    def wait_gone(self, names: list[str], timeout: float) -> list[str]:
        """Wait until the namespaces `names` no longer exist; those still there at timeout."""
        deadline = time.monotonic() + timeout
        left = list(names)
        while left:
            out = kubectl(
                self.kubeconfig, "get", "namespaces", "-o", "name", check=False, timeout=30
            )
            present = {n.removeprefix("namespace/") for n in out.split()}
            left = [n for n in left if n in present]
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        return left


def delete_namespace(kubeconfig: Path, name: str) -> None:
    """Delete a namespace without waiting for it to go; its Pods get one second to stop
    instead of their 30 (a `sleep` as PID 1 ignores SIGTERM and would use them all): the page
    is done with them, and whatever waits for the namespace to go does not wait long."""
    kubectl(
        kubeconfig, "delete", "namespace", name, "--ignore-not-found", "--wait=false",
        check=False,
    )  # fmt: skip
    kubectl(
        kubeconfig, "delete", "pods", "--all", "-n", name, "--grace-period=1", "--wait=false",
        "--ignore-not-found", check=False,
    )  # fmt: skip


class Interrupted(RuntimeError):
    """The run is being interrupted: what was waiting gives up."""


def _stderr(message: str) -> None:
    print(message, file=sys.__stderr__, flush=True)


def _pause(cancel: threading.Event | None, seconds: float) -> bool:
    """Sleep; True if the run was interrupted meanwhile."""
    if cancel is None:
        time.sleep(seconds)
        return False
    return cancel.wait(seconds)


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
    api_version: str = field(default="", compare=False)
    uid: str = field(default="", compare=False)

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
        # A copy: the object itself may be kept to be restored later.
        template = copy.deepcopy(template)
        content["spec"] = {**content["spec"], "template": template}
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


def objects(kubeconfig: Path, kinds: list[str]) -> list[dict[str, Any]]:
    """Every object of `kinds` outside doctest namespaces that nothing owns (objects a
    controller owns, the Pods of a ReplicaSet…, follow their owner, which is checked itself:
    a page deleting a CoreDNS Pod to show self-healing leaves nothing)."""
    if not kinds:
        return []
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
    # Being deleted is gone: a page that deletes a namespace need not wait for its Pods'
    # grace periods (`--wait=false`) to be clean, nor does anything in that namespace count.
    going = {
        obj["metadata"]["name"]
        for obj in items
        if obj.get("kind") == "Namespace" and obj.get("metadata", {}).get("deletionTimestamp")
    }
    kept = []
    for obj in items:
        kind = obj.get("kind", "?")
        meta = obj.get("metadata", {})
        ns = meta.get("namespace", "")
        name = meta.get("name", "")
        if kind in _IGNORED_KINDS or ns.startswith(PREFIX) or ns in going:
            continue
        if kind == "Namespace" and name.startswith(PREFIX):
            continue
        if meta.get("ownerReferences"):
            continue
        if meta.get("deletionTimestamp"):
            continue
        kept.append(obj)
    return kept


def _uid(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata", {})
    return str(
        meta.get("uid") or f"{obj.get('kind')}/{meta.get('namespace', '')}/{meta.get('name')}"
    )


def ref_of(obj: dict[str, Any]) -> ObjectRef:
    meta = obj.get("metadata", {})
    return ObjectRef(
        obj.get("kind", "?"),
        meta.get("namespace", ""),
        meta.get("name", ""),
        _fingerprint(obj),
        api_version=obj.get("apiVersion", ""),
        uid=_uid(obj),
    )


def refs(items: list[dict[str, Any]]) -> dict[str, ObjectRef]:
    return {_uid(obj): ref_of(obj) for obj in items}


def snapshot(kubeconfig: Path, kinds: list[str]) -> dict[str, ObjectRef]:
    """Every object outside doctest namespaces, keyed by UID."""
    return refs(objects(kubeconfig, kinds))


# Metadata the API server sets: dropped from a copy kept to be put back.
_SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)


def restorable(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy of `obj` that can be written back: what it says, with its UID kept aside in
    `metadata.uid` (removed again before writing)."""
    out = {k: copy.deepcopy(v) for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in out.get("metadata", {}).items() if k not in _SERVER_METADATA}
    meta["uid"] = _uid(obj)
    out["metadata"] = meta
    return out


def named(obj: dict[str, Any] | ObjectRef, text: str) -> bool:
    """Does `text` name this object (its name or its namespace), as a word?"""
    if isinstance(obj, ObjectRef):
        names = {obj.name, obj.namespace}
    else:
        meta = obj.get("metadata", {})
        names = {meta.get("name", ""), meta.get("namespace", "")}
    return any(_names(n, text) for n in names - {""})


def _names(name: str, text: str) -> bool:
    return re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", text) is not None


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
        return named(self.ref, text)


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
    differences the page accounts for (errors) and the others (warnings); and the way back
    (`undo`) for what the page names, from full copies taken before it ran.

    `elsewhere(change)`: is the change named by another page of this run?  Pages that run
    at the same time see each other's changes; each page accounts for its own."""

    def __init__(
        self,
        kubeconfig: Path,
        kinds: list[str],
        page_text: str,
        page_rel: str,
        elsewhere: Callable[[Change], bool] = lambda change: False,
    ):
        self.kubeconfig = kubeconfig
        self.kinds = kinds
        self.page_text = page_text
        self.page_rel = page_rel
        self.elsewhere = elsewhere
        items = objects(kubeconfig, kinds)
        self.before = refs(items)
        self.saved = {_uid(o): restorable(o) for o in items if named(o, page_text)}

    def journal(self) -> str:
        """What the next run needs to put the cluster back if this one dies mid-page."""
        return encode_journal(self.page_rel, self.saved)

    def after(self) -> tuple[list[Change], list[str]]:
        """(the page's leaks, warnings about changes it never names)."""
        changes = leaks(self.before, snapshot(self.kubeconfig, self.kinds))
        mine, others = split(changes, self.page_text)
        warnings = [
            f"{self.page_rel}: not counted against the page (it never names them; another "
            f"user of the cluster?): {c}"
            for c in others
            if not self.elsewhere(c)
        ]
        return mine, warnings

    def undo(self, changes: list[Change]) -> tuple[list[str], list[str]]:
        """Put back what `changes` (the page's own) altered; (what was undone, what failed)."""
        return undo(self.kubeconfig, changes, self.saved)


def undo(
    kubeconfig: Path, changes: list[Change], saved: dict[str, dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """Restore changed objects and recreate deleted ones from `saved` (copies by UID), delete
    created ones; cluster-wide state first (a changed CoreDNS), deletions last.  Returns
    (what was done, what could not be)."""
    order = {"changed and not restored": 0, "deleted": 1, "created and left behind": 2}
    done: list[str] = []
    failed: list[str] = []
    for change in sorted(changes, key=lambda c: (order.get(c.what, 3), str(c.ref))):
        ref = change.ref
        try:
            if change.what == "created and left behind":
                if ref.kind == "Namespace" and ref.api_version in ("", "v1"):
                    delete_namespace(kubeconfig, ref.name)
                else:
                    kubectl(
                        kubeconfig, "delete", "-f", "-", "--ignore-not-found", "--wait=false",
                        input_text=json.dumps(_identity(ref)),
                    )  # fmt: skip
                done.append(f"deleted {ref}")
                continue
            copy_ = saved.get(ref.uid)
            if not copy_:
                failed.append(f"{change}: no copy from before the page to restore it from")
                continue
            body = copy.deepcopy(copy_)
            body["metadata"].pop("uid", None)
            if change.what == "changed and not restored":
                current = kubectl(kubeconfig, "get", "-f", "-", "-o", "json",
                                  input_text=json.dumps(_identity(ref)))  # fmt: skip
                meta = json.loads(current)["metadata"]
                body["metadata"]["resourceVersion"] = meta["resourceVersion"]
                # Bookkeeping annotations (a Deployment's revision) stay as they are now.
                annotations = body["metadata"].setdefault("annotations", {})
                for key, value in (meta.get("annotations") or {}).items():
                    if key in _IGNORED_ANNOTATIONS:
                        annotations[key] = value
                kubectl(kubeconfig, "replace", "-f", "-", input_text=json.dumps(body))
                done.append(f"restored {ref}")
            else:
                kubectl(kubeconfig, "create", "-f", "-", input_text=json.dumps(body))
                done.append(f"recreated {ref}")
        except (ClusterError, ValueError, KeyError) as exc:
            failed.append(f"{change}: {str(exc).splitlines()[0] if str(exc) else exc!r}")
    return done, failed


def _identity(ref: ObjectRef) -> dict[str, Any]:
    meta = {"name": ref.name}
    if ref.namespace:
        meta["namespace"] = ref.namespace
    return {"apiVersion": ref.api_version or "v1", "kind": ref.kind, "metadata": meta}


# The journal is an annotation of the page namespace (in the cluster itself, so it goes
# with the cluster and needs no file on any machine); the API server allows 256 KiB of
# annotations per object: copies beyond this budget are left out, and said to be.
JOURNAL_BUDGET = 200_000


def encode_journal(page_rel: str, saved: dict[str, dict[str, Any]]) -> str:
    data: dict[str, Any] = {"page": page_rel, "saved": saved}
    text = base64.b64encode(gzip.compress(json.dumps(data).encode(), 6)).decode()
    if len(text) <= JOURNAL_BUDGET:
        return text
    # Too big: the UIDs alone still tell what existed before the page, and so what it made.
    data["saved"] = {uid: None for uid in saved}
    return base64.b64encode(gzip.compress(json.dumps(data).encode(), 6)).decode()


def read_journal(annotations: dict[str, str]) -> dict[str, Any] | None:
    text = annotations.get(JOURNAL)
    if not text:
        return None
    try:
        data = json.loads(gzip.decompress(base64.b64decode(text)))
    except (ValueError, OSError, EOFError):
        return None
    return data if isinstance(data, dict) else None


def journal_changes(
    journal: dict[str, Any], now: list[dict[str, Any]], page_text: str
) -> list[Change]:
    """What a page whose run died changed, from its journal and the objects there are now:
    the objects it named then (with their copies) against those it names now."""
    saved: dict[str, Any] = journal.get("saved") or {}
    before = {uid: ref_of(obj) for uid, obj in saved.items() if obj}
    known = set(saved)
    after = {}
    for obj in now:
        uid = _uid(obj)
        if uid in before or (uid not in known and named(obj, page_text)):
            after[uid] = ref_of(obj)
    return leaks(before, after)


# -- leftovers recognised by name ------------------------------------------------------------

_CREATE_NAMESPACE = re.compile(r"\bcreate\s+(?:namespace|ns)\s+([a-z0-9][a-z0-9-]*)")
_KIND_NAMESPACE = re.compile(r"^\s*kind:\s*Namespace\s*$", re.MULTILINE)
_NAME = re.compile(r"^\s*name:\s*([a-z0-9][a-z0-9-]*)\s*$", re.MULTILINE)


def namespaces_created_by(text: str) -> set[str]:
    """Namespaces a page creates, by name: `kubectl create namespace X` and manifests of
    kind Namespace (snippets are in the rendered text)."""
    found = set(_CREATE_NAMESPACE.findall(text))
    for m in _KIND_NAMESPACE.finditer(text):
        # The manifest's name: the first `name:` within the next few lines.
        window = text[m.end() : m.end() + 300]
        name = _NAME.search(window)
        if name:
            found.add(name.group(1))
    return {n for n in found if not n.startswith(PREFIX)}


# -- exclusive pages -----------------------------------------------------------------------


class PageLock:
    """flock on a file shared by every worker of a run (and by every run on the same
    cluster): shared for pages, exclusive for the pages marked `page exclusive`."""

    def __init__(self, path: Path):
        self.path = path
        self.holder = path.with_suffix(".holder")
        self.fd: int | None = None
        self.exclusive = False

    def acquire(
        self,
        exclusive: bool,
        who: str = "",
        cancel: threading.Event | None = None,
        say: Callable[[str], None] | None = None,
    ) -> float:
        """Take the lock; returns how long it waited (seconds).  Interrupted (if `cancel` is
        set meanwhile) it raises Interrupted, holding nothing."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        t = time.monotonic()
        told = False
        while True:
            try:
                fcntl.flock(self.fd, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    try:
                        held = self.holder.read_text().strip()
                    except OSError:
                        held = ""
                    reason = f"an exclusive page runs ({held})" if held else "other pages run"
                    (say or _stderr)(f"doctest: {who} waits for the cluster: {reason}")
                    told = True
                if _pause(cancel, 0.1):
                    os.close(self.fd)
                    self.fd = None
                    raise Interrupted(f"interrupted while {who} waited for the cluster") from None
        self.exclusive = exclusive
        if exclusive:
            self.holder.write_text(f"{who}, pid {os.getpid()}\n")
        return time.monotonic() - t

    def release(self) -> None:
        if self.fd is not None and self.exclusive:
            # Said while it is still held: the next holder writes its own.
            with contextlib.suppress(OSError):
                self.holder.unlink()
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
