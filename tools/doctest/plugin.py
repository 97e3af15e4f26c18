"""pytest plugin: `python -m pytest -p tools.doctest.plugin [docs/fr]`.

Collects `docs/fr/**/*.md` (after rendering, see render.py) through Sybil, one test per
example plus one per page for cleanup and leaks, starts or finds the cluster once per run,
writes `reports/doctest.json` and prints a summary with coverage.

The run's configuration and results live in one `DoctestRun`, made from pytest's config at
`pytest_configure`, registered as a plugin and kept in `config.stash`: nothing of a run is
module state, so two runs in one process (the harness's own tests) cannot mix.

Before the first page, leftovers of an earlier run that died are dealt with: its page
namespaces (their journals say what to put back), and namespaces that pages create, found
by name.  While pages run, Ctrl-C and SIGTERM stop the run cleanly (interrupt.py); every
started page is closed before the run's own clean-up (`pytest_sessionfinish`, last).

Pages run ahead, `--jobs` at a time, in threads (schedule.py); pytest then reports each
example in page order.  Pages marked exclusive also take an exclusive lock that every other
page shares, so they run alone across concurrent runs on the same cluster too.  Under
pytest-xdist (`-n 2 --dist loadfile`) the controller starts the cluster and passes it to the
workers, each page stays on one worker, and each worker runs its pages one at a time.
"""

from __future__ import annotations

import contextlib
import dataclasses
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
from tools.doctest.document import RUNTIME, PageEnd, Problem, page_document
from tools.doctest.interrupt import Console, Interruption
from tools.doctest.page import DEFAULT_TIMEOUT, PageRuntime, RunContext
from tools.doctest.parser import Block
from tools.doctest.render import RenderedPage, Renderer
from tools.doctest.schedule import PageJob, Scheduler

RUN = pytest.StashKey["DoctestRun"]()
# Pages at a time by default: measured on 2 cores with the cluster on the same machine
# (the run waits on Pods and retries far more than it computes).
AUTO_JOBS = 4


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
    g.addoption(
        "--jobs",
        default="auto",
        metavar="N",
        help="pages run at the same time (threads of this process; `page exclusive` pages "
        f"run alone); 1: one page after the other; auto: {AUTO_JOBS} (default)",
    )
    g.addoption(
        "--profile",
        action="store_true",
        help="print where the time went: wall against pages, the 10 slowest examples",
    )


def pytest_configure(config: pytest.Config) -> None:
    run = DoctestRun(config)
    config.stash[RUN] = run
    config.pluginmanager.register(run, "reseau-k8s-doctest-run")
    if threading.current_thread() is threading.main_thread():
        # Until the pages run (the cluster may be starting): SIGTERM (CI cancelling a job)
        # unwinds like Ctrl-C; then interrupt.py takes both over.
        signal.signal(signal.SIGTERM, _sigterm)


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


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


# -- collection ----------------------------------------------------------------------------


class PageItem(SybilItem):
    """One example; pytest reads reportinfo lines from 0, Sybil gives them from 1."""

    def reportinfo(self) -> tuple[Any, int | None, str]:
        path, line, info = super().reportinfo()
        return path, (line - 1 if line else line), info


class PageFile(SybilFile):
    """A page: its examples, with the run's cluster context given at setup."""

    def collect(self) -> Any:
        run = self.config.stash[RUN]
        document = page_document(self.path, run.render)
        self.documents.append(document)
        for example in document.examples():
            yield PageItem.from_parent(self, sybil=run.sybil, example=example)

    def setup(self) -> None:
        run = self.config.stash[RUN]
        for runtime in self._runtimes():
            if run.ctx is None:
                raise RuntimeError(f"doctest: no cluster context ({run.error or 'not started'})")
            runtime.ctx = run.ctx
            if runtime not in run.runtimes:
                run.runtimes.append(runtime)

    def teardown(self) -> None:
        for runtime in self._runtimes():
            runtime.close()

    def _runtimes(self) -> list[PageRuntime]:
        found = [d.namespace.get(RUNTIME) for d in self.documents]
        return [rt for rt in found if isinstance(rt, PageRuntime)]


# -- the run -------------------------------------------------------------------------------


class DoctestRun:
    """One run: its options, cluster, pages and results (a pytest plugin of its own)."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.root = Path(config.rootpath).resolve()
        self.docs_root = self.root / "docs" / "fr"
        mk = Path(config.getoption("doctest_config"))
        self.config_file = mk if mk.is_absolute() else self.root / mk
        rp = Path(config.getoption("doctest_json", None) or config.getini("doctest_json"))
        self.report_path = rp if rp.is_absolute() else self.root / rp
        self.pages_globs = list(config.getoption("pages"))
        self.worker = hasattr(config, "workerinput")
        self.sybil = Sybil(parsers=[], patterns=["*.md"])
        self.renderer: Renderer | None = None
        self.provider: providers.Provider | None = None
        self.ctx: RunContext | None = None
        self.scratch: Path | None = None
        self.entries: dict[str, reporting.PageEntry] = {}
        self.run: reporting.RunInfo | None = None
        self.t0 = time.monotonic()
        self.error: str | None = None
        self.console = Console()
        self.interruption = Interruption(self.console.say)
        self.runtimes: list[PageRuntime] = []  # every page set up, in order
        self.reported_ends: set[str] = set()  # pages whose end region was reported
        self.texts: dict[str, str] = {}  # rendered text of the run's pages, by page
        self.scheduler: Scheduler | None = None
        self.jobs = 1

    def render(self, path: Path) -> RenderedPage:
        """The page as the site shows it, with the site's config (loaded once per run)."""
        if self.renderer is None:
            self.renderer = Renderer(self.config_file)
        return self.renderer.render(path)

    # -- the cluster ---------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        config = session.config
        if config.option.collectonly:
            return
        if self.worker:
            wi = config.workerinput  # type: ignore[attr-defined]
            info = ClusterInfo.from_dict(json.loads(wi["doctest_cluster"]))
            self.scratch = Path(wi["doctest_scratch"]) / wi.get("workerid", "w")
            self.scratch.mkdir(parents=True, exist_ok=True)
            self._make_context(info, Path(wi["doctest_lock"]), run_owner=int(wi["doctest_owner"]))
            return
        self.scratch = Path(tempfile.mkdtemp(prefix="reseau-k8s-doctest-"))
        extra = frozenset(c for c in config.getoption("capabilities").split(",") if c)
        try:
            name, why = providers.choose(config.getoption("cluster"), config.getoption("context"))
            tw = config.get_terminal_writer()
            tw.line(f"doctest: cluster provider {name} ({why})")
            self.provider = providers.make(
                name,
                self.scratch / "cluster",
                context=config.getoption("context"),
                capabilities=extra,
                progress=lambda msg: tw.line(f"doctest: {msg}"),
            )
            info = self.provider.start()
        except ProviderError as exc:
            self.error = str(exc)
            raise pytest.UsageError(f"doctest: {exc}") from exc
        lock = (
            Path(tempfile.gettempdir()) / f"reseau-k8s-doctest-{_cluster_key(info)}.lock"
            if info.has_cluster
            else self.scratch / "pages.lock"
        )
        self._make_context(info, lock, run_owner=os.getpid())

    def _make_context(self, info: ClusterInfo, lock: Path, run_owner: int) -> RunContext:
        config = self.config
        namespaces = None
        kinds: list[str] = []
        leak = not config.getoption("no_leak_check")
        if info.has_cluster:
            namespaces = isolation.Namespaces(info.kubeconfig, owner=run_owner)
            if leak:
                kinds = isolation.list_kinds(info.kubeconfig)
        assert self.scratch is not None
        self.ctx = RunContext(
            root=self.root,
            docs_root=self.docs_root,
            cluster=info,
            scratch=self.scratch / "pages",
            lock_path=lock,
            update=bool(config.getoption("update")),
            default_timeout=float(config.getoption("doctest_timeout")),
            leak_check=leak and info.has_cluster,
            keep_going=bool(config.getoption("keep_going")),
            namespaces=namespaces,
            kinds=kinds,
            real_microk8s=(
                shutil.which("microk8s") if info.provider is ProviderKind.MICROK8S else None
            ),
            interruption=self.interruption,
            say=self.console.say,
            elsewhere=self._named_elsewhere,
        )
        self.run = reporting.RunInfo(
            provider=info.provider.value,
            server_version=info.server_version,
            network_plugin=info.network_plugin,
            nodes=info.nodes,
            kubectl_version=_kubectl_version(),
            capabilities=tuple(sorted(c.value for c in info.capabilities)),
            date=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        )
        return self.ctx

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist: hand the controller's cluster to each worker."""
        assert self.ctx is not None and self.scratch is not None
        node.workerinput["doctest_cluster"] = json.dumps(self.ctx.cluster.to_dict())
        node.workerinput["doctest_scratch"] = str(self.scratch / "workers")
        node.workerinput["doctest_lock"] = str(self.ctx.lock_path)
        node.workerinput["doctest_owner"] = str(os.getpid())

    # -- collection ----------------------------------------------------------------------

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> PageFile | None:
        if file_path.suffix != ".md":
            return None
        if not self._selected(file_path):
            return None
        return PageFile.from_parent(parent, path=file_path, sybils=[self.sybil])

    # -- the pages run ---------------------------------------------------------------------

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Any:
        """Leftovers of an earlier run first; then Ctrl-C/SIGTERM handled while pages run."""
        if session.config.option.collectonly or self.ctx is None:
            yield
            return
        self.console.open(session.config.pluginmanager.getplugin("capturemanager"))
        self.texts = self._page_texts(session)
        if not self.worker:
            self._clear_leftovers()

        def on_stop(reason: str) -> None:
            session.shouldstop = f"doctest: {reason}"

        self.interruption.install(on_stop)
        self._schedule(session)
        yield

    def _jobs(self) -> int:
        value = str(self.config.getoption("jobs"))
        if value == "auto":
            return AUTO_JOBS
        try:
            jobs = int(value)
        except ValueError:
            raise pytest.UsageError(f"--jobs {value}: a number of pages, or auto") from None
        if jobs < 1:
            raise pytest.UsageError(f"--jobs {value}: at least 1")
        return jobs

    def _schedule(self, session: pytest.Session) -> None:
        """Run the pages ahead, `--jobs` at a time (see schedule.py); 1: pytest runs them."""
        assert self.ctx is not None
        width = 1 if self.worker else self._jobs()
        pages: dict[PageRuntime, list[Block]] = {}
        for item in session.items:
            if not isinstance(item, PageItem):
                continue
            rt = item.example.namespace.get(RUNTIME)
            if isinstance(rt, PageRuntime):
                blocks = pages.setdefault(rt, [])
                if isinstance(item.example.parsed, Block):
                    blocks.append(item.example.parsed)
        self.jobs = min(width, max(1, sum(not rt.parsed.page.exclusive for rt in pages)))
        if width <= 1 or len(pages) <= 1:
            self.jobs = 1
            return
        jobs = []
        for rt, blocks in pages.items():
            rt.ctx = self.ctx
            if rt not in self.runtimes:
                self.runtimes.append(rt)
            rt.job = PageJob(rt, blocks)
            jobs.append(rt.job)
        self.scheduler = Scheduler(
            jobs,
            width,
            self.interruption.stop,
            lambda: self.interruption.reason or "the run stopped",
        )
        self.scheduler.start()

    def _page_texts(self, session: pytest.Session) -> dict[str, str]:
        texts: dict[str, str] = {}
        for item in session.items:
            if isinstance(item, PageItem):
                rt = item.example.namespace.get(RUNTIME)
                if isinstance(rt, PageRuntime):
                    texts.setdefault(rt.rel, rt.page.text)
        if not texts and not self.worker:
            # Under xdist the controller collects nothing: read the pages it will run.
            for path in sorted(self.docs_root.rglob("*.md")):
                if self._selected(path):
                    with contextlib.suppress(Exception):
                        page = self.render(path)
                        texts[page.rel(page.source)] = page.text
        return texts

    def _named_elsewhere(self, change: isolation.Change, page: str) -> bool:
        return any(change.named_in(text) for rel, text in self.texts.items() if rel != page)

    def _clear_leftovers(self) -> None:
        """Put back what pages of dead runs changed, delete their namespaces, and deal with
        namespaces that pages create and that still exist: never an AlreadyExists mid-page."""
        assert self.ctx is not None
        ctx = self.ctx
        if ctx.namespaces is None:
            return
        say = self.console.say
        kubeconfig = ctx.cluster.kubeconfig
        kinds = ctx.kinds or isolation.list_kinds(kubeconfig)
        gone: list[str] = []
        problems: list[str] = []
        stale = ctx.namespaces.stale()
        now = isolation.objects(kubeconfig, kinds) if stale else []
        for name, notes in stale:
            journal = isolation.read_journal(notes)
            if journal is not None:
                page = str(journal.get("page", ""))
                text = self.texts.get(page) or self._text_of(page)
                changes = isolation.journal_changes(journal, now, text)
                done, failed = isolation.undo(kubeconfig, changes, journal.get("saved") or {})
                if done:
                    say(f"doctest: leftovers of an interrupted run of {page}: {', '.join(done)}")
                gone += [
                    c.ref.name
                    for c in changes
                    if c.ref.kind == "Namespace" and c.what == "created and left behind"
                ]
                problems += failed
            ctx.namespaces.delete(name)
            say(f"doctest: deleted the namespace of an interrupted run: {name}")
            # Not waited for: a page whose namespace is still going waits for it itself.
        # Namespaces the pages create, recognised by name (no journal: an older run, or a
        # page run by hand): the throwaway clusters are cleaned, a reader's cluster is not.
        live = {
            n
            for page in ctx.namespaces.live_pages()
            for n in isolation.namespaces_created_by(self._text_of(page))
        }
        wanted: dict[str, str] = {}
        for page, text in sorted(self.texts.items()):
            for name in sorted(isolation.namespaces_created_by(text) - live):
                wanted.setdefault(name, page)
        existing = self._namespaces()
        found = {n: p for n, p in wanted.items() if n in existing and n not in gone}
        throwaway = ctx.cluster.provider in (ProviderKind.LOCAL, ProviderKind.KIND)
        refused = []
        for name, page in sorted(found.items()):
            if existing[name] or throwaway:
                if not existing[name]:
                    isolation.delete_namespace(kubeconfig, name)
                    say(f"doctest: deleted namespace {name}, left by an earlier run of {page}")
                gone.append(name)
            else:
                refused.append(f"namespace {name} (created by {page})")
        if refused:
            raise pytest.UsageError(
                "doctest: leftovers of an earlier run on this cluster, which pages of this run "
                "create: " + ", ".join(refused) + "; delete them (microk8s kubectl delete "
                "namespace NAME) and run again"
            )
        if problems:
            raise pytest.UsageError(
                "doctest: leftovers of an interrupted run could not be put back:\n  "
                + "\n  ".join(problems)
            )
        if gone:
            left = ctx.namespaces.wait_gone(sorted(set(gone)), timeout=180)
            if left:
                raise pytest.UsageError(
                    f"doctest: namespaces still terminating after 180 s: {', '.join(left)}"
                )

    def _text_of(self, page: str) -> str:
        path = self.root / page
        if not page or not path.is_file():
            return ""
        try:
            return self.render(path).text
        except Exception:  # an old page that no longer renders: names alone
            return ""

    def _namespaces(self) -> dict[str, bool]:
        """name -> is it terminating, for every namespace of the cluster."""
        assert self.ctx is not None
        out = isolation.kubectl(self.ctx.cluster.kubeconfig, "get", "namespaces", "-o", "json")
        items = json.loads(out).get("items", []) if out.strip() else []
        return {i["metadata"]["name"]: bool(i["metadata"].get("deletionTimestamp")) for i in items}

    def _selected(self, path: Path) -> bool:
        path = path.resolve()
        if not path.is_relative_to(self.docs_root):
            return False
        if not self.pages_globs:
            return True
        # A glob may name the page by its path from the repository, from docs/fr, or by its
        # file name alone (`--pages '03-*'`, as CONTRIBUTING shows it).
        names = (str(path.relative_to(self.root)), str(path.relative_to(self.docs_root)), path.name)
        return any(fnmatch.fnmatch(n, g) for n in names for g in self.pages_globs)

    # -- results -------------------------------------------------------------------------

    def _page_key(self, item: SybilItem) -> str:
        path = Path(item.example.path).resolve()
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)

    def _inputs(self, rt: PageRuntime) -> dict[str, str]:
        files = [rt.page.source, *(i.path for i in rt.page.includes)]
        if rt.page.macros_rendered:
            macros_dir = self.root / "macros"
            files += sorted(macros_dir.glob("*.py")) if macros_dir.is_dir() else []
        out: dict[str, str] = {}
        for f in files:
            try:
                out[rt.page.rel(f)] = reporting.sha256(f)
            except OSError:
                continue
        return out

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        rep = outcome.get_result()
        if not isinstance(item, PageItem):
            return
        if rep.when != "call" and rep.outcome == "passed":
            return
        payload: dict[str, Any] = {
            "page": self._page_key(item),
            "when": rep.when,
            "outcome": rep.outcome,
        }
        longrepr = str(rep.longrepr) if rep.longrepr else ""
        if isinstance(rep.longrepr, tuple):  # skips: (file, line, "Skipped: reason")
            longrepr = str(rep.longrepr[2]).removeprefix("Skipped: ")
        rt = item.example.namespace.get(RUNTIME)
        parsed = item.example.parsed
        if rep.when != "call":
            payload["type"] = "error"
            payload["message"] = (
                f"{rep.when}: {longrepr.splitlines()[-1] if longrepr else rep.outcome}"
            )
        elif isinstance(parsed, Problem):
            payload["type"] = "problem"
            payload["message"] = parsed.message
        elif isinstance(parsed, PageEnd) and isinstance(rt, PageRuntime):
            payload.update(self._page_payload(rt))
            self.reported_ends.add(rt.rel)
        elif isinstance(parsed, Block) and isinstance(rt, PageRuntime):
            payload["type"] = "example"
            payload["example"] = _example(rt, parsed, rep.outcome, longrepr)
        else:
            return
        # user_properties travel from an xdist worker to the controller: plain data only.
        rep.user_properties.append(("doctest", payload))

    def _page_payload(self, rt: PageRuntime) -> dict[str, Any]:
        return {
            "type": "page",
            "namespace": rt.namespace,
            "duration_s": rt.duration(),
            "harness_s": rt.harness_s,
            "start_s": max(0.0, rt.t0 - self.t0) if rt.started else 0.0,
            "end_s": max(0.0, (rt.t1 or time.monotonic()) - self.t0) if rt.started else 0.0,
            "exclusive": rt.parsed.page.exclusive,
            "inputs": self._inputs(rt),
            "hidden": [
                _example(rt, b, rt.record(b).status, "")
                for b in rt.parsed.blocks
                if b.kind == "cleanup"
            ],
            "errors": list(rt.page_errors),
            "warnings": list(rt.warnings),
            "updates": list(rt.update_notes),
        }

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.worker:
            return
        for key, payload in report.user_properties:
            if key != "doctest":
                continue
            self._collect_payload(payload)

    def _collect_payload(self, payload: dict[str, Any]) -> None:
        page = payload["page"]
        entry = self.entries.setdefault(page, reporting.PageEntry(source=page))
        kind = payload["type"]
        if kind == "example":
            entry.examples.append(reporting.ExampleResult(**payload["example"]))
        elif kind in ("problem", "error"):
            entry.errors.append(payload["message"])
            entry.failed_items += 1
        elif kind == "page":
            entry.namespace = payload["namespace"]
            entry.duration_s = payload["duration_s"]
            entry.harness_s = payload.get("harness_s", 0.0)
            entry.start_s = payload.get("start_s", 0.0)
            entry.end_s = payload.get("end_s", 0.0)
            entry.exclusive = payload["exclusive"]
            entry.inputs = payload["inputs"]
            entry.examples += [reporting.ExampleResult(**e) for e in payload["hidden"]]
            entry.errors += payload["errors"]
            entry.warnings += payload["warnings"]
            entry.updates += payload["updates"]
            if payload["outcome"] == "failed":
                entry.failed_items += 1

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Last, after pytest's own teardown of the pages: every page still open is closed
        (its cleanup blocks need the scratch directory, removed here at the very end)."""
        try:
            self._close_pages()
        finally:
            self.interruption.uninstall()
            self._finish_session(session)
            self.console.close()

    def _close_pages(self) -> None:
        if self.scheduler is not None:
            if self.scheduler.unfinished():
                # pytest stopped early (-x, an error): the pages still running stop too.
                self.interruption.trigger("the run stopped early")
            self.scheduler.join()
        for rt in self.runtimes:
            rt.close()
            if rt.started and rt.rel not in self.reported_ends and not self.worker:
                # The page's end was never reached (interrupted): its cleanup still counts.
                payload = {"page": rt.rel, "outcome": "failed" if rt.page_errors else "passed"}
                payload.update(self._page_payload(rt))
                self._collect_payload(payload)
                self.reported_ends.add(rt.rel)
        ctx = self.ctx
        if ctx is not None and ctx.namespaces is not None and self.interruption.stop.is_set():
            # An interrupted run leaves a clean cluster when it exits, not one that is still
            # deleting the namespaces of its pages.
            deleted = sorted(ctx.namespaces.deleted)
            if deleted and not self.interruption.abort.is_set():
                self.console.say(f"doctest: waiting for {', '.join(deleted)} to be deleted")
                left = ctx.namespaces.wait_gone(deleted, timeout=120)
                if left:
                    self.console.say(f"doctest: still being deleted: {', '.join(left)}")

    def _finish_session(self, session: pytest.Session) -> None:
        if self.worker or session.config.option.collectonly:
            return
        if self.ctx is not None and self.ctx.namespaces is not None:
            self.ctx.namespaces.delete_all()
        if self.provider is not None:
            try:
                self.provider.stop()
            except ProviderError as exc:
                session.config.get_terminal_writer().line(f"doctest: {exc}", red=True)
        if self.run is not None:
            self.run = dataclasses.replace(
                self.run,
                duration_s=round(time.monotonic() - self.t0, 3),
                pages_s=round(sum(e.duration_s for e in self.entries.values()), 3),
                jobs=self.jobs,
            )
            reporting.write(self.report_path, self.entries, self.run)
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.worker or self.run is None:
            return
        tr = terminalreporter
        tr.section("doctest")
        for line in reporting.summary_lines(self.entries, self.run):
            tr.write_line(line)
        if self.config.getoption("profile"):
            tr.section("doctest profile")
            for line in reporting.profile_lines(self.entries, self.run):
                tr.write_line(line)
        try:
            shown = self.report_path.relative_to(self.root)
        except ValueError:
            shown = self.report_path
        tr.write_line(f"report: {shown}")


def _example(rt: PageRuntime, block: Block, status: str, failure: str) -> dict[str, Any]:
    """An example's report entry, as plain data (see pytest_runtest_makereport)."""
    origin = rt.page.origins[block.start]
    status = status if status in reporting.STATUSES else "skipped"
    result = rt.record(block).result(rt.page.rel(origin.file), origin.line, status, failure)
    return dataclasses.asdict(result)
