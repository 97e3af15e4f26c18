"""Command line: `python -m tools.i18n report|add-locale|stamp` (nox: translations, add-locale)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.i18n import report, scaffold
from tools.i18n.gitrepo import GitError
from tools.i18n.locales import I18nError, discover


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.i18n",
        description="Translators' tooling: what each locale is missing, and scaffolding.",
    )
    parser.add_argument(
        "--root", type=Path, default=Path.cwd(), help="project root (default: current folder)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    rep = commands.add_parser(
        "report",
        help="missing, outdated (with the source diff) and parity problems, per locale",
        description="Exit status 1 on parity problems or broken translation metadata.",
    )
    rep.add_argument("--locale", action="append", help="only this locale (repeatable)")
    rep.add_argument("--no-diff", action="store_true", help="do not print the source diffs")
    rep.add_argument("--strict", action="store_true", help="also fail on missing or outdated pages")
    add = commands.add_parser(
        "add-locale", help="scaffold a locale: config, folder, banner strings, glossary stub"
    )
    add.add_argument("code", help="language code, as Material for MkDocs names it (de, pt-BR…)")
    anchors = commands.add_parser(
        "anchors", help="the heading anchors of a page, to keep them in its translation"
    )
    anchors.add_argument("page", type=Path, help="a page, e.g. docs/fr/07-…/index.md")
    stamp = commands.add_parser(
        "stamp", help="record in translated pages the commit of their source (after updating)"
    )
    stamp.add_argument("pages", nargs="+", type=Path, help="translated pages, e.g. docs/en/x.md")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        project = discover(args.root)
        if args.command == "report":
            reports = report.build(project, args.locale)
            for line in report.render(reports, diffs=not args.no_diff):
                print(line)
            failed = any(r.failed for r in reports)
            if args.strict:
                failed = failed or any(r.missing or r.outdated for r in reports)
            return 1 if failed else 0
        if args.command == "add-locale":
            written = scaffold.add_locale(project, args.code)
            for path in written:
                print(f"created {path.relative_to(project.root)}")
            print(
                f"Next: `nox -s docs` builds site/{args.code}/ (every page served from the"
                f" French source until translated); `nox -s translations` lists the work."
            )
            return 0
        if args.command == "anchors":
            for anchor, title in report.page_anchors(project, args.page):
                print(f"{{ #{anchor} }}  {title}")
            return 0
        for line in scaffold.stamp(project, args.pages):
            print(line)
        return 0
    except (I18nError, GitError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `… report | head`: the reader has seen enough
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
