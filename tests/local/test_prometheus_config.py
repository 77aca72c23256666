"""The generated Prometheus configuration is valid for the real promtool, rules included."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tradestorm.errors import ComponentError
from tradestorm.local import prometheus as prom


def test_generated_config_passes_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: install the Debian package 'prometheus'"
    config = prom.render_config(
        replicas={"orders": [("orders-0", "127.0.0.1:1001"), ("orders-1", "127.0.0.1:1002")]},
        supervisor="127.0.0.1:2000",
        proxies={"orders": "127.0.0.1:3000", "postgres": "127.0.0.1:3001"},
        targets_dir=tmp_path / "targets",
        rules=prom.rule_files(),
    )
    path = tmp_path / "prometheus.yml"
    prom.write_config(path, config)
    result = subprocess.run([promtool, "check", "config", str(path)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    loaded = yaml.safe_load(path.read_text())
    assert loaded["global"]["scrape_interval"] == "1000ms"
    assert [Path(p).name for p in loaded["rule_files"]] == ["common.yaml", "local.yaml"]
    jobs = {j["job_name"]: j for j in loaded["scrape_configs"]}
    assert jobs["tradeplat"]["static_configs"][1]["labels"] == {"service": "orders",
                                                                "replica": "orders-1"}
    assert jobs["tradestorm-load"]["file_sd_configs"][0]["files"] == [
        str(tmp_path / "targets" / "*.json")]


def test_missing_prometheus_binary_names_the_package() -> None:
    with pytest.raises(ComponentError) as info:
        prom.find_binary(search_path="/nonexistent")
    assert "apt-get install prometheus" in str(info.value)
