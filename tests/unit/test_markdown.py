"""The one Markdown reader: fences, comments, directives and snippet includes."""

from __future__ import annotations

import pytest

from tools.markdown import (
    DirectiveSyntaxError,
    comment_end,
    directive_at,
    directive_tokens,
    fences,
    hidden_spans,
    parse_info,
    snippets,
)

PAGE = """\
# Titre

```bash title="pods.sh"
microk8s kubectl get pods
```

!!! note "Dans une admonition"

    ``` { .console .annotate }
    $ ls
    a
    ```

````markdown
```bash
pas un bloc à part
```
````

~~~
jamais fermé
"""


def test_fences_with_attributes_indentation_nesting_and_no_end() -> None:
    found = fences(PAGE.splitlines())
    assert [(f.start, f.end, f.lang, f.run_kind, f.indent) for f in found] == [
        (2, 4, "bash", "bash", ""),
        (8, 11, "console", "console", "    "),
        (13, 17, "markdown", None, ""),
        (19, None, "", None, ""),
    ]
    assert found[0].rest == 'title="pods.sh"'
    assert found[1].body == ("$ ls", "a")
    assert found[2].body == ("```bash", "pas un bloc à part", "```")
    assert found[3].stop(len(PAGE.splitlines())) == len(PAGE.splitlines())


@pytest.mark.parametrize(
    ("info", "lang"),
    [("bash", "bash"), (' console title="x"', "console"), ("{ .sh .annotate }", "sh"), ("", "")],
)
def test_info_string(info: str, lang: str) -> None:
    assert parse_info(info)[0] == lang


def test_a_closing_fence_needs_the_opening_indentation() -> None:
    lines = ["    ```bash", "    ls", "```", "    ```"]
    (fence,) = fences(lines)
    assert fence.end == 3


def test_directive_text_continues_until_the_comment_closes_or_a_fence_opens() -> None:
    lines = ["<!-- doctest: timeout=30", "  retry=20 -->", "<!-- doctest: setup", "```bash"]
    first = directive_at(lines, 0)
    assert first is not None and first.closed and first.last == 1
    assert directive_tokens(first.body) == [("timeout", "30"), ("retry", "20")]
    hidden = directive_at(lines, 2)
    assert hidden is not None and not hidden.closed and hidden.last == 2
    typo = directive_at(["<!-- doctest skip -->"], 0)
    assert typo is not None and not typo.colon
    assert directive_at(["<!-- a comment -->"], 0) is None


def test_directive_grammar() -> None:
    assert directive_tokens(r'skip reason="le \"vrai\" nœud" vary=ip,age') == [
        ("skip", None),
        ("reason", 'le "vrai" nœud'),
        ("vary", "ip,age"),
    ]
    with pytest.raises(DirectiveSyntaxError, match="cannot read 'reason=\"open'"):
        directive_tokens('skip reason="open')


def test_comment_end() -> None:
    assert comment_end(["<!-- a -->"], 0) == 0
    assert comment_end(["<!--", "a", "-->", "b"], 0) == 2
    assert comment_end(["<!--", "a"], 0) == 1


def test_snippet_includes_as_pymdownx_reads_them() -> None:
    lines = [
        '--8<-- "07/a.yaml"',
        ';--8<-- "escaped.yaml"',
        "--8<--",
        "07/b.sh",
        ";commented.sh",
        "",
        "--8<--",
        '--8<-- "x.sh" trailing',
        '    --8<-- "indented.sh"',
    ]
    found = snippets(lines)
    assert [(i.line, i.path) for i in found.includes] == [
        (0, "07/a.yaml"),
        (3, "07/b.sh"),
        (8, "indented.sh"),
    ]
    assert found.notation == [0, 2, 3, 4, 5, 6, 8]


def test_hidden_spans_are_what_is_not_prose() -> None:
    text = (
        "---\ntitle: x\n---\n"
        "Avant <!-- caché --> après.\n"
        "<!-- doctest: setup\n```bash\nls\n```\n-->\n"
        "```bash\nls\n```\n"
        "Fin.\n"
    )
    masked = list(text)
    for start, end in hidden_spans(text):
        masked[start:end] = [c if c == "\n" else " " for c in text[start:end]]
    shown = [" ".join(line.split()) for line in "".join(masked).split("\n") if line.strip()]
    assert shown == ["Avant après.", "Fin."]
