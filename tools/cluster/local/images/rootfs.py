"""Collect an image's files from the host's Debian packages.

A tool is taken from the package that provides it (checked with `dpkg -L`, so a file that
happens to be on the host from elsewhere is never copied by mistake), with every shared
library `ldd` reports, at the path the loader found it: the image's loader then finds it at
the same place. Only nginx is not installed on the host (its package would start a daemon):
its .deb files are downloaded with `apt-get download` and unpacked into the cache.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Final

from tools.cluster.local.images.oci import Entry, directory, file_data, file_from, symlink


class ImageBuildError(RuntimeError):
    """A stand-in image cannot be assembled (a package or file is missing)."""


@functools.cache
def package_files(package: str) -> frozenset[str]:
    """The paths installed by a Debian package, with a clear error if it is not installed."""
    out = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise ImageBuildError(
            f"Debian package {package} is not installed (it is in build.SYSTEM_PACKAGES, "
            "which `nox -s cluster` installs)"
        )
    return frozenset(out.stdout.split("\n")) - {""}


def package_file(package: str, path: str) -> Path:
    """`path` as installed by `package` (alternatives symlinks followed later by copying)."""
    if path not in package_files(package):
        raise ImageBuildError(f"Debian package {package} does not provide {path}")
    return Path(path)


_LDD_LINE = re.compile(r"^\s*(?:(\S+) => )?(/\S+) \(0x[0-9a-f]+\)$")


def _file_key(path: Path) -> str:
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def shared_libraries(binaries: list[Path], cache_file: Path | None = None) -> dict[Path, list[str]]:
    """Absolute paths of the shared libraries (and loader) each binary needs, per ldd.

    One ldd for all the binaries: ldd runs the loader once per file, and the nginx image alone
    has a hundred programs. Results are kept in `cache_file`, keyed by path, size and mtime, so
    that each `up` does not pay for them again.
    """
    cache: dict[str, list[str]] = {}
    if cache_file is not None and cache_file.is_file():
        try:
            cache = json.loads(cache_file.read_text())
        except ValueError:
            cache = {}
    keys = {binary: _file_key(binary) for binary in binaries}
    todo = sorted({binary.resolve() for binary, key in keys.items() if key not in cache})
    if todo:
        out = subprocess.run(["ldd", *map(str, todo)], capture_output=True, text=True, check=False)
        current: Path | None = None
        found: dict[Path, list[str]] = {path: [] for path in todo}
        for line in out.stdout.splitlines():
            if not line.startswith(("\t", " ")) and line.endswith(":"):
                current = Path(line[:-1]) if len(todo) > 1 else todo[0]
                continue
            if current is None and len(todo) == 1:
                current = todo[0]
            if "not found" in line:
                raise ImageBuildError(f"{current}: a shared library is missing on the host: {line}")
            match = _LDD_LINE.match(line)
            if match and current is not None:
                found[current].append(match.group(2))
        if out.returncode != 0 and not any(found.values()):
            message = out.stderr.strip() or out.stdout.strip()
            if "not a dynamic executable" not in message:
                raise ImageBuildError(f"ldd {' '.join(map(str, todo))} failed: {message}")
        for binary, key in keys.items():
            if key not in cache:
                cache[key] = found.get(binary.resolve(), [])
        if cache_file is not None:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(cache, indent=0, sort_keys=True))
            tmp.replace(cache_file)
    return {binary: cache[key] for binary, key in keys.items()}


# glibc loads libgcc_s at run time (pthread_exit, cancellation, backtraces): ldd cannot see
# it, and a threaded tool (dig) aborts without it.
_RUNTIME_LIBRARIES = ("/lib/x86_64-linux-gnu/libgcc_s.so.1",)


def binaries_with_libraries(
    tools: dict[str, Path], links: dict[str, str] | None = None, cache_file: Path | None = None
) -> list[Entry]:
    """Entries for `tools` (image path -> host file), `links` (image path -> target) and the
    libraries the tools all need."""
    entries = [file_from(dest, source) for dest, source in tools.items()]
    entries += [symlink(dest, target) for dest, target in (links or {}).items()]
    libraries: set[str] = set()
    for needed in shared_libraries(list(tools.values()), cache_file).values():
        libraries.update(needed)
    if libraries:
        libraries.update(p for p in _RUNTIME_LIBRARIES if Path(p).exists())
    entries += [file_from(lib, Path(lib)) for lib in sorted(libraries)]
    return entries


_PROGRAM_DIRS = ("/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/")


def package_programs(package: str) -> tuple[dict[str, Path], dict[str, str]]:
    """Every program a host package installs: ({image path: host file}, {image path: link}).

    A relative symlink the package ships (`/bin/sh -> dash`) stays a symlink; an absolute one
    (through /etc/alternatives) is copied as the file it points to.
    """
    files: dict[str, Path] = {}
    links: dict[str, str] = {}
    for path in sorted(package_files(package)):
        if not path.startswith(_PROGRAM_DIRS):
            continue
        host = Path(path)
        if host.is_symlink() and not os.readlink(host).startswith("/"):
            links[path] = os.readlink(host)
        elif host.is_file() and os.access(host, os.X_OK):
            files[path] = host.resolve()
    if not files and not links:
        raise ImageBuildError(f"Debian package {package} installs no program")
    return files, links


# BusyBox for the stand-ins: Debian's dynamic build, downloaded (it conflicts with
# busybox-static on the host). Its shell searches PATH like the real images' (busybox:latest is
# built with defconfig, Alpine's has no standalone shell); Debian's static build runs its own
# applets first, so `sh -c nslookup` would not find bind's nslookup.
BUSYBOX_PACKAGES: Final = ("busybox",)


def debian_busybox(cache: Path) -> Path:
    """The busybox binary every stand-in that carries busybox uses."""
    return deb_tree(BUSYBOX_PACKAGES, cache) / "bin" / "busybox"


def ldd_cache(cache: Path) -> Path:
    """Where `ldd` results are kept between builds."""
    return cache / "images" / "ldd.json"


def busybox_applets(busybox: Path) -> list[str]:
    out = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True)
    return sorted(a for a in out.stdout.split() if a != "busybox")


def busybox_entries(
    busybox: Path, skip: frozenset[str] | set[str] = frozenset(), cache_file: Path | None = None
) -> list[Entry]:
    """`busybox` as /bin/busybox with its libraries, and a /bin link per applet not in `skip`."""
    entries = binaries_with_libraries({"/bin/busybox": busybox}, cache_file=cache_file)
    entries += [
        symlink(f"/bin/{applet}", "busybox")
        for applet in busybox_applets(busybox)
        if applet not in skip
    ]
    return entries


PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def base_entries(extra_users: tuple[tuple[str, int], ...] = ()) -> list[Entry]:
    """The minimal /etc and directories every stand-in has."""
    users = [
        ("root", 0, "/root", "/bin/sh"),
        *((u, i, "/nonexistent", "/bin/false") for u, i in extra_users),
    ]
    users.append(("nobody", 65534, "/nonexistent", "/bin/false"))
    passwd = "".join(f"{u}:x:{i}:{i}:{u}:{home}:{shell}\n" for u, i, home, shell in users)
    group = "".join(f"{u}:x:{i}:\n" for u, i, _, _ in users)
    return [
        file_data("/etc/passwd", passwd),
        file_data("/etc/group", group),
        # glibc ≥ 2.34 has the files and dns NSS modules built in: nothing to dlopen.
        file_data("/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n"),
        directory("/root", 0o700),
        directory("/tmp", 0o1777),
        directory("/var/tmp", 0o1777),
        directory("/etc"),
        directory("/proc"),
        directory("/sys"),
        directory("/dev"),
        directory("/run"),
    ]


def deb_tree(packages: tuple[str, ...], cache: Path) -> Path:
    """Download (once) the candidate .debs of `packages` and unpack them into one tree.

    A tree unpacked earlier is reused as is, without asking apt again (that costs a second
    per `up`): the stand-in only has to serve a page, not to follow security updates. Remove
    `~/.cache/reseau-k8s/debs/` to take the current candidate.
    """
    wanted = "".join(f"{p} " for p in packages)
    done = [
        marker.parent
        for marker in (cache / "debs").glob("*/.complete")
        if "".join(line.split()[0] + " " for line in marker.read_text().splitlines()) == wanted
    ]
    if done:
        return max(done, key=lambda tree: (tree / ".complete").stat().st_mtime_ns)
    versions = {p: candidate_version(p) for p in packages}
    key = "_".join(f"{p}-{v}" for p, v in versions.items()).replace(":", "%3a")
    tree = cache / "debs" / key
    if (tree / ".complete").is_file():
        return tree
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    download = tree.parent / f".download-{key}"
    if download.exists():
        shutil.rmtree(download)
    download.mkdir()
    try:
        result = subprocess.run(
            ["apt-get", "download", *(f"{p}={v}" for p, v in versions.items())],
            cwd=download,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ImageBuildError(
                f"apt-get download {' '.join(packages)} failed: {result.stderr.strip()[-500:]}"
            )
        for deb in sorted(download.glob("*.deb")):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
    finally:
        shutil.rmtree(download, ignore_errors=True)
    (tree / ".complete").write_text("\n".join(f"{p} {v}" for p, v in versions.items()) + "\n")
    return tree


@functools.cache
def candidate_version(package: str) -> str:
    out = subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True)
    match = re.search(r"Candidate: (\S+)", out.stdout)
    if not match or match.group(1) == "(none)":
        raise ImageBuildError(
            f"apt has no candidate for {package}: run `apt-get update` (as root) first"
        )
    return match.group(1)
