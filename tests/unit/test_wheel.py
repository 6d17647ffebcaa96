"""The project installs as a wheel and runs outside its clone, with the shipped models."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "agents" / "samples" / "02-gas-deal.json"
SKIPPED = (".git", ".stancewire", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "tools")


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.mark.slow
def test_the_wheel_installs_in_a_fresh_virtualenv_and_enriches_a_sample(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # Built from a copy: setuptools writes build/ and *.egg-info/ beside the sources.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*SKIPPED))
    wheels = tmp_path / "wheels"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(source),
        ],
        cwd=tmp_path,
        env=env,
    )
    [wheel] = wheels.glob("stancewire-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, env=env)
    python = venv / "bin" / "python"
    # The dependencies (torch alone is gigabytes) come from this virtualenv's site-packages
    # through a .pth file; the project itself only from the wheel. The editable install of
    # this clone is not seen: .pth files inside a directory added that way are not read.
    fresh_site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            cwd=tmp_path,
            env=env,
        ).stdout.strip()
    )
    (fresh_site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([str(python), "-m", "pip", "install", "--no-deps", str(wheel)], cwd=tmp_path, env=env)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    sample = outside / SAMPLE.name
    sample.write_bytes(SAMPLE.read_bytes())
    where = _run(
        [str(python), "-c", "import pipeline, agents; print(pipeline.__file__, agents.__file__)"],
        cwd=outside,
        env=env,
    ).stdout
    assert str(ROOT) not in where and str(fresh_site) in where, where
    result = _run([str(venv / "bin" / "stancewire"), "enrich", str(sample)], cwd=outside, env=env)
    event = json.loads(result.stdout)
    assert event["entities"], "the shipped entity model found nothing"
    assert event["stances"], "the shipped stance model gave no stance"
    assert "Loading weights" not in result.stderr
    loaded = [line for line in result.stderr.splitlines() if "model" in line and "loaded" in line]
    assert len(loaded) == 2, result.stderr
