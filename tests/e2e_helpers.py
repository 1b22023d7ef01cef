"""Shared helpers for end-to-end tests: run the CLI as a user would, against a simulator on loopback."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "examples" / "quickstart"


def in_ci() -> bool:
    """Whether this is a CI run (``CI=true``), where every real peer must be there."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing_peer(reason: str) -> None:
    """Skip (a test or, at module level, its module) whose real peer is missing, saying why; in CI that
    is a failure instead, so nothing a test needs skips silently there."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing peer fails the run)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


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


def start_mcp_http(task: Path, log: Path, *extra: str) -> tuple[subprocess.Popen[bytes], int]:
    """``python -m agentkit mcp TASK --http --port 0 EXTRA`` at log level info (access log included) with
    its stderr in ``log``; the process and its port once it serves."""
    command = [
        sys.executable,
        "-m",
        "agentkit",
        "mcp",
        str(task),
        "--http",
        "--port",
        "0",
        "--log-level",
        "info",
    ]
    with log.open("wb") as errors:
        proc = subprocess.Popen(
            [*command, *extra],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env={**os.environ, "PYTHONPATH": str(ROOT), "AGENTKIT_MCP_TOKEN": ""},
        )
    for _ in range(300):
        found = re.search(r"serving http://127\.0\.0\.1:(\d+)/mcp", log.read_text())
        if found:
            return proc, int(found.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    stop(proc)
    raise AssertionError(f"agentkit mcp --http did not start:\n{log.read_text()}")


def stop(proc: subprocess.Popen[Any]) -> None:
    """Terminate ``proc`` and wait for it (killed after 10 s)."""
    proc.terminate()
    try:
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()


def installed_config(file: str, folder: Path, port: int) -> dict[str, Any]:
    """``configs/FILE`` as a user installs it here: our Python, the task in ``folder``, the server's port."""
    text = (ROOT / "configs" / file).read_text().replace("/absolute/path/to", str(folder))
    config = json.loads(text.replace("127.0.0.1:8765", f"127.0.0.1:{port}"))
    for entry in config["mcpServers"].values():
        if entry.get("command") == "python":
            entry["command"] = sys.executable
    return config
