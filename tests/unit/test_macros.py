"""Macros of the site: the variables pages use and `section_link`."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
import pytest

import macros
from macros import errors
from macros.links import section_link
from tools.cluster import microk8s
from tools.doctest.render import Renderer

ROOT = Path(__file__).resolve().parents[2]

CONTRACT = {
    "k8s_version",
    "kubectl",
    "pod_cidr",
    "service_cidr",
    "kubernetes_service_ip",
    "dns_service_ip",
    "cluster_domain",
    "node_port_range",
}


class FakeEnv:
    """The part of mkdocs-macros' env that define_env uses."""

    def __init__(self, docs_dir: Path, page_src_uri: str) -> None:
        self.variables: dict[str, Any] = {}
        self.macros: dict[str, Any] = {}
        self.conf = {"docs_dir": str(docs_dir)}
        self.page = SimpleNamespace(file=SimpleNamespace(src_uri=page_src_uri))

    def macro(self, func: Any, name: str = "") -> Any:
        self.macros[name or func.__name__] = func
        return func


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    chapter = tmp_path / "07-chapitre"
    chapter.mkdir()
    (tmp_path / "index.md").write_text("# Sommaire\n", encoding="utf-8")
    (chapter / "index.md").write_text("# Intro\n", encoding="utf-8")
    (chapter / "01-present.md").write_text("# Présente\n", encoding="utf-8")
    return tmp_path


def test_contract_variables_are_defined_with_microk8s_values() -> None:
    values = macros.variables()
    assert CONTRACT.issubset(values)
    assert values["kubectl"] == "microk8s kubectl"
    assert values["service_cidr"] == "10.152.183.0/24"
    assert values["dns_service_ip"] == "10.152.183.10"
    assert values["kubernetes_service_ip"] == "10.152.183.1"
    assert values["pod_cidr"] == "10.1.0.0/16"
    assert values["cluster_domain"] == "cluster.local"
    assert values["node_port_range"] == "30000-32767"


def test_the_version_readers_see_is_the_one_the_local_cluster_builds() -> None:
    # Read the pin here, not through the build module: a literal in the macros would drift.
    go_mod = (ROOT / "tools/cluster/local/gomod/kubernetes/go.mod").read_text()
    (pin,) = re.findall(r"^require k8s\.io/kubernetes (v\S+)$", go_mod, re.M)
    page = Renderer(ROOT / "mkdocs.yml").render(ROOT / "docs/fr/index.md")
    assert f"Kubernetes {pin}," in " ".join(page.text.split())


def test_dns_and_api_addresses_are_inside_the_service_range() -> None:
    import ipaddress

    services = ipaddress.ip_network(microk8s.SERVICE_CIDR)
    assert ipaddress.ip_address(microk8s.DNS_SERVICE_IP) in services
    assert ipaddress.ip_address(microk8s.KUBERNETES_SERVICE_IP) in services
    pods = ipaddress.ip_network(microk8s.POD_CIDR)
    assert not pods.overlaps(services)


def test_define_env_registers_variables_and_section_link(docs: Path) -> None:
    env = FakeEnv(docs, "07-chapitre/index.md")
    macros.define_env(env)
    assert env.variables["dns_service_ip"] == "10.152.183.10"
    link = env.macros["section_link"]
    assert link("01-present.md", "7.1 Présente") == "[7.1 Présente](01-present.md)"
    assert link("02-absente.md", "7.2 Absente") == "7.2 Absente"


def test_variables_render_through_jinja_and_unknown_names_fail(docs: Path) -> None:
    env = FakeEnv(docs, "index.md")
    macros.define_env(env)
    jinja = jinja2.Environment(undefined=jinja2.StrictUndefined)
    page = "DNS : {{ dns_service_ip }}, {{ kubectl }} get svc"
    rendered = jinja.from_string(page).render(**env.variables)
    assert rendered == "DNS : 10.152.183.10, microk8s kubectl get svc"
    with pytest.raises(jinja2.UndefinedError, match="dns_ip"):
        jinja.from_string("{{ dns_ip }}").render(**env.variables)


@pytest.mark.parametrize(
    ("page", "target", "expected"),
    [
        ("07-chapitre/index.md", "01-present.md", "[T](01-present.md)"),
        ("07-chapitre/index.md", "01-present.md#une-ancre", "[T](01-present.md#une-ancre)"),
        ("07-chapitre/index.md", "02-absente.md", "T"),
        ("index.md", "07-chapitre/01-present.md", "[T](07-chapitre/01-present.md)"),
        ("index.md", "07-chapitre/02-absente.md", "T"),
        ("07-chapitre/01-present.md", "../index.md", "[T](../index.md)"),
        # The page's own folder is the base, as for a Markdown link.
        ("index.md", "01-present.md", "T"),
    ],
)
def test_section_link(docs: Path, page: str, target: str, expected: str) -> None:
    assert section_link(docs, page, target, "T") == expected


def test_section_link_ignores_a_folder_named_like_a_page(docs: Path) -> None:
    (docs / "07-chapitre" / "03-dossier.md").mkdir()
    assert section_link(docs, "07-chapitre/index.md", "03-dossier.md", "T") == "T"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("/07-chapitre/01-present.md", "relatif"),
        ("https://example.org/page.md", "relatif"),
        ("01-present", r"\.md"),
        ("../../ailleurs.md", "sort du dossier docs"),
        ("#ancre", "relatif"),
    ],
)
def test_section_link_refuses_targets_outside_the_docs(
    docs: Path, target: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        section_link(docs, "07-chapitre/index.md", target, "T")


def test_section_link_refuses_an_empty_title(docs: Path) -> None:
    with pytest.raises(ValueError, match="titre vide"):
        section_link(docs, "07-chapitre/index.md", "01-present.md", "  ")


def test_error_description_names_file_and_source_line(tmp_path: Path) -> None:
    source = tmp_path / "page.md"
    source.write_text("---\nrender_macros: true\n---\n# Titre\n\n{{ inconnue }}\n", "utf-8")
    markdown = "# Titre\n\n{{ inconnue }}\n"  # what mkdocs-macros renders: no front matter
    page = SimpleNamespace(file=SimpleNamespace(abs_src_path=str(source), src_path="page.md"))
    try:
        jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(markdown).render()
    except jinja2.UndefinedError as error:
        message = errors.describe(error, markdown, page)
    else:
        pytest.fail("StrictUndefined n'a pas levé d'erreur")
    assert message.endswith(
        "page.md, ligne 6 : variable ou macro inconnue : 'inconnue' is undefined"
    )
