"""``python -m tests.cluster.addons COMMAND``: the add-ons by hand.

build                 build the binaries and the images; print the archives
render DIR [--dns-ip IP] [--cluster-domain D]
                      write the manifests in apply order: DIR/00-crds.txt lists the CRD
                      files (module cache), DIR/NN-<addon>.yaml the rendered add-ons
apply [--dns-ip IP]   apply everything to the test cluster (admin kubeconfig)
wait [--dns-ip IP] [--timeout S]
                      wait until every add-on works (DNS and Prometheus checked end to end)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.cluster.errors import ClusterError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.cluster.addons")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build")
    render = sub.add_parser("render")
    render.add_argument("dir", type=Path)
    for p in (render, sub.add_parser("apply"), wait := sub.add_parser("wait")):
        p.add_argument("--dns-ip", default="10.96.0.10")
        p.add_argument("--cluster-domain", default="cluster.local")
    wait.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args(argv)

    from tests.cluster import addons

    try:
        if args.command == "build":
            for archive in addons.ensure_addon_images(log=print):
                print(archive.ref, archive.path)
        elif args.command == "render":
            args.dir.mkdir(parents=True, exist_ok=True)
            documents = addons.render_addons(args.dns_ip, cluster_domain=args.cluster_domain)
            crds = [str(d) for d in documents if isinstance(d, Path)]
            (args.dir / "00-crds.txt").write_text("\n".join(crds) + "\n")
            texts = [d for d in documents if isinstance(d, str)]
            for number, (name, text) in enumerate(zip(addons.MANIFESTS, texts, strict=True), 1):
                (args.dir / f"{number:02d}-{name}").write_text(text)
            print(f"wrote {args.dir}/00-crds.txt ({len(crds)} CRDs) and {len(texts)} manifests")
        elif args.command == "apply":
            addons.apply_addons(args.dns_ip, cluster_domain=args.cluster_domain, log=print)
        elif args.command == "wait":
            addons.wait_addons(
                timeout_s=args.timeout,
                dns_cluster_ip=args.dns_ip,
                cluster_domain=args.cluster_domain,
                log=print,
            )
            print("add-ons ready")
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
