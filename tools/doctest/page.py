"""One page's run: its lock, namespace, working directory and shell, its examples in page
order, its cleanup blocks and its leak check.

A `PageRuntime` lives in the Sybil document's namespace.  Examples are evaluated in page
order; after the first failure the remaining examples are skipped (their state would be
wrong) but hidden cleanup blocks still run at the end, always.  Running an example is
`examples.py`, its failure message `failures.py`, `--update` `update.py`, the leak check
`isolation.LeakCheck`.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tools.cluster.contract import Capability, ClusterInfo
from tools.cluster.kubectl import kubectl_binary
from tools.doctest import failures, isolation, shims
from tools.doctest.directives import Directive
from tools.doctest.examples import Attempts, run_bash, run_console
from tools.doctest.parser import Block, ParsedPage
from tools.doctest.render import RenderedPage
from tools.doctest.report import CASCADE, ExampleResult
from tools.doctest.shell import BashSession
from tools.doctest.update import Updates

DEFAULT_TIMEOUT = 60.0


@dataclass
class RunContext:
    """What every page of a run shares (one per pytest process), handed to each page."""

    root: Path
    docs_root: Path
    cluster: ClusterInfo
    scratch: Path
    lock_path: Path
    update: bool = False
    default_timeout: float = DEFAULT_TIMEOUT
    leak_check: bool = True
    keep_going: bool = False  # run a page's examples after its first failure
    namespaces: isolation.Namespaces | None = None
    kinds: list[str] = field(default_factory=list)
    real_microk8s: str | None = None


@dataclass
class Record:
    """One example's result while the page runs."""

    source: str  # file:line (snippet lines say where they were included)
    page_line: int
    kind: str
    hidden: bool
    status: str = "pending"  # passed / failed / skipped
    reason: str = ""
    duration: float = 0.0
    attempts: Attempts = field(default_factory=Attempts)

    def result(self, file: str, line: int, status: str, failure: str = "") -> ExampleResult:
        """The report's entry; `failure` (pytest's message) stands in for a missing reason."""
        return ExampleResult(
            source=self.source,
            file=file,
            line=line,
            page_line=self.page_line,
            kind=self.kind,
            hidden=self.hidden,
            status=status,
            ran=status in ("passed", "failed"),
            reason=self.reason
            or (failure.splitlines()[0] if failure and status != "passed" else ""),
            duration_s=round(self.duration, 3),
            attempts=self.attempts.count,
            updated=self.attempts.updated,
        )


class PageRuntime:
    def __init__(self, rendered: RenderedPage, parsed: ParsedPage, problems: list[tuple[int, str]]):
        self.page = rendered
        self.parsed = parsed
        self.problems = problems  # (rendered index, message): directive errors and the like
        self.ctx: RunContext | None = None
        self.shell: BashSession | None = None
        self.namespace: str | None = None
        self.started = False
        self.failed_at: str | None = None
        self.leak_check: isolation.LeakCheck | None = None
        self.lock: isolation.PageLock | None = None
        self.records: dict[int, Record] = {}  # by block start index
        self.updates = Updates()
        self.page_errors: list[str] = []
        self.warnings: list[str] = []
        self.t0 = 0.0
        self.finished = False

    # -- bookkeeping ----------------------------------------------------------------------

    @property
    def rel(self) -> str:
        return self.page.rel(self.page.source)

    @property
    def update_notes(self) -> list[str]:
        return self.updates.notes

    def record(self, block: Block) -> Record:
        if block.start not in self.records:
            self.records[block.start] = Record(
                source=self.page.where(block.start),
                page_line=self.page.page_line(block.start),
                kind=block.kind,
                hidden=block.hidden,
            )
        return self.records[block.start]

    def missing(self, requires: frozenset[Capability]) -> list[str]:
        assert self.ctx is not None
        return sorted(requires - self.ctx.cluster.capabilities)

    def skip_reason(self, block: Block) -> str | None:
        """Why this example does not run, or None."""
        assert self.ctx is not None
        page: Directive = self.parsed.page
        if self.problems:
            line, _ = self.problems[0]
            return f"page not run: doctest syntax error at {self.page.where(line)}"
        if page.requires and (miss := self.missing(page.requires)):
            return f"page requires {', '.join(miss)}" + (f": {page.reason}" if page.reason else "")
        d = block.directive
        if d.skip:
            return f"skip: {d.reason}"
        if d.requires and (miss := self.missing(d.requires)):
            return f"requires {', '.join(miss)}" + (f": {d.reason}" if d.reason else "")
        if self.failed_at is not None and block.kind != "cleanup" and not self.ctx.keep_going:
            return f"{CASCADE} ({self.failed_at})"
        return None

    def timeout_for(self, block: Block) -> float:
        assert self.ctx is not None
        return block.directive.timeout or self.parsed.page.timeout or self.ctx.default_timeout

    def duration(self) -> float:
        return time.monotonic() - self.t0 if self.started else 0.0

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self.started:
            return
        assert self.ctx is not None
        ctx = self.ctx
        self.started = True
        self.t0 = time.monotonic()
        self.lock = isolation.PageLock(ctx.lock_path)
        exclusive = self.parsed.page.exclusive
        waited = self.lock.acquire(exclusive=exclusive, who=self.rel)
        if waited > 1:
            self.warnings.append(
                f"{self.rel}: waited {waited:.0f} s for the other pages to finish"
                if exclusive
                else f"{self.rel}: waited {waited:.0f} s for the cluster "
                "(a page marked exclusive was running)"
            )
        self.namespace = isolation.namespace_for(self.page.source, ctx.docs_root)
        tmp = ctx.scratch / self.namespace
        shutil.rmtree(tmp, ignore_errors=True)
        home, work, bin_dir = tmp / "home", tmp / "work", tmp / "bin"
        for d in (home, work, bin_dir, tmp / "tmp"):
            d.mkdir(parents=True)
        shims.install(bin_dir)
        # The page shows a snippet and tells the reader to save it as pod.yaml: the doctest
        # saves it for them, under its base name, in the page's working directory.
        for inc in self.page.includes:
            shutil.copyfile(inc.path, work / inc.path.name)

        kubeconfig = tmp / "kubeconfig"
        if ctx.cluster.has_cluster:
            assert ctx.namespaces is not None
            ctx.namespaces.create(self.namespace)
            isolation.page_kubeconfig(ctx.cluster.kubeconfig, self.namespace, kubeconfig)
            if ctx.leak_check:
                self.leak_check = isolation.LeakCheck(
                    ctx.cluster.kubeconfig, ctx.kinds, self.page.text, self.rel
                )
        else:
            kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
        self.shell = BashSession(work, self._environment(home, bin_dir, kubeconfig), tmp / "blocks")

    def _environment(self, home: Path, bin_dir: Path, kubeconfig: Path) -> dict[str, str]:
        assert self.ctx is not None and self.namespace is not None
        try:
            kubectl = kubectl_binary()
        except Exception:  # no kubectl: the shim then fails with bash's own message
            kubectl = "kubectl"
        venv_bin = str(Path(sys.executable).parent)
        return {
            "PATH": f"{bin_dir}:{venv_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(home),
            "TMPDIR": str(home.parent / "tmp"),
            "KUBECONFIG": str(kubeconfig),
            # Readers' locales vary; command output is compared in the C locale.
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TERM": "dumb",
            "NO_COLOR": "1",
            "USER": os.environ.get("USER", "root"),
            "SHELL": "/bin/bash",
            "DOCTEST_NAMESPACE": self.namespace,
            "DOCTEST_PAGE": self.rel,
            "DOCTEST_PROVIDER": self.ctx.cluster.provider.value,
            "DOCTEST_KUBECTL": kubectl,
            "DOCTEST_REAL_MICROK8S": self.ctx.real_microk8s or "",
        }

    def close(self) -> None:
        """Always called (teardown): cleanup blocks if the page end was not reached (`-x`,
        Ctrl-C), then kill the shell, delete the namespace, unlock."""
        if self.started and not self.finished:
            try:
                message = self.finish()
            except Exception as exc:  # the page is being torn down: say it, go on
                message = f"{type(exc).__name__}: {exc}"
            if message:
                print(f"doctest: {self.rel}: at teardown: {message}", file=sys.__stderr__)
        if self.shell is not None:
            self.shell.kill()
            self.shell = None
        if self.ctx is not None and self.ctx.namespaces is not None and self.namespace:
            self.ctx.namespaces.delete(self.namespace)
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        self.updates.apply()

    # -- examples -------------------------------------------------------------------------

    def evaluate(self, block: Block) -> str | None:
        """Run one visible example or setup block: the failure message, or None."""
        rec = self.record(block)
        reason = self.skip_reason(block)
        if reason is not None:
            rec.status, rec.reason = "skipped", reason
            raise _skip(reason)
        t = time.monotonic()
        try:
            self.start()
            message = self._run(block, rec)
        except Exception as exc:  # cluster or harness trouble: this example fails, named
            message = f"{self.page.where(block.start)}: {type(exc).__name__}: {exc}"
        rec.duration = time.monotonic() - t
        if message:
            rec.status, rec.reason = "failed", message.splitlines()[0]
            self.failed_at = self.page.where(block.start)
            return message
        rec.status = "passed"
        return None

    def _run(self, block: Block, rec: Record) -> str | None:
        assert self.shell is not None and self.ctx is not None
        if block.kind != "console":
            return run_bash(self.shell, self.page, block, self.timeout_for(block), rec.attempts)
        return run_console(
            self.shell,
            self.page,
            block,
            timeout=self.timeout_for(block),
            vary=frozenset(block.directive.vary | self.parsed.page.vary),
            namespace=self.namespace,
            attempts=rec.attempts,
            updates=self.updates if self.ctx.update else None,
        )

    # -- end of page ----------------------------------------------------------------------

    def finish(self) -> str | None:
        """Cleanup blocks (always), then the leak check; returns a failure message or None."""
        if self.finished:
            return None
        self.finished = True
        messages: list[str] = []
        cleanups = [b for b in self.parsed.blocks if b.kind == "cleanup"]
        if self.started and self.shell is None and cleanups:
            messages.append("the page's shell is gone: cleanup blocks could not run")
        for block in cleanups:
            rec = self.record(block)
            reason = self.skip_reason(block)
            if reason is not None or not self.started or self.shell is None:
                rec.status, rec.reason = "skipped", reason or "page did not start"
                continue
            t = time.monotonic()
            msg = self._run(block, rec)
            rec.duration = time.monotonic() - t
            if msg:
                rec.status, rec.reason = "failed", msg.splitlines()[0]
                messages.append(msg)
            else:
                rec.status = "passed"
        if self.shell is not None:
            self.shell.kill()
            self.shell = None
        if self.started and self.leak_check is not None:
            mine, warnings = self.leak_check.after()
            self.warnings += warnings
            if mine:
                self.page_errors += [str(c) for c in mine]
                messages.append(failures.leaks_failure(self.rel, [str(c) for c in mine]))
        self.updates.apply()
        return "\n".join(messages) or None


def _skip(reason: str) -> BaseException:
    # Reported at the example's page and line (`SKIPPED … docs/fr/…md:42: reason`), not at
    # this file; `_use_item_location` is how pytest's own skip marks do it.
    try:
        return pytest.skip.Exception(reason, _use_item_location=True)
    except TypeError:  # an older pytest
        return pytest.skip.Exception(reason)
