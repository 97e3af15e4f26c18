"""Split a shell script, as pages write it, into simple commands (argv lists with line numbers).

Not a shell parser: enough of the grammar for the examples of the pages, to know which
programs a line starts and with which arguments (the image fidelity check reads them).
Handled: quotes, backslash line continuations, comments, `;` `&` `&&` `||` `|` and newlines
between commands, command substitutions `$(…)` (their inner commands are commands too),
redirections, leading variable assignments, here-documents (their body is data), and the
words that open or close compound commands (`for … in …; do … done`, `if … then … fi`,
`{ …; }`, functions).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

# Words that open or continue a compound command: what follows them is a command.
_LEADING_KEYWORDS = frozenset({"do", "then", "else", "elif", "if", "while", "until", "!", "{", "}"})
# Words that close a compound command and stand alone.
_CLOSING_KEYWORDS = frozenset({"done", "fi", "esac", "}"})
_OPERATORS = frozenset({";", "&", "&&", "||", "|", "|&", ";;", "(", ")"})
_REDIRECTION = re.compile(r"^[0-9]*(?:<<<|<<-|<<|>>|>&|<&|&>>|&>|<>|>\||<|>)$")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\[[^]]*\])?\+?=")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")
PLACEHOLDER = "__reseau_k8s_subst_{}__"


@dataclass
class SimpleCommand:
    argv: list[str]  # words after quote removal; a command substitution is a placeholder word
    line: int  # 0-based line of its first word within the script
    assignments: list[str] = field(default_factory=list)  # leading NAME=value words
    substitutions: dict[str, Script] = field(default_factory=dict)  # placeholder -> inner


@dataclass
class Script:
    commands: list[SimpleCommand]


class ShellSyntaxError(ValueError):
    """The script has an unterminated quote or substitution."""


def _scan(text: str, line0: int) -> tuple[str, list[tuple[str, str, int]], list[int]]:
    """Remove comments and continuations, cut out `$(…)`: (text, substitutions, lines).

    Newlines outside quotes become `;` + newline, so they separate commands. Each substitution
    is (placeholder, inner text, line of its start). `lines[k]` is the line of `text` where
    line k of the result starts: continuations and substitutions join lines.
    """
    out: list[str] = []
    lines = [line0]
    subs: list[tuple[str, str, int]] = []
    i, n, line = 0, len(text), line0
    quote = ""  # "'" or '"' while inside quotes
    heredocs: list[tuple[str, bool]] = []
    at_word_start = True
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            lines.append(line)
            if quote:
                out.append(c)
                i += 1
                continue
            out.append(";\n")
            i += 1
            # Here-document bodies are data: skip them whole (keep their newlines counted).
            for word, strip_tabs in heredocs:
                while i < n:
                    end = text.find("\n", i)
                    end = n if end < 0 else end
                    body_line = text[i:end]
                    i = min(end + 1, n)
                    line += 1
                    out.append("\n")
                    lines.append(line)
                    if (body_line.lstrip("\t") if strip_tabs else body_line) == word:
                        break
            heredocs = []
            at_word_start = True
            continue
        if quote == "'":
            out.append(c)
            if c == "'":
                quote = ""
            i += 1
            continue
        if c == "\\" and i + 1 < n:
            if text[i + 1] == "\n":  # continuation: the next line goes on the same command
                i += 2
                line += 1
                out.append(" ")
                continue
            out.append(text[i : i + 2])
            i += 2
            at_word_start = False
            continue
        if at_word_start and not quote and (m := re.match(r"[0-9]+(?=[<>])", text[i:])):
            i += m.end()  # a file descriptor number before a redirection is not a word
            continue
        if c == "#" and not quote and at_word_start:
            while i < n and text[i] != "\n":
                i += 1
            continue
        if c == "$" and text.startswith("$((", i):
            end = _matching(text, i + 2, "(", ")")
            close = text.find("))", end - 1) if end >= 0 else -1
            if end < 0 or close < 0:
                raise ShellSyntaxError(f"line {line + 1}: unterminated $((")
            out.append(text[i : close + 2])
            line += text.count("\n", i, close + 2)
            i = close + 2
            at_word_start = False
            continue
        if c == "$" and text.startswith("$(", i):
            end = _matching(text, i + 1, "(", ")")
            if end < 0:
                raise ShellSyntaxError(f"line {line + 1}: unterminated $(")
            name = PLACEHOLDER.format(len(subs))
            subs.append((name, text[i + 2 : end], line))
            out.append(name)
            line += text.count("\n", i, end)
            i = end + 1
            at_word_start = False
            continue
        if c == '"':
            quote = "" if quote == '"' else '"'
        elif c == "'" and not quote:
            quote = "'"
        elif c == "<" and not quote:
            m = _HEREDOC.match(text, i)
            if m:
                heredocs.append((m.group(2), text.startswith("<<-", i)))
        out.append(c)
        at_word_start = c in " \t;&|()" and not quote
        i += 1
    if quote:
        raise ShellSyntaxError(f"unterminated {quote} quote")
    return "".join(out), subs, lines


def _matching(text: str, start: int, opening: str, closing: str) -> int:
    """Index of the `closing` that matches the `opening` at `start`, quotes respected."""
    depth, quote, i = 0, "", start
    while i < len(text):
        c = text[i]
        if quote == "'":
            quote = "" if c == "'" else quote
        elif c == "\\":
            i += 1
        elif c == '"':
            quote = "" if quote == '"' else '"'
        elif c == "'" and not quote:
            quote = "'"
        elif not quote or quote == '"':
            if c == opening and (not quote or text[i - 1] == "$"):
                depth += 1
            elif c == closing and not quote:
                depth -= 1
                if depth == 0:
                    return i
        i += 1
    return -1


def split(text: str, line0: int = 0) -> Script:
    """The simple commands of `text` (a script or one command line), in order."""
    scanned, subs, lines = _scan(text, line0)
    inner = {name: split(body, body_line) for name, body, body_line in subs}
    lexer = shlex.shlex(scanned, posix=True, punctuation_chars=";&|<>()")
    lexer.whitespace_split = True
    lexer.commenters = ""
    commands: list[SimpleCommand] = []
    words: list[str] = []
    first_line = line0
    skip_next = False
    in_for_header = False
    try:
        for token in lexer:
            if skip_next:  # the target of a redirection
                skip_next = False
                continue
            if token in _OPERATORS or (set(token) <= set(";&|()") and token):
                in_for_header = False
                _flush(commands, words, first_line, inner)
                words = []
                continue
            if _REDIRECTION.match(token):
                skip_next = True
                continue
            if not words:
                first_line = lines[min(lexer.lineno - 1 - token.count("\n"), len(lines) - 1)]
                if token in ("for", "case", "select"):
                    in_for_header = True  # `for NAME in WORDS`: no command until `;`
                    continue
            if in_for_header:
                continue
            words.append(token)
    except ValueError as exc:
        raise ShellSyntaxError(str(exc)) from exc
    _flush(commands, words, first_line, inner)
    return Script(commands)


def _flush(
    commands: list[SimpleCommand], words: list[str], line: int, inner: dict[str, Script]
) -> None:
    while words and words[0] in _LEADING_KEYWORDS:
        words = words[1:]
    if not words or words[0] in _CLOSING_KEYWORDS:
        return
    assignments = []
    while words and _ASSIGNMENT.match(words[0]):
        assignments.append(words[0])
        words = words[1:]
    used = {
        name: script
        for name, script in inner.items()
        if any(name in w for w in words + assignments)
    }
    commands.append(SimpleCommand(list(words), line, assignments, used))


def is_substitution(word: str) -> bool:
    """Is `word` (or does it start with) a command substitution's placeholder?"""
    return word.startswith(PLACEHOLDER.split("{", 1)[0])
