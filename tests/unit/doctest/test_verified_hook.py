"""The site's "verified" note: only what the doctest report supports."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import types
from pathlib import Path
from typing import Any

import pytest

from tests.unit.doctest.project import REPO
from tools.doctest.report import Report, ReportError
from tools.i18n.locales import discover

spec = importlib.util.spec_from_file_location("verified_hook", REPO / "hooks" / "verified.py")
assert spec and spec.loader
hook = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hook)

FR = "docs/fr/07/page.md"
EN = "docs/en/07/page.md"
PAGE_TEXT = "# Titre\n\n```bash\necho hi\n```\n\n```console\n$ echo x\nx\n```\n"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for rel in (FR, EN):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(PAGE_TEXT)
    (tmp_path / "snippets").mkdir()
    (tmp_path / "snippets/pod.yaml").write_text("kind: Pod\n")
    return tmp_path


def report(**page: Any) -> dict[str, Any]:
    entry = {
        "result": "passed",
        "provider": "microk8s",
        "server_version": "v1.37.2",
        "network_plugin": "calico",
        "nodes": 3,
        "date": "2026-11-26T17:40:00+00:00",
        "inputs": {FR: sha(PAGE_TEXT), "snippets/pod.yaml": sha("kind: Pod\n")},
        "counts": {"examples": 12, "run": 12, "passed": 12, "failed": 0, "skipped": 0},
    }
    entry.update(page)
    return {"schema": hook.SCHEMA, "schema_version": 1, "pages": {FR: entry}}


# The cluster of `report()`, as each locale names it.
CLUSTER_FR = "MicroK8s (Kubernetes v1.37.2, réseau Calico, 3 nœuds)"
CLUSTER_EN = "MicroK8s (Kubernetes v1.37.2, Calico network, 3 nodes)"

# The project's locales: each one's strings come from its own config.
TEXTS = {loc.code: loc.strings for loc in discover(REPO).locales}


def note(root: Path, data: dict[str, Any] | None, rel: str = FR, locale: str = "fr") -> Any:
    """The note for `rel` from the report JSON `data`, read as the hook reads the file."""
    try:
        report = Report.from_json(data) if data is not None else None
    except ReportError:
        report = None
    return hook.note_for(root / rel, TEXTS[locale], report, root)


def test_all_verified(root: Path) -> None:
    assert note(root, report()) == (
        "ok",
        "12 exemples sur 12 vérifiés le 26/11/2026 sur " + CLUSTER_FR,
    )


@pytest.mark.parametrize(
    ("facts", "cluster"),
    [
        (
            {"provider": "local", "network_plugin": "bridge", "nodes": 1},
            "le cluster local du projet (Kubernetes v1.37.2, réseau bridge, 1 nœud)",
        ),
        (
            {"provider": "kind", "network_plugin": "kindnet", "nodes": 2},
            "un cluster kind (Kubernetes v1.37.2, réseau kindnet, 2 nœuds)",
        ),
        # What the report does not know is left out, never guessed.
        (
            {"provider": "existing", "network_plugin": "unknown", "nodes": 0},
            "un cluster existant (Kubernetes v1.37.2)",
        ),
        (
            {"provider": "", "network_plugin": "", "nodes": 0},
            "un cluster existant (Kubernetes v1.37.2)",
        ),
    ],
)
def test_the_note_names_the_cluster(root: Path, facts: dict[str, Any], cluster: str) -> None:
    assert note(root, report(**facts))[1].endswith(f" sur {cluster}")


def test_some_not_run_on_the_test_cluster(root: Path) -> None:
    counts = {"examples": 12, "run": 10, "passed": 10, "failed": 0, "skipped": 2}
    assert note(root, report(counts=counts))[1] == (
        "10 exemples sur 12 vérifiés le 26/11/2026 sur " + CLUSTER_FR + " "
        "(2 non exécutés sur ce cluster)"
    )
    counts = {"examples": 2, "run": 1, "passed": 1, "failed": 0, "skipped": 1}
    assert note(root, report(counts=counts))[1] == (
        "1 exemple sur 2 vérifié le 26/11/2026 sur " + CLUSTER_FR + " "
        "(1 non exécuté sur ce cluster)"
    )


def test_failures_are_said(root: Path) -> None:
    counts = {"examples": 12, "run": 12, "passed": 11, "failed": 1, "skipped": 0}
    kind, text = note(root, report(counts=counts, result="failed"))
    assert kind == "failed"
    assert text == (
        "Lors de la dernière vérification, le 26/11/2026 sur " + CLUSTER_FR + ", "
        "1 exemple sur 12 a échoué."
    )
    counts = {"examples": 12, "run": 3, "passed": 2, "failed": 1, "skipped": 9}
    assert note(root, report(counts=counts, result="failed"))[1].endswith(
        "1 exemple sur 12 a échoué et 9 n'ont pas été exécutés."
    )
    assert note(root, report(counts=counts, result="failed"), rel=EN, locale="en")[1] == (
        "At the last check, on 2026-11-26 on " + CLUSTER_EN + ", "
        "1 of 12 examples failed and 9 did not run."
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r / FR,  # the page changed
        lambda r: r / "snippets/pod.yaml",  # a snippet it includes changed
    ],
)
def test_no_note_once_an_input_changed(root: Path, change: Any) -> None:
    change(root).write_text("changed\n")
    assert note(root, report()) is None


def test_no_note_without_support(root: Path) -> None:
    assert note(root, None) is None
    assert note(root, {"schema": "other", "schema_version": 1, "pages": {}}) is None
    assert note(root, report(), rel="docs/fr/07/other.md") is None
    # A page that failed for another reason (a leak) gets no note at all.
    assert note(root, report(result="failed")) is None
    none_run = {"examples": 3, "run": 0, "passed": 0, "failed": 0, "skipped": 3}
    assert note(root, report(counts=none_run, result="skipped")) is None
    assert note(root, report(inputs={})) is None


def test_translation_with_the_same_commands_gets_an_english_note(root: Path) -> None:
    (root / EN).write_text(PAGE_TEXT.replace("# Titre", "# Title"))
    assert note(root, report(), rel=EN, locale="en") == (
        "ok",
        "12 of 12 examples verified on 2026-11-26 on " + CLUSTER_EN,
    )


def test_translation_with_other_commands_gets_none(root: Path) -> None:
    (root / EN).write_text(PAGE_TEXT.replace("echo hi", "echo hello"))
    assert note(root, report(), rel=EN, locale="en") is None


def test_hook_inserts_the_note_under_the_title(root: Path) -> None:
    (root / "reports").mkdir()
    (root / "reports/doctest.json").write_text(json.dumps(report()))
    config = types.SimpleNamespace(
        config_file_path=str(root / "mkdocs.yml"),
        theme={"language": "fr"},
        extra={"i18n": TEXTS["fr"]},
    )
    hook.on_config(config)
    page = types.SimpleNamespace(file=types.SimpleNamespace(abs_src_path=str(root / FR)))
    html = hook.on_page_content("<h1>Titre</h1>\n<p>Texte</p>", page=page, config=config)
    assert html.startswith('<h1>Titre</h1>\n<p class="doctest-note doctest-note--ok"')
    assert "12 exemples sur 12 vérifiés" in html
    other = types.SimpleNamespace(file=types.SimpleNamespace(abs_src_path=str(root / "x.md")))
    assert hook.on_page_content("<h1>X</h1>", page=other, config=config) == "<h1>X</h1>"
    # Failures: a warning admonition under the title, not grey text.
    counts = {"examples": 12, "run": 12, "passed": 11, "failed": 1, "skipped": 0}
    (root / "reports/doctest.json").write_text(json.dumps(report(counts=counts, result="failed")))
    hook.on_config(config)
    html = hook.on_page_content("<h1>Titre</h1>\n<p>Texte</p>", page=page, config=config)
    assert html.startswith(
        '<h1>Titre</h1>\n<div class="admonition warning doctest-note doctest-note--failed">\n'
        '<p class="admonition-title">Exemples en échec</p>\n<p>Lors de la dernière'
    )
    assert "<small>" not in html
    (root / "reports/doctest.json").unlink()
    hook.on_config(config)
    assert hook.on_page_content("<h1>Titre</h1>", page=page, config=config) == "<h1>Titre</h1>"


def test_the_hook_reads_what_the_doctest_writes(root: Path) -> None:
    # One schema: the report the harness writes is the one the hook reads back.
    from tools.doctest.report import ExampleResult, PageEntry, RunInfo, write

    run = RunInfo(
        provider="local",
        server_version="v1.37.2",
        network_plugin="bridge",
        nodes=1,
        capabilities=("local-cluster", "node-shell"),
        date="2026-11-26T17:40:00+00:00",
    )
    entry = PageEntry(
        FR,
        [
            ExampleResult(source=f"{FR}:3", status="passed"),
            ExampleResult(source=f"{FR}:7", status="passed"),
        ],
        inputs={FR: sha(PAGE_TEXT)},
    )
    write(root / "reports" / "doctest.json", {FR: entry}, run)
    report = Report.load(root / "reports" / "doctest.json")
    assert report is not None and report.pages[FR].network_plugin == "bridge"
    assert hook.note_for(root / FR, TEXTS["fr"], report, root) == (
        "ok",
        "2 exemples sur 2 vérifiés le 26/11/2026 sur le cluster local du projet "
        "(Kubernetes v1.37.2, réseau bridge, 1 nœud)",
    )


def test_a_locale_made_by_add_locale_gets_the_note_from_its_own_config(root: Path) -> None:
    import yaml

    from tools.i18n.locales import read_config
    from tools.i18n.scaffold import locale_config

    config = locale_config("de", read_config(REPO / "mkdocs.yml"), start=TEXTS["en"])
    strings = yaml.safe_load(config)["extra"]["i18n"]
    strings["verified_ok"] = "{passed} von {total} Beispielen geprüft auf Kubernetes {version}"
    de = root / "docs/de/07/page.md"
    de.parent.mkdir(parents=True)
    de.write_text(PAGE_TEXT)
    data = Report.from_json(report())
    assert hook.note_for(de, strings, data, root) == (
        "ok",
        "12 von 12 Beispielen geprüft auf Kubernetes v1.37.2",
    )
