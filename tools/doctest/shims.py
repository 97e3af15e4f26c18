"""Commands the page's shell finds first on its PATH.

Pages are written as MicroK8s readers type them: `microk8s kubectl …`, sometimes `sudo`.
On every cluster `microk8s kubectl` is the provider's kubectl with the page's kubeconfig
(so, its namespace); other `microk8s` subcommands need the microk8s provider.  `sudo` runs
the command as is when the doctest already runs as root.
"""

from __future__ import annotations

from pathlib import Path

MICROK8S_SHIM = r"""#!/bin/bash
# doctest shim: `microk8s kubectl …` is the provider's kubectl on every cluster, with the
# page's kubeconfig (its namespace); other subcommands need the microk8s provider.
if [ "$1" = kubectl ]; then shift; exec "$DOCTEST_KUBECTL" "$@"; fi
if [ -n "$DOCTEST_REAL_MICROK8S" ]; then exec "$DOCTEST_REAL_MICROK8S" "$@"; fi
echo "microk8s $1: requires the microk8s provider (this run: $DOCTEST_PROVIDER);" \
  "mark the example <!-- doctest: requires=microk8s reason=\"…\" -->" >&2
exit 127
"""

MICROK8S_DOT_KUBECTL_SHIM = """#!/bin/bash
exec microk8s kubectl "$@"
"""

SUDO_SHIM = r"""#!/bin/bash
# doctest shim: pages are written for a reader who types `sudo`; the doctest runs as root.
if [ "$(id -u)" != 0 ]; then exec /usr/bin/sudo "$@"; fi
while [ $# -gt 0 ]; do
  case "$1" in
    -E|-H|-n|-S|--preserve-env|--preserve-env=*) shift ;;
    -u) [ "$2" = root ] || { echo "sudo (doctest shim): only -u root" >&2; exit 1; }; shift 2 ;;
    --) shift; break ;;
    -*) echo "sudo (doctest shim): option $1 not supported" >&2; exit 1 ;;
    *) break ;;
  esac
done
exec "$@"
"""


def install(bin_dir: Path) -> None:
    for name, text in (
        ("microk8s", MICROK8S_SHIM),
        ("microk8s.kubectl", MICROK8S_DOT_KUBECTL_SHIM),
        ("sudo", SUDO_SHIM),
    ):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
