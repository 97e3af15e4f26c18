"""Small readers of built HTML pages, for the site checks (stdlib html.parser only)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

# UTF-8 read as Windows-1252 (or Latin-1): "Ã©" for "é", "â”€" for "─", "ðŸ" for emoji…
# A legitimate French text never puts one of these lead characters before such a byte.
_CP1252_HIGH = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
MOJIBAKE = re.compile(
    "[ÃÂâðï][\u0080-\u00bf" + re.escape(_CP1252_HIGH) + "]|\ufffd",
)


class Headings(HTMLParser):
    """(level, text) of every h1–h6, without Material's permalink sign."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[tuple[int, str]] = []
        self._level = 0
        self._skip = 0
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if re.fullmatch(r"h[1-6]", tag):
            self._level, self._text = int(tag[1]), []
        elif self._level and tag == "a" and "headerlink" in (dict(attrs).get("class") or ""):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if self._skip and tag == "a":
            self._skip -= 1
        elif self._level and tag == f"h{self._level}":
            self.headings.append((self._level, " ".join("".join(self._text).split())))
            self._level = 0

    def handle_data(self, data: str) -> None:
        if self._level and not self._skip:
            self._text.append(data)


def headings(html: str) -> list[tuple[int, str]]:
    parser = Headings()
    parser.feed(html)
    return parser.headings


# Elements whose attribute makes the browser load something (links <a> are not loads).
LOADING_ATTRIBUTES = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
}
LOADING_RELS = {
    "stylesheet",
    "icon",
    "apple-touch-icon",
    "preload",
    "modulepreload",
    "prefetch",
    "preconnect",
    "dns-prefetch",
    "manifest",
}


class Loads(HTMLParser):
    """Every URL the page would load by itself, with its tag, plus inline CSS url(...)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str]] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        rels = set((values.get("rel") or "").lower().split())
        if tag == "link" and not rels & LOADING_RELS:
            return  # canonical, alternate, prev/next…: addresses, not loads
        for name in LOADING_ATTRIBUTES.get(tag, ()):
            value = values.get(name)
            if value:
                for url in value.split(",") if name == "srcset" else [value]:
                    self.urls.append((tag, url.strip().split(" ")[0]))
        if values.get("style"):
            self.urls += [("style", u) for u in css_urls(values["style"] or "")]
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls += [("style", u) for u in css_urls(data)]


def css_urls(css: str) -> list[str]:
    found = re.findall(r"""url\(\s*["']?([^"')]+)""", css)
    found += re.findall(r"""@import\s+["']([^"']+)""", css)
    return found


def loaded_urls(html: str) -> list[tuple[str, str]]:
    parser = Loads()
    parser.feed(html)
    return parser.urls


def is_external(url: str) -> bool:
    """True for a URL on another host: scheme://…, protocol-relative //…, but not data:."""
    return bool(re.match(r"^([a-z][a-z0-9+.-]*:)?//", url, re.I))


# Elements whose content is never prose: commands, outputs, Mermaid sources, inline SVG.
NOT_PROSE = {"pre", "code", "kbd", "samp", "script", "style", "textarea", "svg", "template"}
# Elements that do not end a run of prose text.
INLINE = {
    "a", "abbr", "b", "cite", "dfn", "em", "i", "mark", "q", "s", "small", "span", "strong",
    "sub", "sup", "u", "time", "data",
}  # fmt: skip
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip


class ProseRuns(HTMLParser):
    """Runs of prose text as a reader sees them: text joined across inline tags, cut at
    every other tag; code and the like replaced by one placeholder character (`▯`), so that
    `« <code>x</code> »` reads `« ▯ »`. Each run comes with its innermost block element."""

    PLACEHOLDER = "▯"

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.runs: list[tuple[str, str]] = []
        self._stack: list[str] = []
        self._skip = 0
        self._text: list[str] = []

    def _block(self) -> str:
        return next((t for t in reversed(self._stack) if t not in INLINE), "")

    def _flush(self) -> None:
        text = "".join(self._text)
        if text.strip():
            self.runs.append((self._block(), text))
        self._text = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip:
            if tag not in VOID:
                self._skip += 1
            return
        if tag in NOT_PROSE:
            self._text.append(self.PLACEHOLDER)
            self._skip = 1
            return
        if tag not in INLINE:
            self._flush()
        if tag not in VOID:
            self._stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._skip and tag not in INLINE:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            self._skip -= 1
            return
        if tag not in INLINE:
            self._flush()
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._text.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def prose_runs(html: str) -> list[tuple[str, str]]:
    """(innermost block tag, text) of every run of prose text of a page."""
    parser = ProseRuns()
    parser.feed(html)
    parser.close()
    return parser.runs


def site_pages(site: Path, lang: str | None = None) -> list[Path]:
    """Every HTML page of the built site (assets excluded), optionally in one language."""
    pages = []
    for path in sorted(site.rglob("*.html")):
        if "assets" in path.relative_to(site).parts:
            continue
        if lang is not None:
            head = path.read_text(encoding="utf-8")[:400]
            if f'<html lang="{lang}"' not in head:
                continue
        pages.append(path)
    return pages
