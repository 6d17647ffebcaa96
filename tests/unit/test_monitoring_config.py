"""The Prometheus and Grafana files shipped for Compose are valid and use real metric names."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from agents.metrics import Metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def family(name: str) -> str:
    return re.sub(r"_(bucket|sum|count|total)$", "", name)


def exposed_names() -> set[str]:
    text = Metrics().exposition().decode()
    return {family(name) for name in re.findall(r"^# TYPE (\w+) ", text, re.MULTILINE)}


def test_prometheus_config_passes_promtool() -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is needed (Debian package prometheus)"
    result = subprocess.run(
        [
            promtool,
            "check",
            "config",
            "--syntax-only",
            str(DEPLOY / "prometheus" / "prometheus.yml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_dashboard_queries_only_metrics_the_worker_exposes() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "stancewire.json").read_text())
    names = exposed_names()
    used = {
        family(name)
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\b(stancewire_\w+|process_\w+)", target["expr"])
    }
    assert used, "the dashboard has no queries"
    missing = {name for name in used if name not in names}
    assert not missing, f"dashboard queries unknown metrics: {sorted(missing)}"
