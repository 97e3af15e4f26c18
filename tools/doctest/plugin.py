"""pytest plugin: `python -m pytest -p tools.doctest.plugin [docs/fr]`.

Collects `docs/fr/**/*.md` (after rendering, see render.py) through Sybil, one test per
example plus one per page for cleanup and leaks, starts or finds the cluster once per run,
writes `reports/doctest.json` and prints a summary with coverage.

Under pytest-xdist (`-n 2 --dist loadfile`) the controller starts the cluster and passes it
to the workers; each page stays on one worker; pages marked exclusive take an exclusive
lock that every other page shares, so they run alone (also across concurrent runs on the
same cluster).
"""

from __future__ import annotations

import datetime
import fnmatch
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from sybil import Sybil
from sybil.integration.pytest import SybilFile, SybilItem

from tools.cluster import providers
from tools.cluster.contract import ClusterInfo, ProviderError, ProviderKind
from tools.cluster.kubectl import kubectl_binary
from tools.doctest import isolation
from tools.doctest import report as reporting
from tools.doctest.document import RUNTIME, PageDocument, PageEnd, Problem
from tools.doctest.page import DEFAULT_TIMEOUT, PageRuntime, RunContext
from tools.doctest.parser import Block


@dataclass
class State:
    root: Path
    docs_root: Path
    report_path: Path
    pages_globs: list[str]
    worker: bool
    provider: providers.Provider | None = None
    ctx: RunContext | None = None
    scratch: Path | None = None
    entries: dict[str, reporting.PageEntry] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)
    t0: float = field(default_factory=time.monotonic)
    error: str | None = None


_STATE: State | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("doctest", "reseau-k8s doctest (tools.doctest.plugin)")
    g.addoption(
        "--cluster",
        default="auto",
        choices=["auto", *providers.PROVIDERS],
        help="cluster provider (default: auto, see CONTRIBUTING.md)",
    )
    g.addoption("--context", default=None, help="kubeconfig context of an existing cluster")
    g.addoption("--update", action="store_true", help="rewrite expected outputs from this run")
    try:
        # pytest's own doctest plugin owns --doctest-report (a diff format); run with
        # `-p no:doctest` (as noxfile.py does) to get this one.
        g.addoption(
            "--doctest-report",
            dest="doctest_json",
            default="reports/doctest.json",
            help="JSON report path (default: reports/doctest.json)",
        )
    except Exception:  # argparse.ArgumentError: the builtin plugin is loaded
        parser.addini("doctest_json", "JSON report path", default="reports/doctest.json")
    g.addoption(
        "--pages", action="append", default=[], metavar="GLOB", help="only pages matching GLOB"
    )
    g.addoption(
        "--capabilities",
        default="",
        help="extra capabilities the cluster has (comma list, e.g. node-shell)",
    )
    g.addoption(
        "--doctest-timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="default per-example timeout in seconds (default 60)",
    )
    g.addoption("--no-leak-check", action="store_true", help="skip the before/after snapshot")
    g.addoption(
        "--keep-going",
        action="store_true",
        help="run the rest of a page after a failure (later failures may only be consequences)",
    )
    g.addoption("--doctest-config", default="mkdocs.yml", help="the site's MkDocs config")


def pytest_configure(config: pytest.Config) -> None:
    global _STATE
    root = Path(config.rootpath).resolve()
    mk = Path(config.getoption("doctest_config"))
    PageDocument.config_file = mk if mk.is_absolute() else root / mk
    rp = Path(config.getoption("doctest_json", None) or config.getini("doctest_json"))
    _STATE = State(
        root=root,
        docs_root=root / "docs" / "fr",
        report_path=rp if rp.is_absolute() else root / rp,
        pages_globs=list(config.getoption("pages")),
        worker=hasattr(config, "workerinput"),
    )
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (CI cancelling a job) must unwind like Ctrl-C so that namespaces go.
        signal.signal(signal.SIGTERM, _sigterm)


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# -- the cluster ---------------------------------------------------------------------------


def _cluster_key(info: ClusterInfo) -> str:
    """Same API server, same lock: runs on one cluster see each other's exclusive pages.

    The server URL, not the file: the local cluster writes new credentials at each `up`.
    """
    try:
        config = yaml.safe_load(info.kubeconfig.read_text()) or {}
        current = next(
            c["context"]["cluster"]
            for c in config.get("contexts") or []
            if c.get("name") == config.get("current-context")
        )
        server = next(
            c["cluster"]["server"] for c in config.get("clusters") or [] if c.get("name") == current
        )
    except (OSError, yaml.YAMLError, KeyError, StopIteration, TypeError):
        server = str(info.kubeconfig)
    return hashlib.sha256(str(server).encode()).hexdigest()[:12]


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    state = _STATE
    assert state is not None
    config = session.config
    if config.option.collectonly:
        return
    if state.worker:
        wi = config.workerinput  # type: ignore[attr-defined]
        info = ClusterInfo.from_dict(json.loads(wi["doctest_cluster"]))
        state.scratch = Path(wi["doctest_scratch"]) / wi.get("workerid", "w")
        state.scratch.mkdir(parents=True, exist_ok=True)
        _make_context(
            state, config, info, Path(wi["doctest_lock"]), run_owner=int(wi["doctest_owner"])
        )
        return
    state.scratch = Path(tempfile.mkdtemp(prefix="reseau-k8s-doctest-"))
    extra = frozenset(c for c in config.getoption("capabilities").split(",") if c)
    try:
        name, why = providers.choose(config.getoption("cluster"), config.getoption("context"))
        tw = config.get_terminal_writer()
        tw.line(f"doctest: cluster provider {name} ({why})")
        state.provider = providers.make(
            name,
            state.scratch / "cluster",
            context=config.getoption("context"),
            capabilities=extra,
            progress=lambda msg: tw.line(f"doctest: {msg}"),
        )
        info = state.provider.start()
    except ProviderError as exc:
        state.error = str(exc)
        raise pytest.UsageError(f"doctest: {exc}") from exc
    lock = (
        Path(tempfile.gettempdir()) / f"reseau-k8s-doctest-{_cluster_key(info)}.lock"
        if info.has_cluster
        else state.scratch / "pages.lock"
    )
    _make_context(state, config, info, lock, run_owner=os.getpid())
    assert state.ctx is not None
    if state.ctx.namespaces is not None:
        stale = state.ctx.namespaces.delete_stale()
        if stale:
            config.get_terminal_writer().line(
                f"doctest: deleted stale namespaces {', '.join(stale)}"
            )


def _make_context(
    state: State, config: pytest.Config, info: ClusterInfo, lock: Path, run_owner: int
) -> None:
    namespaces = None
    kinds: list[str] = []
    leak = not config.getoption("no_leak_check")
    if info.has_cluster:
        namespaces = isolation.Namespaces(info.kubeconfig, owner=run_owner)
        if leak:
            kinds = isolation.list_kinds(info.kubeconfig)
    assert state.scratch is not None
    state.ctx = RunContext(
        root=state.root,
        docs_root=state.docs_root,
        cluster=info,
        scratch=state.scratch / "pages",
        lock_path=lock,
        update=bool(config.getoption("update")),
        default_timeout=float(config.getoption("doctest_timeout")),
        leak_check=leak and info.has_cluster,
        keep_going=bool(config.getoption("keep_going")),
        namespaces=namespaces,
        kinds=kinds,
        real_microk8s=shutil.which("microk8s") if info.provider is ProviderKind.MICROK8S else None,
    )
    state.run = {
        "provider": info.provider.value,
        "server_version": info.server_version,
        "network_plugin": info.network_plugin,
        "nodes": info.nodes,
        "kubectl_version": _kubectl_version(),
        "capabilities": sorted(c.value for c in info.capabilities),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def _kubectl_version() -> str:
    try:
        out = subprocess.run(
            [kubectl_binary(), "version", "--client", "-o", "json"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
        return str(json.loads(out)["clientVersion"]["gitVersion"])
    except (OSError, ValueError, KeyError, ProviderError, subprocess.SubprocessError):
        return ""


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: hand the controller's cluster to each worker."""
    state = _STATE
    assert state is not None and state.ctx is not None and state.scratch is not None
    info = state.ctx.cluster
    node.workerinput["doctest_cluster"] = json.dumps(info.to_dict())
    node.workerinput["doctest_scratch"] = str(state.scratch / "workers")
    node.workerinput["doctest_lock"] = str(state.ctx.lock_path)
    node.workerinput["doctest_owner"] = str(os.getpid())


# -- collection ----------------------------------------------------------------------------


def _setup(namespace: dict[str, Any]) -> None:
    runtime = namespace.get(RUNTIME)
    if isinstance(runtime, PageRuntime):
        assert _STATE is not None
        if _STATE.ctx is None:
            raise RuntimeError(f"doctest: no cluster context ({_STATE.error or 'not started'})")
        runtime.ctx = _STATE.ctx


def _teardown(namespace: dict[str, Any]) -> None:
    runtime = namespace.get(RUNTIME)
    if isinstance(runtime, PageRuntime):
        runtime.close()


class PageItem(SybilItem):
    """One example; pytest reads reportinfo lines from 0, Sybil gives them from 1."""

    def reportinfo(self) -> tuple[Any, int | None, str]:
        path, line, info = super().reportinfo()
        return path, (line - 1 if line else line), info


class PageFile(SybilFile):
    def collect(self) -> Any:
        for sybil in self.sybils:
            document = sybil.parse(self.path)
            self.documents.append(document)
            for example in document.examples():
                yield PageItem.from_parent(self, sybil=sybil, example=example)


SYBIL = Sybil(
    parsers=[],
    patterns=["*.md"],
    setup=_setup,
    teardown=_teardown,
    document_types={".md": PageDocument},
)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> PageFile | None:
    state = _STATE
    if state is None or file_path.suffix != ".md":
        return None
    path = file_path.resolve()
    if not path.is_relative_to(state.docs_root):
        return None
    if state.pages_globs:
        rel_root = str(path.relative_to(state.root))
        rel_docs = str(path.relative_to(state.docs_root))
        if not any(
            fnmatch.fnmatch(rel_root, g) or fnmatch.fnmatch(rel_docs, g) for g in state.pages_globs
        ):
            return None
    return PageFile.from_parent(parent, path=file_path, sybils=[SYBIL])


# -- results -------------------------------------------------------------------------------


def _page_key(item: SybilItem) -> str:
    assert _STATE is not None
    path = Path(item.example.path).resolve()
    return str(path.relative_to(_STATE.root)) if path.is_relative_to(_STATE.root) else str(path)


def _example_payload(rt: PageRuntime, block: Block, outcome: str, longrepr: str) -> dict[str, Any]:
    rec = rt.record(block)
    status = {"passed": "passed", "failed": "failed", "skipped": "skipped"}[outcome]
    origin = rt.page.origins[block.start]
    return {
        "source": rec.source,
        "file": rt.page.rel(origin.file),
        "line": origin.line,
        "page_line": rec.page_line,
        "kind": rec.kind,
        "hidden": rec.hidden,
        "status": status,
        "ran": status in ("passed", "failed"),
        "reason": rec.reason
        or (longrepr.splitlines()[0] if longrepr and status != "passed" else ""),
        "duration_s": round(rec.duration, 3),
        "attempts": rec.attempts,
        "updated": rec.updated,
    }


def _inputs(rt: PageRuntime) -> dict[str, str]:
    assert _STATE is not None
    files = [rt.page.source, *(i.path for i in rt.page.includes)]
    if rt.page.macros_rendered:
        macros_dir = _STATE.root / "macros"
        files += sorted(macros_dir.glob("*.py")) if macros_dir.is_dir() else []
    out: dict[str, str] = {}
    for f in files:
        try:
            out[rt.page.rel(f)] = reporting.sha256(f)
        except OSError:
            continue
    return out


def _status(status: str) -> str:
    return status if status in ("passed", "failed", "skipped") else "skipped"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    rep = outcome.get_result()
    if not isinstance(item, SybilItem) or item.example.document.__class__ is not PageDocument:
        return
    interesting = rep.when == "call" or rep.outcome != "passed"
    if not interesting:
        return
    payload: dict[str, Any] = {"page": _page_key(item), "when": rep.when, "outcome": rep.outcome}
    longrepr = str(rep.longrepr) if rep.longrepr else ""
    if isinstance(rep.longrepr, tuple):  # skips: (file, line, "Skipped: reason")
        longrepr = str(rep.longrepr[2]).removeprefix("Skipped: ")
    rt = item.example.namespace.get(RUNTIME)
    parsed = item.example.parsed
    if rep.when != "call":
        payload["type"] = "error"
        payload["message"] = f"{rep.when}: {longrepr.splitlines()[-1] if longrepr else rep.outcome}"
    elif isinstance(parsed, Problem):
        payload["type"] = "problem"
        payload["message"] = parsed.message
    elif isinstance(parsed, PageEnd) and isinstance(rt, PageRuntime):
        payload["type"] = "page"
        payload["namespace"] = rt.namespace
        payload["duration_s"] = rt.duration()
        payload["exclusive"] = rt.parsed.page.exclusive
        payload["inputs"] = _inputs(rt)
        payload["hidden"] = [
            _example_payload(rt, b, _status(rt.record(b).status), "")
            for b in rt.parsed.blocks
            if b.kind == "cleanup"
        ]
        payload["errors"] = list(rt.page_errors)
        payload["warnings"] = list(rt.warnings)
        payload["updates"] = list(rt.update_notes)
    elif isinstance(parsed, Block) and isinstance(rt, PageRuntime):
        payload["type"] = "example"
        payload["example"] = _example_payload(rt, parsed, rep.outcome, longrepr)
    else:
        return
    rep.user_properties.append(("doctest", payload))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    state = _STATE
    if state is None or state.worker:
        return
    for key, payload in report.user_properties:
        if key != "doctest":
            continue
        page = payload["page"]
        entry = state.entries.setdefault(page, reporting.PageEntry(source=page))
        kind = payload["type"]
        if kind == "example":
            entry.examples.append(payload["example"])
        elif kind in ("problem", "error"):
            entry.errors.append(payload["message"])
            entry.failed_items += 1
        elif kind == "page":
            entry.namespace = payload["namespace"]
            entry.duration_s = payload["duration_s"]
            entry.exclusive = payload["exclusive"]
            entry.inputs = payload["inputs"]
            entry.examples += payload["hidden"]
            entry.errors += payload["errors"]
            entry.warnings += payload["warnings"]
            entry.updates += payload["updates"]
            if payload["outcome"] == "failed":
                entry.failed_items += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = _STATE
    if state is None or state.worker or session.config.option.collectonly:
        return
    if state.ctx is not None and state.ctx.namespaces is not None:
        state.ctx.namespaces.delete_all()
    if state.provider is not None:
        try:
            state.provider.stop()
        except ProviderError as exc:
            session.config.get_terminal_writer().line(f"doctest: {exc}", red=True)
    if state.run:
        state.run["duration_s"] = round(time.monotonic() - state.t0, 3)
        reporting.write(state.report_path, state.entries, state.run)
    if state.scratch is not None:
        shutil.rmtree(state.scratch, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    state = _STATE
    if state is None or state.worker or not state.run:
        return
    tr = terminalreporter
    tr.section("doctest")
    for line in reporting.summary_lines(state.entries, state.run):
        tr.write_line(line)
    try:
        shown = state.report_path.relative_to(state.root)
    except ValueError:
        shown = state.report_path
    tr.write_line(f"report: {shown}")
