"""Throwaway git repositories shaped like the project: French source, one translation."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

SOURCE_CONFIG = """\
site_name: Test
docs_dir: docs/fr
site_dir: site
theme:
  name: material
  language: fr
  font: false
plugins:
  search:
    lang: fr
markdown_extensions:
  attr_list: {}
  toc:
    permalink: true
  pymdownx.snippets:
    base_path:
      - !relative $config_dir/snippets
    check_paths: true
  pymdownx.superfences: {}
"""

EN_CONFIG = """\
INHERIT: mkdocs.yml
docs_dir: docs/en
site_dir: site/en
theme:
  language: en
plugins:
  search:
    lang: en
extra:
  i18n:
    name: English
"""

PAGE = """\
---
render_macros: false
---

# Réseau

Un paragraphe en français.

## Les Pods

<!-- doctest: timeout=120 reason="les images se téléchargent" -->
```bash
# Lister les Pods
microk8s kubectl get pods -o wide  # avec leurs IP
echo "# pas un commentaire" ${#tableau[@]}
```

```console
$ microk8s kubectl get svc kubernetes
NAME         TYPE        CLUSTER-IP     PORT(S)
kubernetes   ClusterIP   10.152.183.1   443/TCP
```

```yaml
--8<-- "07/pod.yaml"
```

## Nettoyage

Du texte.
"""

PAGE_EN = """\
---
source_commit: COMMIT
render_macros: false
---

# Networking { #reseau }

A paragraph in English.

## Pods { #les-pods }

<!-- doctest: timeout=120 reason="images are downloaded" -->
```bash
# List the Pods
microk8s kubectl get pods -o wide  # with their IPs
echo "# pas un commentaire" ${#tableau[@]}
```

```console
$ microk8s kubectl get svc kubernetes
NAME         TYPE        CLUSTER-IP     PORT(S)
kubernetes   ClusterIP   10.152.183.1   443/TCP
```

```yaml
--8<-- "07/pod.yaml"
```

## Cleaning up { #nettoyage }

Some text.
"""


def git(root: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


class Site:
    """A throwaway project: write files, commit, ask for the head commit."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text) if text.startswith("\n") else text, "utf-8")
        return path

    def commit(self, message: str = "change") -> str:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", message)
        return git(self.root, "rev-parse", "HEAD")


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """French source with two pages and a snippet, committed; English translates one page."""
    git(tmp_path, "init", "-q")
    project = Site(tmp_path)
    project.write("mkdocs.yml", SOURCE_CONFIG)
    project.write("mkdocs.en.yml", EN_CONFIG)
    project.write("snippets/07/pod.yaml", "apiVersion: v1\nkind: Pod\n")
    project.write("docs/fr/index.md", "# Accueil\n\nBonjour.\n")
    project.write("docs/fr/07/page.md", PAGE)
    commit = project.commit("source")
    project.write("docs/en/07/page.md", PAGE_EN.replace("COMMIT", commit))
    project.commit("translation")
    return project


@pytest.fixture
def replace() -> Callable[[Path, str, str], None]:
    def _replace(path: Path, old: str, new: str) -> None:
        text = path.read_text("utf-8")
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new, 1), "utf-8")

    return _replace
