"""The output matcher: whitespace, `...`, placeholders, diffs and --update text."""

from __future__ import annotations

import pytest

from tools.doctest.matcher import VaryError, check_kinds, compare


def test_whitespace_runs_and_trailing_blank_lines_compare_equal() -> None:
    expected = "NAME   READY   STATUS\nweb    1/1     Running\n"
    actual = "NAME READY STATUS\nweb  1/1  Running   \n\n\n"
    assert compare(expected, actual).matched


def test_runs_of_blank_lines_compare_equal() -> None:
    assert compare("Server: x\n\n\nName: y\n", "Server: x\n\nName: y\n").matched
    assert compare("Server: x\n\nName: y\n", "Server: x\n\n\n\nName: y\n").matched
    assert not compare("Server: x\n\nName: y\n", "Server: x\nName: y\n").matched


def test_a_changed_word_is_a_mismatch_with_a_diff_naming_the_place() -> None:
    result = compare("web 1/1 Running\n", "web 0/1 Pending\n")
    assert not result.matched
    diff = result.diff("docs/fr/page.md:12")
    assert "--- expected (docs/fr/page.md:12)" in diff
    assert "-web 1/1 Running" in diff
    assert "+web 0/1 Pending" in diff


@pytest.mark.parametrize(
    ("expected", "actual", "matched"),
    [
        ("a\n...\nz", "a\nb\nc\nz", True),
        ("a\n...\nz", "a\nz", True),  # `...` may match nothing
        ("...\nz", "x\ny\nz", True),
        ("a\n...", "a\nb\nc", True),
        ("a\n...\nz", "a\nb\nc", False),  # the line after `...` must still come
        ("a\n...\nz", "b\nz", False),
        ("...", "", True),
        ("", "something", False),
    ],
)
def test_ellipsis_lines(expected: str, actual: str, matched: bool) -> None:
    assert compare(expected, actual).matched is matched


@pytest.mark.parametrize(
    ("kind", "expected", "actual"),
    [
        ("ip", "inet 10.1.0.17/24 scope global", "inet 10.1.3.201/24 scope global"),
        ("ip", "Address: 10.152.183.10", "Address: 10.152.183.97"),
        ("age", "web 1/1 Running 0 12s", "web 1/1 Running 0 3m12s"),
        ("age", "coredns 5d", "coredns 2y"),
        ("hash", "web-7d4b9c8f5d-x2k9p 1/1", "web-5f6d7c8b9b-qwrtz 1/1"),
        ("hash", "replicaset.apps/web-7d4b9c8f5d", "replicaset.apps/web-68cd97b4c5"),
        ("number", "RESTARTS 0", "RESTARTS 12"),
        ("number", "time=0.052 ms", "time=1.9 ms"),
        ("number", "eth0@if21 UP", "eth0@if196 UP"),
        ("mac", "link/ether 0a:58:0a:01:00:05", "link/ether 9e:1f:22:ab:cd:ef"),
        ("iface", "21: cali5e1a9b2c3d4@if2: <UP>", "21: calie0f7a6b5c44@if2: <UP>"),
        (
            "iface",
            "10.1.0.5 dev cali5e1a9b2c3d4 scope link",
            "10.1.0.5 dev cali0123456789a scope link",
        ),
        ("port", "from 10.1.0.5:43210", "from 10.1.0.5:51234"),
        (  # tcpdump writes an address and its port with a dot
            "port",
            "IP 10.152.182.1.55070 > 10.152.182.2.4789: VXLAN",
            "IP 10.152.182.1.49012 > 10.152.182.2.4789: VXLAN",
        ),
        ("ip", "IP 10.1.189.3.80 > 10.1.0.9.35000", "IP 10.1.145.129.80 > 10.1.0.9.35000"),
        (
            "uid",
            "uid: 0d5f6c3e-8a2b-4c1d-9e7f-112233445566",
            "uid: 7f1e2d3c-4b5a-6978-8a9b-abcdefabcdef",
        ),
    ],
)
def test_each_kind_matches_another_value_of_its_kind(kind: str, expected: str, actual: str) -> None:
    assert not compare(expected, actual).matched  # without vary= the values must be equal
    assert compare(expected, actual, frozenset({kind})).matched


@pytest.mark.parametrize(
    ("kinds", "expected", "actual"),
    [
        ({"ip"}, "Address: 10.152.183.10", "Address: not-an-ip"),
        ({"age"}, "web Running 12s", "web Pending 12s"),  # the literal part still counts
        ({"hash"}, "web-7d4b9c8f5d-x2k9p", "api-7d4b9c8f5d-x2k9p"),
        ({"number"}, "READY 1", "READY one"),
        ({"ip"}, "10.1.0.5", "10.1.0.5 extra"),
        # A well-known port after a tcpdump address stays literal, whatever else varies.
        (
            {"ip", "port", "number"},
            "10.1.0.5.41000 > 10.1.0.6.4789:",
            "10.1.0.5.41000 > 10.1.0.6.4790:",
        ),
    ],
)
def test_placeholders_do_not_match_other_shapes(
    kinds: set[str], expected: str, actual: str
) -> None:
    assert not compare(expected, actual, frozenset(kinds)).matched


def test_words_are_not_taken_for_hashes() -> None:
    # "-nginx" and "-server" contain vowels: they stay literal under vary=hash.
    assert not compare("my-nginx", "my-apache", frozenset({"hash"})).matched
    assert not compare("api-server", "api-client", frozenset({"hash"})).matched


def test_update_text_keeps_matching_placeholders_and_ellipsis() -> None:
    expected = "NAME READY AGE\nweb-7d4b9c8f5d-x2k9p 1/1 12s\n...\nlast 10.1.0.5"
    actual = "NAME READY AGE\nweb-5f6d7c8b9b-qwrtz 0/1 3m\nnoise\nmore\nlast 10.1.0.9"
    result = compare(expected, actual, frozenset({"hash", "age", "ip"}))
    assert not result.matched
    # The changed line takes the real values; the rest is kept as written.
    assert result.updated == [
        "NAME READY AGE",
        "web-5f6d7c8b9b-qwrtz 0/1 3m",
        "...",
        "last 10.1.0.5",
    ]
    # The diff shows only the real difference.
    diff = result.diff("p.md:1")
    assert "-web-7d4b9c8f5d-x2k9p 1/1 12s" in diff
    assert "+web-5f6d7c8b9b-qwrtz 0/1 3m" in diff
    changed = [ln for ln in diff.splitlines()[2:] if ln.startswith(("+", "-"))]
    assert changed == ["-web-7d4b9c8f5d-x2k9p 1/1 12s", "+web-5f6d7c8b9b-qwrtz 0/1 3m"]


def test_update_text_adds_and_removes_lines() -> None:
    result = compare("a\nb\nc", "a\nc\nd")
    assert result.updated == ["a", "c", "d"]


def test_unknown_kind_is_an_error() -> None:
    check_kinds(["ip", "age"])
    with pytest.raises(VaryError, match="unknown vary kind"):
        check_kinds(["ip", "colour"])


def test_huge_outputs_use_the_greedy_fallback() -> None:
    actual = "\n".join(f"line {i}" for i in range(3000))
    assert compare("line 0\n...\nline 2999", actual).matched
    assert not compare("line 0\n...\nline 3000", actual).matched
