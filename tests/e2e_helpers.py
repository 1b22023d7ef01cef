"""Shared helpers for end-to-end tests: run the CLI as a user would, against a simulator on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "examples" / "quickstart"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT, timeout: float = 60
) -> subprocess.CompletedProcess:
    """``python -m agentkit ...`` in a subprocess with nothing listening on the default endpoint."""
    full_env = {**os.environ, "AGENTKIT_ENDPOINT": f"http://127.0.0.1:{free_port()}/v1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def write_task(folder: Path, endpoint: str, **overrides: Any) -> Path:
    """A copy of the quickstart task in ``folder``, pointed at ``endpoint``."""
    task = yaml.safe_load((QUICKSTART / "task.yaml").read_text())
    task["model"]["endpoint"] = endpoint
    task.pop("simulation")
    for key, value in overrides.items():
        if key == "model":
            task["model"].update(value)
        else:
            task[key] = value
    (folder / "dates.py").write_text((QUICKSTART / "dates.py").read_text())
    path = folder / "task.yaml"
    path.write_text(yaml.safe_dump(task, allow_unicode=True))
    return path


def run_json(task: Path, *extra: str) -> tuple[dict[str, Any], subprocess.CompletedProcess]:
    proc = cli("run", str(task), "--json", *extra)
    assert proc.stdout.strip(), f"no JSON on stdout; stderr:\n{proc.stderr}"
    return json.loads(proc.stdout), proc


def replay_script(**overrides: Any) -> dict[str, Any]:
    script = yaml.safe_load((QUICKSTART / "replay.yaml").read_text())
    script.update(overrides)
    return script
