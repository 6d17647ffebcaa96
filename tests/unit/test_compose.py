"""docker-compose.yml is valid Compose, checked by the Compose specification's own loader."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKER = ROOT / "tools" / "composecheck"


def _check(compose_file: Path) -> subprocess.CompletedProcess[str]:
    go = shutil.which("go")
    assert go, "Go is needed to validate docker-compose.yml (tools/composecheck)"
    return subprocess.run(
        [go, "run", ".", str(compose_file)],
        cwd=CHECKER,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_compose_file_is_valid_and_has_the_services() -> None:
    result = _check(ROOT / "docker-compose.yml")
    assert result.returncode == 0, result.stderr
    assert {"kafka", "topics", "worker", "prometheus", "grafana"} <= set(result.stdout.split())


@pytest.mark.slow
def test_checker_rejects_an_invalid_file(tmp_path: Path) -> None:
    bad = tmp_path / "docker-compose.yml"
    bad.write_text("services:\n  worker:\n    image: x\n    ports: notalist\n    bogus: 1\n")
    result = _check(bad)
    assert result.returncode != 0
    assert "invalid compose file" in result.stderr


def test_the_worker_is_healthy_only_when_ready() -> None:
    import yaml

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    check = " ".join(services["worker"]["healthcheck"]["test"])
    assert "/readyz" in check and "6066" in check
    assert services["prometheus"]["depends_on"]["worker"]["condition"] == "service_healthy"
