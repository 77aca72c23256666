"""The PrometheusRule carries exactly the SLI recording rules of slo/rules
(common + kubernetes) plus this deployment's alerts, all valid for promtool;
the Grafana dashboard queries only names that exist, in valid PromQL."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.k8s.conftest import REPO
from tests.k8s.manifests import find

RULES = REPO / "slo" / "rules"
DOCS = REPO / "docs" / "kubernetes.md"
DASHBOARD = REPO / "k8s" / "base" / "monitoring" / "dashboard-tradestorm.json"
ALERT_GROUP = "tradestorm-alerts"


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is required (Debian package prometheus) and is not installed")
    return path


def promtool_check(groups: list[dict[str, Any]], tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True,
                          text=True, timeout=60)


@pytest.fixture(scope="module")
def rule_groups(renders: dict[str, Any]) -> list[dict[str, Any]]:
    rule = find(renders["overlay:eks"], "PrometheusRule", "tradestorm")
    assert rule is not None
    return rule["spec"]["groups"]


def test_the_sli_groups_are_exactly_the_slo_rules(rule_groups: list[dict[str, Any]]) -> None:
    expected = (yaml.safe_load((RULES / "common.yaml").read_text())["groups"]
                + yaml.safe_load((RULES / "kubernetes.yaml").read_text())["groups"])
    ours = [g for g in rule_groups if g["name"] != ALERT_GROUP]
    assert ours == expected, "run: uv run python -m tradestorm.kube.prometheusrule"


def test_the_sync_tool_reports_a_stale_rule_file(tmp_path: Path) -> None:
    from tradestorm.kube.prometheusrule import synced_text

    rules = tmp_path / "rules"
    rules.mkdir()
    for name in ("common.yaml", "kubernetes.yaml"):
        (rules / name).write_text((RULES / name).read_text())
    rule_file = tmp_path / "prometheusrule.yaml"
    rule_file.write_text((REPO / "k8s/base/monitoring/prometheusrule.yaml").read_text())
    assert synced_text(rule_file, rules) == rule_file.read_text()  # in step now
    changed = yaml.safe_load((rules / "common.yaml").read_text())
    changed["groups"][0]["rules"][0]["expr"] = "vector(1)"
    (rules / "common.yaml").write_text(yaml.safe_dump(changed))
    synced = synced_text(rule_file, rules)
    assert "vector(1)" in synced and "tradestorm-alerts" in synced
    assert synced.startswith("# SLI recording rules")  # the header comment is kept


def test_the_local_target_rules_are_not_deployed(rule_groups: list[dict[str, Any]]) -> None:
    local = {g["name"] for g in yaml.safe_load((RULES / "local.yaml").read_text())["groups"]}
    assert local.isdisjoint(g["name"] for g in rule_groups)


def test_every_rule_passes_promtool(rule_groups: list[dict[str, Any]], tmp_path: Path) -> None:
    proc = promtool_check(rule_groups, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_promtool_rejects_a_broken_rule(rule_groups: list[dict[str, Any]], tmp_path: Path
                                        ) -> None:
    broken = [{"name": "x", "rules": [{"alert": "Broken", "expr": "sum(rate(up[5m])"}]}]
    assert promtool_check(broken, tmp_path).returncode != 0


def test_every_alert_is_actionable(rule_groups: list[dict[str, Any]]) -> None:
    alerts = next(g for g in rule_groups if g["name"] == ALERT_GROUP)["rules"]
    assert len(alerts) >= 5
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.strip("# ").lower()).replace(" ", "-")
               for h in DOCS.read_text().splitlines() if h.startswith("#")}
    for rule in alerts:
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        anchor = rule["annotations"]["runbook_url"].rsplit("#", 1)[1]
        assert anchor in anchors, f"{rule['alert']}: no runbook section #{anchor} in {DOCS}"
        assert "for" in rule, f"{rule['alert']} would page on a single bad sample"


def test_the_alerts_cover_the_failures_a_trading_sre_pages_on(
    rule_groups: list[dict[str, Any]],
) -> None:
    alerts = next(g for g in rule_groups if g["name"] == ALERT_GROUP)["rules"]
    exprs = " ".join(r["expr"] for r in alerts)
    for name in ("service:http_errors:ratio_rate10s", "service:http_latency_seconds:p99_10s",
                 "platform:database_up", "platform:outbox_lag_seconds",
                 "kube_horizontalpodautoscaler_status_current_replicas",
                 "kube_cronjob_status_last_successful_time"):
        assert name in exprs, name


def _dashboard_exprs() -> list[str]:
    """The PromQL of every Prometheus panel and annotation (the logs panel is LogQL)."""
    dash = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])
             if (t.get("datasource") or p["datasource"])["type"] == "prometheus"]
    exprs += [a["expr"] for a in dash["annotations"]["list"]
              if a["datasource"]["type"] == "prometheus"]
    assert len(exprs) >= sum(len(p.get("targets", [])) for p in dash["panels"]) - 1
    return exprs


def test_the_burn_rate_alerts_page_fast_and_warn_slow(rule_groups: list[dict[str, Any]]) -> None:
    """Multiwindow burn rates of the 99.5 % objective: a fast burn pages (critical, which
    Alertmanager sends to PagerDuty), a slow one warns (Slack)."""
    alerts = {r["alert"]: r for r in next(g for g in rule_groups if g["name"] == ALERT_GROUP)
              ["rules"]}
    fast, slow = alerts["TradestormErrorBudgetBurnFast"], alerts["TradestormErrorBudgetBurnSlow"]
    assert fast["labels"]["severity"] == "critical" and slow["labels"]["severity"] == "warning"
    for rule, factor, windows in ((fast, "14.4", ("[1h]", "[5m]")),
                                  (slow, "6", ("[6h]", "[30m]"))):
        assert f"({factor} * 0.005)" in rule["expr"], rule["alert"]
        assert all(w in rule["expr"] for w in windows) and "\nand\n" in rule["expr"]


def test_the_dashboard_shows_the_platform_logs_from_loki_next_to_the_fault_windows() -> None:
    dash = json.loads(DASHBOARD.read_text())
    logs = [p for p in dash["panels"] if p["type"] == "logs"]
    assert len(logs) == 1 and logs[0]["datasource"] == {"type": "loki", "uid": "loki"}
    expr = logs[0]["targets"][0]["expr"]
    selector = dict(re.findall(r'(\w+)="([^"]*)"', expr.split("}", 1)[0]))
    # the labels Fluent Bit writes (k8s/components/logging/fluent-bit.yaml), the JSON parsed
    shipped = (REPO / "k8s/components/logging/fluent-bit.yaml").read_text()
    assert selector == {"namespace": "tradestorm"} and "namespace=" in shipped
    assert "| json" in expr
    faults = [p for p in dash["panels"] if p["title"].startswith("Fault windows")]
    assert faults and faults[0]["gridPos"]["y"] + faults[0]["gridPos"]["h"] == \
        logs[0]["gridPos"]["y"], "the logs sit right under the fault windows"
    assert any("ALERTS" in a["expr"] for a in dash["annotations"]["list"])
    # the data source the panel names is the one terraform gives Grafana, with the tenant
    sources = yaml.safe_load((REPO / "terraform/modules/addons/grafana-datasources.yaml")
                             .read_text())
    loki = next(s for s in sources if s["type"] == "loki")
    assert loki["uid"] == "loki"
    assert loki["secureJsonData"]["httpHeaderValue1"] == "tradestorm" and \
        "LOKI_TENANT=tradestorm" in (REPO / "k8s/components/logging/kustomization.yaml").read_text()


def test_the_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    exprs = _dashboard_exprs()
    assert exprs
    groups = [{"name": "dashboard", "rules": [{"record": f"dashboard:q{i}", "expr": e}
                                              for i, e in enumerate(exprs)]}]
    proc = promtool_check(groups, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_dashboard_uses_only_recorded_slis_or_known_metrics(
    rule_groups: list[dict[str, Any]],
) -> None:
    recorded = {r["record"] for g in rule_groups for r in g["rules"] if "record" in r}
    names = set()
    for expr in _dashboard_exprs():
        names |= set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*:[a-zA-Z0-9_:]+", expr))
    assert names and names <= recorded, names - recorded


def test_the_dashboard_ships_as_a_grafana_sidecar_configmap(renders: dict[str, Any]) -> None:
    cm = find(renders["overlay:eks"], "ConfigMap", "grafana-dashboard-tradestorm")
    assert cm is not None
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    dash = json.loads(cm["data"]["tradestorm.json"])
    assert dash["uid"] == "tradestorm-platform" and len(dash["panels"]) >= 8
