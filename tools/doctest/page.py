"""One page's run: its lock, namespace, working directory and shell, its examples in page
order, its cleanup blocks and its leak check.

A `PageRuntime` lives in the Sybil document's namespace.  Examples are evaluated in page
order; after the first failure the remaining examples are skipped (their state would be
wrong) but hidden cleanup blocks still run at the end, always: at the page's end, at its
teardown (`-x`), and when the run is interrupted (Ctrl-C, SIGTERM: see interrupt.py), in
which case the running example is stopped, the cleanup blocks run in the same shell, what
the page changed outside its namespace is put back, and its namespace goes.  Running an
example is `examples.py`, its failure message `failures.py`, `--update` `update.py`, the
leak check and the way back `isolation.LeakCheck`.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tools.cluster.contract import Capability, ClusterInfo
from tools.cluster.kubectl import kubectl_binary
from tools.doctest import failures, isolation, shims
from tools.doctest.directives import Directive
from tools.doctest.examples import Attempts, run_bash, run_console
from tools.doctest.interrupt import Interruption
from tools.doctest.parser import Block, ParsedPage
from tools.doctest.render import RenderedPage
from tools.doctest.report import CASCADE, ExampleResult
from tools.doctest.schedule import PageJob, skip_at_example
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
    interruption: Interruption = field(default_factory=Interruption)
    # Live messages (waits, interruptions): to the terminal, past pytest's capture.
    say: Callable[[str], None] = field(default=lambda message: print(message, file=sys.stderr))
    # Is a change outside a page's namespace named by another page of this run?  (Pages
    # that run at the same time see each other's changes; each accounts for its own.)
    elsewhere: Callable[[isolation.Change, str], bool] = lambda change, page: False


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
            command_s=round(min(self.attempts.command, self.duration), 3),
            wait_s=round(max(0.0, self.duration - self.attempts.command), 3),
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
        self.t1 = 0.0  # when the page ended
        self.harness_s = 0.0  # the harness's own part: lock, snapshots, namespace, put back
        self.finished = False
        self.closed = False
        self.left: list[str] = []  # what an aborted cleanup leaves on the cluster
        self.job: PageJob | None = None  # set when the page runs ahead in its own thread

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
        if self.interrupted() and block.kind != "cleanup":
            return f"not run: {self.ctx.interruption.reason or 'the run was interrupted'}"
        if self.failed_at is not None and block.kind != "cleanup" and not self.ctx.keep_going:
            return f"{CASCADE} ({self.failed_at})"
        return None

    def timeout_for(self, block: Block) -> float:
        assert self.ctx is not None
        return block.directive.timeout or self.parsed.page.timeout or self.ctx.default_timeout

    def duration(self) -> float:
        """The page's own time: from its start to its end (cleanup and checks included)."""
        if not self.started:
            return 0.0
        return (self.t1 or time.monotonic()) - self.t0

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self.started:
            return
        assert self.ctx is not None
        ctx = self.ctx
        stop = ctx.interruption.stop
        self.started = True
        self.t0 = time.monotonic()
        self.lock = isolation.PageLock(ctx.lock_path)
        exclusive = self.parsed.page.exclusive
        waited = self.lock.acquire(exclusive=exclusive, who=self.rel, cancel=stop, say=ctx.say)
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
            # Before the namespace: its journal holds what the cluster was like, so that
            # the next run can put it back if this one dies mid-page.  Exclusive pages
            # change the cluster by declaration: always watched, whatever --no-leak-check.
            if ctx.leak_check or exclusive:
                self.leak_check = isolation.LeakCheck(
                    ctx.cluster.kubeconfig,
                    ctx.kinds or isolation.list_kinds(ctx.cluster.kubeconfig),
                    self.page.text,
                    self.rel,
                    elsewhere=lambda change: ctx.elsewhere(change, self.rel),
                )
            journal = self.leak_check.journal() if self.leak_check is not None else None
            ctx.namespaces.create(self.namespace, journal=journal, cancel=stop)
            isolation.page_kubeconfig(ctx.cluster.kubeconfig, self.namespace, kubeconfig)
        else:
            kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
        self.shell = BashSession(work, self._environment(home, bin_dir, kubeconfig), tmp / "blocks")
        self.harness_s += time.monotonic() - self.t0

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
            # kubectl's discovery cache, shared by the run's pages: each page has its own
            # HOME, and discovering the API anew costs its first kubectl a second or more.
            "KUBECACHEDIR": str(self.ctx.scratch / "kube-cache"),
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

    def outcome(self, block: Block) -> str | None:
        """The example's failure message (None: passed), run here or by the page's thread."""
        if self.job is not None:
            return self.job.outcome(block)
        return self.evaluate(block)

    def end(self) -> str | None:
        """The page's end: cleanup blocks and checks, run here or by the page's thread."""
        if self.job is not None:
            return self.job.end()
        return self.finish()

    def close(self) -> None:
        """Always called (teardown, or the run's end); a page run by its own thread is closed
        by that thread, waited for here."""
        if self.job is not None and threading.current_thread() is not self.job.thread:
            if self.job.thread is not None:
                self.job.done.wait()
            return
        self.close_now()

    def close_now(self) -> None:
        """Cleanup blocks if the page end was not reached (`-x`, Ctrl-C), then kill the
        shell, delete the namespace, unlock.

        If the cleanup was aborted (a second Ctrl-C), the namespace stays: its journal lets
        the next run put back what the page changed; what is left is said."""
        if self.closed:
            return
        self.closed = True
        assert self.ctx is not None or not self.started
        try:
            if self.started and not self.finished:
                try:
                    message = self.finish()
                except isolation.Interrupted as exc:
                    message = str(exc)
                except Exception as exc:  # the page is being torn down: say it, go on
                    message = f"{type(exc).__name__}: {exc}"
                if message and self.ctx is not None:
                    self.ctx.say(f"doctest: {self.rel}: at teardown: {message}")
        finally:
            if self.shell is not None:
                self.shell.kill()
                self.shell = None
            keep = bool(self.left)
            if self.ctx is not None and self.ctx.namespaces is not None and self.namespace:
                if keep:
                    self.left.append(
                        f"namespace {self.namespace} (the next run deletes it and puts back "
                        "what its journal records)"
                    )
                elif self.started:
                    self.ctx.namespaces.delete(self.namespace)
            if self.left and self.ctx is not None:
                self.ctx.say(
                    f"doctest: {self.rel}: cleanup aborted; left on the cluster:\n  "
                    + "\n  ".join(self.left)
                )
            if self.lock is not None:
                self.lock.release()
                self.lock = None
            self.updates.apply()

    def interrupted(self) -> bool:
        return self.ctx is not None and self.ctx.interruption.stop.is_set()

    # -- examples -------------------------------------------------------------------------

    def evaluate(self, block: Block) -> str | None:
        """Run one visible example or setup block: the failure message, or None."""
        rec = self.record(block)
        reason = self.skip_reason(block)
        if reason is not None:
            rec.status, rec.reason = "skipped", reason
            raise skip_at_example(reason)
        t = time.monotonic()
        try:
            self.start()  # the page's set-up is not the example's time
            t = time.monotonic()
            message = self._run(block, rec, cancel=True)
        except isolation.Interrupted as exc:
            message = f"{self.page.where(block.start)}: {exc}"
        except Exception as exc:  # cluster or harness trouble: this example fails, named
            message = f"{self.page.where(block.start)}: {type(exc).__name__}: {exc}"
        rec.duration = time.monotonic() - t
        if message:
            rec.status, rec.reason = "failed", message.splitlines()[0]
            self.failed_at = self.page.where(block.start)
            return message
        rec.status = "passed"
        return None

    def _run(self, block: Block, rec: Record, cancel: bool) -> str | None:
        """Run `block`; `cancel`: an example, stopped when the run is interrupted (cleanup
        blocks are stopped only when the cleanup itself is aborted)."""
        assert self.shell is not None and self.ctx is not None
        interruption = self.ctx.interruption
        event = interruption.stop if cancel else interruption.abort
        if block.kind != "console":
            message = run_bash(
                self.shell, self.page, block, self.timeout_for(block), rec.attempts, event
            )
        else:
            message = run_console(
                self.shell,
                self.page,
                block,
                timeout=self.timeout_for(block),
                vary=frozenset(block.directive.vary | self.parsed.page.vary),
                namespace=self.namespace,
                attempts=rec.attempts,
                updates=self.updates if self.ctx.update else None,
                cancel=event,
            )
        if message and event.is_set():
            why = interruption.reason or "interrupted"
            message = f"{self.page.where(block.start)}: {why}: stopped\n{message}"
        return message

    # -- end of page ----------------------------------------------------------------------

    def finish(self) -> str | None:
        """Cleanup blocks (always), then the leak check and the way back for what the page
        changed outside its namespace; returns a failure message or None."""
        if self.finished:
            return None
        self.finished = True
        assert self.ctx is not None or not self.started
        abort = self.ctx.interruption.abort if self.ctx is not None else None
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
            if abort is not None and abort.is_set():
                rec.status, rec.reason = "skipped", "cleanup aborted"
                self.left.append(f"cleanup block not run: {self.page.where(block.start)}")
                continue
            t = time.monotonic()
            msg = self._run(block, rec, cancel=False)
            rec.duration = time.monotonic() - t
            if msg:
                rec.status, rec.reason = "failed", msg.splitlines()[0]
                messages.append(msg)
                if abort is not None and abort.is_set():
                    self.left.append(
                        f"cleanup block stopped mid-way: {self.page.where(block.start)}"
                    )
            else:
                rec.status = "passed"
        if self.shell is not None:
            self.shell.kill()
            self.shell = None
        if self.started and self.leak_check is not None:
            t = time.monotonic()
            messages += self._check_and_put_back(aborted=abort is not None and abort.is_set())
            self.harness_s += time.monotonic() - t
        self.updates.apply()
        if self.started:
            self.t1 = time.monotonic()
        return "\n".join(messages) or None

    def _check_and_put_back(self, aborted: bool) -> list[str]:
        """The leak check, then the way back for what the page changed and names."""
        assert self.leak_check is not None and self.ctx is not None
        mine, warnings = self.leak_check.after()
        self.warnings += warnings
        if not mine:
            return []
        if aborted:
            self.left += [str(c) for c in mine]
            return []
        done, failed = self.leak_check.undo(mine)
        if self.ctx.namespaces is not None:
            # An interrupted run waits for the namespaces it deleted before it exits.
            self.ctx.namespaces.deleted |= {
                c.ref.name
                for c in mine
                if c.ref.kind == "Namespace" and c.what == "created and left behind"
            }
        if self.interrupted() or not self.ctx.leak_check:
            # The page did not get to its own cleanup (or leaks are not checked, but an
            # exclusive page's changes are still put back): said, not failed.
            if done:
                when = "after the interruption" if self.interrupted() else "at the page's end"
                self.warnings.append(f"{self.rel}: {when}, the doctest {', '.join(done)}")
            if failed:
                self.page_errors += failed
                return [f"{self.rel}: could not put back: " + "; ".join(failed)]
            return []
        self.page_errors += [str(c) for c in mine]
        message = failures.leaks_failure(self.rel, [str(c) for c in mine])
        if done:
            message += "\n  (then the doctest " + ", ".join(done) + ")"
        if failed:
            message += "\n  could not put back: " + "; ".join(failed)
        return [message]
