"""``python -m tests.cluster.images [build | import --address SOCK | verify]``

build   build every image missing from the cache; print each image, its archive and the time
import  build, then import every image into the containerd at SOCK (namespace k8s.io)
verify  build, then import into a throwaway containerd of its own and run every image's checks
"""

from __future__ import annotations

import argparse
import sys
import time

from tests.cluster.errors import ClusterError
from tests.cluster.images.build import build_all
from tests.cluster.images.ctr import import_images


def _log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.cluster.images", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("build", help="build the images missing from the cache")
    imp = sub.add_parser("import", help="build, then import into a containerd (namespace k8s.io)")
    imp.add_argument("--address", required=True, help="containerd's socket")
    imp.add_argument(
        "--snapshotter", default=None, help="unpack for this snapshotter (containerd's default)"
    )
    sub.add_parser("verify", help="build, then check every image in a throwaway containerd")
    args = parser.parse_args(argv)
    command = args.command or "build"
    started = time.monotonic()
    try:
        built = build_all(_log)
        print(f"{'image':<20} {'reference':<46} {'seconds':>8}  archive")
        for item in built:
            print(
                f"{item.name:<20} {item.archive.ref:<46} {item.seconds:>8.1f}  {item.archive.path}"
            )
        print(f"built in {time.monotonic() - started:.1f}s")
        archives = [item.archive for item in built]
        if command == "import":
            step = time.monotonic()
            import_images(args.address, archives, snapshotter=args.snapshotter, log=_log)
            print(f"imported into {args.address} in {time.monotonic() - step:.1f}s")
        elif command == "verify":
            from tests.cluster.images.verify import verify_images

            step = time.monotonic()
            checks = verify_images(archives, log=_log)
            print(f"{len(checks)} checks passed in {time.monotonic() - step:.1f}s")
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
