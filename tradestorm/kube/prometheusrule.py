"""Keep ``k8s/base/monitoring/prometheusrule.yaml`` in step with ``slo/rules``.

The PrometheusRule must carry the SLI groups of ``slo/rules/common.yaml`` and
``slo/rules/kubernetes.yaml`` verbatim (the SLO specs query only those names),
followed by this deployment's own alert group. Kustomize cannot read files
outside ``k8s/``, so the groups are copied by this tool::

    uv run python -m tradestorm.kube.prometheusrule          # rewrite the groups
    uv run python -m tradestorm.kube.prometheusrule --check  # exit 1 when out of date

Only ``spec.groups`` is rewritten; the header comment, metadata and the alert
group are kept.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

ALERT_GROUP = "tradestorm-alerts"


def _repo() -> Path:
    return Path(__file__).resolve().parents[2]


def sli_groups(rules_dir: Path) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for name in ("common.yaml", "kubernetes.yaml"):
        groups += yaml.safe_load((rules_dir / name).read_text())["groups"]
    return groups


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def synced_text(rule_file: Path, rules_dir: Path) -> str:
    text = rule_file.read_text()
    head, sep, body = text.partition("apiVersion:")
    obj = yaml.safe_load(sep + body)
    alerts = [g for g in obj["spec"]["groups"] if g["name"] == ALERT_GROUP]
    obj["spec"]["groups"] = sli_groups(rules_dir) + alerts
    return head + yaml.dump(obj, Dumper=_Dumper, sort_keys=False, width=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if stale")
    args = parser.parse_args(argv)
    repo = _repo()
    rule_file = repo / "k8s/base/monitoring/prometheusrule.yaml"
    new = synced_text(rule_file, repo / "slo/rules")
    if new == rule_file.read_text():
        print(f"{rule_file.relative_to(repo)} is in step with slo/rules")
        return 0
    if args.check:
        print(f"{rule_file.relative_to(repo)} differs from slo/rules: run "
              "python -m tradestorm.kube.prometheusrule", file=sys.stderr)
        return 1
    rule_file.write_text(new)
    print(f"{rule_file.relative_to(repo)} updated from slo/rules")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
