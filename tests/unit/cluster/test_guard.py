"""The nftables guard, read without a cluster: where it hooks and what it lets through."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tools.cluster.local import guard

NODE_IP = "10.152.182.1"


def test_base_chains_hook_before_the_iptables_filter_table() -> None:
    script = guard.script(NODE_IP)
    for hook in ("forward", "input", "output"):
        assert f"type filter hook {hook} priority -10; policy accept;" in script
    # iptables' filter table (kube-proxy's and Calico's chains) hooks at priority 0.
    assert guard.PRIORITY < 0


def test_the_guard_only_rejects() -> None:
    """An accept ends only this table's base chain; a drop or a reject would end the packet
    for everyone, so the guard's only final word is a reject, and never a drop of traffic it
    does not own."""
    for name, rules in guard.chains(NODE_IP).items():
        for rule in rules:
            assert " drop" not in rule, (name, rule)
        if name.startswith(("pod-", "node-")):
            assert rules[-1].startswith(guard.REJECT), name  # the catch-all comes last


def test_pods_may_reach_only_pods_services_and_the_node() -> None:
    forward = guard.chains(NODE_IP)["pod-forward"]
    accepted = [r.split()[2] for r in forward if " accept " in r]
    assert accepted == ["10.1.0.0/16", "10.152.183.0/24", NODE_IP]
    # Pods are recognised by their interface (Calico's cali…) and by their range.
    assert guard.chains(NODE_IP)["forward"][1:] == [
        'iifname "cali*" jump pod-forward',
        "ip saddr 10.1.0.0/16 jump pod-forward",
    ]


def test_pods_reach_only_the_apiserver_kubelet_and_upstream_dns_on_the_host() -> None:
    rules = guard.chains(NODE_IP)["pod-input"]
    services = [r.split(" accept")[0] for r in rules if "dport" in r]
    assert services == [
        f"ip daddr {NODE_IP} tcp dport 6443",
        f"ip daddr {NODE_IP} tcp dport 10250",
        # CoreDNS's `forward` to the Node's resolv.conf: the local upstream, UDP and TCP.
        f"ip daddr {NODE_IP} udp dport 53",
        f"ip daddr {NODE_IP} tcp dport 53",
    ]
    assert rules[0].startswith("ct state established,related accept")


def test_translated_host_traffic_stays_on_the_machine() -> None:
    rules = guard.chains(NODE_IP)["node-dnat"]
    assert [r.split()[2] for r in rules[:-1]] == ["10.1.0.0/16", NODE_IP, "127.0.0.0/8"]
    assert guard.chains(NODE_IP)["output"] == ["ct status dnat jump node-dnat"]


@pytest.mark.skipif(shutil.which("nft") is None or shutil.which("unshare") is None, reason="nft")
def test_nft_accepts_the_script_and_prints_it_back_unchanged() -> None:
    """In a throwaway network namespace (the host's ruleset is not touched)."""
    script = guard.script(NODE_IP)
    result = subprocess.run(
        [
            "unshare",
            "--net",
            "sh",
            "-c",
            f"nft -f - && nft list table {guard.FAMILY} {guard.TABLE}",
        ],
        input=script,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 and "Operation not permitted" in result.stderr:
        pytest.skip("needs root (unshare --net)")
    assert result.returncode == 0, result.stderr
    listed = [line.strip() for line in result.stdout.splitlines()]
    for rules in guard.chains(NODE_IP).values():
        for rule in rules:
            assert rule in listed  # what the cluster test compares against the live table
