"""Stand-ins for Calico's three images, built from the Calico binaries of the local cluster.

The real images (their Dockerfiles are in Calico's module zip: `node/Dockerfile.amd64`,
`cni-plugin/Dockerfile`, `kube-controllers/Dockerfile`) are rebuilt here with the same paths,
commands and start-up scripts: calico/node starts `start_runit`, which runs Calico's own
`rc.local` and runit services (copied from the module zip at build time), with Debian's
runit, iptables (legacy and nft), ipset, conntrack and iproute2 in place of the UBI packages.
What still differs is listed in `FIDELITY` and in README.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from tools.cluster.local import build
from tools.cluster.local.images import rootfs
from tools.cluster.local.images.oci import Entry, Image, file_from, hardlink, symlink

RELEASE: Final = build.CALICO_RELEASE
NODE_IMAGE: Final = f"docker.io/calico/node:{RELEASE}"
CNI_IMAGE: Final = f"docker.io/calico/cni:{RELEASE}"
KUBE_CONTROLLERS_IMAGE: Final = f"docker.io/calico/kube-controllers:{RELEASE}"
IMAGES: Final = (NODE_IMAGE, CNI_IMAGE, KUBE_CONTROLLERS_IMAGE)

# calico/cni's /opt/cni/bin: Calico's plugin (also its IPAM plugin, by name) and installer,
# and the reference plugins Calico's Makefile copies in (CN_FILES), built from
# containernetworking/plugins (Calico ships its own fork of them).
CNI_REFERENCE_PLUGINS: Final = ("host-local", "portmap", "loopback", "tuning", "bandwidth")

# Debian's iptables: both back-ends and every name Felix may call (FindBestBinary tries the
# -legacy/-nft names first). Plain `iptables*` point at legacy, as the real image's
# alternatives do.
XTABLES_NAMES: Final = {
    "xtables-legacy-multi": (
        "iptables-legacy",
        "iptables-legacy-save",
        "iptables-legacy-restore",
        "ip6tables-legacy",
        "ip6tables-legacy-save",
        "ip6tables-legacy-restore",
        "iptables",
        "iptables-save",
        "iptables-restore",
        "ip6tables",
        "ip6tables-save",
        "ip6tables-restore",
    ),
    "xtables-nft-multi": (
        "iptables-nft",
        "iptables-nft-save",
        "iptables-nft-restore",
        "ip6tables-nft",
        "ip6tables-nft-save",
        "ip6tables-nft-restore",
    ),
}
XTABLES_EXTENSIONS: Final = "/usr/lib/x86_64-linux-gnu/xtables"
# The tools of calico/node taken from Debian: package -> {path in the package: image path}.
NODE_TOOLS: Final[dict[str, dict[str, str]]] = {
    "bash": {"/bin/bash": "/bin/bash"},
    "ipset": {"/usr/sbin/ipset": "/usr/sbin/ipset"},
    "conntrack": {"/usr/sbin/conntrack": "/usr/sbin/conntrack"},
    "iproute2": {"/bin/ip": "/usr/sbin/ip"},
    "iptables": {f"/usr/sbin/{multi}": f"/usr/sbin/{multi}" for multi in XTABLES_NAMES},
}
# runit, as the real image builds it from source into /usr/local/bin. Its Debian package is
# unpacked, not installed: installing it could start runsvdir on the host.
RUNIT_PACKAGES: Final = ("runit",)
RUNIT_COMMANDS: Final = ("runsvdir", "runsv", "sv", "svlogd", "chpst")

# What the stand-ins lack or do differently, for the README and the notes.
FIDELITY: Final = (
    "calico/node: Debian 12's iptables 1.8.9, ipset 7.17, conntrack 1.4.7 and runit 2.1.2 "
    "instead of UBI 8 with iptables 1.8.8 and ipset 7.11; no BIRD, confd templates, "
    "bpftool, mountns, kmod (modprobe), procps, net-tools or iputils; busybox applets "
    "instead of coreutils.",
    "Calico binaries built with CGO_ENABLED=0: Felix's eBPF data plane is missing (MicroK8s "
    "uses the iptables data plane).",
    "calico/cni: the reference plugins come from containernetworking/plugins, not Calico's "
    "fork; no flannel plugin; calico-ipam is a hard link to calico (a copy upstream).",
    "calico/kube-controllers: same files and user 999; no /licenses.",
    "No bpftool: Felix logs `bpftool not found` and one `[ERROR] Failed to run bpftool` at "
    "start (XDP acceleration, unused by MicroK8s' iptables data plane).",
)


def _module_files(root: Path, image_root: str) -> list[Entry]:
    """Every file under `root` (collected from Calico's module zip) at `image_root`.

    Go module zips do not keep file modes: scripts (rc.local, the runit `run` files, sbin)
    are made executable, as they are in Calico's repository.
    """
    entries = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root)
        executable = (
            image_root.endswith("sbin")
            or relative.name in ("run", "rc.local")
            or path.read_bytes()[:2] == b"#!"
        )
        entries.append(file_from(f"{image_root}/{relative}", path, 0o755 if executable else 0o644))
    return entries


def node_image(binaries: build.Binaries, cache: Path) -> Image:
    etc = binaries.upstream("calico", "node/etc")
    sbin = binaries.upstream("calico", "node/sbin")
    tools: dict[str, Path] = {}
    for package, files in NODE_TOOLS.items():
        for source, dest in files.items():
            tools[dest] = rootfs.package_file(package, source)
    extensions = sorted(
        p
        for p in rootfs.package_files("iptables")
        if p.startswith(XTABLES_EXTENSIONS + "/") and p.endswith(".so")
    )
    for extension in extensions:
        tools[extension] = Path(extension)
    runit = rootfs.deb_tree(RUNIT_PACKAGES, cache)
    for command in RUNIT_COMMANDS:
        tools[f"/usr/local/bin/{command}"] = _deb_file(runit, command)
    upstream = _module_files(etc, "/etc") + _module_files(sbin, "/usr/sbin")
    ours = {e.path for e in upstream}
    links = [
        symlink(f"/usr/sbin/{name}", multi)
        for multi, names in XTABLES_NAMES.items()
        for name in names
    ]
    provided = {Path(dest).name for dest in tools} | {Path(e.path).name for e in links} | {"sh"}
    entries = (
        [e for e in rootfs.base_entries() if e.path not in ours]
        + rootfs.busybox_entries(
            rootfs.debian_busybox(cache),
            skip=provided - {"sh"},
            cache_file=rootfs.ldd_cache(cache),
        )
        + rootfs.binaries_with_libraries(tools, cache_file=rootfs.ldd_cache(cache))
        + links
        + upstream
        + [
            file_from("/bin/calico-node", binaries.path("calico-node"), 0o4755),
            # start_runit finds runsvdir with /usr/bin/which.
            symlink("/usr/bin/which", "/bin/busybox"),
        ]
    )
    return Image(
        names=(NODE_IMAGE,),
        entries=entries,
        config={
            "Env": [rootfs.PATH_ENV, "SVDIR=/etc/service/enabled"],
            "WorkingDir": "/",
            "Cmd": ["start_runit"],
        },
        description=f"calico/node stand-in: calico-node {RELEASE} with Calico's runit scripts, "
        "Debian's runit, iptables, ipset, conntrack, iproute2, bash and busybox",
    )


def _deb_file(tree: Path, command: str) -> Path:
    for directory in ("usr/bin", "usr/sbin", "bin", "sbin"):
        candidate = tree / directory / command
        if candidate.is_file():
            return candidate
    raise rootfs.ImageBuildError(f"runit's package has no {command} (looked in {tree})")


def cni_image(binaries: build.Binaries) -> Image:
    entries = [
        *rootfs.base_entries(),
        file_from("/opt/cni/bin/calico", binaries.path("calico"), 0o755),
        hardlink("/opt/cni/bin/calico-ipam", "/opt/cni/bin/calico"),
        file_from("/opt/cni/bin/install", binaries.path("install"), 0o755),
        *(
            file_from(f"/opt/cni/bin/{plugin}", binaries.path(plugin), 0o755)
            for plugin in CNI_REFERENCE_PLUGINS
        ),
    ]
    path = "PATH=/opt/cni/bin:" + rootfs.PATH_ENV.split("=", 1)[1]
    return Image(
        names=(CNI_IMAGE,),
        entries=entries,
        config={"Env": [path], "WorkingDir": "/opt/cni/bin", "Cmd": ["/opt/cni/bin/install"]},
        description=f"calico/cni stand-in: Calico's CNI plugin and installer {RELEASE}, "
        "with the reference plugins host-local, portmap, loopback, tuning, bandwidth",
    )


def kube_controllers_image(binaries: build.Binaries) -> Image:
    owned = {"uid": 999, "gid": 999}
    entries = [
        *rootfs.base_entries(extra_users=(("calico", 999),)),
        file_from("/usr/bin/kube-controllers", binaries.path("kube-controllers"), 0o755),
        file_from("/usr/bin/check-status", binaries.path("check-status"), 0o755),
        Entry("/status", "dir", 0o755, **owned),
        Entry("/status/status.json", "file", 0o644, data=b"", **owned),
        Entry("/profiles", "dir", 0o755, **owned),
        Entry("/profiles/mem.pprof", "file", 0o644, data=b"", **owned),
        Entry("/profiles/cpu.pprof", "file", 0o644, data=b"", **owned),
    ]
    return Image(
        names=(KUBE_CONTROLLERS_IMAGE,),
        entries=entries,
        config={
            "Env": [rootfs.PATH_ENV],
            "WorkingDir": "/",
            "User": "999",
            "Entrypoint": ["/usr/bin/kube-controllers"],
        },
        description=f"calico/kube-controllers stand-in: kube-controllers {RELEASE} and "
        "check-status, user 999",
    )


def definitions(binaries: build.Binaries, cache: Path) -> list[Image]:
    return [node_image(binaries, cache), cni_image(binaries), kube_controllers_image(binaries)]
