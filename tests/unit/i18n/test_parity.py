"""What the parity check extracts from a page: commands without comments, outputs, includes."""

from __future__ import annotations

import pytest

from tools.i18n import parity


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("kubectl get pods  # liste", "kubectl get pods"),
        ("# tout est commentaire", ""),
        ('echo "# pas un commentaire"', 'echo "# pas un commentaire"'),
        ("echo '#' a#b ${#x[@]}", "echo '#' a#b ${#x[@]}"),
        (r"echo \# x # commentaire", r"echo \# x"),
        ("ls;# collé", "ls;"),
    ],
)
def test_strip_comment(line: str, expected: str) -> None:
    assert parity.strip_comment(line)[0] == expected


def test_quote_left_open_carries_to_the_next_line() -> None:
    text, state = parity.strip_comment("echo 'début # dedans")
    assert (text, state) == ("echo 'début # dedans", "'")
    assert parity.strip_comment("fin' # dehors", state) == ("fin'", "")


def test_extract_kinds_in_page_order() -> None:
    page = (
        "<!-- doctest: setup\n"
        "```bash\n"
        "microk8s kubectl create deployment web --image=nginx\n"
        "```\n"
        "-->\n"
        '    ```console title="dans une admonition"\n'
        "    $ microk8s kubectl get deploy \\\n"
        "        web  # commentaire\n"
        "    NAME   READY\n"
        "    ```\n"
        ';--8<-- "ignoré.yaml"\n'
        "--8<--\n"
        "07/a.yaml\n"
        "--8<--\n"
    )
    items = [(i.kind, i.text, i.line) for i in parity.extract(page)]
    assert items == [
        ("directive", "setup", 1),
        ("code block", "bash", 2),
        ("command", "microk8s kubectl create deployment web --image=nginx", 3),
        ("code block", "console", 6),
        ("command", "$ microk8s kubectl get deploy \\", 7),
        ("command", "    web", 8),
        ("output", "NAME   READY", 9),
        ("snippet", "07/a.yaml", 13),
    ]


def test_other_languages_are_prose() -> None:
    # Diagrams and plain blocks carry translated text; yaml comments may be translated too.
    page = "```\nJ'ai besoin d'un serveur\n```\n```yaml\n# commentaire\nkind: Pod\n```\n"
    assert parity.extract(page) == []


def test_compare_reports_lines_of_both_files() -> None:
    source = [parity.Item("command", "a", 3), parity.Item("command", "b", 4)]
    translation = [parity.Item("command", "a", 5), parity.Item("command", "c", 6)]
    (problem,) = parity.compare(source, translation)
    assert (problem.line, problem.source_line) == (6, 4)
    assert problem.message == "command `c` differs from the source's command `b`"


def test_directives_compare_as_the_doctest_reads_them() -> None:
    # A key on the comment's second line counts; quoting and the reason's text do not.
    source = parity.extract('<!-- doctest: timeout=30\n  retry=20 reason="attendre" -->\n')
    same = parity.extract('<!-- doctest: timeout="30" retry=20 reason="wait" -->\n')
    other = parity.extract("<!-- doctest: timeout=30 -->\n")
    assert [i.text for i in source] == ["timeout=30 retry=20 reason=…"]
    assert parity.compare(source, same) == []
    (problem,) = parity.compare(source, other)
    assert "differs from the source's directive `timeout=30 retry=20 reason=…`" in problem.message
