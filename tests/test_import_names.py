"""A user's own ``tools.py`` and ``mcp_servers.py`` beside the task cannot shadow agentkit: installed, the
built-in tools and servers are ``agentkit_tools`` and ``agentkit_mcp_servers``. Run as a user runs them:
the CLI and an app embedding the Assistant, in a folder holding both files, the user's ``tools:double``
used next to the built-in ``files`` tool, against the simulator over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agentkit.testing import serve_in_thread
from tests.e2e_helpers import cli

REPLIES = [
    {
        "think": "List the folder and double the number.",
        "tool_calls": [
            {"name": "files", "arguments": {"action": "list", "path": "."}},
            {"name": "double", "arguments": {"n": 21}},
        ],
    },
    {"text": "The folder has notes.txt; 21 doubled is 42."},
]
USER_TOOLS = '''"""The user's own tools module, named like agentkit's repository folder."""


def double(n: int) -> int:
    """Twice n.

    Args:
        n: a number
    """
    return 2 * n
'''


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "tools.py").write_text(USER_TOOLS)
    (tmp_path / "mcp_servers.py").write_text("raise ImportError('the user module was imported')\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "notes.txt").write_text("hello\n")
    return tmp_path


@pytest.fixture
def sim():
    with serve_in_thread({"model": "Qwen/Qwen3-8B", "replies": REPLIES}) as running:
        yield running


def _env_without_checkout() -> dict[str, str]:
    """The environment of a user: agentkit as installed, not this checkout on the path."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


def test_cli_with_a_user_tools_py_runs_builtin_and_user_tools(folder: Path, sim) -> None:
    task = {
        "model": {"endpoint": sim.base_url, "name": "Qwen/Qwen3-8B"},
        "tools": [{"name": "files", "root": "data"}, "tools:double"],
        "prompt": "What is in the folder, and what is 21 doubled?",
    }
    (folder / "task.yaml").write_text(yaml.safe_dump(task))
    proc = cli("run", "task.yaml", "--json", cwd=folder, env=_env_without_checkout())
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    results = [c["result"] for c in out["steps"][0]["tool_calls"]]
    assert "notes.txt" in results[0] and results[1] == "42"
    assert out["output"] == "The folder has notes.txt; 21 doubled is 42."


def test_assistant_app_beside_a_user_tools_py(folder: Path, sim) -> None:
    app = folder / "app.py"
    app.write_text(
        "from agentkit import Assistant\n"
        "import tools\n"  # the user's module, imported by the app itself
        f"bot = Assistant(llm={{'model': 'Qwen/Qwen3-8B', 'model_server': {sim.base_url!r}}},\n"
        "                function_list=[{'name': 'files', 'root': 'data'}, tools.double])\n"
        "for response in bot.run([{'role': 'user', 'content': 'What is in the folder?'}]):\n"
        "    pass\n"
        "print(response[-1]['content'])\n"
    )
    proc = subprocess.run(
        [sys.executable, "app.py"],
        cwd=folder,
        env=_env_without_checkout(),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("The folder has notes.txt; 21 doubled is 42.")


def test_web_search_server_runs_beside_a_user_mcp_servers_py(folder: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "agentkit_mcp_servers.web_search", "--help"],
        cwd=folder,
        env=_env_without_checkout(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "web_search" in proc.stdout
