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

Timeouts: the block's processes (every descendant of bash) are killed and bash reports the
killed command as failed; if bash itself does not come back (a busy `while` loop), the whole
process group goes and the page gets a fresh shell for its cleanup blocks.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import select
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

MAX_OUTPUT = 1 << 20  # bytes kept per block; pages never need more

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


@dataclass(frozen=True)
class RunResult:
    status: int
    output: str
    duration: float
    timed_out: bool = False
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

    def run(self, script: str, timeout: float, strict: bool = True) -> RunResult:
        """Run `script` in the session; strict: stop at the first failing command."""
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
        status, out, timed_out, lost = self._collect(
            start + timeout, grace=min(5.0, max(1.0, timeout))
        )
        duration = time.monotonic() - start
        failed_cmd = failed_line = None
        if strict and status != 0 and not lost and not self.errfile.exists():
            # No failure was recorded: the block's last command was a pipeline that only
            # died of SIGPIPE, or a negated command (`! true`), which `set -e` accepts too.
            status = 0
        if strict and status != 0 and self.errfile.exists():
            parts = self.errfile.read_text(errors="replace").split("\n", 2)
            if len(parts) == 3:
                failed_line = int(parts[1]) if parts[1].isdigit() else None
                failed_cmd = parts[2].rstrip("\n")
        return RunResult(status, out, duration, timed_out, failed_cmd, failed_line, lost, block)

    def _collect(self, deadline: float, grace: float) -> tuple[int, str, bool, bool]:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        buf = bytearray()
        timed_out = False
        grace_deadline: float | None = None
        while True:
            m = self._sentinel.search(buf)
            if m:
                # The sentinel starts with a newline of its own: drop exactly that one.
                return int(m.group(1)), _decode(bytes(buf[: m.start()])), timed_out, False
            now = time.monotonic()
            if not timed_out and now >= deadline:
                timed_out = True
                self._kill_descendants()
                grace_deadline = now + grace
            if grace_deadline is not None and now >= grace_deadline:
                # bash itself is stuck (a loop of builtins): the session is lost.
                self.kill()
                return 124, _decode(bytes(buf)), True, True
            limit = (grace_deadline if timed_out else deadline) or now
            ready, _, _ = select.select([fd], [], [], max(0.0, min(0.5, limit - now)))
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:  # bash exited (the page ran `exit`)
                    self.proc.wait()
                    self.proc = None
                    return 255, _decode(bytes(buf)), timed_out, True
                buf += chunk
                if len(buf) > 2 * MAX_OUTPUT:
                    del buf[MAX_OUTPUT // 2 : len(buf) - MAX_OUTPUT // 2]

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
