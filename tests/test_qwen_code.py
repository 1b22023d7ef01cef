"""The real Qwen Code CLI (``@qwen-code/qwen-code``, headless ``qwen PROMPT``) as a client of
``python -m agentkit mcp`` over stdio, SSE (a ``url`` entry) and streamable HTTP (an ``httpUrl`` entry).

Qwen Code's own model is agentkit's simulator over chat completions: its scripted first reply calls the
MCP tool the way Qwen Code exposes it (``mcp__<server>__run_agent``), its second relays the result. The
agentkit agent behind ``run_agent`` talks to the same simulator (another scripted conversation), so each
test sees both sides: the agent's request, and the tool result Qwen Code fed back to its model.

Qwen Code is installed by ``.ci/install_node_clis.sh`` (``$AGENTKIT_QWEN_CODE`` points elsewhere)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentkit.testing import serve_in_thread
from tests.e2e_helpers import installed_config, missing_peer, start_mcp_http, stop

ROOT = Path(__file__).resolve().parent.parent
QWEN = Path(
    os.environ.get("AGENTKIT_QWEN_CODE") or Path.home() / ".cache/agentkit/qwen-code/node_modules/.bin/qwen"
)
TOOL = "mcp__agentkit__run_agent"  # Qwen Code's name for the tool run_agent of the server "agentkit"
ANSWER = "Paris is the capital of France (agentkit agent)."
RELAYED = "Qwen Code relays the agent's answer."

if not QWEN.exists():
    why = f"Qwen Code is not installed at {QWEN}: run `bash .ci/install_node_clis.sh`"
    missing_peer(why)

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")

SCRIPT = {
    "model": "qwen3-sim",
    "max_model_len": 262144,  # Qwen Code asks for max_tokens 32768 on top of a ~15k-token prompt
    "conversations": [
        {  # Qwen Code's own model
            "match": "ASK-AGENTKIT",
            "replies": [
                {"tool_calls": [{"name": TOOL, "arguments": {"prompt": "What is the capital of France?"}}]},
                {"text": RELAYED},
            ],
        },
        {
            "match": "ASK-CONFIGURED",  # configs/qwen_code_settings.json names the stdio server agentkit-agent
            "replies": [
                {
                    "tool_calls": [
                        {
                            "name": "mcp__agentkit-agent__run_agent",
                            "arguments": {"prompt": "What is the capital of France?"},
                        }
                    ]
                },
                {"text": RELAYED},
            ],
        },
        {"match": "^What is the capital of France", "replies": [{"text": ANSWER}]},  # the agentkit agent
    ],
    "replies": ["(no scripted reply for this request)"],
}


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with serve_in_thread(SCRIPT) as running:
        yield running


@pytest.fixture
def task(tmp_path: Path, sim: Any) -> Path:
    sim.reset()  # each test checks the requests it caused
    path = tmp_path / "task.yaml"
    path.write_text(
        yaml.safe_dump(
            {"model": {"endpoint": sim.base_url}, "system": "You answer in one sentence.", "max_steps": 2}
        )
    )
    return path


def _env(home: Path) -> dict[str, str]:
    """Qwen Code in a fresh home (no user settings), agentkit importable from this checkout."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "QWEN_", "AGENTKIT_MCP"))}
    path = f"{QWEN.parent}{os.pathsep}{keep.get('PATH', '')}"  # `qwen` runs the `node` first on PATH: Node 22
    return {**keep, "HOME": str(home), "PATH": path, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}


def _qwen(sim: Any, folder: Path, servers: dict[str, Any], *flags: str) -> list[dict[str, Any]]:
    """``qwen "ASK-AGENTKIT …"`` headless with its model on the simulator; its JSON event list."""
    home = folder / "home"
    home.mkdir(exist_ok=True)
    config = folder / "mcp.json"
    config.write_text(json.dumps({"mcpServers": servers}))
    command = [
        str(QWEN),
        "ASK-AGENTKIT: ask the agentkit agent for the capital of France.",
        "--auth-type=openai",
        f"--openai-base-url={sim.base_url}",
        "--openai-api-key=sk-simulator",
        "--model=qwen3-sim",
        f"--mcp-config={config}",
        "--output-format=json",
        *flags,
    ]
    proc = subprocess.run(
        command,
        cwd=folder,
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout.strip().startswith("["), f"exit {proc.returncode}; stderr:\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout)


def _tool_results(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        block
        for event in events
        if event["type"] == "user"
        for block in event["message"]["content"]
        if isinstance(block, dict) and block.get("type") == "tool_result"
    ]


def _check_called_and_answered(events: list[dict[str, Any]], sim: Any) -> None:
    init = events[0]
    assert init["subtype"] == "init" and TOOL in init["tools"]
    assert init["mcp_servers"] == [{"name": "agentkit", "status": "connected"}]
    calls = [
        block
        for event in events
        if event["type"] == "assistant"
        for block in event["message"]["content"]
        if block.get("type") == "tool_use"
    ]
    assert [(c["name"], c["input"]) for c in calls] == [(TOOL, {"prompt": "What is the capital of France?"})]
    (result,) = _tool_results(events)
    assert not result["is_error"], result
    assert ANSWER in result["content"]  # the agent's answer reached Qwen Code ...
    # ... with its structured content; the agent's endpoint is agentkit's simulator, so the answer says so
    assert '"simulated":true' in result["content"].replace(" ", "")
    assert "[SIMULATED: no model ran" in result["content"]
    assert events[-1]["subtype"] == "success" and events[-1]["result"] == RELAYED
    agent_requests = [  # agentkit renders the prompt itself (native mode): raw completions
        r
        for r in sim.requests()
        if r["path"] == "/v1/completions" and "What is the capital of France?" in r["body"]["prompt"]
    ]
    assert agent_requests, "the agentkit agent never asked its model"
    tool_messages = [
        m for r in sim.requests() for m in r["body"].get("messages", []) if m.get("role") == "tool"
    ]
    assert any(ANSWER in json.dumps(m) for m in tool_messages)  # and Qwen Code's model read it


def test_over_stdio(sim: Any, task: Path, tmp_path: Path):
    entry = {"command": sys.executable, "args": ["-m", "agentkit", "mcp", str(task)]}
    events = _qwen(sim, tmp_path, {"agentkit": entry}, f"--allowed-tools={TOOL}")
    _check_called_and_answered(events, sim)


def test_headless_default_mode_declines_the_call_without_an_approval(sim: Any, task: Path, tmp_path: Path):
    """What docs/mcp-servers.md tells Qwen Code users: headless, an MCP tool needs --allowed-tools (or
    --yolo, or `trust: true`); annotations do not change that."""
    entry = {"command": sys.executable, "args": ["-m", "agentkit", "mcp", str(task)]}
    events = _qwen(sim, tmp_path, {"agentkit": entry})
    (result,) = _tool_results(events)
    assert result["is_error"] and "declined" in result["content"]
    assert [d["tool_name"] for d in events[-1]["permission_denials"]] == [TOOL]


@pytest.mark.parametrize(("key", "path"), [("url", "/sse"), ("httpUrl", "/mcp")])
def test_over_http(sim: Any, task: Path, tmp_path: Path, key: str, path: str):
    """``url`` is SSE to Qwen Code, ``httpUrl`` streamable HTTP; both with the bearer token."""
    log = tmp_path / "server.log"
    proc, port = start_mcp_http(task, log, "--token", "qwen-code-test-token")
    try:
        entry = {
            key: f"http://127.0.0.1:{port}{path}",
            "headers": {"Authorization": "Bearer qwen-code-test-token"},
        }
        events = _qwen(sim, tmp_path, {"agentkit": entry}, "--approval-mode=yolo")
    finally:
        stop(proc)
    _check_called_and_answered(events, sim)
    access = log.read_text()
    if key == "url":  # really the SSE transport: the event stream, then messages to its endpoint
        assert '"GET /sse HTTP/1.1" 200' in access and '"POST /messages/?session_id=' in access
        assert '"POST /mcp HTTP/1.1"' not in access
    else:
        assert '"POST /mcp HTTP/1.1" 200' in access and '"GET /sse' not in access
    assert " 401" not in access  # the token was accepted every time


def test_the_config_in_configs_connects_every_entry_and_approves_run_agent(
    sim: Any, task: Path, tmp_path: Path
):
    """configs/qwen_code_settings.json as ~/.qwen/settings.json: `qwen mcp list` connects all four entries
    (stdio, streamable HTTP, SSE with the token from $AGENTKIT_MCP_TOKEN), and its permissions let a
    headless run call run_agent with no flag."""
    proc, port = start_mcp_http(task, tmp_path / "server.log", "--token", "configured-token")
    try:
        home = tmp_path / "home"
        (home / ".qwen").mkdir(parents=True)
        config = installed_config("qwen_code_settings.json", tmp_path, port)
        (home / ".qwen" / "settings.json").write_text(json.dumps(config))
        env = {**_env(home), "AGENTKIT_MCP_TOKEN": "configured-token"}
        listed = subprocess.run(
            [str(QWEN), "mcp", "list"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        for name in config["mcpServers"]:
            if name != "agentkit-web-search" or importlib.util.find_spec("agentkit_tools.web_search"):
                assert re.search(rf"{name}: .* - Connected", listed.stdout), listed.stdout + listed.stderr
        run = subprocess.run(
            [str(QWEN), "ASK-CONFIGURED: ask the agentkit agent.", "--auth-type=openai",
             f"--openai-base-url={sim.base_url}", "--openai-api-key=sk-simulator", "--model=qwen3-sim",
             "--output-format=json"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    finally:
        stop(proc)
    events = json.loads(run.stdout)
    (result,) = _tool_results(events)
    assert not result["is_error"] and ANSWER in result["content"], result
    assert events[-1]["permission_denials"] == []
