"""Which image runs each command of the pages, and does the real image have that tool?

A stand-in image proves something only if a page that passes on it also passes on the real
image. `fidelity.toml` lists, per image, every tool and option the pages use, with where the
real image gets it. This module reads the pages' commands, works out the image each one runs
in, and reports a tool or option that the list does not have, or that it marks as absent
from the real image, with the page (or snippet) and line.

Images come from what the page itself shows: `kubectl run NAME --image=IMAGE`, `kubectl
debug … --image=IMAGE`, and `kubectl exec TARGET [-c CONTAINER]` where TARGET is a Pod of a
`kubectl run`, a Pod or workload of a manifest shown in the page (`duo`, `deployment/web`),
or a variable set from `kubectl get pods -l SELECTOR` (`$WEB_POD`). The manifests' own
commands (`command`/`args`, `exec` probes) are checked in their container's image.

`python -m tools.cluster.local.images.fidelity` prints the report for every page.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final, Protocol

import yaml

from tools import markdown
from tools.cluster.local.images import commands
from tools.cluster.local.images.oci import Image as StandIn

HERE: Final = Path(__file__).parent
FIDELITY_FILE: Final = HERE / "fidelity.toml"
ROOT: Final = HERE.parents[3]

# Builtins of the images' shells (ash, dash, bash): in a shell script they need no program in
# the image. A command that `kubectl exec` runs directly needs a real program.
# fmt: off
SHELL_BUILTINS: Final = frozenset((
    "[", "test", "echo", "printf", "command", "cd", "exit", "export", "read", "set", "unset",
    "shift", "true", "false", ":", ".", "eval", "exec", "trap", "wait", "kill", "type",
    "local", "return", "break", "continue", "umask", "ulimit", "alias", "hash", "getopts",
    "times", "pwd", "let", "source",
))
# fmt: on
SHELLS: Final = frozenset({"sh", "bash", "ash", "dash"})
# Programs that run another command: {name: operands before that command}.
WRAPPERS: Final = {"timeout": 1, "exec": 0, "nice": 0, "nohup": 0, "env": 0}
PROGRAM_DIRS: Final = (
    "/bin",
    "/sbin",
    "/usr/bin",
    "/usr/sbin",
    "/usr/local/bin",
    "/usr/local/sbin",
)

_KINDS: Final = {
    "pod": "Pod",
    "pods": "Pod",
    "po": "Pod",
    "deployment": "Deployment",
    "deployments": "Deployment",
    "deploy": "Deployment",
    "statefulset": "StatefulSet",
    "sts": "StatefulSet",
    "daemonset": "DaemonSet",
    "ds": "DaemonSet",
    "replicaset": "ReplicaSet",
    "rs": "ReplicaSet",
    "job": "Job",
}
_TEMPLATED: Final = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})
# kubectl flags that take the next word as their value when written without `=`.
# fmt: off
_KUBECTL_VALUE_FLAGS: Final = frozenset((
    "-n", "--namespace", "-c", "--container", "-l", "--selector", "-o", "--output", "-f",
    "--filename", "--image", "--context", "--kubeconfig", "--profile", "--target",
    "--restart", "--timeout", "--env", "--labels", "--port", "--overrides",
    "--image-pull-policy", "--field-selector", "--for", "--sort-by", "--tail", "--since",
    "-p", "--type", "--patch", "--patch-file", "--custom-profile", "--copy-to",
    "--pod-running-timeout",
))
# fmt: on
_OPTION_SYNTAX: Final = re.compile(r"^(--?[\w?.-]+=?|\+\w+|@)$")


class FidelityError(ValueError):
    """fidelity.toml is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Option:
    text: str  # as written in fidelity.toml: "-O FILE", "--max-time SECONDS", "+short"
    name: str  # "-O", "--max-time", "+short", "-type=", "@"
    takes_value: bool


@dataclass
class Tool:
    name: str
    provided_by: str
    source: str
    style: str  # "getopt" (-abc combines letters, -qO- gives -O the value "-") or "words"
    options: dict[str, Option]
    absent: dict[str, str]  # option -> why the real tool lacks it, what to use instead

    def option(self, word: str) -> Option | None:
        if word in self.options:
            return self.options[word]
        for option in self.options.values():
            if option.name.endswith(("=", "@")) and word.startswith(option.name):
                return option
        return None


@dataclass
class ImageSpec:
    key: str
    names: tuple[str, ...]
    real: str
    provenance: str
    stand_in: str
    tools: dict[str, Tool]
    absent: dict[str, str]  # tool -> why the real image lacks it, what to use instead
    differences: list[str]

    @property
    def label(self) -> str:
        return self.names[0]


@dataclass(frozen=True)
class Problem:
    where: str  # "file:line", or "file:line (included at page:line)"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _option(text: str, style: str, where: str) -> Option:
    word, _, value = text.partition(" ")
    if not _OPTION_SYNTAX.match(word):
        raise FidelityError(f"{where}: option {text!r} is not -x, --long, -word=, +word or @")
    if style == "getopt" and re.match(r"^-[^-]", word) and len(word) != 2:
        raise FidelityError(
            f'{where}: {text!r}: a getopt option is one letter (style = "words" for -word)'
        )
    return Option(text, word, bool(value) or word.endswith(("=", "@")))


def load(path: Path = FIDELITY_FILE) -> dict[str, ImageSpec]:
    """The fidelity list by image key; a malformed file raises FidelityError."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise FidelityError(f"{path}: {exc}") from exc
    images: dict[str, ImageSpec] = {}
    for key, entry in data.get("images", {}).items():
        where = f"{path.name} [images.{key}]"
        try:
            tools = {}
            for name, spec in entry.get("tools", {}).items():
                style = spec.get("style", "getopt")
                if style not in ("getopt", "words"):
                    raise FidelityError(f"{where}.tools.{name}: style is getopt or words")
                options = [
                    _option(t, style, f"{where}.tools.{name}") for t in spec.get("options", [])
                ]
                tools[name] = Tool(
                    name=name,
                    provided_by=spec["from"],
                    source=spec["source"],
                    style=style,
                    options={o.name: o for o in options},
                    absent=dict(spec.get("absent", {})),
                )
            images[key] = ImageSpec(
                key=key,
                names=tuple(entry["names"]),
                real=entry["real"],
                provenance=entry["provenance"],
                stand_in=entry["stand_in"],
                tools=tools,
                absent=dict(entry.get("absent", {})),
                differences=list(entry.get("differences", [])),
            )
        except KeyError as exc:
            raise FidelityError(f"{where}: missing key {exc}") from exc
        except (TypeError, AttributeError) as exc:
            raise FidelityError(f"{where}: malformed entry ({exc})") from exc
    return images


def short_name(reference: str) -> str:
    """`docker.io/library/busybox:latest`, `busybox:1.37` and `busybox` name one image."""
    name = reference.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    name = (head + "/" if head else "") + last.split(":", 1)[0]
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/", "library/"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


# --- the stand-ins carry what the list says ----------------------------------------------


def stand_in_problems(images: dict[str, ImageSpec], stand_ins: Iterable[StandIn]) -> list[str]:
    """Tools of the fidelity list that a stand-in does not have in its PATH directories."""
    problems = []
    by_name = {short_name(n): image for image in stand_ins for n in image.names}
    for spec in images.values():
        stand_in = next((by_name[n] for n in spec.names if n in by_name), None)
        if stand_in is None:
            problems.append(f"fidelity.toml lists {spec.label}, which has no stand-in image")
            continue
        programs = {
            PurePosixPath(e.path).name
            for e in stand_in.entries
            if e.kind in ("file", "symlink") and str(PurePosixPath(e.path).parent) in PROGRAM_DIRS
        }
        for tool in spec.tools:
            if tool not in programs:
                problems.append(
                    f"the {spec.label} stand-in has no `{tool}`, which fidelity.toml lists"
                )
        for tool in spec.absent:
            if tool in programs:
                problems.append(
                    f"the {spec.label} stand-in has `{tool}`, which the real image lacks "
                    "(fidelity.toml): a page could use it and pass here only"
                )
    return problems


# --- a page: its blocks in, problems out --------------------------------------------------


@dataclass
class Block:
    """A fenced block of a rendered page, and where each of its lines comes from."""

    lang: str  # "bash", "console", "yaml"…
    lines: list[str]
    where: Callable[[int], str]  # index in `lines` -> "file:line"


@dataclass
class _Container:
    name: str
    image: str


@dataclass
class _Workload:
    kind: str
    name: str
    labels: dict[str, str]
    containers: list[_Container]


@dataclass
class _Page:
    images: dict[str, ImageSpec]
    problems: list[Problem] = field(default_factory=list)
    workloads: list[_Workload] = field(default_factory=list)
    selectors: dict[str, str] = field(default_factory=dict)  # VAR -> label selector


def check_blocks(blocks: list[Block], images: dict[str, ImageSpec]) -> list[Problem]:
    """Every problem of one page, given its blocks in page order."""
    page = _Page(images)
    for block in blocks:  # manifests first: a page may exec into a Pod it applies later
        if block.lang in ("yaml", "yml"):
            _manifests(page, block)
    for block in blocks:
        if block.lang in ("bash", "sh", "shell"):
            _host(page, "\n".join(block.lines), 0, block)
        elif block.lang in ("console", "shell-session"):
            for command, index in _console_commands(block.lines):
                _host(page, command, index, block)
    return page.problems


def _console_commands(lines: list[str]) -> Iterator[tuple[str, int]]:
    """(command, index of its `$ ` line) of a console block, continuations joined."""
    i = 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            i += 1
            continue
        start, command = i, lines[i][2:]
        while command.endswith("\\") and i + 1 < len(lines):
            i += 1
            command += "\n" + lines[i].removeprefix("> ")  # the backslash stays: a continuation
        while i + 1 < len(lines) and lines[i + 1].startswith("> "):
            i += 1
            command += "\n" + lines[i][2:]
        yield command, start
        i += 1


# --- manifests ---------------------------------------------------------------------------


def _get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def _text(node: yaml.Node | None) -> str:
    return node.value if isinstance(node, yaml.ScalarNode) else ""


def _words(node: yaml.Node | None) -> list[str] | None:
    if isinstance(node, yaml.SequenceNode):
        return [_text(item) for item in node.value]
    return None


def _manifests(page: _Page, block: Block) -> None:
    try:
        documents = list(yaml.compose_all("\n".join(block.lines), Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return  # a fragment or an example, not a manifest: nothing runs from it
    for doc in documents:
        kind, meta = _text(_get(doc, "kind")), _get(doc, "metadata")
        if kind == "Pod":
            spec, labels = _get(doc, "spec"), _get(meta, "labels")
        elif kind in _TEMPLATED:
            template = _get(_get(doc, "spec"), "template")
            spec, labels = _get(template, "spec"), _get(_get(template, "metadata"), "labels")
        else:
            continue
        containers = []
        for key in ("initContainers", "containers"):
            items = _get(spec, key)
            for item in items.value if isinstance(items, yaml.SequenceNode) else []:
                container = _Container(_text(_get(item, "name")), _text(_get(item, "image")))
                if key == "containers":
                    containers.append(container)
                _container_commands(page, block, container.image, item)
        label_map = (
            {_text(k): _text(v) for k, v in labels.value}
            if isinstance(labels, yaml.MappingNode)
            else {}
        )
        page.workloads.append(_Workload(kind, _text(_get(meta, "name")), label_map, containers))


def _container_commands(page: _Page, block: Block, image: str, item: yaml.Node) -> None:
    """`command` + `args`, and `exec` probes, run in the container's own image."""
    node = _get(item, "command")
    argv = _words(node)
    if node is not None and argv is not None:
        argv += _words(_get(item, "args")) or []
        _in_image(page, image, argv, block.where(node.start_mark.line))
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        node = _get(_get(_get(item, probe), "exec"), "command")
        argv = _words(node)
        if node is not None and argv:
            _in_image(page, image, argv, block.where(node.start_mark.line))


# --- host commands: kubectl run, exec, debug ----------------------------------------------


def _walk(script: commands.Script) -> Iterator[commands.SimpleCommand]:
    for command in script.commands:
        yield command
        for inner in command.substitutions.values():
            yield from _walk(inner)


def _host(page: _Page, text: str, index: int, block: Block) -> None:
    try:
        script = commands.split(text, index)
    except commands.ShellSyntaxError as exc:
        page.problems.append(Problem(block.where(index), f"cannot read this command: {exc}"))
        return
    for command in _walk(script):
        for assignment in command.assignments:
            _remember_selector(page, assignment, command)
        argv = list(command.argv)
        while argv and argv[0] == "sudo":
            argv = argv[1:]
        if argv[:2] == ["microk8s", "kubectl"]:
            argv = argv[1:]
        if argv and argv[0] == "kubectl":
            _kubectl(page, argv[1:], block.where(command.line))


def _remember_selector(page: _Page, assignment: str, command: commands.SimpleCommand) -> None:
    """`VAR=$(kubectl get pods -l SELECTOR …)`: $VAR names a Pod that SELECTOR matches."""
    name, _, value = assignment.partition("=")
    for placeholder, inner in command.substitutions.items():
        if placeholder not in value:
            continue
        for sub in _walk(inner):
            argv = sub.argv[1:] if sub.argv[:1] == ["microk8s"] else sub.argv
            if argv[:2] != ["kubectl", "get"] or len(argv) < 3:
                continue
            kind, _, named = argv[2].partition("/")
            if kind not in ("pod", "pods", "po"):
                continue
            selector = _flag(argv, "-l", "--selector")
            positional = [w for w in argv[3:] if not w.startswith("-")]
            if selector:
                page.selectors[name] = selector
            elif named or (positional and "=" not in positional[0]):
                page.selectors[name] = f"metadata.name={named or positional[0]}"


def _flag(argv: list[str], short: str, long: str) -> str | None:
    for i, word in enumerate(argv):
        if word in (short, long) and i + 1 < len(argv):
            return argv[i + 1]
        if word.startswith(long + "="):
            return word[len(long) + 1 :]
        if word.startswith(short) and len(word) > len(short) and not word.startswith("--"):
            return word[len(short) :]
    return None


def _kubectl(page: _Page, argv: list[str], where: str) -> None:
    words: list[str] = []
    command: list[str] | None = None
    positionals: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            command = argv[i + 1 :]
            break
        words.append(word)
        if word in _KUBECTL_VALUE_FLAGS and i + 1 < len(argv):
            words.append(argv[i + 1])
            i += 1
        elif not word.startswith("-"):
            positionals.append(word)
        i += 1
    if not positionals:
        return
    verb, target = positionals[0], positionals[1] if len(positionals) > 1 else ""
    image = _flag(words, "--image", "--image")
    if verb == "run" and target and image:
        page.workloads.append(
            _Workload("Pod", target, {"run": target}, [_Container(target, image)])
        )
        if command:
            _in_image(page, image, command, where)
    elif verb == "debug" and image and command:
        _in_image(page, image, command, where)
    elif verb == "exec" and target and command:
        container = _flag(words, "-c", "--container")
        found, why = _resolve(page, target, container)
        if found is None:
            page.problems.append(Problem(where, why))
        else:
            _in_image(page, found, command, where)


def _resolve(page: _Page, target: str, container: str | None) -> tuple[str | None, str]:
    """The image `kubectl exec TARGET [-c CONTAINER]` runs in, or (None, why not)."""
    shown = target + (f" -c {container}" if container else "")
    candidates: list[_Workload] = []
    if target.startswith("$"):
        variable = target.strip("${}")
        selector = page.selectors.get(variable)
        if selector is None:
            return None, (
                f"cannot tell which image `kubectl exec {shown}` runs in: set ${variable} "
                "from `kubectl get pods -l SELECTOR` in the page"
            )
        wanted = dict(part.split("=", 1) for part in selector.split(",") if "=" in part)
        if list(wanted) == ["metadata.name"]:
            candidates = [w for w in page.workloads if w.name == wanted["metadata.name"]]
        else:
            candidates = [
                w for w in page.workloads if all(w.labels.get(k) == v for k, v in wanted.items())
            ]
    else:
        kind, _, name = target.rpartition("/")
        wanted_kind = _KINDS.get(kind.lower()) if kind else None
        candidates = [
            w
            for w in page.workloads
            if (wanted_kind is None or w.kind == wanted_kind) and w.name == name
        ]
    images = set()
    for workload in candidates[-1:]:  # the latest definition of a name is the one that runs
        chosen = [c for c in workload.containers if container in (None, c.name)]
        images.update(c.image for c in chosen[: None if container else 1])
    if len(images) == 1:
        return images.pop(), ""
    return None, (
        f"cannot tell which image `kubectl exec {shown}` runs in: no `kubectl run` or "
        "manifest shown in the page defines that Pod" + (" and container" if container else "")
    )


# --- a command inside an image ------------------------------------------------------------


def _in_image(page: _Page, reference: str, argv: list[str], where: str) -> None:
    name = short_name(reference)
    spec = next((s for s in page.images.values() if name in s.names), None)
    if spec is None:
        page.problems.append(
            Problem(where, f"image {reference} has no fidelity list: add it to fidelity.toml")
        )
        return
    _run(page, spec, argv, where, shell=False)


def _run(page: _Page, image: ImageSpec, argv: list[str], where: str, shell: bool) -> None:
    if not argv:
        return
    program, args = argv[0].rsplit("/", 1)[-1], argv[1:]
    if "$" in program or commands.is_substitution(program):
        return  # the command's name is only known at run time
    if program == "busybox" and args and not args[0].startswith("-") and "busybox" in image.tools:
        _run(page, image, args, where, shell)  # `busybox APPLET …` runs the applet
        return
    tool = image.tools.get(program)
    if tool is None:
        if shell and program in SHELL_BUILTINS:
            if program in ("exec", "command") and args and not args[0].startswith("-"):
                _run(page, image, args, where, shell)
            return
        if program in image.absent:
            message = f"{image.label} has no `{program}`: {image.absent[program]}"
        else:
            message = (
                f"`{program}` is not in the fidelity list of {image.label}: check that the "
                "real image has it, then add it with its source to fidelity.toml"
            )
        page.problems.append(Problem(where, message))
        return
    options, operands = _options(page, image, tool, args, where)
    if program in SHELLS and options.get("-c"):
        _script(page, image, options["-c"][0], where)
    elif program in WRAPPERS:
        if program == "env":
            while operands and "=" in operands[0]:
                operands = operands[1:]
        _run(page, image, operands[WRAPPERS[program] :], where, shell)


def _script(page: _Page, image: ImageSpec, script: str, where: str) -> None:
    try:
        parsed = commands.split(script)
    except commands.ShellSyntaxError as exc:
        page.problems.append(Problem(where, f"cannot read the shell script: {exc}"))
        return
    for command in _walk(parsed):
        _run(page, image, command.argv, where, shell=True)


def _looks_like_option(word: str, tool: Tool) -> bool:
    if word.startswith("$") or commands.is_substitution(word) or len(word) < 2:
        return False
    if word.startswith("-"):
        return True
    return tool.style == "words" and word[0] in "+@"


def _options(
    page: _Page, image: ImageSpec, tool: Tool, args: list[str], where: str
) -> tuple[dict[str, list[str]], list[str]]:
    """Check the options of `args`: ({option: [values]}, operands).

    A wrapper (timeout, exec) stops at the command it runs: what follows is that command's.
    """
    found: dict[str, list[str]] = {}
    operands: list[str] = []
    stop = WRAPPERS.get(tool.name)
    i = 0
    while i < len(args):
        word = args[i]
        if stop is not None and len(operands) > stop:
            operands.extend(args[i:])
            break
        if word == "--":
            operands.extend(args[i + 1 :])
            break
        if not _looks_like_option(word, tool):
            operands.append(word)
            i += 1
            continue
        if tool.style == "words" or word.startswith("--") or word[0] in "+@":
            name = word.split("=", 1)[0] if word.startswith("--") else word
            option = tool.option(name)
            if option is None:
                _unknown(page, image, tool, name, where)
            elif option.takes_value and not option.name.endswith(("=", "@")) and "=" not in word:
                i += 1
                found.setdefault(option.name, []).append(args[i] if i < len(args) else "")
            else:
                found.setdefault(option.name, []).append(word)
            i += 1
            continue
        letters = word[1:]  # getopt: -zv, -nn, -qO-, -w2
        for j, letter in enumerate(letters):
            option = tool.options.get("-" + letter)
            if option is None:
                _unknown(page, image, tool, "-" + letter, where)
                continue
            if option.takes_value:
                value = letters[j + 1 :]
                if not value and i + 1 < len(args):
                    i += 1
                    value = args[i]
                found.setdefault(option.name, []).append(value)
                break
            found.setdefault(option.name, []).append("")
        i += 1
    return found, operands


def _unknown(page: _Page, image: ImageSpec, tool: Tool, name: str, where: str) -> None:
    if name in tool.absent:
        message = (
            f"{image.label}: `{tool.name} {name}` does not exist in the real image "
            f"({tool.provided_by}): {tool.absent[name]}"
        )
    else:
        message = (
            f"{image.label}: option {name} of `{tool.name}` is not in the fidelity list: check "
            f"that the real image's {tool.name} ({tool.provided_by}) has it, then add it to "
            "fidelity.toml"
        )
    page.problems.append(Problem(where, message))


# --- every page of the site ---------------------------------------------------------------


class Rendered(Protocol):
    """What the check needs of a page: its rendered lines and where each comes from
    (tools.doctest.render.RenderedPage)."""

    @property
    def lines(self) -> list[str]: ...

    def where(self, index: int) -> str: ...


def page_blocks(rendered: Rendered) -> list[Block]:
    """The fenced blocks of a rendered page (snippets included), read by tools.markdown."""
    blocks = []
    for fence in markdown.fences(rendered.lines):
        first = fence.start + 1
        blocks.append(
            Block(fence.lang.lower(), list(fence.body), lambda k, f=first: rendered.where(f + k))
        )
    return blocks


def check_site(root: Path = ROOT, images: dict[str, ImageSpec] | None = None) -> list[Problem]:
    """The problems of every page of every locale, as the site renders it."""
    from tools.doctest.render import Renderer, RenderError

    images = load() if images is None else images
    problems: list[Problem] = []
    for config in sorted(root.glob("mkdocs*.yml")):
        renderer = Renderer(config)
        docs = Path(renderer.config.docs_dir)
        for page in sorted(docs.rglob("*.md")):
            try:
                rendered = renderer.render(page)
            except RenderError as exc:
                problems.append(Problem(str(page.relative_to(root)), str(exc)))
                continue
            problems += check_blocks(page_blocks(rendered), images)
    return problems


def main() -> int:
    try:
        problems = check_site()
    except FidelityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem)
    print(
        f"{len(problems)} problem(s): every tool and option a page runs in an image must be in "
        f"{FIDELITY_FILE.relative_to(ROOT)}, with the real image's provenance"
        if problems
        else "image fidelity: every command of the pages uses what the real images have"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
