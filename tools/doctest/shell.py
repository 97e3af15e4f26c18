"""One persistent bash per page, like the reader's terminal.

Protocol: each block is written to a file and sourced by the long-lived
`bash --noprofile --norc`, stdin from /dev/null, stderr merged into stdout; then bash prints
a sentinel line with a per-session nonce and the status.  Variables, functions and `cd`
carry over from block to block because nothing runs in a subshell.

"Fails on its first failing command": while a `bash` block runs, an ERR trap (inherited by
functions and substitutions, `set -E`) with `pipefail` returns from the sourced file at the
first failing command and records its text, line and status in a side file, so the output
stays exactly what the reader would see.  A pipeline whose only failures are SIGPIPE (141)
and whose last command succeeded counts as a success: `kubectl … | head -3` must not fail
because head closed the pipe early.

Stopping a block (its timeout, or the run being interrupted): bash gets SIGUSR1, whose trap
returns from the sourced block, and every descendant of bash is killed, again and again for
a moment (a loop would start the next command), so the block ends at once and the shell
keeps its state for what follows (cleanup blocks above all).  Only if bash does not come
back within `STOP_GRACE` (a loop of builtins inside a function called in a loop) does the
whole process group go; the page then gets a fresh shell for its cleanup blocks.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import secrets
import select
import signal
import subprocess
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

MAX_OUTPUT = 1 << 20  # bytes kept per block; pages never need more
# How long a stopped block may take to come back before its shell is given up.
STOP_GRACE = 2.0
# While a block is being stopped: how often its new processes are killed and bash re-signalled.
STOP_TICK = 0.05

_PRELUDE = r"""
__doctest_ignorable() {
  local last=${@: -1} s
  [ "$last" = 0 ] || return 1
  for s in "$@"; do [ "$s" = 0 ] || [ "$s" = 141 ] || return 1; done
}
__doctest_trap() {
  # $1 status, $2 line, $3 command, rest PIPESTATUS (all captured when the trap fired)
  local st=$1 line=$2 cmd=$3; shift 3
  __doctest_ignorable "$@" && return 0
  # Keep the innermost failure: the trap fires again at each enclosing function call.
  [ -e "$__DOCTEST_ERRFILE" ] || printf '%s\n%s\n%s\n' "$st" "$line" "$cmd" > "$__DOCTEST_ERRFILE"
  return "$st"
}
# The harness stops a block with SIGUSR1: return from the sourced block (or the function of
# the page it is in); a no-op at the top level, between blocks.
trap '[ -z "${BASH_SOURCE[0]-}" ] || return 124' USR1
"""

# The trap captures status, line, command and PIPESTATUS in one assignment (any command in
# between would reset them), ignores the top level (the `source` line itself, once the block
# has returned), then returns from the sourced block, or from the page's function it fired
# in, with the failing status.  `source … || …` cannot be used: inside a `||` list bash
# turns the ERR trap off for everything the sourced file runs.
_TRAP = (
    'trap \'__doctest_e=("$?" "$LINENO" "$BASH_COMMAND" "${PIPESTATUS[@]}"); '
    '[ -z "${BASH_SOURCE[0]-}" ] || __doctest_trap "${__doctest_e[@]}" || return $?\' ERR'
)


# Every live session: whatever way the run ends (a third Ctrl-C does not wait for the
# pages' threads), no page's shell outlives it.
_SESSIONS: weakref.WeakSet[BashSession] = weakref.WeakSet()


@atexit.register
def _kill_sessions() -> None:
    for session in list(_SESSIONS):
        with contextlib.suppress(Exception):
            session.kill()


@dataclass(frozen=True)
class RunResult:
    status: int
    output: str
    duration: float
    timed_out: bool = False
    interrupted: bool = False  # stopped because the run was interrupted, not by its timeout
    failed_command: str | None = None  # the first failing command (strict mode)
    failed_line: int | None = None  # its line in the block, 1-based
    shell_lost: bool = False  # bash had to be killed; state is gone
    script: Path | None = None  # the file the block ran from (bash names it in messages)


class BashSession:
    def __init__(self, cwd: Path, env: dict[str, str], scratch: Path):
        self.cwd = cwd
        self.env = env
        self.scratch = scratch
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.errfile = scratch / "failed-command"
        self.counter = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        _SESSIONS.add(self)
        self._start()

    def _start(self) -> None:
        self.nonce = secrets.token_hex(8)
        self._sentinel = re.compile(rb"\n\x1e" + self.nonce.encode() + rb" (\d+)\n")
        env = dict(self.env, __DOCTEST_ERRFILE=str(self.errfile))
        self.proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=self.cwd,
            env=env,
            # Its own process group: Ctrl-C in the terminal does not reach it, and a timeout
            # can kill everything it started.
            start_new_session=True,
        )
        self._send(_PRELUDE)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def _send(self, text: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def run(
        self,
        script: str,
        timeout: float,
        strict: bool = True,
        cancel: threading.Event | None = None,
    ) -> RunResult:
        """Run `script` in the session; strict: stop at the first failing command.

        The block is stopped at `timeout`, or as soon as `cancel` is set (the run is being
        interrupted: RunResult.interrupted).  A KeyboardInterrupt that reaches this thread
        stops the block the same way before it goes on up, so the shell stays usable."""
        if self.proc is None or self.proc.poll() is not None:
            self.restarts += 1
            self._start()
        self.counter += 1
        block = self.scratch / f"block-{self.counter}.sh"
        block.write_text(script if script.endswith("\n") else script + "\n")
        self.errfile.unlink(missing_ok=True)
        if strict:
            line = (
                f"{{ set -E -o pipefail; {_TRAP}; "
                f"source {_q(block)}; __doctest_st=$?; }} </dev/null; "
                f"trap - ERR; set +E +o pipefail; "
            )
        else:
            line = f"{{ source {_q(block)}; __doctest_st=$?; }} </dev/null; "
        line += f"printf '\\n\\036%s %s\\n' {self.nonce} \"$__doctest_st\"\n"
        start = time.monotonic()
        self._send(line)
        status, out, stopped, lost = self._collect(start + timeout, cancel)
        timed_out = stopped == "timeout"
        duration = time.monotonic() - start
        failed_cmd = failed_line = None
        if stopped is not None and status == 0:
            status = 124  # returned by the stop trap after a command that had succeeded
        if strict and status != 0 and not lost and stopped is None and not self.errfile.exists():
            # No failure was recorded: the block's last command was a pipeline that only
            # died of SIGPIPE, or a negated command (`! true`), which `set -e` accepts too.
            status = 0
        if strict and status != 0 and self.errfile.exists():
            parts = self.errfile.read_text(errors="replace").split("\n", 2)
            if len(parts) == 3:
                failed_line = int(parts[1]) if parts[1].isdigit() else None
                failed_cmd = parts[2].rstrip("\n")
        return RunResult(
            status,
            out,
            duration,
            timed_out,
            stopped == "interrupted",
            failed_cmd,
            failed_line,
            lost,
            block,
        )

    def _collect(
        self, deadline: float, cancel: threading.Event | None
    ) -> tuple[int, str, str | None, bool]:
        """(status, output, why it was stopped: None, "timeout" or "interrupted", shell lost)."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        buf = bytearray()
        stopped: str | None = None
        give_up = 0.0
        next_tick = 0.0
        try:
            while True:
                m = self._sentinel.search(buf)
                if m:
                    # The sentinel starts with a newline of its own: drop exactly that one.
                    return int(m.group(1)), _decode(bytes(buf[: m.start()])), stopped, False
                now = time.monotonic()
                if stopped is None and (
                    now >= deadline or (cancel is not None and cancel.is_set())
                ):
                    stopped = "timeout" if now >= deadline else "interrupted"
                    give_up = now + STOP_GRACE
                if stopped is not None:
                    if now >= give_up:
                        # bash itself does not come back: the session is lost.
                        self.kill()
                        return 124, _decode(bytes(buf)), stopped, True
                    if now >= next_tick:
                        # First the block's processes alone, so that the ERR trap records
                        # the command that was running; then the stop signal as well.
                        self._stop_block(signal_bash=next_tick > 0)
                        next_tick = now + STOP_TICK
                    wait = min(STOP_TICK, give_up - now)
                else:
                    wait = min(0.2, deadline - now)
                ready, _, _ = select.select([fd], [], [], max(0.0, wait))
                if ready:
                    chunk = os.read(fd, 65536)
                    if not chunk:  # bash exited (the page ran `exit`)
                        self.proc.wait()
                        self.proc = None
                        return 255, _decode(bytes(buf)), stopped, True
                    buf += chunk
                    if len(buf) > 2 * MAX_OUTPUT:
                        del buf[MAX_OUTPUT // 2 : len(buf) - MAX_OUTPUT // 2]
        except KeyboardInterrupt:
            # The run is interrupted in this very thread: stop the block, keep the shell for
            # the page's cleanup blocks (its variables and directory are needed there).
            self._drain_after_interrupt(buf)
            raise

    def _drain_after_interrupt(self, buf: bytearray) -> None:
        give_up = time.monotonic() + STOP_GRACE
        try:
            while self.proc is not None and not self._sentinel.search(buf):
                if time.monotonic() >= give_up:
                    self.kill()
                    return
                self._stop_block()
                assert self.proc.stdout is not None
                fd = self.proc.stdout.fileno()
                ready, _, _ = select.select([fd], [], [], STOP_TICK)
                if ready:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        self.kill()
                        return
                    buf += chunk
        except BaseException:
            self.kill()  # interrupted again: no time to be careful
            raise

    def _stop_block(self, signal_bash: bool = True) -> None:
        """SIGKILL to what bash runs, and SIGUSR1 to bash (its trap returns from the block)."""
        assert self.proc is not None
        self._kill_descendants()
        if signal_bash:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGUSR1)

    def _kill_descendants(self) -> None:
        for pid in descendants(self.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def kill(self) -> None:
        """Kill bash and everything in its process group (the page's background jobs too)."""
        if self.proc is None:
            return
        for pid in descendants(self.proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self.proc = None

    close = kill


def _q(path: Path) -> str:
    return "'" + str(path).replace("'", "'\\''") + "'"


def _decode(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return text if len(text) <= MAX_OUTPUT else text[: MAX_OUTPUT // 2] + "\n[…]\n" + text[-1000:]


def descendants(root: int) -> list[int]:
    """Every live descendant of `root` (children first found, deepest last)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may contain spaces or parentheses: read after the last ")".
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry))
    out: list[int] = []
    todo = [root]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            out.append(child)
            todo.append(child)
    return out
