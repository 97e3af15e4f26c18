"""The few git questions the translation tooling asks, through the `git` command."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path


class GitError(Exception):
    """git is missing or the directory is not in a git work tree."""


class Repo:
    """A git work tree; paths are given relative to `root` (which may be a subfolder)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        probe = self._git("rev-parse", "--is-inside-work-tree", check=False)
        if probe.returncode != 0 or probe.stdout.strip() != "true":
            raise GitError(f"{root}: not inside a git work tree")

    def _git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        try:
            result = subprocess.run(
                ["git", "-C", str(self.root), *args],
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
            )
        except FileNotFoundError:
            raise GitError("git is not installed") from None
        if check and result.returncode != 0:
            raise GitError(f"git {' '.join(args)}: {result.stderr.strip()}")
        return result

    @functools.cache  # noqa: B019 (one Repo per run; commits do not change under us)
    def resolve(self, rev: str) -> str | None:
        """The full id of commit `rev`, or None when the repository does not have it."""
        result = self._git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    def is_shallow(self) -> bool:
        """True in a shallow clone, where old commits are legitimately unknown."""
        result = self._git("rev-parse", "--is-shallow-repository", check=False)
        return result.stdout.strip() == "true"

    def show(self, commit: str, path: str) -> str | None:
        """The text of `path` at `commit`, or None when it did not exist there."""
        result = self._git("show", f"{commit}:./{path}", check=False)
        return result.stdout if result.returncode == 0 else None

    def diff(self, commit: str, path: str) -> str:
        """Unified diff of `path` from `commit` to the work tree (uncommitted edits included)."""
        return self._git("diff", "--no-color", "--no-ext-diff", commit, "--", path).stdout

    def last_commit(self, path: str) -> str | None:
        """The newest commit that touched `path`, or None if it was never committed."""
        out = self._git("log", "-1", "--format=%H", "--", path, check=False).stdout.strip()
        return out or None

    def is_modified(self, path: str) -> bool:
        """True when `path` differs from HEAD or is untracked."""
        out = self._git("status", "--porcelain", "--", path).stdout
        return bool(out.strip())
