"""Starts the cluster's processes, records their PIDs, notices an early exit, and stops them.

Each component runs in its own session (so its process group id is its PID and nothing of
ours shares it). The child writes its own PID file *before* exec'ing the component, so a PID
is on disk before the program it names runs: `down` can always find it, even after a crash of
`up` between the fork and the parent's next line.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.cluster.local.settings import Layout

FAULT_ENV = "RESEAU_K8S_FAULT"


class ComponentFailed(RuntimeError):
    """A component exited (or never got ready): names it and quotes the end of its log."""

    def __init__(self, component: str, reason: str, log: Path | None) -> None:
        self.component = component
        self.log = log
        tail = tail_lines(log, 25) if log else ""
        message = f"{component}: {reason}"
        if log:
            message += f"\n--- last lines of {log} ---\n{tail}".rstrip()
        super().__init__(message)


def tail_lines(path: Path, count: int) -> str:
    """The last `count` lines of a log (empty when it does not exist)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            data = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(data.splitlines()[-count:])


@dataclass(frozen=True)
class Record:
    """What a PID file holds: enough to recognise the process before signalling it."""

    name: str
    pid: int
    exe: str
    start_ticks: int

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)


def pid_dir(layout: Layout) -> Path:
    return layout.root / "pids"


def start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (start time in clock ticks), None if the PID is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[19])


def is_same_process(record: Record) -> bool:
    """Whether record.pid still is the process we started (not a recycled PID)."""
    ticks = start_ticks(record.pid)
    if ticks is None:
        return False
    if record.start_ticks and ticks != record.start_ticks:
        return False
    try:
        exe = os.readlink(f"/proc/{record.pid}/exe")
    except OSError:
        return False
    return exe.removesuffix(" (deleted)") == record.exe


class Supervisor:
    """Starts components and watches them while `up` runs."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        enter: Sequence[str] = (),
    ) -> subprocess.Popen[bytes]:
        """Start `argv` as component `name`, its output appended to logs/<name>.log.

        `enter` runs it inside a node's namespaces (an `nsenter … --` prefix, which exec's the
        component under the same PID). RESEAU_K8S_FAULT=<name> gives that component an
        unknown flag, so that it exits at once: the tests of `up`'s failure path use it.
        """
        if os.environ.get(FAULT_ENV) == name:
            argv = [*argv, "--reseau-k8s-injected-fault"]
        directory = pid_dir(self.layout)
        directory.mkdir(mode=0o700, exist_ok=True)
        pid_file = directory / f"{name}.json"
        exe = os.path.realpath(argv[0])
        log_path = self.layout.log(name)
        log_path.parent.mkdir(mode=0o700, exist_ok=True)
        # A shell records its own PID, then exec's the component under that same PID: the
        # PID is on disk before the component runs (no preexec_fn, which threads make unsafe).
        record_then_exec = (
            'printf \'{"name": "%s", "pid": %s, "exe": "%s", "start_ticks": 0}\' '
            '"$0" "$$" "$1" > "$2" && shift 2 && exec "$@"'
        )
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                ["/bin/sh", "-c", record_then_exec, name, exe, str(pid_file), *enter, *argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
            )
        # Wait for the exec (the shell's pid file is written by then) to read the start time
        # of the component itself.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if os.readlink(f"/proc/{process.pid}/exe").removesuffix(" (deleted)") == exe:
                    break
            except OSError:
                pass
            time.sleep(0.002)
        ticks = start_ticks(process.pid) or 0
        record = Record(name, process.pid, exe, ticks)
        tmp = pid_file.with_suffix(".tmp")
        tmp.write_text(record.to_json())
        tmp.replace(pid_file)
        # How it was started, so that `up` can start this one component again if it dies
        # (only the variables that differ from the environment: the rest is the caller's).
        overrides = {k: v for k, v in (env or {}).items() if os.environ.get(k) != v}
        command = {
            "argv": list(argv),
            "env": overrides,
            "cwd": str(cwd) if cwd else None,
            "enter": list(enter),  # a node's namespaces: it must start there again
        }
        _write(directory / f"{name}.command", json.dumps(command))
        self.processes[name] = process
        return process

    def restart(self, name: str) -> subprocess.Popen[bytes]:
        """Start component `name` again, exactly as it was started (see `start`)."""
        raw = json.loads((pid_dir(self.layout) / f"{name}.command").read_text())
        env = dict(os.environ, **raw["env"]) if raw["env"] else None
        cwd = Path(raw["cwd"]) if raw["cwd"] else None
        return self.start(name, raw["argv"], env, cwd, enter=raw.get("enter", ()))

    def check(self) -> None:
        """Raise ComponentFailed for the first component that has exited."""
        for name, process in self.processes.items():
            code = process.poll()
            if code is not None:
                raise ComponentFailed(
                    name,
                    f"exited (code {code}) while the cluster was starting",
                    self.layout.log(name),
                )


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def restartable(layout: Layout, name: str) -> bool:
    """Was component `name` started with its command recorded (see Supervisor.restart)?"""
    return (pid_dir(layout) / f"{name}.command").is_file()


def records(layout: Layout) -> list[Record]:
    """Every PID file of the state directory."""
    directory = pid_dir(layout)
    result: list[Record] = []
    if not directory.is_dir():
        return result
    for path in sorted(directory.glob("*.json")):
        try:
            raw = json.loads(path.read_text())
            result.append(Record(raw["name"], int(raw["pid"]), raw["exe"], int(raw["start_ticks"])))
        except (OSError, ValueError, KeyError):
            continue  # a torn write: the child died before exec, nothing to stop
    return result


def running(layout: Layout) -> dict[str, int]:
    """name -> PID of the recorded components that are still alive."""
    return {r.name: r.pid for r in records(layout) if is_same_process(r)}


def _proc_table() -> list[tuple[int, int, int]]:
    """(pid, process group, session) of every live process (zombies have nothing to stop)."""
    table = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # After the command name: state, ppid, pgrp, session (fields 3 to 6 of the stat line).
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields[0] != "Z":
            table.append((int(entry), int(fields[2]), int(fields[3])))
    return table


def session_members(sid: int) -> list[int]:
    """PIDs whose session id is `sid` (a component's session, with what it spawned)."""
    return [pid for pid, _, session in _proc_table() if session == sid]


def group_members(pgid: int) -> list[int]:
    """PIDs of the process group `pgid` (a component and the children it did not detach)."""
    return [pid for pid, group, _ in _proc_table() if group == pgid]


def stop_all(records: list[Record], timeout: float = 10.0) -> list[Record]:
    """SIGTERM the process groups of `records` together, SIGKILL what remains after `timeout`;
    returns the records that were running.

    A group is signalled only when its leader is verifiably the process we started, or when
    the leader is gone but members of its group remain (a crash left them behind).
    """
    targets = [r for r in records if is_same_process(r) or group_members(r.pid)]
    for record in targets:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(record.pid, signal.SIGTERM)

    def remaining() -> list[Record]:
        groups = {group for _, group, _ in _proc_table()}
        return [r for r in targets if r.pid in groups]

    deadline = time.monotonic() + timeout
    while remaining() and time.monotonic() < deadline:
        time.sleep(0.05)
    for record in remaining():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(record.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while remaining() and time.monotonic() < deadline:
        time.sleep(0.05)
    return targets


def stop(record: Record, timeout: float = 10.0) -> bool:
    """Stop one component (see stop_all); True if it was running."""
    return bool(stop_all([record], timeout))
