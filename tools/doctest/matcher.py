"""Compare what a command printed with the output a page shows.

Rules (the contract with the content writers, see CONTRIBUTING.md):

- whitespace runs compare equal (kubectl's column widths change with the data), and so do
  runs of blank lines; trailing whitespace and trailing blank lines are ignored;
- a line that is exactly ``...`` matches any number of lines, none included;
- with ``vary=KIND,…`` every sample value of those kinds in the expected output matches any
  value of the same kind (a pod-name hash, an IP, an age…).

The same alignment serves three purposes: deciding whether the output matches, printing a
diff that only shows real differences (lines matched through a placeholder are shown as the
page wrote them), and producing the text that ``--update`` writes back (placeholders and
elisions that still match are kept as written).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

ELLIPSIS = "..."

# Generated-name suffixes use Kubernetes' "safe" alphabet (no vowels, no 0/1/3), which keeps
# ordinary words such as "-nginx" or "-server" from being taken for hashes.
_SAFE = "bcdfghjklmnpqrstvwxz2456789"

# Order matters: at each position the first kind that matches wins, so the most specific
# shapes come first (a UID contains hex runs, an IP contains numbers…).
KIND_PATTERNS: dict[str, str] = {
    # Calico names the node end of a pod's veth `cali` + 11 hex digits of a hash of the pod's
    # namespace and name: it changes with the namespace the doctest runs the page in.
    "iface": r"(?<![\w])cali[0-9a-f]{11}(?![\w])",
    "uid": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "mac": r"(?i:[0-9a-f]{2}(?::[0-9a-f]{2}){5})",
    # An address may be followed by `.PORT`, as tcpdump writes it (`10.1.0.5.43210`).
    "ip": r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?(?=\.\d{1,5}(?![\w.])|(?![\w.]))",
    "age": r"(?<![\w.])(?:\d+[smhdy])+(?![\w.])",
    "hash": rf"(?<=-)[{_SAFE}]{{5,10}}(?![\w])",
    # An ephemeral port: after `:`, or, as tcpdump writes it, after the address and a dot
    # (five digits there, so that a well-known port such as `.4789` stays literal).
    "port": r"(?<=:)\d{1,5}(?!\d)|(?<=\d\.)\d{5}(?![\w.])",
    # A number stands alone, or follows `@if` (`eth0@if21`: the index of a veth's other end).
    "number": r"(?:(?<![\w.])|(?<=@if))-?\d+(?:\.\d+)?(?![\w])",
}
VARY_KINDS = frozenset(KIND_PATTERNS)

# What a sample of each kind may be replaced with in the actual output.  Kept a little more
# permissive than the detection patterns (an age can turn into "<invalid>" right after a
# clock step, a hash keeps the generated alphabet but not necessarily the same length).
_REPLACEMENT: dict[str, str] = {
    "iface": r"cali[0-9a-f]{11}",
    "uid": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "mac": r"(?i:[0-9a-f]{2}(?::[0-9a-f]{2}){5})",
    "ip": r"(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?",
    "age": r"(?:(?:\d+[smhdy])+|<invalid>|<unknown>)",
    "hash": rf"[{_SAFE}]{{5,10}}",
    "port": r"\d{1,5}",
    "number": r"-?\d+(?:\.\d+)?",
}


class VaryError(ValueError):
    """An unknown placeholder kind."""


def check_kinds(kinds: tuple[str, ...] | list[str]) -> None:
    unknown = [k for k in kinds if k not in VARY_KINDS]
    if unknown:
        raise VaryError(
            f"unknown vary kind(s) {', '.join(unknown)}; known: {', '.join(sorted(VARY_KINDS))}"
        )


def normalize(line: str) -> str:
    """Collapse whitespace runs so that column widths never matter."""
    return re.sub(r"\s+", " ", line.rstrip())


def _strip_trailing_blank(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    # Runs of blank lines are whitespace runs too (busybox's nslookup prints one or two
    # between its sections, depending on which answer came first).
    out: list[str] = []
    for line in lines[:end]:
        if not line.strip() and out and not out[-1].strip():
            continue
        out.append(line)
    return out


@dataclass(frozen=True)
class Pattern:
    """One expected line compiled to a regex (or the ``...`` wildcard)."""

    text: str
    regex: re.Pattern[str] | None  # None: the ``...`` wildcard

    @property
    def is_ellipsis(self) -> bool:
        return self.regex is None

    def matches(self, actual: str) -> bool:
        assert self.regex is not None
        return self.regex.fullmatch(normalize(actual)) is not None


def compile_line(line: str, kinds: frozenset[str]) -> Pattern:
    if line.strip() == ELLIPSIS:
        return Pattern(line, None)
    text = normalize(line)
    if not kinds:
        return Pattern(line, re.compile(re.escape(text)))
    alternatives = "|".join(f"(?P<{k}>{p})" for k, p in KIND_PATTERNS.items() if k in kinds)
    finder = re.compile(alternatives)
    parts: list[str] = []
    pos = 0
    for m in finder.finditer(text):
        parts.append(re.escape(text[pos : m.start()]))
        kind = m.lastgroup
        assert kind is not None
        parts.append(f"(?:{_REPLACEMENT[kind]})")
        pos = m.end()
    parts.append(re.escape(text[pos:]))
    return Pattern(line, re.compile("".join(parts)))


@dataclass(frozen=True)
class Comparison:
    matched: bool
    expected: list[str]
    actual: list[str]
    # The expected text rewritten to agree with the actual output while keeping every
    # expected line (placeholders, ``...``) that still matches: what --update writes.
    updated: list[str]

    def diff(self, where: str) -> str:
        """A unified diff, expected (as the page shows it) against the actual output."""
        lines = difflib.unified_diff(
            self.expected,
            self.updated,
            fromfile=f"expected ({where})",
            tofile="actual",
            lineterm="",
            n=3,
        )
        return "\n".join(lines)


# Beyond this many cells the quadratic alignment is not worth it: fall back to a cheaper
# line-by-line reading (outputs that big do not belong in a page anyway).
_MAX_CELLS = 4_000_000


def compare(
    expected_text: str, actual_text: str, kinds: frozenset[str] = frozenset()
) -> Comparison:
    expected = _strip_trailing_blank(expected_text.split("\n")) if expected_text else []
    actual = _strip_trailing_blank(actual_text.split("\n")) if actual_text else []
    patterns = [compile_line(line, kinds) for line in expected]
    n, m = len(patterns), len(actual)
    if (n + 1) * (m + 1) > _MAX_CELLS:
        return _compare_greedy(patterns, expected, actual)

    # cost[i][j]: cheapest way to align patterns[i:] with actual[j:].  Matching and the
    # wildcard are free, a missing or extra line costs 1, a changed line costs 1 (so that
    # changed lines pair up in the rewritten text instead of being deleted and re-added).
    match_cache: dict[tuple[int, int], bool] = {}

    def ok(i: int, j: int) -> bool:
        key = (i, j)
        if key not in match_cache:
            match_cache[key] = patterns[i].matches(actual[j])
        return match_cache[key]

    inf = n + m + 1
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    cost[n][m] = 0
    for j in range(m - 1, -1, -1):
        cost[n][j] = m - j
    for i in range(n - 1, -1, -1):
        p = patterns[i]
        row, below = cost[i], cost[i + 1]
        row[m] = below[m] if p.is_ellipsis else below[m] + 1
        for j in range(m - 1, -1, -1):
            if p.is_ellipsis:
                row[j] = min(below[j], row[j + 1])
            else:
                best = below[j + 1] if ok(i, j) else below[j + 1] + 1
                row[j] = min(best, below[j] + 1, row[j + 1] + 1)

    updated: list[str] = []
    i = j = 0
    while i < n or j < m:
        if i < n and patterns[i].is_ellipsis:
            # Keep the wildcard, let it swallow the actual lines it is cheapest to swallow.
            if j < m and cost[i][j + 1] == cost[i][j]:
                j += 1
                continue
            updated.append(expected[i])
            i += 1
            continue
        if i < n and j < m and ok(i, j) and cost[i + 1][j + 1] == cost[i][j]:
            updated.append(expected[i])
            i, j = i + 1, j + 1
        elif i < n and j < m and cost[i + 1][j + 1] + 1 == cost[i][j]:
            updated.append(actual[j])
            i, j = i + 1, j + 1
        elif i < n and cost[i + 1][j] + 1 == cost[i][j]:
            i += 1
        else:
            updated.append(actual[j])
            j += 1
    return Comparison(cost[0][0] == 0, expected, actual, _dedupe_ellipsis(updated))


def _dedupe_ellipsis(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if line.strip() == ELLIPSIS and out and out[-1].strip() == ELLIPSIS:
            continue
        out.append(line)
    return out


def _compare_greedy(patterns: list[Pattern], expected: list[str], actual: list[str]) -> Comparison:
    """Greedy fallback for huge outputs: ``...`` swallows lines up to the next matching one."""
    i = j = 0
    matched = True
    while i < len(patterns):
        p = patterns[i]
        if p.is_ellipsis:
            nxt = patterns[i + 1] if i + 1 < len(patterns) else None
            if nxt is None:
                j = len(actual)
            else:
                while j < len(actual) and not (nxt.is_ellipsis or nxt.matches(actual[j])):
                    j += 1
            i += 1
            continue
        if j < len(actual) and p.matches(actual[j]):
            i, j = i + 1, j + 1
            continue
        matched = False
        break
    matched = matched and j == len(actual)
    return Comparison(matched, expected, actual, expected if matched else actual)
