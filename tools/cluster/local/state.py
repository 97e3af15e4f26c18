"""The state directory and its journal: what `up` created, so that `down` can undo it.

Every resource is appended to the journal *before* it is created (an interface, a route, an
iptables chain, a sysctl change, a process about to start). `down` replays the journal
backwards and undoes each entry, tolerating entries whose resource never came to exist; so a
crash at any point of `up` leaves a state that `down` can still clean.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tools.cluster.local.settings import Layout


class StateError(RuntimeError):
    """The state directory is unusable (bad permissions, a corrupt journal)."""


@dataclass(frozen=True)
class Entry:
    """One journal line: a kind (`link`, `route`, `chain`, `rule`, `sysctl`, `process`…) and
    the data needed to undo it."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, **self.data}, sort_keys=True)


def create_root(layout: Layout) -> None:
    """Create the state directory with mode 0700 (it holds the CA key and the admin cert)."""
    layout.root.parent.mkdir(parents=True, exist_ok=True)
    layout.root.mkdir(mode=0o700, exist_ok=True)
    # mkdir's mode is masked by the umask, and an existing directory keeps its mode.
    os.chmod(layout.root, 0o700)


def record(layout: Layout, entry: Entry) -> None:
    """Append an entry and flush it to disk before the caller creates the resource."""
    with open(layout.journal, "a", encoding="utf-8") as journal:
        journal.write(entry.to_json() + "\n")
        journal.flush()
        os.fsync(journal.fileno())


def entries(layout: Layout) -> list[Entry]:
    """The journal's entries in creation order; a torn last line (crash mid-write) is skipped."""
    if not layout.journal.exists():
        return []
    result: list[Entry] = []
    lines = layout.journal.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            if number == len(lines):
                break  # the write that a crash interrupted: its resource was never created
            raise StateError(f"{layout.journal}:{number}: unreadable line ({exc})") from exc
        if not isinstance(raw, dict) or not isinstance(raw.get("kind"), str):
            raise StateError(f"{layout.journal}:{number}: entry without 'kind'")
        kind = raw.pop("kind")
        result.append(Entry(kind, raw))
    return result


def of_kind(layout: Layout, kind: str) -> Iterator[Entry]:
    return (e for e in entries(layout) if e.kind == kind)


def has(layout: Layout, kind: str, **match: Any) -> bool:
    """Whether an entry of this kind with these data values was already recorded."""
    return any(all(e.data.get(k) == v for k, v in match.items()) for e in of_kind(layout, kind))


def write_info(layout: Layout, info: dict[str, Any]) -> None:
    """The running cluster's summary (versions, kubeconfig, node), read by `status`."""
    tmp = layout.info.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(layout.info)


def read_info(layout: Layout) -> dict[str, Any] | None:
    try:
        return json.loads(layout.info.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
