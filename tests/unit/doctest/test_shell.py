"""The persistent bash session: state, first failing command, timeouts."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.doctest.shell import BashSession, descendants


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[BashSession]:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LC_ALL": "C.UTF-8"}
    session = BashSession(tmp_path, env, tmp_path / "scratch")
    yield session
    session.kill()


def test_variables_functions_and_cd_carry_over(shell: BashSession, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    assert shell.run("X=42\ngreet() { echo hello $1; }\ncd sub", 5).status == 0
    r = shell.run('greet "$X"; basename "$PWD"', 5)
    assert (r.status, r.output) == (0, "hello 42\nsub\n")


def test_output_is_kept_exactly(shell: BashSession) -> None:
    assert shell.run("printf 'no newline'", 5).output == "no newline"
    assert shell.run("printf 'two\\n\\n'", 5).output == "two\n\n"
    assert shell.run("echo err >&2", 5).output == "err\n"


def test_block_stops_at_first_failing_command(shell: BashSession) -> None:
    r = shell.run("echo one\nls /nonexistent-dir\necho never", 5)
    assert r.status == 2
    assert "never" not in r.output
    assert r.failed_command == "ls /nonexistent-dir"
    assert r.failed_line == 2


def test_failure_inside_a_function_names_the_inner_command(shell: BashSession) -> None:
    r = shell.run("f() {\n  echo in\n  false\n  echo after\n}\nf\necho never", 5)
    assert r.status == 1 and r.output == "in\n"
    assert (r.failed_command, r.failed_line) == ("false", 3)


def test_pipelines_fail_but_not_on_sigpipe(shell: BashSession) -> None:
    assert shell.run("yes | head -2", 5).status == 0
    r = shell.run("false | cat\necho never", 5)
    assert r.status == 1 and "never" not in r.output


def test_conditions_do_not_fail_the_block(shell: BashSession) -> None:
    r = shell.run("if false; then echo no; fi\nfalse || echo handled\n! false", 5)
    assert (r.status, r.output) == (0, "handled\n")


def test_console_commands_are_not_strict(shell: BashSession) -> None:
    r = shell.run("ls /nonexistent-dir; echo continues", 5, strict=False)
    assert r.status == 0 and "continues" in r.output
    assert shell.run("false", 5, strict=False).status == 1
    # The strict trap does not leak into later commands.
    assert shell.run("false\necho still", 5, strict=False).output == "still\n"


def test_stdin_is_empty(shell: BashSession) -> None:
    r = shell.run("cat; echo done", 5)
    assert (r.status, r.output) == (0, "done\n")


def test_timeout_kills_the_command_and_keeps_the_shell(shell: BashSession) -> None:
    shell.run("KEEP=yes", 5)
    t = time.monotonic()
    r = shell.run("echo before\nsleep 30\necho after", 1)
    assert time.monotonic() - t < 5
    assert r.timed_out and r.status != 0 and not r.shell_lost
    assert r.output.startswith("before\n") and "after" not in r.output
    assert r.failed_command == "sleep 30"
    assert shell.run("echo $KEEP", 5).output == "yes\n"


def test_a_busy_loop_is_stopped_at_its_timeout_and_the_shell_kept(shell: BashSession) -> None:
    shell.run("KEEP=yes", 5)
    for script in ("while :; do :; done", "f() { while :; do :; done; }\nf"):
        t = time.monotonic()
        r = shell.run(script, 0.5)
        assert r.timed_out and r.status != 0 and not r.shell_lost
        assert time.monotonic() - t < 1.0
    assert shell.run("echo $KEEP", 5).output == "yes\n"


def test_a_console_loop_ends_at_its_timeout(shell: BashSession) -> None:
    # Not strict: killing the loop's `sleep` alone would let the loop go on.
    for script in ("for i in 1 2 3; do sleep 10; done", "while true; do sleep 1; done"):
        t = time.monotonic()
        r = shell.run(script, 1, strict=False)
        assert r.timed_out and r.status != 0 and not r.shell_lost
        assert time.monotonic() - t < 1.5, script


def test_a_stuck_shell_is_replaced(shell: BashSession) -> None:
    shell.run("KEEP=yes", 5)
    # A block that ignores the stop signal and loops on builtins: only killing bash ends it.
    r = shell.run("trap '' USR1; while :; do :; done", 0.5)
    assert r.timed_out and r.shell_lost
    r = shell.run("echo ${KEEP:-gone}", 5)
    assert r.output == "gone\n" and shell.restarts == 1


def test_exit_in_a_page_loses_the_shell(shell: BashSession) -> None:
    r = shell.run("exit 3", 5)
    assert r.shell_lost
    assert shell.run("echo back", 5).output == "back\n"


def test_kill_takes_background_jobs_along(shell: BashSession) -> None:
    shell.run("sleep 300 &", 5)
    pid = shell.pid
    assert descendants(pid)
    shell.kill()
    time.sleep(0.2)
    assert not descendants(pid)
