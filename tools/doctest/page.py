"""Running one page: its shell, namespace, examples, cleanup and leak check.

A `PageRuntime` lives in the Sybil document's namespace.  Examples are evaluated in page
order; after the first failure the remaining examples are skipped (their state would be
wrong) but hidden cleanup blocks still run at the end, always.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tools.cluster.contract import Capability, ClusterInfo
from tools.doctest import isolation, shims, update
from tools.doctest.directives import Directive
from tools.doctest.matcher import compare
from tools.doctest.parser import Block, ConsoleCommand, ParsedPage
from tools.doctest.render import RenderedPage
from tools.doctest.report import CASCADE
from tools.doctest.shell import BashSession, RunResult

DEFAULT_TIMEOUT = 60.0


@dataclass
class RunContext:
    """What every page of a run shares (one per pytest process)."""

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

    @property
    def has_cluster(self) -> bool:
        return self.cluster.has_cluster


@dataclass
class Record:
    """One example's result, for the report."""

    source: str  # file:line (snippet lines say where they were included)
    page_line: int
    kind: str
    hidden: bool
    status: str = "pending"  # passed / failed / skipped
    reason: str = ""
    duration: float = 0.0
    attempts: int = 0
    updated: bool = False


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
        self.before: dict[str, isolation.ObjectRef] | None = None
        self.lock: isolation.PageLock | None = None
        self.tmp: Path | None = None
        self.records: dict[int, Record] = {}  # by block start index
        self.edits: list[update.Edit] = []
        self.update_notes: list[str] = []
        self.page_errors: list[str] = []
        self.warnings: list[str] = []
        self.lock_wait = 0.0
        self.t0 = 0.0
        self.finished = False

    # -- bookkeeping ----------------------------------------------------------------------

    @property
    def rel(self) -> str:
        return self.page.rel(self.page.source)

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

    def runnable(self) -> list[Block]:
        return [b for b in self.parsed.blocks if self.skip_reason(b) is None]

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self.started:
            return
        assert self.ctx is not None
        ctx = self.ctx
        self.started = True
        self.t0 = time.monotonic()
        self.lock = isolation.PageLock(ctx.lock_path)
        self.lock_wait = self.lock.acquire(exclusive=self.parsed.page.exclusive, who=self.rel)
        if self.lock_wait > 1:
            self.warnings.append(
                f"{self.rel}: waited {self.lock_wait:.0f} s for the cluster "
                "(a page marked exclusive was running)"
                if not self.parsed.page.exclusive
                else f"{self.rel}: waited {self.lock_wait:.0f} s for the other pages to finish"
            )
        self.namespace = isolation.namespace_for(self.page.source, ctx.docs_root)
        self.tmp = ctx.scratch / self.namespace
        shutil.rmtree(self.tmp, ignore_errors=True)
        home, work, bin_dir = self.tmp / "home", self.tmp / "work", self.tmp / "bin"
        for d in (home, work, bin_dir, self.tmp / "tmp"):
            d.mkdir(parents=True)
        shims.install(bin_dir)
        # The page shows a snippet and tells the reader to save it as pod.yaml: the doctest
        # saves it for them, under its base name, in the page's working directory.
        for inc in self.page.includes:
            shutil.copyfile(inc.path, work / inc.path.name)

        kubeconfig = self.tmp / "kubeconfig"
        if ctx.has_cluster:
            assert ctx.namespaces is not None
            ctx.namespaces.create(self.namespace)
            isolation.page_kubeconfig(ctx.cluster.kubeconfig, self.namespace, kubeconfig)
            if ctx.leak_check:
                self.before = isolation.snapshot(ctx.cluster.kubeconfig, ctx.kinds)
        else:
            kubeconfig.write_text("apiVersion: v1\nkind: Config\n")

        venv_bin = str(Path(sys.executable).parent)
        env = {
            "PATH": f"{bin_dir}:{venv_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(home),
            "TMPDIR": str(self.tmp / "tmp"),
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
            "DOCTEST_PROVIDER": ctx.cluster.provider.value,
            "DOCTEST_KUBECTL": _kubectl(),
            "DOCTEST_REAL_MICROK8S": ctx.real_microk8s or "",
        }
        self.shell = BashSession(work, env, self.tmp / "blocks")

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
        if self.edits:
            self.apply_edits()

    # -- examples -------------------------------------------------------------------------

    def timeout_for(self, block: Block) -> float:
        assert self.ctx is not None
        return block.directive.timeout or self.parsed.page.timeout or self.ctx.default_timeout

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
            if block.kind == "console":
                message = self._run_console(block, rec)
            else:
                message = self._run_bash(block, rec)
        except Exception as exc:  # cluster or harness trouble: this example fails, named
            message = f"{self.page.where(block.start)}: {type(exc).__name__}: {exc}"
        rec.duration = time.monotonic() - t
        if message:
            rec.status, rec.reason = "failed", message.splitlines()[0]
            self.failed_at = self.page.where(block.start)
            return message
        rec.status = "passed"
        return None

    def _run_bash(self, block: Block, rec: Record) -> str | None:
        assert self.shell is not None
        timeout = self.timeout_for(block)
        deadline = time.monotonic() + block.directive.retry if block.directive.retry else None
        attempts = 0
        while True:
            attempts += 1
            rec.attempts += 1
            limit = _limit(timeout, deadline)
            r = self.shell.run(block.script, limit, strict=True)
            if r.status == 0 and not r.timed_out:
                return None
            if deadline is None or time.monotonic() >= deadline or r.shell_lost:
                return self._bash_failure(block, r, limit, attempts)
            time.sleep(min(2.0, max(0.0, deadline - time.monotonic())))

    def _bash_failure(self, block: Block, r: RunResult, limit: float, attempts: int) -> str:
        where = self.page.where(block.start)
        tries = _tries(block, attempts)
        if r.timed_out:
            head = f"{where}: timeout after {limit:g} s{tries} in page {self.rel}"
        else:
            head = f"{where}: command failed with exit status {r.status}{tries}"
        if r.failed_command is not None and r.failed_line is not None:
            line = block.start + r.failed_line
            head += f"\n  at {self.page.where(line)}: {r.failed_command}"
        if r.shell_lost:
            head += "\n  (the page's shell had to be killed: its variables and directory are lost)"
        return head + "\n" + _output(self._locate(r, block.start))

    def _locate(self, r: RunResult, first: int) -> str:
        """bash names the temporary block file in its messages: name the page line instead."""
        if r.script is None:
            return r.output
        pattern = re.compile(re.escape(str(r.script)) + r": line (\d+):")
        return pattern.sub(lambda m: self.page.where(first + int(m.group(1))) + ":", r.output)

    def _run_console(self, block: Block, rec: Record) -> str | None:
        assert self.shell is not None and self.ctx is not None
        timeout = self.timeout_for(block)
        kinds = frozenset(block.directive.vary | self.parsed.page.vary)
        deadline = time.monotonic() + block.directive.retry if block.directive.retry else None
        for cmd in block.commands:
            attempts = 0
            while True:
                attempts += 1
                rec.attempts += 1
                limit = _limit(timeout, deadline)
                r = self.shell.run(cmd.command, limit, strict=False)
                actual = self._as_reader_sees(r.output)
                cmp = compare("\n".join(cmd.output), actual, kinds)
                has_output = any(ln.strip() and ln.strip() != "..." for ln in cmd.output)
                # A console block shows what the reader sees: an expected error message is
                # fine, but a command with no (or only elided) expected output must succeed.
                ok = cmp.matched and not r.timed_out and (r.status == 0 or has_output)
                if ok:
                    break
                last_try = deadline is None or time.monotonic() >= deadline or r.shell_lost
                if self.ctx.update and not r.timed_out and last_try:
                    self._plan_update(block, cmd, cmp.updated)
                    rec.updated = True
                    break
                if last_try:
                    return self._console_failure(block, cmd, r, cmp, limit, attempts)
                time.sleep(min(2.0, max(0.0, deadline - time.monotonic())))  # type: ignore[operator]
        return None

    def _as_reader_sees(self, output: str) -> str:
        # Readers work in `default`; the doctest works in its page namespace.  Output that
        # names the namespace (DNS names, `kubectl describe`) is compared as the reader's.
        if self.namespace:
            output = re.sub(rf"(?<![\w-]){re.escape(self.namespace)}(?![\w-])", "default", output)
        return output

    def _console_failure(
        self,
        block: Block,
        cmd: ConsoleCommand,
        r: RunResult,
        cmp: object,
        limit: float,
        attempts: int,
    ) -> str:
        from tools.doctest.matcher import Comparison

        assert isinstance(cmp, Comparison)
        where = self.page.where(cmd.line)
        tries = _tries(block, attempts)
        first = cmd.command.splitlines()[0] if cmd.command else ""
        if r.timed_out:
            return (
                f"{where}: timeout after {limit:g} s{tries} in page {self.rel}: $ {first}\n"
                + _output(self._locate(r, cmd.line - 1))
            )
        if cmp.matched:
            return (
                f"{where}: `{first}` exited with status {r.status}{tries}; a console example "
                "whose expected output is empty or only `...` must succeed\n"
                + _output(self._locate(r, cmd.line - 1))
            )
        out_where = self.page.where(cmd.output_start) if cmd.output else where
        status = f" (exit status {r.status})" if r.status else ""
        return f"{where}: output of `{first}` does not match{status}{tries}\n" + cmp.diff(out_where)

    def _plan_update(self, block: Block, cmd: ConsoleCommand, new_lines: list[str]) -> None:
        try:
            self.edits.append(update.plan(self.page, block, cmd, new_lines))
        except update.UpdateRefused as exc:
            self.update_notes.append(f"--update refused: {exc}")

    def apply_edits(self) -> None:
        done, refused = update.apply(self.edits)
        self.update_notes += [f"--update rewrote the expected output at {w}" for w in done]
        self.update_notes += [f"--update refused: {r}" for r in refused]
        self.edits = []

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
            msg = self._run_bash(block, rec)
            rec.duration = time.monotonic() - t
            if msg:
                rec.status, rec.reason = "failed", msg.splitlines()[0]
                messages.append(msg)
            else:
                rec.status = "passed"
        if self.shell is not None:
            self.shell.kill()
            self.shell = None
        ctx = self.ctx
        if self.started and ctx is not None and ctx.has_cluster and self.before is not None:
            after = isolation.snapshot(ctx.cluster.kubeconfig, ctx.kinds)
            mine, others = isolation.split(isolation.leaks(self.before, after), self.page.text)
            self.warnings += [
                f"{self.rel}: not counted against the page (it never names them; another user "
                f"of the cluster?): {c}"
                for c in others
            ]
            if mine:
                self.page_errors += [str(c) for c in mine]
                messages.append(
                    f"{self.rel}: the page changed the cluster outside its namespace and did not "
                    "restore it (clean up visibly or in a hidden cleanup block):\n  "
                    + "\n  ".join(str(c) for c in mine)
                )
        if self.edits:
            self.apply_edits()
        return "\n".join(messages) or None

    def duration(self) -> float:
        return time.monotonic() - self.t0 if self.started else 0.0


def _limit(timeout: float, deadline: float | None) -> float:
    """Time for one attempt: the example's timeout, within what retry= leaves, except that
    the last attempt still gets a fair chance (up to 10 s) even if it overruns retry=."""
    if deadline is None:
        return timeout
    return min(timeout, max(deadline - time.monotonic(), min(timeout, 10.0)))


def _tries(block: Block, attempts: int) -> str:
    retry = block.directive.retry
    if not retry or attempts <= 1:
        return ""
    return f" (still failing after {attempts} attempts in {retry:g} s, retry={retry:g})"


def _skip(reason: str) -> BaseException:
    # Reported at the example's page and line (`SKIPPED … docs/fr/…md:42: reason`), not at
    # this file; `_use_item_location` is how pytest's own skip marks do it.
    try:
        return pytest.skip.Exception(reason, _use_item_location=True)
    except TypeError:  # an older pytest
        return pytest.skip.Exception(reason)


def _kubectl() -> str:
    from tools.cluster.kubectl import kubectl_binary

    try:
        return kubectl_binary()
    except Exception:  # no kubectl: the shim then fails with bash's own message
        return "kubectl"


def _output(text: str, limit: int = 60) -> str:
    lines = text.rstrip("\n").split("\n") if text.strip() else []
    if not lines:
        return "output: (none)"
    if len(lines) > limit:
        lines = [*lines[: limit // 2], f"[… {len(lines) - limit} lines …]", *lines[-limit // 2 :]]
    return "output:\n" + "\n".join("  | " + ln for ln in lines)
