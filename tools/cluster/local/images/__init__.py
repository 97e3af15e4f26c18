"""Stand-in images for the local cluster, built on this machine: no registry download.

Each image is made of files from Debian packages (see README.md for what each contains) and
written into one OCI image layout, the *store*, which `registry.py` serves to containerd as a
mirror of docker.io and registry.k8s.io. The store is cached under
`~/.cache/reseau-k8s/images/<key>/`, where the key hashes the content definition: every path,
mode and file content of every image. `ensure_images()` rebuilds it only when that changes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from tools.cluster.local import build
from tools.cluster.local.images import calico, oci, rootfs
from tools.cluster.local.images.oci import Image, file_data, file_from, symlink

HERE: Final = Path(__file__).parent

BUSYBOX_IMAGE: Final = "docker.io/library/busybox:latest"
NETSHOOT_IMAGE: Final = "docker.io/nicolaka/netshoot:latest"
NGINX_IMAGE: Final = "docker.io/library/nginx:latest"
# The pause version kubeadm 1.37 pins (cmd/kubeadm/app/constants PauseVersion); containerd's
# CRI plugin must be configured with this exact name as its sandbox image.
PAUSE_VERSION: Final = "3.10.2"
PAUSE_IMAGE: Final = f"registry.k8s.io/pause:{PAUSE_VERSION}"


def coredns_image() -> str:
    """`registry.k8s.io/coredns/coredns:<pinned version>` (the pin is in gomod/coredns)."""
    return f"registry.k8s.io/coredns/coredns:{build.pins()['coredns']}"


COREDNS_IMAGE: Final = coredns_image()

Progress = Callable[[str], None]

# netshoot stand-in: package -> {path in the package: path in the image}. What is not here
# (traceroute, timeout, grep…) is a busybox applet, as in the real image; see fidelity.toml.
NETSHOOT_TOOLS: Final[dict[str, dict[str, str]]] = {
    "bash": {"/bin/bash": "/bin/bash"},
    "bind9-dnsutils": {"/usr/bin/dig": "/usr/bin/dig", "/usr/bin/nslookup": "/usr/bin/nslookup"},
    "bind9-host": {"/usr/bin/host": "/usr/bin/host"},
    "curl": {"/usr/bin/curl": "/usr/bin/curl"},
    "iproute2": {"/bin/ip": "/sbin/ip", "/bin/ss": "/usr/bin/ss"},
    "tcpdump": {"/usr/bin/tcpdump": "/usr/bin/tcpdump"},
    "iperf3": {"/usr/bin/iperf3": "/usr/bin/iperf3"},
    "tcptraceroute": {"/usr/bin/tcptraceroute.mt": "/usr/bin/tcptraceroute"},
    "netcat-openbsd": {"/bin/nc.openbsd": "/usr/bin/nc"},
    "iputils-ping": {"/bin/ping": "/bin/ping"},
    "nftables": {"/usr/sbin/nft": "/usr/sbin/nft"},
}
NGINX_PACKAGES: Final = ("nginx", "nginx-common")
# The official nginx image is Debian: a Debian user space, curl (its Dockerfile installs it)
# and envsubst (gettext-base, for its template script); no busybox, no wget.
NGINX_USERLAND: Final = (
    "dash",
    "bash",
    "coreutils",
    "grep",
    "sed",
    "findutils",
    "hostname",
    "curl",
    "gettext-base",
)
NGINX_ENTRYPOINT: Final = HERE / "nginx"

# Close to the official image's /etc/nginx/nginx.conf and conf.d/default.conf. `daemon off;`
# comes from the command line (`nginx -g 'daemon off;'`), as upstream; the logs are links to
# the container's stdout and stderr, so `kubectl logs` shows the requests.
NGINX_CONF: Final = """\
user  nginx;
worker_processes  auto;

error_log  /var/log/nginx/error.log notice;
pid        /run/nginx.pid;

events {
    worker_connections  1024;
}

http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;

    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';

    access_log  /var/log/nginx/access.log  main;

    sendfile        on;
    keepalive_timeout  65;

    include /etc/nginx/conf.d/*.conf;
}
"""
NGINX_DEFAULT_SERVER: Final = """\
server {
    listen       80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }
}
"""
NGINX_50X: Final = """\
<!DOCTYPE html>
<html>
<head>
<title>Error</title>
</head>
<body>
<h1>An error occurred.</h1>
<p>Sorry, the page you are looking for is currently unavailable.<br/>
Please try again later.</p>
</body>
</html>
"""


def _config(cmd: list[str] | None = None, **extra: object) -> dict[str, object]:
    config: dict[str, object] = {"Env": [rootfs.PATH_ENV], "WorkingDir": "/"}
    if cmd is not None:
        config["Cmd"] = cmd
    config.update(extra)
    return config


def busybox_image(cache: Path) -> Image:
    return Image(
        names=(BUSYBOX_IMAGE,),
        entries=rootfs.base_entries()
        + rootfs.busybox_entries(rootfs.debian_busybox(cache), cache_file=rootfs.ldd_cache(cache)),
        config=_config(["sh"]),
        description="Debian's busybox (dynamic build), one /bin link per applet",
    )


def netshoot_image(cache: Path) -> Image:
    tools: dict[str, Path] = {}
    for package, files in NETSHOOT_TOOLS.items():
        for source, dest in files.items():
            tools[dest] = rootfs.package_file(package, source)
    provided = {Path(dest).name for dest in tools}
    iproute_etc = sorted(
        p
        for p in rootfs.package_files("iproute2")
        if p.startswith("/etc/iproute2/") and Path(p).is_file()
    )
    netbase = [rootfs.package_file("netbase", p) for p in ("/etc/services", "/etc/protocols")]
    entries = (
        rootfs.base_entries(extra_users=(("tcpdump", 101),))
        + rootfs.busybox_entries(
            rootfs.debian_busybox(cache), skip=provided, cache_file=rootfs.ldd_cache(cache)
        )
        + rootfs.binaries_with_libraries(tools, cache_file=rootfs.ldd_cache(cache))
        + [file_from(p, Path(p), 0o644) for p in iproute_etc]
        + [file_from(str(p), p, 0o644) for p in netbase]
    )
    return Image(
        names=(NETSHOOT_IMAGE,),
        entries=entries,
        config=_config(["bash"]),
        description="netshoot stand-in: busybox (sh, traceroute…) + Debian's bash, "
        "dig/nslookup/host, curl, ip/ss, tcpdump, iperf3, tcptraceroute, nc, ping, nft",
    )


def _nginx_entrypoint() -> list[oci.Entry]:
    """/docker-entrypoint.sh and its scripts, the checksum of our default.conf filled in."""
    checksum = hashlib.md5(NGINX_DEFAULT_SERVER.encode()).hexdigest()
    entries = [file_from("/docker-entrypoint.sh", NGINX_ENTRYPOINT / "docker-entrypoint.sh", 0o755)]
    for script in sorted((NGINX_ENTRYPOINT / "docker-entrypoint.d").iterdir()):
        text = script.read_text().replace("@DEFAULT_CONF_MD5@", checksum)
        entries.append(file_data(f"/docker-entrypoint.d/{script.name}", text, 0o755))
    return entries


def nginx_image(cache: Path) -> Image:
    tree = rootfs.deb_tree(NGINX_PACKAGES, cache)
    nginx = tree / "usr/sbin/nginx"
    programs: dict[str, Path] = {"/usr/sbin/nginx": nginx}
    links: dict[str, str] = {}
    for package in NGINX_USERLAND:
        files, package_links = rootfs.package_programs(package)
        programs.update(files)
        links.update(package_links)
    entries = (
        rootfs.base_entries(extra_users=(("nginx", 101),))
        + rootfs.binaries_with_libraries(programs, links, cache_file=rootfs.ldd_cache(cache))
        + _nginx_entrypoint()
        + [
            file_from("/etc/nginx/mime.types", tree / "etc/nginx/mime.types", 0o644),
            file_data("/etc/nginx/nginx.conf", NGINX_CONF),
            file_data("/etc/nginx/conf.d/default.conf", NGINX_DEFAULT_SERVER),
            file_from(
                "/usr/share/nginx/html/index.html",
                tree / "usr/share/nginx/html/index.html",
                0o644,
            ),
            file_data("/usr/share/nginx/html/50x.html", NGINX_50X),
            symlink("/var/log/nginx/access.log", "/dev/stdout"),
            symlink("/var/log/nginx/error.log", "/dev/stderr"),
            oci.directory("/var/lib/nginx"),
            oci.directory("/var/cache/nginx"),
        ]
    )
    return Image(
        names=(NGINX_IMAGE,),
        entries=entries,
        config=_config(
            ["nginx", "-g", "daemon off;"],
            Entrypoint=["/docker-entrypoint.sh"],
            ExposedPorts={"80/tcp": {}},
            StopSignal="SIGQUIT",
        ),
        description="nginx stand-in: Debian's nginx serving the default page on port 80, "
        "the official entrypoint's behaviour, a Debian user space",
    )


def _pause_binary(cache: Path) -> Path:
    """Compile pause.c statically (cached by its source and the compiler's version)."""
    source = HERE / "pause.c"
    gcc = shutil.which("gcc")
    if gcc is None:
        raise rootfs.ImageBuildError("gcc is needed to compile the pause image (Debian: gcc)")
    compiler = subprocess.run([gcc, "--version"], capture_output=True, text=True).stdout
    key = hashlib.sha256(source.read_bytes() + compiler.encode() + PAUSE_VERSION.encode())
    binary = cache / "pause" / key.hexdigest()[:16] / "pause"
    if binary.is_file():
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    tmp = binary.with_suffix(".tmp")
    result = subprocess.run(
        [
            gcc,
            "-Os",
            "-static",
            "-s",
            "-Wall",
            "-Wl,--build-id=none",
            f'-DVERSION="{PAUSE_VERSION}"',
            "-o",
            str(tmp),
            str(source),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise rootfs.ImageBuildError(f"gcc -static {source} failed:\n{result.stderr}")
    tmp.rename(binary)
    return binary


def pause_image(cache: Path) -> Image:
    return Image(
        names=(PAUSE_IMAGE,),
        entries=[file_from("/pause", _pause_binary(cache), 0o755)],
        config=_config(None, Entrypoint=["/pause"], User="65535:65535"),
        description="pause: a static C program holding the pod's namespaces and reaping",
    )


def coredns_image_spec(binaries: build.Binaries) -> Image:
    return Image(
        names=(COREDNS_IMAGE,),
        entries=[*rootfs.base_entries(), file_from("/coredns", binaries.path("coredns"), 0o755)],
        config=_config(None, Entrypoint=["/coredns"], ExposedPorts={"53/tcp": {}, "53/udp": {}}),
        description=f"CoreDNS {binaries.versions['coredns']} built from its Go module",
    )


def definitions(cache: Path, binaries: build.Binaries) -> list[Image]:
    """Every stand-in image, fully planned (files located, nothing written yet)."""
    return [
        busybox_image(cache),
        netshoot_image(cache),
        nginx_image(cache),
        pause_image(cache),
        coredns_image_spec(binaries),
        *calico.definitions(binaries, cache),
    ]


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def content_key(images: list[Image]) -> str:
    """A hash of every image's names, config and files (content, not host paths)."""
    digest = hashlib.sha256()
    for image in images:
        digest.update(json.dumps([image.names, image.config], sort_keys=True).encode())
        for entry in sorted(image.entries, key=lambda e: e.path):
            if entry.source is not None:
                content = _file_digest(entry.source)
            elif entry.data is not None:
                content = hashlib.sha256(entry.data).hexdigest()
            else:
                content = ""
            digest.update(
                f"{entry.path}\0{entry.kind}\0{entry.mode:o}\0{entry.target}\0"
                f"{entry.uid}:{entry.gid}\0".encode()
            )
            digest.update(content.encode() + b"\n")
    # The layout format itself (oci.py) is part of the definition.
    digest.update((HERE / "oci.py").read_bytes())
    return digest.hexdigest()[:16]


def ensure_images(progress: Progress = build.say, cache: Path | None = None) -> Path:
    """Build the store of stand-in images if its content changed; return its directory."""
    cache = build.CACHE_DIR if cache is None else cache
    binaries = build.ensure_binaries(progress)
    with build.cache_lock(cache, ".images.lock"):
        images = definitions(cache, binaries)
        # A stand-in that lost a tool of its fidelity list, or gained one the real image
        # lacks, would let a page pass here and fail for readers: refuse to build it.
        from tools.cluster.local.images import fidelity  # `python -m` runs it as __main__

        try:
            problems = fidelity.stand_in_problems(fidelity.load(), images)
        except fidelity.FidelityError as exc:
            raise rootfs.ImageBuildError(str(exc)) from exc
        if problems:
            raise rootfs.ImageBuildError("\n".join(problems))
        key = content_key(images)
        store = cache / "images" / key
        if (store / "index.json").is_file():
            return store
        progress(f"building the stand-in images into {store}")
        start = time.monotonic()
        store.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".store-", dir=store.parent))
        try:
            layout = oci.Layout(tmp)
            for image in images:
                layout.add_image(image)
                progress(f"  image {', '.join(image.names)}")
            layout.finish()
            if store.exists():
                shutil.rmtree(store)
            tmp.rename(store)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        progress(f"images built in {time.monotonic() - start:.1f}s")
        return store


def image_sizes(store: Path) -> dict[str, int]:
    """Image name -> size in bytes of its layer, config and manifest (for the report)."""
    index = json.loads((store / "index.json").read_text())
    sizes = {}
    for descriptor in index["manifests"]:
        blobs = store / "blobs" / "sha256"
        manifest = json.loads((blobs / descriptor["digest"].split(":")[1]).read_text())
        total = descriptor["size"] + manifest["config"]["size"]
        total += sum(layer["size"] for layer in manifest["layers"])
        sizes[descriptor["annotations"][oci.NAME_ANNOTATION]] = total
    return sizes


def main() -> int:
    try:
        store = ensure_images()
    except (build.BuildError, rootfs.ImageBuildError) as exc:
        print(f"error: {exc}")
        return 1
    print(f"store: {store}")
    for name, size in image_sizes(store).items():
        print(f"{name:45} {size / 1e6:7.1f} MB")
    return 0
