"""`nox -s serve`: every locale of the site on one address, rebuilt and reloaded on change.

`mkdocs serve` serves one config: the French site only, and the language switcher then leads
to a 404 at /en/. This serves the French site at / and each `mkdocs.<code>.yml` locale at
/<code>/, as `nox -s docs` builds them and as they are published, with MkDocs' own live
reload server: any change under a locale's pages, the configs, overrides/ (templates,
assets) or the folders the source config watches (snippets, macros, hooks and the tools/
code they import) rebuilds every locale and reloads the open pages.

Each rebuild reads the configs again, with MkDocs' cache of loaded hooks emptied (`mkdocs
serve` keeps the hooks of its start for good), and forgets the project's Python modules that
hooks and macros imported, so that a change in hooks/, tools/ or macros/ is seen without
restarting. A build that fails is reported and the server keeps the
last good site, as `mkdocs serve` does.

Usage: python -m tools.serve [--dev-addr 127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
from pathlib import Path

from mkdocs.commands.build import build
from mkdocs.config import config_options, load_config
from mkdocs.exceptions import Abort
from mkdocs.livereload import LiveReloadServer

from tools.i18n.locales import I18nError, discover

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("mkdocs.serve")


def _forget_project_modules() -> None:
    """Forget the hooks MkDocs loaded (it caches them for the life of the process, so that
    `mkdocs serve` never sees a hook change) and the project's modules that hooks and macros
    imported (not this one)."""
    config_options.Hooks._load_hook.cache_clear()
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        if name != __name__ and path.startswith(str(ROOT) + "/") and ".nox" not in path:
            del sys.modules[name]


def _configs() -> list[tuple[Path, str]]:
    """(config file, folder under the served root): the source at the root, then the others."""
    project = discover(ROOT)
    return [
        (project.source.config_file, ""),
        *((loc.config_file, loc.code) for loc in project.translations),
    ]


def build_all(site_dir: Path, base_url: str) -> None:
    """Build every locale into `site_dir` (source first: its clean would wipe the others)."""
    _forget_project_modules()
    for config_file, folder in _configs():
        config = load_config(str(config_file), site_dir=str(site_dir / folder), site_url=base_url)
        config.plugins.on_startup(command="serve", dirty=False)
        try:
            build(config, serve_url=base_url + (f"{folder}/" if folder else ""))
        finally:
            config.plugins.on_shutdown()


def watched() -> list[Path]:
    """Every file and folder whose change must rebuild the site."""
    paths: set[Path] = {ROOT / "overrides"}
    for config_file, folder in _configs():
        config = load_config(str(config_file))
        paths.add(config_file)
        paths.add(Path(config.docs_dir))
        if not folder:  # the source's `watch:` (snippets, macros, hooks, tools)
            paths.update(Path(p) for p in config.watch)
    return sorted(p for p in paths if p.exists())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.serve", description=__doc__)
    parser.add_argument("--dev-addr", default="127.0.0.1:8000", help="host:port")
    args = parser.parse_args(argv)
    host, _, port = args.dev_addr.rpartition(":")
    if not host or not port.isdigit():
        parser.error(f"--dev-addr {args.dev_addr!r} : host:port attendu (127.0.0.1:8000)")
    logging.basicConfig(level=logging.INFO, format="%(levelname)-7s -  %(message)s")
    base_url = f"http://{host}:{port}/"
    site_dir = Path(tempfile.mkdtemp(prefix="reseau-k8s-serve-"))
    try:
        build_all(site_dir, base_url)
        server = LiveReloadServer(
            builder=lambda: build_all(site_dir, base_url),
            host=host,
            port=int(port),
            root=str(site_dir),
        )

        def error_page(code: int) -> bytes | None:
            page = site_dir / f"{code}.html"
            return page.read_bytes() if code in (404, 500) and page.is_file() else None

        server.error_handler = error_page
        for path in watched():
            server.watch(str(path))
        locales = ", ".join(base_url + (f"{folder}/" if folder else "") for _, folder in _configs())
        log.info(f"Toutes les langues : {locales}")
        try:
            server.serve()
        except KeyboardInterrupt:
            log.info("Arrêt…")
        finally:
            server.shutdown()
    except (I18nError, Abort) as exc:
        print(f"serve : {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(site_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
