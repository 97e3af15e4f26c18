"""Doctest directives: HTML comments that readers never see.

    <!-- doctest: skip reason="…" -->
    <!-- doctest: requires=microk8s,calico reason="…" -->
    <!-- doctest: timeout=120 retry=90 vary=ip,age -->
    <!-- doctest: setup            (followed by a ```bash fence, then -->)
    <!-- doctest: cleanup          (likewise; runs at the end of the page, always)
    <!-- doctest: page exclusive reason="…" -->
    <!-- doctest: page vary=ip,age timeout=90 -->

The comment and its `key` / `key=value` / `key="…"` tokens are read by `tools.markdown` (the
same grammar for every reader of the pages); what each key means is checked here: anything
unknown or malformed raises `DirectiveError`, which the parser turns into an error naming
the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tools.cluster.contract import Capability
from tools.doctest.matcher import VARY_KINDS
from tools.markdown import DirectiveSyntaxError, directive_tokens

# Keys that take a value, and the flags that do not.
_VALUE_KEYS = {"reason", "requires", "timeout", "retry", "vary"}
_FLAG_KEYS = {"skip", "setup", "cleanup", "page", "exclusive"}

MAX_TIMEOUT = 3600


class DirectiveError(ValueError):
    """A directive that cannot be understood; the message says why."""


@dataclass(frozen=True)
class Directive:
    skip: bool = False
    reason: str | None = None
    requires: frozenset[Capability] = frozenset()
    timeout: float | None = None
    retry: float | None = None
    vary: frozenset[str] = frozenset()
    hidden: str | None = None  # "setup" or "cleanup"
    page: bool = False
    exclusive: bool = False
    keys: tuple[str, ...] = field(default=())

    def merged(self, other: Directive) -> Directive:
        """Two directive comments in a row before the same fence add up."""
        both = set(self.keys) & set(other.keys)
        if both:
            raise DirectiveError(f"key(s) {', '.join(sorted(both))} given twice for one example")
        return Directive(
            skip=self.skip or other.skip,
            reason=self.reason or other.reason,
            requires=self.requires | other.requires,
            timeout=self.timeout if self.timeout is not None else other.timeout,
            retry=self.retry if self.retry is not None else other.retry,
            vary=self.vary | other.vary,
            hidden=self.hidden or other.hidden,
            page=False,
            exclusive=False,
            keys=self.keys + other.keys,
        )


def _seconds(key: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise DirectiveError(f"{key}={value!r} is not a number of seconds") from None
    if not 0 < seconds <= MAX_TIMEOUT:
        raise DirectiveError(f"{key}={value} must be between 0 and {MAX_TIMEOUT} seconds")
    return seconds


def _list(key: str, value: str, allowed: frozenset[str]) -> frozenset[str]:
    items = [v.strip() for v in value.split(",")]
    if not all(items):
        raise DirectiveError(f"{key}={value!r} has an empty item")
    unknown = [v for v in items if v not in allowed]
    if unknown:
        raise DirectiveError(
            f"unknown {key} value(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}"
        )
    return frozenset(items)


def parse_body(body: str) -> Directive:
    """Parse what follows ``doctest:`` up to the end of the comment (or of its first line)."""
    values: dict[str, str] = {}
    flags: list[str] = []
    order: list[str] = []
    try:
        tokens = directive_tokens(body)
    except DirectiveSyntaxError as exc:
        raise DirectiveError(str(exc)) from None
    for key, value in tokens:
        if key in order:
            raise DirectiveError(f"key {key!r} given twice")
        order.append(key)
        if key in _FLAG_KEYS:
            if value is not None:
                raise DirectiveError(f"{key} takes no value")
            flags.append(key)
        elif key in _VALUE_KEYS:
            if not value:
                raise DirectiveError(f"{key} needs a value ({key}=…)")
            values[key] = value
        else:
            known = ", ".join(sorted(_VALUE_KEYS | _FLAG_KEYS))
            raise DirectiveError(f"unknown key {key!r}; known keys: {known}")
    if not order:
        raise DirectiveError("empty directive")

    d = Directive(
        skip="skip" in flags,
        reason=values.get("reason"),
        requires=frozenset(
            Capability(c) for c in _list("requires", values["requires"], frozenset(Capability))
        )
        if "requires" in values
        else frozenset(),
        timeout=_seconds("timeout", values["timeout"]) if "timeout" in values else None,
        retry=_seconds("retry", values["retry"]) if "retry" in values else None,
        vary=_list("vary", values["vary"], VARY_KINDS) if "vary" in values else frozenset(),
        hidden=("setup" if "setup" in flags else "cleanup" if "cleanup" in flags else None),
        page="page" in flags,
        exclusive="exclusive" in flags,
        keys=tuple(order),
    )
    _check_combination(d)
    return d


def _check_combination(d: Directive) -> None:
    if d.skip and not d.reason:
        raise DirectiveError('skip needs a reason: skip reason="…"')
    if "setup" in d.keys and "cleanup" in d.keys:
        raise DirectiveError("setup and cleanup cannot be combined")
    if d.page:
        for key in ("skip", "setup", "cleanup", "retry"):
            if key in d.keys:
                raise DirectiveError(f"{key} cannot be a page-level key")
        if d.exclusive and not d.reason:
            raise DirectiveError('page exclusive needs a reason: page exclusive reason="…"')
        if len(d.keys) == 1:
            raise DirectiveError("page directive without any key")
    elif d.exclusive:
        raise DirectiveError("exclusive is a page-level key: <!-- doctest: page exclusive … -->")
    if d.hidden and d.skip:
        raise DirectiveError(f"a hidden {d.hidden} block cannot be skipped; remove it instead")
    if "reason" in d.keys and not (d.skip or d.requires or d.exclusive):
        raise DirectiveError("reason explains skip, requires or page exclusive; none is given")
