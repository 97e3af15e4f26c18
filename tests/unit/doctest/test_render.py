"""Pages are read as the site shows them, and every line maps back to its source."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.doctest.project import make_project
from tools.doctest.parser import parse_lines
from tools.doctest.render import Renderer, RenderError
from tools.doctest.update import UpdateRefused, apply, plan

PAGE = """\
---
render_macros: true
---
# Titre

```bash
{{ kubectl }} get pods
echo {{ greeting }}
```

!!! note
    ```bash title="script"
    --8<-- "x/run.sh"
    ```

{{ two_lines }}

```console
$ echo verbatim
verbatim
```
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(
        tmp_path,
        {"sec/page.md": PAGE, "plain.md": "# Plain {{ not_rendered }}\n\n```bash\necho x\n```\n"},
        {"x/run.sh": "echo one\n\necho three\n"},
    )


def test_macros_and_snippets_are_expanded_with_line_map(project: Path) -> None:
    page = Renderer(project / "mkdocs.yml").render(project / "docs/fr/sec/page.md")
    lines = page.lines
    assert page.macros_rendered
    i = lines.index("microk8s kubectl get pods")
    assert page.where(i) == "docs/fr/sec/page.md:7"
    assert not page.origins[i].verbatim  # a macro wrote it
    j = lines.index("$ echo verbatim")
    assert page.where(j) == "docs/fr/sec/page.md:19" and page.origins[j].verbatim
    k = lines.index("    echo three")
    assert page.where(k) == "snippets/x/run.sh:3 (included at docs/fr/sec/page.md:13)"
    assert page.origins[k].indent == "    "
    blank = k - 1
    assert page.where(blank).startswith("snippets/x/run.sh:2")
    assert [inc.path.name for inc in page.includes] == ["run.sh"]
    assert page.includes[0].page_line == 13
    assert lines[lines.index("first") + 1] == "second"


def test_pages_without_render_macros_are_left_alone(project: Path) -> None:
    page = Renderer(project / "mkdocs.yml").render(project / "docs/fr/plain.md")
    assert page.lines[0] == "# Plain {{ not_rendered }}"
    assert not page.macros_rendered


def test_undefined_variable_and_missing_snippet_are_errors(project: Path) -> None:
    bad = project / "docs/fr/bad.md"
    bad.write_text("---\nrender_macros: true\n---\n{{ nope }}\n")
    with pytest.raises(RenderError, match=r"bad\.md: macro rendering failed"):
        Renderer(project / "mkdocs.yml").render(bad)
    missing = project / "docs/fr/missing.md"
    missing.write_text('---\nrender_macros: true\n---\n# x\n\n--8<-- "x/absent.sh"\n')
    with pytest.raises(
        RenderError, match=r"^docs/fr/missing\.md:6: snippet 'x/absent\.sh' not found"
    ):
        Renderer(project / "mkdocs.yml").render(missing)


def test_update_rewrites_source_lines_only(project: Path) -> None:
    page = Renderer(project / "mkdocs.yml").render(project / "docs/fr/sec/page.md")
    parsed = parse_lines(page.lines)
    console = next(b for b in parsed.blocks if b.kind == "console")
    edit = plan(page, console, console.commands[0], ["new output"])
    assert (edit.first_line, edit.count, edit.new_lines) == (20, 1, ("new output",))


def test_update_refuses_snippet_and_macro_output(tmp_path: Path) -> None:
    root = make_project(
        tmp_path,
        {
            "s.md": '```console\n--8<-- "x/session.txt"\n```\n',
            "m.md": "---\nrender_macros: true\n---\n```console\n$ echo hi\n{{ greeting }}\n```\n",
        },
        {"x/session.txt": "$ echo hi\nhi\n"},
    )
    r = Renderer(root / "mkdocs.yml")
    for name, message in (("s.md", "comes from a snippet file"), ("m.md", "produced by a macro")):
        page = r.render(root / "docs/fr" / name)
        block = parse_lines(page.lines).blocks[0]
        with pytest.raises(UpdateRefused, match=message):
            plan(page, block, block.commands[0], ["x"])


def test_update_does_not_touch_a_page_edited_during_the_run(project: Path) -> None:
    path = project / "docs/fr/sec/page.md"
    page = Renderer(project / "mkdocs.yml").render(path)
    console = next(b for b in parse_lines(page.lines).blocks if b.kind == "console")
    edit = plan(page, console, console.commands[0], ["new output"])
    path.write_text(path.read_text().replace("verbatim\n```", "edited by hand\n```"))
    done, refused = apply([edit])
    assert done == [] and refused == [
        "docs/fr/sec/page.md:20: the page changed during the run; run --update again"
    ]
    assert "edited by hand" in path.read_text()
    path.write_text(path.read_text().replace("edited by hand", "verbatim"))
    assert apply([edit]) == (["docs/fr/sec/page.md:20"], [])
    assert "$ echo verbatim\nnew output\n```" in path.read_text()
