"""`python -m tools.cluster up|down|status|bench|build` (what `nox -s cluster -- …` runs).

up      start the local cluster (idempotent), print the kubeconfig path at the end;
        --nodes N (1 to 3, default 2): the first node is this machine, the others
        namespaces of it
down    stop it and remove everything it created
status  what runs, the versions, the kubeconfig path; exits 0 when the cluster runs and
        answers, 1 when something is down, 3 when there is no cluster
bench   cold build time, `up` and `down` times for 1 and 2 nodes, resident memory (bench.py)
build   build (or find in the cache) the components and the stand-in images, start nothing
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.cluster", description="The local Kubernetes cluster."
    )
    parser.add_argument("command", choices=("up", "down", "status", "bench", "build"))
    parser.add_argument(
        "--measure-build",
        action="store_true",
        help="bench: also time a cold build in an empty cache (long: many minutes)",
    )
    parser.add_argument(
        "--nodes",
        type=int,
        default=None,
        metavar="N",
        help="up: how many nodes (1 to 3; default 2); a running cluster with another number "
        "is restarted",
    )
    args = parser.parse_args(argv)

    # Imported late so that `--help` works on any machine.
    from tools.cluster.local import build, lifecycle, preflight, supervisor

    def progress(line: str) -> None:
        print(line, flush=True)

    known = (
        preflight.PreflightError,
        supervisor.ComponentFailed,
        build.BuildError,
        RuntimeError,
        ValueError,
        OSError,
    )
    try:
        if args.command == "up":
            cluster = lifecycle.up(progress, nodes=args.nodes)
            print(f"kubeconfig: {cluster.kubeconfig}")
        elif args.command == "down":
            lifecycle.down(progress)
        elif args.command == "build":
            from tools.cluster.local import images

            # The images are made from the binaries: ensure_images builds those first.
            print(f"components built, images in {images.ensure_images(progress)}")
        elif args.command == "status":
            text, code = lifecycle.status()
            print(text)
            return code
        else:
            from tools.cluster import bench

            bench.main(measure_build=args.measure_build)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except known as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
