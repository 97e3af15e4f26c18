"""Pins come from the wrapper go.mod files and give a stable cache key."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tools.cluster.local import build

TOOLCHAIN = "go1.26.8/linux/amd64"


@pytest.fixture
def gomod(tmp_path: Path) -> Path:
    """A copy of the committed wrapper modules' pin files, safe to edit."""
    for component in build.COMPONENTS:
        src = build.GOMOD_DIR / component.name
        dest = tmp_path / component.name
        dest.mkdir()
        for path in src.iterdir():
            if path.name in ("go.mod", "go.sum") or path.suffix == ".go":
                shutil.copy(path, dest / path.name)
    return tmp_path


def test_pins_are_read_from_the_wrapper_modules() -> None:
    pins = build.pins()
    assert set(pins) == {c.name for c in build.COMPONENTS}
    assert pins["kubernetes"].startswith("v1.37.")
    for version in pins.values():
        assert version.startswith("v") and version.count(".") == 2


def test_key_is_stable(gomod: Path) -> None:
    for component in build.COMPONENTS:
        first = build.component_key(component, TOOLCHAIN, gomod)
        assert first == build.component_key(component, TOOLCHAIN, gomod)
        assert first == build.component_key(component, TOOLCHAIN, build.GOMOD_DIR)


def test_key_changes_with_the_pin_and_the_toolchain(gomod: Path) -> None:
    etcd = next(c for c in build.COMPONENTS if c.name == "etcd")
    coredns = next(c for c in build.COMPONENTS if c.name == "coredns")
    before = {c.name: build.component_key(c, TOOLCHAIN, gomod) for c in (etcd, coredns)}
    assert build.component_key(etcd, "go1.27.0/linux/amd64", gomod) != before["etcd"]
    go_mod = gomod / "etcd" / "go.mod"
    go_mod.write_text(go_mod.read_text().replace("v3.6.16", "v3.6.99"))
    assert build.pinned_version(etcd, gomod) == "v3.6.99"
    assert build.component_key(etcd, TOOLCHAIN, gomod) != before["etcd"]
    # Another component's pin is untouched: no rebuild of it.
    assert build.component_key(coredns, TOOLCHAIN, gomod) == before["coredns"]


def test_missing_or_indirect_pin_is_a_clear_error(gomod: Path) -> None:
    coredns = next(c for c in build.COMPONENTS if c.name == "coredns")
    go_mod = gomod / "coredns" / "go.mod"
    text = go_mod.read_text()
    go_mod.write_text(text.replace("require github.com/coredns/coredns v1.14.6", ""))
    with pytest.raises(build.BuildError, match=r"go.mod: no `require github.com/coredns/coredns"):
        build.pinned_version(coredns, gomod)
    go_mod.write_text(
        text.replace(
            "require github.com/coredns/coredns v1.14.6",
            "require github.com/coredns/coredns v1.14.6 // indirect",
        )
    )
    with pytest.raises(build.BuildError, match=r"go.mod:\d+: .* must be a direct require"):
        build.pinned_version(coredns, gomod)


def test_binaries_path_names_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "cni").mkdir()
    (tmp_path / "cni" / "bridge").write_text("")
    binaries = build.Binaries(tmp_path / "bin", tmp_path / "cni", {})
    assert binaries.path("bridge") == tmp_path / "cni" / "bridge"
    with pytest.raises(build.BuildError, match="no binary 'kubelet'"):
        binaries.path("kubelet")


def test_system_packages_cover_the_runtime() -> None:
    for package in ("runc", "iptables", "conntrack", "tcptraceroute", "bind9-dnsutils"):
        assert package in build.SYSTEM_PACKAGES
    assert len(set(build.SYSTEM_PACKAGES)) == len(build.SYSTEM_PACKAGES)


def test_staging_modules_are_replaced_with_the_pinned_release() -> None:
    # k8s.io/kubernetes v1.X.Y needs its staging modules at v0.X.Y: bumping the pin without
    # them builds a mix of two releases.
    pin = build.kubernetes_version()
    go_mod = (build.GOMOD_DIR / "kubernetes" / "go.mod").read_text()
    replaced = dict(re.findall(r"^\s*(k8s\.io/\S+) => k8s\.io/\S+ (v\S+)$", go_mod, re.M))
    assert len(replaced) > 20
    wrong = {m: v for m, v in replaced.items() if v != "v0" + pin.removeprefix("v1")}
    assert not wrong, f"staging modules not at the {pin} release: {wrong}"


def test_calico_reports_its_release_not_its_pseudo_version(tmp_path: Path) -> None:
    calico = next(c for c in build.COMPONENTS if c.name == "calico")
    assert build.pinned_version(calico).startswith("v1.11.0-cni-plugin.0.")
    assert build.released_version(calico) == build.pins()["calico"] == "v3.28.5"
    # The pinned commit must be the release: its calico.yaml names the release's images.
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "calico.yaml").write_text("          image: docker.io/calico/node:v3.28.5\n")
    build._check_release(calico, tmp_path, "v3.28.5")
    (manifests / "calico.yaml").write_text("          image: docker.io/calico/node:v3.29.0\n")
    with pytest.raises(build.BuildError, match=r"go\.mod: .* is not v3\.28\.5: its manifests"):
        build._check_release(calico, tmp_path, "v3.28.5")


def test_collected_upstream_files_are_found_or_named(tmp_path: Path) -> None:
    (tmp_path / "upstream" / "manifests").mkdir(parents=True)
    (tmp_path / "upstream" / "manifests" / "calico.yaml").write_text("")
    binaries = build.Binaries(tmp_path, tmp_path, {}, component_dirs={"calico": tmp_path})
    assert binaries.upstream("calico", "manifests/calico.yaml").is_file()
    with pytest.raises(build.BuildError, match="no collected upstream file node/etc"):
        binaries.upstream("calico", "node/etc")


def test_a_pinned_toolchain_builds_that_component_only(gomod: Path) -> None:
    calico = next(c for c in build.COMPONENTS if c.name == "calico")
    etcd = next(c for c in build.COMPONENTS if c.name == "etcd")
    assert build.module_toolchain(calico, gomod) == "go1.23.12"
    assert build.module_toolchain(etcd, gomod) is None
    # The host's Go does not change a component built with its own toolchain…
    for host in (TOOLCHAIN, "go1.27.0/linux/amd64"):
        assert build._toolchain_for(calico, host, gomod) == "go1.23.12/linux/amd64"
    assert build.component_key(calico, TOOLCHAIN, gomod) == build.component_key(
        calico, "go1.27.0/linux/amd64", gomod
    )
    # …but its pinned toolchain does.
    before = build.component_key(calico, TOOLCHAIN, gomod)
    go_mod = gomod / "calico" / "go.mod"
    go_mod.write_text(go_mod.read_text().replace("toolchain go1.23.12", "toolchain go1.23.11"))
    assert build.component_key(calico, TOOLCHAIN, gomod) != before


def test_a_module_not_yet_downloaded_is_an_error_not_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On an empty module cache, Go names no directory for the module: that must stop the
    build with the module's name, never be read as "." (seen on a fresh machine:
    `calico: cannot read manifests/calico.yaml`)."""
    fake = tmp_path / "go"
    fake.write_text("#!/bin/sh\nexit 0\n")  # answers nothing, as for a module not downloaded
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    calico = next(c for c in build.COMPONENTS if c.name == "calico")
    wanted = re.escape("cannot locate github.com/projectcalico/calico")
    with pytest.raises(build.BuildError, match=wanted):
        build._module_dir(calico)
