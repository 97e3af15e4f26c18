"""The fence lexer: attributes, indentation, hidden blocks, console commands, errors."""

from __future__ import annotations

import textwrap

import pytest

from tools.doctest.parser import parse_info, parse_lines


def parse(text: str):  # type: ignore[no-untyped-def]
    return parse_lines(textwrap.dedent(text).strip("\n").split("\n"))


@pytest.mark.parametrize(
    ("info", "lang"),
    [
        ("bash", "bash"),
        ('bash title="pods.sh"', "bash"),
        ('bash linenums="1" hl_lines="2"', "bash"),
        ("{ .bash .annotate }", "bash"),
        ('{.console title="x"}', "console"),
        ("", ""),
        ("yaml", "yaml"),
    ],
)
def test_info_strings(info: str, lang: str) -> None:
    assert parse_info(info)[0] == lang


def test_fences_with_attributes_are_collected() -> None:
    page = parse(
        """
        ```bash title="a.sh"
        echo a
        ```
        ``` { .bash .annotate }
        echo b # (1)!
        ```
        ~~~~sh
        echo c
        ~~~~
        ```yaml
        a: 1
        ```
        ```
        plain
        ```
        """
    )
    assert [b.kind for b in page.blocks] == ["bash", "bash", "bash"]
    assert [b.body for b in page.blocks] == [["echo a"], ["echo b # (1)!"], ["echo c"]]
    assert not page.problems


def test_indented_fences_in_admonitions_and_tabs() -> None:
    page = parse(
        """
        !!! tip "Astuce"
            <!-- doctest: timeout=5 -->
            ```bash
            echo in-admonition
              indented
            ```

        === "MicroK8s"

            ```console
            $ echo tab
            tab
            ```

        ??? success "Solution"
            ```bash
            echo solution
            ```
        """
    )
    assert [b.body for b in page.blocks] == [
        ["echo in-admonition", "  indented"],
        ["$ echo tab", "tab"],
        ["echo solution"],
    ]
    assert page.blocks[0].directive.timeout == 5
    assert page.blocks[1].indent == "    "
    assert page.blocks[1].commands[0].output == ["tab"]


def test_hidden_setup_and_cleanup_blocks() -> None:
    page = parse(
        """
        <!-- doctest: setup
        ```bash
        echo hidden
        ```
        -->

        <!-- doctest: cleanup timeout=30
        ```bash
        echo bye
        ```
        -->
        """
    )
    assert [(b.kind, b.body) for b in page.blocks] == [
        ("setup", ["echo hidden"]),
        ("cleanup", ["echo bye"]),
    ]
    assert page.blocks[1].directive.timeout == 30


def test_commented_out_blocks_do_not_run() -> None:
    page = parse(
        """
        <!--
        ```bash
        rm -rf /
        ```
        -->
        """
    )
    assert page.blocks == [] and not page.problems


def test_console_commands_continuations_and_heredocs() -> None:
    page = parse(
        """
        ```console
        $ microk8s kubectl get pods \\
            -o wide
        NAME READY
        web  1/1
        $ cat <<EOF
        > hello
        > EOF
        hello
        $ curl -v http://web
        > GET / HTTP/1.1
        < HTTP/1.1 200 OK
        $ true
        ```
        """
    )
    cmds = page.blocks[0].commands
    assert [c.command for c in cmds] == [
        "microk8s kubectl get pods \\\n    -o wide",
        "cat <<EOF\nhello\nEOF",
        "curl -v http://web",
        "true",
    ]
    assert cmds[0].output == ["NAME READY", "web  1/1"]
    assert cmds[2].output == ["> GET / HTTP/1.1", "< HTTP/1.1 200 OK"]
    assert cmds[3].output == []
    assert (cmds[0].line, cmds[0].last_line, cmds[0].output_start) == (1, 2, 3)


def test_page_directives_add_up() -> None:
    page = parse(
        """
        <!-- doctest: page vary=ip -->
        <!-- doctest: page exclusive reason="CoreDNS" -->
        """
    )
    assert page.page.vary == {"ip"} and page.page.exclusive


def test_two_directives_before_one_fence_merge() -> None:
    page = parse(
        """
        <!-- doctest: retry=30 -->
        <!-- doctest: vary=age -->
        ```console
        $ date
        ...
        ```
        """
    )
    d = page.blocks[0].directive
    assert d.retry == 30 and d.vary == {"age"}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("<!-- doctest skip -->\n```bash\nx\n```", 0, "malformed doctest directive"),
        ("<!-- doctest: bogus -->\n```bash\nx\n```", 0, "unknown key 'bogus'"),
        ("<!-- doctest: timeout=5 -->\nSome text.\n", 0, "not followed by a code block"),
        ("<!-- doctest: timeout=5 -->\n", 0, "not followed by a code block"),
        ("<!-- doctest: timeout=5 -->\n```yaml\na: 1\n```", 0, "`yaml` block, which is never run"),
        ("<!-- doctest: timeout=5 -->\n    ```bash\n    x\n    ```", 0, "not indented like"),
        ("<!-- doctest: vary=ip -->\n```bash\nx\n```", 0, "console blocks only"),
        ("```bash\necho never closed\n", 0, "never closed"),
        ("```console\nno prompt\n```", 1, "must start with a `$ ` command"),
        ("```console\n```", 0, "without any `$ ` command"),
        ("<!-- doctest: setup -->\n```bash\nx\n```", 0, "goes inside the comment"),
        ("<!-- doctest: setup\n```bash\nx\n```\n", 3, "expected `-->`"),
        ("<!-- doctest: setup\n```console\n$ x\n```\n-->", 1, "only bash blocks"),
        ("<!-- doctest: timeout=5\n\nstill open", 0, "not closed"),
    ],
)
def test_problems_name_the_line(text: str, line: int, message: str) -> None:
    page = parse_lines(text.split("\n"))
    assert page.problems, "expected a problem"
    assert page.problems[0].line == line
    assert message in page.problems[0].message
