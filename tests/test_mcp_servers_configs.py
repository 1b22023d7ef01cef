"""The ready-to-paste IDE configs in ``configs/``: the shape each IDE expects, both our servers in each, and
every stdio entry really starting and listing its tool when launched as the IDE would launch it."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")

JSON_CONFIGS = {
    "claude_desktop_config.json": "mcpServers",
    "cursor_mcp.json": "mcpServers",
    "vscode_mcp.json": "servers",
    "claude_code_mcp.json": "mcpServers",
    "qwen_code_settings.json": "mcpServers",
    "gemini_settings.json": "mcpServers",
}
# Qwen Code and Gemini CLI read `url` as SSE and `httpUrl` as streamable HTTP.
SSE_URL, HTTP_URL = "http://127.0.0.1:8765/sse", "http://127.0.0.1:8765/mcp"


def _servers(file: str) -> dict[str, Any]:
    return json.loads((CONFIGS / file).read_text())[JSON_CONFIGS[file]]


def _kind(entry: dict[str, Any]) -> str:
    args = entry.get("args", [])
    if "agentkit_mcp_servers.web_search" in args:
        return "web_search"
    if args[:3] == ["-m", "agentkit", "mcp"]:
        return "agent"
    return "http" if "url" in entry or "httpUrl" in entry else "other"


@pytest.mark.parametrize("file", sorted(JSON_CONFIGS))
def test_each_config_has_both_servers_in_its_ide_shape(file: str):
    servers = _servers(file)
    kinds = sorted(_kind(entry) for entry in servers.values())
    assert {"agent", "web_search"} <= set(kinds) and "other" not in kinds
    for entry in servers.values():
        if file in ("vscode_mcp.json", "claude_code_mcp.json"):
            assert entry["type"] in ("stdio", "http")
        if file in ("qwen_code_settings.json", "gemini_settings.json"):
            if "url" in entry:
                assert entry["url"] == SSE_URL and entry["type"] == "sse"
            if "httpUrl" in entry:
                assert entry["httpUrl"] == HTTP_URL
            if kinds.count("http"):
                assert {"url" in e for e in servers.values() if _kind(e) == "http"} == {True, False}
            if _kind(entry) == "http":  # their settings expand $VAR
                assert entry["headers"]["Authorization"] == "Bearer $AGENTKIT_MCP_TOKEN"
        elif "url" in entry:
            assert entry["url"] == HTTP_URL
            assert entry["headers"]["Authorization"].startswith("Bearer ${")


def test_the_qwen_code_config_approves_exactly_its_own_tools():
    """Qwen Code names an MCP tool mcp__<server>__<tool>; headless it declines tools not allowed."""
    config = json.loads((CONFIGS / "qwen_code_settings.json").read_text())
    expected = {
        f"mcp__{name}__{'web_search' if _kind(entry) == 'web_search' else 'run_agent'}"
        for name, entry in config["mcpServers"].items()
    }
    assert set(config["permissions"]["allow"]) == expected


def test_the_claude_code_script_is_valid_bash_and_adds_both_servers():
    script = (CONFIGS / "claude_code_add.sh").read_text()
    assert subprocess.run(["bash", "-n", str(CONFIGS / "claude_code_add.sh")]).returncode == 0
    assert "-m agentkit_mcp_servers.web_search" in script and "-m agentkit mcp" in script


def _as_launched(entry: dict[str, Any], folder: Path) -> StdioServerParameters:
    """The entry as the IDE would start it here: our interpreter, IDE variables filled in."""
    args = [
        arg.replace("${workspaceFolder}", str(folder)).replace("/absolute/path/to", str(folder))
        for arg in entry["args"]
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), **entry.get("env", {})}
    return StdioServerParameters(command=sys.executable, args=args, env=env, cwd=str(folder))


def _launchable() -> list[tuple[str, str]]:
    out = []
    for file in sorted(JSON_CONFIGS):
        for name, entry in _servers(file).items():
            kind = _kind(entry)
            if kind == "web_search" and importlib.util.find_spec("agentkit_tools.web_search") is None:
                continue  # the built-in tool has not landed yet
            if kind == "agent" and any(
                importlib.util.find_spec(m) is None
                for m in ("agentkit.qwen3.template", "agentkit.qwen3.tokens")
            ):
                continue  # the model backends need the Qwen3 template and tokens, not landed yet
            if kind != "http":
                out.append((file, name))
    return out


@pytest.mark.skipif(not _launchable(), reason="neither web_search nor the Qwen3 template has landed yet")
@pytest.mark.parametrize(("file", "name"), _launchable())
@pytest.mark.anyio
async def test_stdio_entries_start_and_list_their_tool(tmp_path: Path, file: str, name: str):
    entry = _servers(file)[name]
    task = {"model": {"endpoint": "http://127.0.0.1:9/v1", "name": "qwen3-sim"}, "max_steps": 2}
    (tmp_path / "task.yaml").write_text(yaml.safe_dump(task))
    with (tmp_path / "stderr.txt").open("w") as errlog:
        async with stdio_client(_as_launched(entry, tmp_path), errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = [t.name for t in (await session.list_tools()).tools]
    expected = {"web_search": ["web_search"], "agent": [_tool_name(entry)]}[_kind(entry)]
    assert tools == expected, (tmp_path / "stderr.txt").read_text()


def _tool_name(entry: dict[str, Any]) -> str:
    args = entry["args"]
    return args[args.index("--tool-name") + 1] if "--tool-name" in args else "run_agent"
