"""Directive comments: every key, and a clear error for anything else."""

from __future__ import annotations

import re

import pytest

from tools.doctest.directives import DirectiveError, parse_body


def test_all_example_keys() -> None:
    d = parse_body('requires=microk8s,calico reason="needs the addon" timeout=120 retry=90')
    assert d.requires == {"microk8s", "calico"}
    assert d.reason == "needs the addon"
    assert d.timeout == 120 and d.retry == 90
    assert not d.skip and not d.page


def test_skip_and_vary_and_hidden_blocks() -> None:
    d = parse_body('skip reason="CNI = Calico uniquement"')
    assert d.skip and d.reason == "CNI = Calico uniquement"
    assert parse_body("vary=ip,age,hash").vary == {"ip", "age", "hash"}
    assert parse_body("setup").hidden == "setup"
    assert parse_body("cleanup timeout=30").hidden == "cleanup"


def test_page_keys() -> None:
    d = parse_body('page exclusive reason="scales CoreDNS to zero" vary=ip')
    assert d.page and d.exclusive and d.vary == {"ip"}


def test_escaped_quote_in_reason() -> None:
    assert parse_body(r'skip reason="le \"vrai\" nœud"').reason == 'le "vrai" nœud'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("skip", "skip needs a reason"),
        ('skip reason=""', "reason needs a value"),
        ("bogus=1", "unknown key 'bogus'"),
        ("timeout=abc", "not a number of seconds"),
        ("timeout=0", "must be between"),
        ("retry=99999", "must be between"),
        ("requires=gpu", "unknown requires value(s) gpu"),
        ("requires=microk8s,", "empty item"),
        ("vary=colour", "unknown vary value(s) colour"),
        ("skip=yes reason=x", "skip takes no value"),
        ("timeout", "timeout needs a value"),
        ("timeout=5 timeout=6", "given twice"),
        ("setup cleanup", "cannot be combined"),
        ("exclusive", "page-level key"),
        ("page exclusive", "needs a reason"),
        ("page skip reason=x", "cannot be a page-level key"),
        ("page", "page directive without any key"),
        ('reason="why"', "reason explains"),
        ('setup skip reason="x"', "cannot be skipped"),
        ("timeout=5 'oops'", "cannot read"),
        ("", "empty directive"),
    ],
)
def test_malformed(body: str, message: str) -> None:
    with pytest.raises(DirectiveError, match=re.escape(message)):
        parse_body(body)
