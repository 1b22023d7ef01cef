"""Real Qwen-Agent for the drop-in suite: its own venv (qwen-agent pins mcp<2; agentkit needs mcp>=2),
made by .ci/install_qwen_agent.sh. In CI (CI=true) a missing venv fails the suite instead of skipping."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e_helpers import missing_peer

VENV = Path(os.environ.get("AGENTKIT_QWEN_AGENT_VENV", Path.home() / ".cache/agentkit/qwen-agent-venv"))
QWEN_PYTHON = VENV / "bin" / "python"


@pytest.fixture(scope="session")
def qwen_python() -> Path:
    problem = None
    if not QWEN_PYTHON.exists():
        problem = f"no Qwen-Agent venv at {VENV}"
    else:
        check = subprocess.run(
            [
                str(QWEN_PYTHON),
                "-c",
                "import qwen_agent.agents, qwen_agent.tools.mcp_manager",
            ],
            capture_output=True,
            text=True,
            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        )
        if check.returncode:
            problem = f"qwen_agent does not import in {VENV}: {check.stderr.strip().splitlines()[-1:]}"
    if problem:
        message = f"{problem}; run `bash .ci/install_qwen_agent.sh`"
        missing_peer(message)
    return QWEN_PYTHON
