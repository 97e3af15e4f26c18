"""The pages use only the tools and options that the real images have (fidelity.toml).

The first test reads every page of the site as it is rendered; the others show, on small
pages read by the same Markdown reader, what the check catches and what it says.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tools.cluster.local.images import commands, fidelity
from tools.cluster.local.images.oci import Image, file_data, symlink

IMAGES = fidelity.load()


class _Page:
    """A page as the renderer would give it: its lines and where each comes from."""

    def __init__(self, text: str, name: str = "docs/fr/page.md"):
        self.lines = textwrap.dedent(text).strip("\n").split("\n")
        self.name = name

    def where(self, index: int) -> str:
        return f"{self.name}:{index + 1}"


def problems(text: str) -> list[str]:
    return [str(p) for p in fidelity.check_blocks(fidelity.page_blocks(_Page(text)), IMAGES)]


def test_every_page_uses_only_what_the_real_images_have() -> None:
    found = fidelity.check_site()
    assert not found, "\n".join(map(str, found))


def test_traceroute_T_in_netshoot_is_refused_with_page_and_line() -> None:
    page = """
        ```bash
        microk8s kubectl run netshoot --image=nicolaka/netshoot --restart=Never -- sleep 3600
        ```

        <!-- doctest: vary=ip,number -->
        ```console
        $ microk8s kubectl exec netshoot -- traceroute -n -T -q 1 -w 2 $SVC_IP
        traceroute to 10.152.183.120 (10.152.183.120), 30 hops max, 60 byte packets
        ```
    """
    assert problems(page) == [
        "docs/fr/page.md:7: nicolaka/netshoot: `traceroute -T` does not exist in the real "
        "image (Alpine's busybox applet: netshoot installs no traceroute package): BusyBox's "
        "traceroute has no TCP mode: use `tcptraceroute HOST PORT`"
    ]


def test_tcptraceroute_with_the_port_after_the_host_is_accepted() -> None:
    page = """
        ```bash
        microk8s kubectl run netshoot --image=nicolaka/netshoot --restart=Never -- sleep 3600
        microk8s kubectl exec netshoot -- tcptraceroute -n -q 1 -w 2 $SVC_IP 80
        ```
    """
    assert problems(page) == []


def test_a_tool_the_real_image_lacks_is_named_with_what_to_use() -> None:
    page = """
        ```yaml
        apiVersion: v1
        kind: Pod
        metadata:
          name: duo
        spec:
          containers:
            - name: serveur
              image: nginx
            - name: voisin
              image: busybox
              command: ["sleep", "3600"]
        ```

        ```bash
        microk8s kubectl exec duo -c voisin -- wget -qO- http://localhost
        microk8s kubectl exec duo -c serveur -- wget -qO- http://localhost
        microk8s kubectl exec duo -- wget -qO- http://localhost
        ```
    """
    found = problems(page)
    # -c voisin is busybox: fine. -c serveur, and no -c (the first container), are nginx.
    assert len(found) == 2
    assert found[0].startswith("docs/fr/page.md:17: nginx has no `wget`: the official nginx")


def test_a_variable_from_kubectl_get_pods_l_finds_the_workload() -> None:
    page = """
        ```yaml
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: sante
        spec:
          template:
            metadata:
              labels:
                app: sante
            spec:
              containers:
                - name: httpd
                  image: busybox
                  command: ["sh", "-c", "exec httpd -f -p 8080 -h /www"]
                  livenessProbe:
                    exec:
                      command: ["cat", "/tmp/vivant"]
        ```

        ```bash
        POD_A=$(microk8s kubectl get pods -l app=sante -o jsonpath='{.items[0].metadata.name}')
        microk8s kubectl exec "$POD_A" -- sh -c 'echo ok > /www/pret.html; curl -s localhost'
        microk8s kubectl exec deployment/sante -- ping -c 1 -Q 0 localhost
        ```
    """
    assert problems(page) == [
        "docs/fr/page.md:23: busybox has no `curl`: busybox has no curl: use `wget -qO-`",
        "docs/fr/page.md:24: busybox: option -Q of `ping` is not in the fidelity list: check "
        "that the real image's ping (BusyBox applet (PING, FEATURE_FANCY_PING in defconfig)) "
        "has it, then add it to fidelity.toml",
    ]


def test_manifest_commands_run_in_their_own_image() -> None:
    page = """
        ```yaml
        apiVersion: v1
        kind: Pod
        metadata:
          name: outils
        spec:
          containers:
            - name: outils
              image: nicolaka/netshoot
              command: ["sh", "-c", "tcpdump -i eth0 -X -c 1"]
        ```
    """
    assert problems(page) == [
        "docs/fr/page.md:10: nicolaka/netshoot: option -X of `tcpdump` is not in the fidelity "
        "list: check that the real image's tcpdump (Alpine package tcpdump) has it, then add "
        "it to fidelity.toml"
    ]


def test_an_unknown_pod_or_image_is_a_problem_not_a_pass() -> None:
    page = """
        ```bash
        microk8s kubectl exec fantome -- ls
        microk8s kubectl run autre --image=alpine:3.20 -- sleep 60
        ```
    """
    assert problems(page) == [
        "docs/fr/page.md:2: cannot tell which image `kubectl exec fantome` runs in: no "
        "`kubectl run` or manifest shown in the page defines that Pod",
        "docs/fr/page.md:3: image alpine:3.20 has no fidelity list: add it to fidelity.toml",
    ]


def test_shell_builtins_wrappers_and_substitutions() -> None:
    page = """
        ```console
        $ microk8s kubectl run netshoot --image=nicolaka/netshoot -- sleep 3600
        $ microk8s kubectl exec netshoot -- sh -c \\
        >   'c=0x$(grep CapEff /proc/self/status | cut -f2); echo "$(( (c >> 13) & 1 ))"'
        1
        $ microk8s kubectl exec netshoot -- sh -c \\
        >   'timeout 60 tcpdump -i eth0 -nn -t -c 2 > /tmp/x 2>&1 &'
        $ microk8s kubectl exec netshoot -- sh -c 'for t in dig nmap; do command -v $t; done'
        $ microk8s kubectl exec netshoot -- sh -c \\
        >   'echo; nmap -sT web'
        ```
    """
    # grep, cut, timeout, tcpdump -nn…: listed; `command` is a builtin; nmap is only a word in
    # the loop, but a command on the last line (its continuation is read).
    assert problems(page) == [
        "docs/fr/page.md:9: `nmap` is not in the fidelity list of nicolaka/netshoot: check "
        "that the real image has it, then add it with its source to fidelity.toml"
    ]


def test_busybox_nslookup_takes_its_own_word_options() -> None:
    page = """
        ```bash
        microk8s kubectl run test --image=busybox --restart=Never -- sleep 3600
        microk8s kubectl exec test -- nslookup -type=a kubernetes.default.svc.cluster.local
        microk8s kubectl exec test -- nslookup -timeout=2 web
        ```
    """
    assert problems(page) == [
        "docs/fr/page.md:4: busybox: option -timeout=2 of `nslookup` is not in the fidelity "
        "list: check that the real image's nslookup (BusyBox applet (NSLOOKUP, "
        "FEATURE_NSLOOKUP_BIG in defconfig): its own resolver; the search list only for names "
        "without a dot) has it, then add it to fidelity.toml"
    ]


def test_a_malformed_fidelity_list_names_the_entry(tmp_path: Path) -> None:
    bad = tmp_path / "fidelity.toml"
    bad.write_text(
        '[images.x]\nnames = ["x"]\nreal = "r"\nprovenance = "p"\nstand_in = "s"\n'
        '[images.x.tools.ip]\nfrom = "f"\nsource = "s"\noptions = ["-br"]\n'
    )
    with pytest.raises(fidelity.FidelityError, match=r"\[images\.x\]\.tools\.ip: '-br': a getopt"):
        fidelity.load(bad)
    bad.write_text('[images.x]\nnames = ["x"]\n')
    with pytest.raises(fidelity.FidelityError, match=r"\[images\.x\]: missing key 'real'"):
        fidelity.load(bad)


def test_stand_ins_must_carry_the_listed_tools_and_not_the_absent_ones() -> None:
    spec = {"nginx": IMAGES["nginx"]}
    complete = Image(
        names=("docker.io/library/nginx:latest",),
        entries=[file_data(f"/bin/{tool}", "") for tool in spec["nginx"].tools],
        config={},
    )
    assert fidelity.stand_in_problems(spec, [complete]) == []
    with_wget = Image(
        names=complete.names,
        entries=[e for e in complete.entries if e.path != "/bin/ls"] + [symlink("/bin/wget", "x")],
        config={},
    )
    assert fidelity.stand_in_problems(spec, [with_wget]) == [
        "the nginx stand-in has no `ls`, which fidelity.toml lists",
        "the nginx stand-in has `wget`, which the real image lacks (fidelity.toml): a page "
        "could use it and pass here only",
    ]


@pytest.mark.parametrize(
    ("reference", "name"),
    [
        ("busybox", "busybox"),
        ("busybox:1.37", "busybox"),
        ("docker.io/library/busybox:latest", "busybox"),
        ("nicolaka/netshoot:v0.16", "nicolaka/netshoot"),
        ("docker.io/nicolaka/netshoot", "nicolaka/netshoot"),
        ("localhost:5000/nginx", "localhost:5000/nginx"),
    ],
)
def test_short_name(reference: str, name: str) -> None:
    assert fidelity.short_name(reference) == name


def test_commands_split_keeps_lines_and_inner_commands() -> None:
    script = commands.split(
        "A=$(kubectl get pods -l app=web \\\n  -o name)  # comment\n"
        "cat <<EOF | kubectl apply -f -\nkind: Pod\nEOF\n"
        'echo "$A" >/dev/null 2>&1 && ping -c 1 x\n'
    )
    found = [(c.line, c.argv) for c in script.commands]
    assert found == [
        (0, []),
        (2, ["cat"]),
        (2, ["kubectl", "apply", "-f", "-"]),
        (5, ["echo", "$A"]),
        (5, ["ping", "-c", "1", "x"]),
    ]
    assert script.commands[0].assignments[0].startswith("A=")
    inner = next(iter(script.commands[0].substitutions.values()))
    assert inner.commands[0].argv == ["kubectl", "get", "pods", "-l", "app=web", "-o", "name"]
    with pytest.raises(commands.ShellSyntaxError):
        commands.split("echo 'open")
