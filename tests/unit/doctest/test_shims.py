"""The `microk8s` and `sudo` commands the page's shell finds first."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tools.doctest import shims


def run(bin_dir: Path, command: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {"PATH": f"{bin_dir}:/usr/bin:/bin", "DOCTEST_PROVIDER": "local", **env}
    return subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, env=full, check=False
    )


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    d = tmp_path / "bin"
    d.mkdir()
    shims.install(d)
    fake = tmp_path / "fake"
    fake.write_text('#!/bin/bash\necho "$(basename "$0") $*"\n')
    fake.chmod(0o755)
    return d


def test_microk8s_kubectl_is_the_provider_kubectl(bin_dir: Path, tmp_path: Path) -> None:
    r = run(bin_dir, "microk8s kubectl get pods -o wide", DOCTEST_KUBECTL=str(tmp_path / "fake"))
    assert (r.returncode, r.stdout) == (0, "fake get pods -o wide\n")
    r = run(bin_dir, "microk8s.kubectl get svc", DOCTEST_KUBECTL=str(tmp_path / "fake"))
    assert r.stdout == "fake get svc\n"


def test_other_microk8s_subcommands_need_the_microk8s_provider(
    bin_dir: Path, tmp_path: Path
) -> None:
    r = run(bin_dir, "microk8s enable dns", DOCTEST_KUBECTL="x")
    assert r.returncode == 127
    assert r.stderr.startswith("microk8s enable: requires the microk8s provider (this run: local)")
    r = run(bin_dir, "microk8s status", DOCTEST_REAL_MICROK8S=str(tmp_path / "fake"))
    assert (r.returncode, r.stdout) == (0, "fake status\n")


@pytest.mark.skipif(os.geteuid() != 0, reason="the sudo shim only acts for root")
def test_sudo_runs_the_command_as_root(bin_dir: Path) -> None:
    assert run(bin_dir, "sudo -E id -u").stdout == "0\n"
    assert run(bin_dir, "sudo -u root -- echo ok").stdout == "ok\n"
    r = run(bin_dir, "sudo -u nobody id")
    assert r.returncode == 1 and "only -u root" in r.stderr
