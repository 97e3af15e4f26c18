"""The journal and the process supervisor: what `down` relies on after a crash."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from tools.cluster.local import state, supervisor
from tools.cluster.local.settings import Layout
from tools.cluster.local.state import Entry


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    layout = Layout(tmp_path / "state")
    state.create_root(layout)
    return layout


def test_state_directory_is_0700(layout: Layout) -> None:
    assert layout.root.stat().st_mode & 0o777 == 0o700


def test_journal_round_trip(layout: Layout) -> None:
    state.record(layout, Entry("link", {"name": "rk8s0"}))
    state.record(layout, Entry("sysctl", {"key": "net.ipv4.ip_forward", "previous": "0"}))
    entries = state.entries(layout)
    assert entries == [
        Entry("link", {"name": "rk8s0"}),
        Entry("sysctl", {"key": "net.ipv4.ip_forward", "previous": "0"}),
    ]
    assert state.has(layout, "link", name="rk8s0")
    assert not state.has(layout, "link", name="cni0")


def test_a_torn_last_line_is_ignored(layout: Layout) -> None:
    state.record(layout, Entry("link", {"name": "rk8s0"}))
    with open(layout.journal, "a") as journal:
        journal.write('{"kind": "route", "rou')  # a crash in the middle of a write
    assert state.entries(layout) == [Entry("link", {"name": "rk8s0"})]


def test_a_corrupt_line_names_file_and_line(layout: Layout) -> None:
    layout.journal.write_text('{"kind": "link", "name": "a"}\nnot json\n{"kind": "link"}\n')
    with pytest.raises(state.StateError, match=r"journal\.jsonl:2"):
        state.entries(layout)


def test_entry_without_kind(layout: Layout) -> None:
    layout.journal.write_text('{"name": "a"}\n')
    with pytest.raises(state.StateError, match=r":1: entry without 'kind'"):
        state.entries(layout)


def test_supervisor_records_the_pid_before_exec_and_stops_the_group(layout: Layout) -> None:
    sup = supervisor.Supervisor(layout)
    process = sup.start("sleeper", ["/bin/sleep", "30"])
    (record,) = supervisor.records(layout)
    assert record.name == "sleeper"
    assert record.pid == process.pid
    assert record.exe == os.path.realpath("/bin/sleep")
    assert record.start_ticks > 0
    assert supervisor.is_same_process(record)
    assert supervisor.running(layout) == {"sleeper": process.pid}
    # Its own session: the group is the component and nothing else of ours.
    assert os.getsid(process.pid) == process.pid
    assert supervisor.stop(record, timeout=5)
    process.wait(timeout=5)
    assert not supervisor.is_same_process(record)
    assert supervisor.running(layout) == {}
    assert not supervisor.stop(record)  # already gone: nothing is signalled


def test_a_recycled_pid_is_not_ours(layout: Layout) -> None:
    sup = supervisor.Supervisor(layout)
    process = sup.start("sleeper", ["/bin/sleep", "30"])
    (record,) = supervisor.records(layout)
    other = supervisor.Record(record.name, record.pid, "/usr/bin/something-else", 0)
    assert not supervisor.is_same_process(other)
    older = supervisor.Record(record.name, record.pid, record.exe, record.start_ticks - 1)
    assert not supervisor.is_same_process(older)
    supervisor.stop(record, timeout=5)
    process.wait(timeout=5)


def test_early_exit_names_the_component_and_quotes_its_log(layout: Layout) -> None:
    sup = supervisor.Supervisor(layout)
    process = sup.start("broken", ["/bin/sh", "-c", "echo 'bad flag --foo' >&2; exit 3"])
    process.wait(timeout=5)
    with pytest.raises(supervisor.ComponentFailed) as failure:
        sup.check()
    message = str(failure.value)
    assert message.startswith("broken: exited (code 3)")
    assert "bad flag --foo" in message
    assert failure.value.component == "broken"


def test_stop_escalates_to_sigkill(layout: Layout) -> None:
    sup = supervisor.Supervisor(layout)
    script = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    process = sup.start("stubborn", [sys.executable, "-c", script])
    (record,) = supervisor.records(layout)
    time.sleep(0.3)  # let it install its handler
    start = time.monotonic()
    assert supervisor.stop(record, timeout=0.5)
    process.wait(timeout=5)
    assert process.returncode == -9
    assert time.monotonic() - start < 5


def test_tail_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert supervisor.tail_lines(log, 3) == "line 97\nline 98\nline 99"
    assert supervisor.tail_lines(tmp_path / "missing.log", 3) == ""


class _FakeClient:
    def __init__(self, pods: list[dict]) -> None:
        self.pods = pods

    def get_json(self, path: str) -> dict:
        assert "labelSelector=k8s-app=kube-dns" in path
        return {"items": self.pods}


def test_coredns_state_for_error_messages() -> None:
    from tools.cluster.local import lifecycle

    pending = {
        "metadata": {"name": "coredns-abc"},
        "status": {
            "phase": "Pending",
            "conditions": [{"type": "Ready", "status": "False"}],
            "initContainerStatuses": [
                {"name": "install-cni", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
            ],
            "containerStatuses": [
                {"name": "coredns", "state": {"waiting": {"reason": "ErrImagePull"}}}
            ],
        },
    }
    state_line = lifecycle._coredns_state(_FakeClient([pending]))  # type: ignore[arg-type]
    assert state_line == (
        "pod coredns-abc: Pending, ready=['False'], "
        "waiting: install-cni CrashLoopBackOff, coredns ErrImagePull"
    )
    assert lifecycle._coredns_state(_FakeClient([])) == "no CoreDNS pod was created"  # type: ignore[arg-type]


def test_files_the_kubelet_leaves_in_an_existing_directory_are_removed(
    layout: Layout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/var/lib/kubelet/device-plugins/kubelet.sock: the kubelet's fixed socket. The directory
    may be there before `up` (another run left it, or it is the host's), the socket too (a
    stale one: preflight refuses a live one); our kubelet replaces it, and `down` removes it
    (and the directory only if `up` made it)."""
    from tools.cluster.local import lifecycle, teardown

    existing = tmp_path / "device-plugins"
    existing.mkdir()
    made = tmp_path / "results"
    foreign = existing / "other.sock"
    foreign.write_text("")
    (existing / "kubelet.sock").write_text("")  # a stale one, left by an earlier kubelet
    monkeypatch.setattr(lifecycle, "OUTSIDE_DIRS", {existing: ("kubelet.sock",), made: ()})
    monkeypatch.setattr(lifecycle, "HOST_PATHS", ())
    lifecycle._record_outside_dirs(layout)
    (existing / "kubelet.sock").write_text("")  # our kubelet starts: it replaces the socket
    made.mkdir()
    for entry in reversed(state.entries(layout)):
        teardown._undo(entry, lambda line: None)
    assert not (existing / "kubelet.sock").exists()
    assert foreign.exists() and existing.is_dir()  # not ours: left alone
    assert not made.exists()
