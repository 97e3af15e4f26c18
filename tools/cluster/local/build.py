"""Build the local cluster's binaries from pinned Go modules, once, into a cache.

Each component is a small wrapper Go module under `gomod/<name>/` whose go.mod is the pin: the
version printed and checked here is read from it, so a pin lives in exactly one place. The
binaries land in `~/.cache/reseau-k8s/components/<name>-<version>-<key>/`, where the key hashes
the wrapper's files, the build recipe below and the Go toolchain: changing one pin rebuilds
that component only. Each build goes to a temporary directory that is renamed into place once
every binary has printed its expected version, so an interrupted build leaves nothing behind
that looks finished.

`python -m tools.cluster.local.build` builds what is missing and prints the per-component
build times.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

GOMOD_DIR: Final = Path(__file__).parent / "gomod"
CACHE_DIR: Final = Path(
    os.environ.get("RESEAU_K8S_CACHE", Path.home() / ".cache" / "reseau-k8s")
).expanduser()

# Debian packages the local cluster needs at run time (the nox session installs them with
# `_apt`): runc runs the containers (Debian's 1.1 is enough for containerd 2.x's shim);
# iptables, conntrack and iproute2 for kube-proxy and the CNI plugins; ipset to remove
# Calico's sets at `down` (the calico/node stand-in also takes iptables, ipset and conntrack
# from the host); nftables for the network guard; util-linux for mount/nsenter the kubelet
# calls; gcc and libc6-dev compile the pause image.
RUNTIME_PACKAGES: Final = (
    "runc",
    "iptables",
    "conntrack",
    "iproute2",
    "ipset",
    "nftables",
    "util-linux",
    "mount",
    "gcc",
    "libc6-dev",
)
# Packages whose files the stand-in images copy (see images/README.md). nginx and Debian's
# dynamic busybox are not installed on the host (nginx could start a daemon, busybox would
# replace busybox-static): their .deb files are downloaded and unpacked.
IMAGE_PACKAGES: Final = (
    "bash",
    "bind9-dnsutils",
    "bind9-host",
    "curl",
    "iproute2",
    "tcpdump",
    "iperf3",
    "tcptraceroute",
    "netcat-openbsd",
    "iputils-ping",
    "netbase",
    # the nginx stand-in's Debian user space (see images.NGINX_USERLAND)
    "dash",
    "coreutils",
    "grep",
    "sed",
    "findutils",
    "hostname",
    "gettext-base",
    # nginx's shared libraries, taken from the host, and libgcc_s that glibc loads at run time.
    "libssl3",
    "libpcre2-8-0",
    "zlib1g",
    "libcrypt1",
    "libgcc-s1",
)
SYSTEM_PACKAGES: Final = tuple(dict.fromkeys(RUNTIME_PACKAGES + IMAGE_PACKAGES))

Progress = Callable[[str], None]
# Where a component's collected upstream files live in its cache directory (not linked with
# the binaries).
UPSTREAM_DIR: Final = "upstream"


def say(line: str) -> None:
    """The default progress: print at once, even when stdout is a pipe (nox, CI logs)."""
    print(line, flush=True)


@dataclass(frozen=True)
class Component:
    """How one wrapper module is built: its packages, flags and version checks."""

    name: str
    module: str  # the upstream module whose version (from the wrapper's go.mod) is the pin
    packages: tuple[str, ...]  # import paths handed to one `go build -o DIR`
    ldflags: tuple[str, ...] = ()  # may use {version} and {major}/{minor}
    tags: tuple[str, ...] = ()
    # binary -> argv after the binary that prints its version; the output must contain the
    # pinned version (without its leading "v").
    version_args: dict[str, tuple[str, ...]] = field(default_factory=dict)
    cni: bool = False  # installed into Binaries.cni_dir instead of bin_dir
    # The release the binaries report, when the pin is a pseudo-version of it (Calico's tags
    # do not fit its module path); None: the pin itself.
    release: str | None = None
    # A file of the upstream module and a line it must contain, which proves that the pin is
    # that release (checked before building; `{release}` is replaced).
    release_marker: tuple[str, str] | None = None
    # Upstream files (module-relative path -> path in the cache) kept beside the binaries: the
    # manifests and image files that the cluster reads at `up`, so that it never depends on
    # the Go module cache still holding them.
    collect: tuple[tuple[str, str], ...] = ()


_KUBE_VERSION_VARS = (
    "k8s.io/component-base/version",
    "k8s.io/client-go/pkg/version",
)

# The reference CNI plugins: the four of the bridge network, plus tuning and bandwidth, which
# the calico/cni image carries besides portmap, host-local and loopback.
_CNI_PLUGINS: Final = (
    "main/bridge",
    "ipam/host-local",
    "meta/portmap",
    "main/loopback",
    "meta/tuning",
    "meta/bandwidth",
)

# The Calico release MicroK8s' series ships; the pin in gomod/calico/go.mod is its commit.
CALICO_RELEASE: Final = "v3.28.5"

_KUBE_COMMANDS: Final = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kube-proxy",
    "kubelet",
)

COMPONENTS: Final[tuple[Component, ...]] = (
    Component(
        name="kubernetes",
        module="k8s.io/kubernetes",
        packages=tuple(f"k8s.io/kubernetes/cmd/{c}" for c in _KUBE_COMMANDS),
        # Without these the commands report v0.0.0 (the release scripts set them from git).
        ldflags=tuple(
            f"-X {pkg}.{var}={value}"
            for pkg in _KUBE_VERSION_VARS
            for var, value in (
                ("gitVersion", "{version}"),
                ("gitMajor", "{major}"),
                ("gitMinor", "{minor}"),
                ("gitTreeState", "clean"),
            )
        ),
        version_args={c: ("--version",) for c in _KUBE_COMMANDS},
    ),
    Component(
        name="etcd",
        module="go.etcd.io/etcd/server/v3",
        packages=("reseau-k8s/localcluster/etcd",),
        version_args={"etcd": ("--version",)},
    ),
    Component(
        name="containerd",
        module="github.com/containerd/containerd/v2",
        packages=(
            "github.com/containerd/containerd/v2/cmd/containerd",
            "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2",
            "github.com/containerd/containerd/v2/cmd/ctr",
        ),
        ldflags=("-X github.com/containerd/containerd/v2/version.Version={version}",),
        # Built without cgo: the btrfs snapshotter needs it and is left out with zfs and
        # devmapper; the cluster uses overlayfs.
        tags=("no_btrfs", "no_devmapper", "no_zfs"),
        version_args={
            "containerd": ("--version",),
            "containerd-shim-runc-v2": ("-v",),
            "ctr": ("--version",),
        },
    ),
    Component(
        name="cni-plugins",
        module="github.com/containernetworking/plugins",
        packages=tuple(f"github.com/containernetworking/plugins/plugins/{p}" for p in _CNI_PLUGINS),
        ldflags=(
            "-X github.com/containernetworking/plugins/pkg/utils/buildversion"
            ".BuildVersion={version}",
        ),
        # A CNI plugin run without CNI_COMMAND prints its "about" line, version included.
        version_args={p.rsplit("/", 1)[1]: () for p in _CNI_PLUGINS},
        cni=True,
    ),
    Component(
        name="calico",
        module="github.com/projectcalico/calico",
        packages=tuple(
            f"github.com/projectcalico/calico/{p}"
            for p in (
                "cni-plugin/cmd/calico",
                "cni-plugin/cmd/install",
                "node/cmd/calico-node",
                "kube-controllers/cmd/kube-controllers",
                "kube-controllers/cmd/check-status",
            )
        ),
        # What Calico's Makefiles set from `git describe`; without them the commands print an
        # empty version.
        ldflags=(
            "-X main.VERSION={version}",
            "-X github.com/projectcalico/calico/node/pkg/lifecycle/startup.VERSION={version}",
            "-X github.com/projectcalico/calico/node/buildinfo.GitVersion={version}",
        ),
        version_args={
            "calico": ("-v",),
            "calico-node": ("-v",),
            "kube-controllers": ("-version",),
        },
        release=CALICO_RELEASE,
        release_marker=("manifests/calico.yaml", "image: docker.io/calico/node:{release}"),
        collect=(
            ("manifests/calico.yaml", "manifests/calico.yaml"),
            ("node/filesystem/etc", "node/etc"),
            ("node/filesystem/sbin", "node/sbin"),
        ),
    ),
    Component(
        name="coredns",
        module="github.com/coredns/coredns",
        packages=("github.com/coredns/coredns",),
        version_args={"coredns": ("-version",)},
    ),
)


class BuildError(RuntimeError):
    """A component could not be built or does not report its pinned version."""


@dataclass(frozen=True)
class Binaries:
    """Where the built binaries are, and the version of every component."""

    bin_dir: Path
    cni_dir: Path
    versions: dict[str, str]
    # Component name -> its directory in the cache (with the upstream files it collected).
    component_dirs: dict[str, Path] = field(default_factory=dict)

    def upstream(self, component: str, relative: str) -> Path:
        """A file collected from a component's upstream module (Component.collect)."""
        path = self.component_dirs.get(component, Path("/nonexistent")) / UPSTREAM_DIR / relative
        if not path.exists():
            raise BuildError(f"{component}: no collected upstream file {relative} ({path})")
        return path

    def path(self, name: str) -> Path:
        """The binary `name` (from bin_dir, else cni_dir); a clear error if it is not there."""
        for directory in (self.bin_dir, self.cni_dir):
            candidate = directory / name
            if candidate.is_file():
                return candidate
        raise BuildError(f"no binary {name!r} in {self.bin_dir} or {self.cni_dir}")


# --- pins and cache keys ----------------------------------------------------------------


def pinned_version(component: Component, gomod_dir: Path = GOMOD_DIR) -> str:
    """The version of `component.module` required by its wrapper's go.mod."""
    go_mod = gomod_dir / component.name / "go.mod"
    try:
        text = go_mod.read_text(encoding="utf-8")
    except OSError as exc:
        raise BuildError(f"{go_mod}: cannot read the pin ({exc.strerror})") from exc
    pattern = re.compile(rf"^\s*(?:require\s+)?{re.escape(component.module)}\s+(v\S+)", re.M)
    for lineno, line in enumerate(text.splitlines(), start=1):
        match = pattern.match(line)
        if match:
            if "// indirect" in line:
                raise BuildError(f"{go_mod}:{lineno}: {component.module} must be a direct require")
            return match.group(1)
    raise BuildError(f"{go_mod}: no `require {component.module} vX.Y.Z` line")


def module_toolchain(component: Component, gomod_dir: Path = GOMOD_DIR) -> str | None:
    """The `toolchain goX.Y.Z` a wrapper's go.mod pins, if any: that component is built with
    it (GOTOOLCHAIN, fetched from the module proxy), not with the Go on PATH."""
    go_mod = gomod_dir / component.name / "go.mod"
    match = re.search(r"^toolchain\s+(go\S+)\s*$", go_mod.read_text(encoding="utf-8"), re.M)
    return match.group(1) if match else None


def _toolchain_for(component: Component, host: str, gomod_dir: Path = GOMOD_DIR) -> str:
    """`goX.Y.Z/os/arch` the component is built with (`host` is go_version()'s)."""
    pinned = module_toolchain(component, gomod_dir)
    return host if pinned is None else "/".join([pinned, *host.split("/")[1:]])


def _go_env(component: Component) -> dict[str, str]:
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="", GOWORK="off")
    pinned = module_toolchain(component)
    if pinned is not None:
        env["GOTOOLCHAIN"] = pinned
    return env


def go_version() -> str:
    """`go env GOVERSION`, with a clear error when Go is missing."""
    go = shutil.which("go")
    if go is None:
        raise BuildError("Go is needed to build the local cluster: `go` is not on PATH")
    out = subprocess.run(
        [go, "env", "GOVERSION", "GOOS", "GOARCH"], capture_output=True, text=True, check=True
    )
    return "/".join(out.stdout.split())


def component_key(component: Component, toolchain: str, gomod_dir: Path = GOMOD_DIR) -> str:
    """A short hash of everything that changes the component's binaries.

    The wrapper module's files (go.mod, go.sum, Go sources), the build recipe and the Go
    toolchain: any change rebuilds, nothing else does.
    """
    digest = hashlib.sha256()
    toolchain = _toolchain_for(component, toolchain, gomod_dir)
    recipe = {
        "name": component.name,
        "packages": component.packages,
        "ldflags": component.ldflags,
        "tags": component.tags,
        "release": component.release,
        "release_marker": component.release_marker,
        "collect": component.collect,
        "toolchain": toolchain,
        "flags": _BASE_FLAGS,
    }
    digest.update(json.dumps(recipe, sort_keys=True).encode())
    module_dir = gomod_dir / component.name
    files = sorted(
        p
        for p in module_dir.iterdir()
        if p.is_file() and (p.suffix == ".go" or p.name in ("go.mod", "go.sum"))
    )
    if not any(p.name == "go.mod" for p in files):
        raise BuildError(f"{module_dir}: no go.mod")
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def kubernetes_version(gomod_dir: Path = GOMOD_DIR) -> str:
    """The Kubernetes release the local cluster builds (`v1.37.2`), which the pages show
    readers as `{{ k8s_version }}`: one pin, gomod/kubernetes/go.mod."""
    (kubernetes,) = (c for c in COMPONENTS if c.name == "kubernetes")
    return pinned_version(kubernetes, gomod_dir)


def released_version(component: Component, gomod_dir: Path = GOMOD_DIR) -> str:
    """The version the component's binaries report: its release, else its pin."""
    return component.release or pinned_version(component, gomod_dir)


def pins(gomod_dir: Path = GOMOD_DIR) -> dict[str, str]:
    """Component name -> the version it reports (its pin, or the release the pin stands for)."""
    return {c.name: released_version(c, gomod_dir) for c in COMPONENTS}


# --- building ---------------------------------------------------------------------------

# -trimpath and -s -w: smaller, reproducible binaries; -buildvcs=false: the wrappers sit in this
# repository, whose git state must not change the binaries; -mod=readonly: a build never edits the
# committed go.mod/go.sum (a missing checksum is an error to fix in the repository).
_BASE_FLAGS: Final = ("-trimpath", "-mod=readonly", "-buildvcs=false")
_TICK_SECONDS: Final = 20.0


def _format_elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _ldflags(component: Component, version: str) -> str:
    major, minor = version.lstrip("v").split(".")[:2]
    extra = [f.format(version=version, major=major, minor=minor) for f in component.ldflags]
    return " ".join(["-s", "-w", *extra])


def _run_go_build(component: Component, version: str, out_dir: Path, progress: Progress) -> int:
    """One `go build -v -o out_dir pkgs…`, printing a progress line every few seconds.

    Returns how many packages were compiled (not taken from Go's build cache).
    """
    cmd = [
        "go",
        "build",
        "-v",
        *_BASE_FLAGS,
        "-ldflags",
        _ldflags(component, version),
    ]
    if component.tags:
        cmd += ["-tags", ",".join(component.tags)]
    cmd += ["-o", str(out_dir) + os.sep, *component.packages]
    env = _go_env(component)
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        cwd=GOMOD_DIR / component.name,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    tail: deque[str] = deque(maxlen=30)
    counts = {"packages": 0, "downloads": 0}

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            tail.append(line)
            if line.startswith("go: downloading"):
                counts["downloads"] += 1
            elif re.fullmatch(r"[\w.\-~/]+", line):
                counts["packages"] += 1  # `go build -v` names each package it compiles

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    while True:
        try:
            proc.wait(timeout=_TICK_SECONDS)
            break
        except subprocess.TimeoutExpired:
            progress(
                f"  {component.name}: {_format_elapsed(time.monotonic() - start)}, "
                f"{counts['packages']} packages compiled"
                + (f", {counts['downloads']} modules downloaded" if counts["downloads"] else "")
            )
    thread.join()
    if proc.returncode != 0:
        raise BuildError(
            f"go build of {component.name} {version} failed (exit {proc.returncode}) in "
            f"{GOMOD_DIR / component.name}; last lines:\n" + "\n".join(tail)
        )
    return counts["packages"]


def _module_dir(component: Component) -> Path:
    """Where the Go module cache holds the pinned upstream module (downloaded if needed)."""
    env = dict(_go_env(component), GOFLAGS="-mod=readonly")
    # `go mod download`, not `go list -m`: on an empty module cache the latter prints an
    # empty Dir (the module is not downloaded yet), which would read as the current directory.
    result = subprocess.run(
        ["go", "mod", "download", "-json", component.module],
        cwd=GOMOD_DIR / component.name,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        found = str(json.loads(result.stdout or "{}").get("Dir") or "")
    except ValueError:
        found = ""
    directory = Path(found)
    if result.returncode != 0 or not found or not directory.is_dir():
        raise BuildError(
            f"cannot locate {component.module} for {component.name}: {result.stderr.strip()}"
        )
    return directory


def _check_release(component: Component, module_dir: Path, version: str) -> None:
    """The pinned commit is the release it claims to be (see Component.release_marker)."""
    if component.release_marker is None:
        return
    relative, template = component.release_marker
    wanted = template.format(release=version)
    path = module_dir / relative
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    except OSError as exc:
        raise BuildError(f"{component.name}: cannot read {path}: {exc.strerror}") from exc
    if wanted not in lines:
        pin = pinned_version(component)
        raise BuildError(
            f"{GOMOD_DIR / component.name / 'go.mod'}: {component.module} {pin} is not "
            f"{version}: its {relative} has no line `{wanted}`"
        )


def _collect(component: Component, module_dir: Path, out_dir: Path) -> None:
    """Copy the upstream files the cluster reads at `up` next to the binaries."""
    for source, dest in component.collect:
        src, dst = module_dir / source, out_dir / UPSTREAM_DIR / dest
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        elif src.is_file():
            shutil.copy2(src, dst)
        else:
            raise BuildError(f"{component.name}: {src} is missing from the module")
        # The module cache is read-only; the cache must stay removable by `rm -rf`.
        for path in [dst, *(dst.rglob("*") if dst.is_dir() else [])]:
            path.chmod(path.stat().st_mode | 0o200)


def _check_versions(component: Component, version: str, out_dir: Path) -> dict[str, str]:
    """Run each binary's version command; its output must name the pinned version."""
    wanted = version.lstrip("v")
    seen: dict[str, str] = {}
    for binary, args in component.version_args.items():
        path = out_dir / binary
        if not path.is_file():
            raise BuildError(f"{component.name}: go build produced no {binary} in {out_dir}")
        result = subprocess.run(
            [str(path), *args], capture_output=True, text=True, timeout=30, check=False
        )
        output = (result.stdout + result.stderr).strip()
        if not re.search(rf"(?<![\d.]){re.escape(wanted)}(?![\d])", output):
            raise BuildError(
                f"{component.name}: `{binary} {' '.join(args)}` does not report {version}: "
                f"{output[:300]!r}"
            )
        seen[binary] = next(line for line in output.splitlines() if wanted in line).strip()
    return seen


@contextlib.contextmanager
def cache_lock(cache: Path, name: str = ".build.lock") -> Iterator[None]:
    """One builder at a time (the lifecycle and the doctest may both build binaries or images)."""
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / name, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _ensure_component(
    component: Component, toolchain: str, progress: Progress, timings: dict[str, float]
) -> Path:
    version = released_version(component)
    key = component_key(component, toolchain)
    final = CACHE_DIR / "components" / f"{component.name}-{version}-{key}"
    if (final / "versions.json").is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    progress(f"building {component.name} {version} (go build {len(component.packages)} pkgs)")
    start = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix=f".{component.name}-", dir=final.parent))
    tmp.chmod(0o755)  # mkdtemp's 0700 would hide the binaries from anyone but root
    try:
        if component.release_marker or component.collect:
            module_dir = _module_dir(component)
            _check_release(component, module_dir, version)
            _collect(component, module_dir, tmp)
        compiled = _run_go_build(component, version, tmp, progress)
        seen = _check_versions(component, version, tmp)
        timings[component.name] = time.monotonic() - start
        # build_seconds and packages_compiled feed the benchmark; few packages compiled
        # means Go's build cache was warm, so the time is not a cold build's.
        record = {
            "version": version,
            "pin": pinned_version(component),
            "binaries": seen,
            "build_seconds": round(timings[component.name], 1),
            "packages_compiled": compiled,
            "toolchain": _toolchain_for(component, toolchain),
        }
        (tmp / "versions.json").write_text(json.dumps(record, indent=2) + "\n")
        if final.exists():  # a stale half-built directory never has versions.json
            shutil.rmtree(final)
        tmp.rename(final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    progress(f"built {component.name} {version} in {_format_elapsed(timings[component.name])}")
    return final


def _link_into(src: Path, dest_dir: Path) -> None:
    for item in src.iterdir():
        if item.name in ("versions.json", UPSTREAM_DIR):
            continue
        target = dest_dir / item.name
        try:
            os.link(item, target)  # same filesystem: no copy of ~500 MB of binaries
        except OSError:
            shutil.copy2(item, target)


def runc_version() -> str:
    """The version of the runc on PATH (Debian's package), or a clear error."""
    runc = shutil.which("runc")
    if runc is None:
        raise BuildError("runc is missing: install the Debian package `runc`")
    out = subprocess.run([runc, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"runc version (\S+)", out.stdout)
    return match.group(1) if match else out.stdout.strip()


def ensure_binaries(progress: Progress = say, timings: dict[str, float] | None = None) -> Binaries:
    """Build the missing components and return where every binary is.

    `timings`, when given, receives the build time in seconds of each component built now.
    """
    timings = {} if timings is None else timings
    toolchain = go_version()
    with cache_lock(CACHE_DIR):
        dirs = {c.name: _ensure_component(c, toolchain, progress, timings) for c in COMPONENTS}
        # The assembled bin/ and cni/ directories are keyed by every component directory, so
        # they change exactly when one component does.
        combined = hashlib.sha256("\n".join(str(d) for d in dirs.values()).encode())
        root = CACHE_DIR / "bin" / combined.hexdigest()[:16]
        if not (root / "versions.json").is_file():
            root.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".assemble-", dir=root.parent))
            tmp.chmod(0o755)
            try:
                (tmp / "bin").mkdir()
                (tmp / "cni").mkdir()
                for component in COMPONENTS:
                    _link_into(dirs[component.name], tmp / ("cni" if component.cni else "bin"))
                (tmp / "versions.json").write_text(json.dumps(pins(), indent=2) + "\n")
                if root.exists():
                    shutil.rmtree(root)
                tmp.rename(root)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
    versions = pins()
    versions["runc"] = runc_version()
    versions["go"] = toolchain.split("/")[0]
    return Binaries(
        bin_dir=root / "bin", cni_dir=root / "cni", versions=versions, component_dirs=dirs
    )


def missing_system_packages(packages: tuple[str, ...] = SYSTEM_PACKAGES) -> list[str]:
    """The Debian packages of SYSTEM_PACKAGES that are not installed."""
    missing = []
    for package in packages:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True
        )
        if out.stdout != "install ok installed":
            missing.append(package)
    return missing


def main() -> int:
    print(f"cache: {CACHE_DIR}")
    try:
        print(f"go: {go_version()}")
        for name, version in pins().items():
            print(f"pin: {name} {version}")
        timings: dict[str, float] = {}
        start = time.monotonic()
        binaries = ensure_binaries(say, timings)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for component in COMPONENTS:
        took = timings.get(component.name)
        status = f"built in {_format_elapsed(took)}" if took is not None else "cached"
        print(f"{component.name:12} {binaries.versions[component.name]:10} {status}")
    print(f"total: {_format_elapsed(time.monotonic() - start)}")
    print(f"bin_dir: {binaries.bin_dir}")
    print(f"cni_dir: {binaries.cni_dir}")
    print(f"runc: {binaries.versions['runc']} (Debian package)")
    missing = missing_system_packages()
    if missing:
        print(f"missing Debian packages: {' '.join(missing)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
