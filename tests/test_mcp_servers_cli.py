"""``python -m agentkit mcp task.yaml`` as a real subprocess, driven by the SDK's real MCP client over
stdio and over streamable HTTP (with and without the bearer token), the model being the Qwen3 simulator."""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
import mcp.types as types
import pytest
import yaml
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from agentkit_mcp_servers.agent_tool import SIMULATED_LABEL
from tests.e2e_helpers import free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
QWEN3_MODULES = ("agentkit.qwen3.template", "agentkit.qwen3.tokens")
needs_simulator = pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in QWEN3_MODULES),
    reason="the simulator and model backends need the Qwen3 template and tokens modules, not landed yet",
)

WEATHER_TOOL = '''
def get_weather(city: str, unit: str = "celsius") -> str:
    """The weather in a city.

    Args:
        city: the city
        unit: celsius or fahrenheit
    """
    return f"sunny, 21 degrees {unit} in {city}"
'''


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "AGENTKIT_MCP_TOKEN": ""}


def _write_task(folder: Path, endpoint: str) -> Path:
    (folder / "weather_tools.py").write_text(WEATHER_TOOL)
    task = {
        "model": {"endpoint": endpoint, "name": "qwen3-sim"},
        "max_steps": 4,
        "system": "You report the weather.",
        "tools": ["weather_tools:get_weather"],
    }
    path = folder / "task.yaml"
    path.write_text(yaml.safe_dump(task))
    return path


@asynccontextmanager
async def simulated_task(tmp_path: Path):
    from agentkit.testing import run_simulator

    async with run_simulator(ROOT / "tests" / "fixtures" / "scripts" / "weather.yaml") as sim:
        yield _write_task(tmp_path, sim.base_url)


async def _ask(session: ClientSession) -> tuple[types.CallToolResult, list[str | None]]:
    messages: list[str | None] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        messages.append(message)

    result = await session.call_tool("run_agent", {"prompt": "Weather in Paris?"}, progress_callback=progress)
    return result, messages


def _check_answer(result: types.CallToolResult, messages: list[str | None]) -> None:
    assert not result.is_error, result.content
    # the endpoint is agentkit's simulator (it says so in every response): the answer is labelled
    assert result.content[0].text == f"{SIMULATED_LABEL}\n\nIt is sunny in Paris, 21 °C."
    assert result.structured_content["simulated"] is True
    assert result.structured_content["tool_calls"] == [{"step": 1, "name": "get_weather", "is_error": False}]
    assert any(m and m.startswith('step 1: calling get_weather({"city": "Paris"') for m in messages), messages
    assert messages[-1] == "finished: completed"


@needs_simulator
@pytest.mark.anyio
async def test_stdio_server_answers_with_progress_and_honours_log_level(tmp_path: Path):
    logs: list[tuple[str, str | None]] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.append((params.level, params.data))

    async with simulated_task(tmp_path) as task:
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "agentkit", "mcp", str(task)], env=_env(), cwd=str(tmp_path)
        )
        with (tmp_path / "stderr.txt").open("w") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write):
                async with ClientSession(read, write, logging_callback=on_log) as session:
                    init = await session.initialize()
                    assert init.server_info.name == "agentkit-agent"
                    tools = (await session.list_tools()).tools
                    assert [t.name for t in tools] == ["run_agent"]
                    assert "get_weather" in tools[0].description
                    await session.set_logging_level("warning")
                    result, messages = await _ask(session)
                    _check_answer(result, messages)
                    assert logs == []  # info lines are below "warning"
                    await session.set_logging_level("info")
                    await _ask(session)
    assert any(level == "info" and "calling get_weather" in str(data) for level, data in logs)


def _start_http(task: Path, *extra: str) -> tuple[subprocess.Popen[str], str, str | None]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentkit", "mcp", str(task), "--http", "--port", "0", *extra],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        found = re.search(r"serving (http://127\.0\.0\.1:\d+/mcp)", line)
        if found:
            token = re.search(r"Bearer (\S+)'", line)
            return proc, found.group(1), token.group(1) if token else None
    proc.wait(5)
    raise AssertionError(f"the HTTP server did not start (exit {proc.returncode})")


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()


async def _ask_over_http(url: str, headers: dict[str, str]) -> tuple[types.CallToolResult, list[str | None]]:
    async with create_mcp_http_client(headers=headers) as client:
        async with streamable_http_client(url, http_client=client) as (read, write, *_):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await _ask(session)


@needs_simulator
@pytest.mark.anyio
async def test_http_server_requires_the_generated_token(tmp_path: Path):
    async with simulated_task(tmp_path) as task:
        proc, url, token = await anyio.to_thread.run_sync(_start_http, task)
        try:
            assert token, "a generated token is printed on stderr"
            async with httpx.AsyncClient() as client:
                refused = await client.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
            assert refused.status_code == 401
            _check_answer(*await _ask_over_http(url, {"Authorization": f"Bearer {token}"}))
        finally:
            assert await anyio.to_thread.run_sync(_stop, proc) == 0
        assert proc.stdout is not None and proc.stdout.read() == ""  # stdout stays silent


@needs_simulator
@pytest.mark.anyio
async def test_http_server_with_a_given_token_and_without_auth(tmp_path: Path):
    async with simulated_task(tmp_path) as task:
        proc, url, shown = await anyio.to_thread.run_sync(_start_http, task, "--token", "s3cret-token")
        try:
            assert shown is None  # a token the user gave is never echoed
            _check_answer(*await _ask_over_http(url, {"Authorization": "Bearer s3cret-token"}))
        finally:
            await anyio.to_thread.run_sync(_stop, proc)
        proc, url, _ = await anyio.to_thread.run_sync(_start_http, task, "--no-auth")
        try:
            _check_answer(*await _ask_over_http(url, {}))
        finally:
            await anyio.to_thread.run_sync(_stop, proc)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentkit", "mcp", *args],
        capture_output=True,
        text=True,
        env=_env(),
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--token", "abc"], "--token applies to HTTP only; add --http"),
        (["--port", "9000"], "--port applies to HTTP only"),
        (["--http", "--token", "abc", "--no-auth"], "--token and --no-auth contradict each other"),
        (["--tool-name", "run agent"], "--tool-name: tool name 'run agent' is not allowed"),
    ],
)
def test_bad_flags_are_refused_before_anything_starts(tmp_path: Path, args: list[str], message: str):
    task = _write_task(tmp_path, "http://127.0.0.1:9/v1")
    proc = _cli(str(task), *args)
    assert proc.returncode == 2 and message in proc.stderr and proc.stdout == ""


def test_a_missing_task_file_is_a_clear_error(tmp_path: Path):
    proc = _cli(str(tmp_path / "nope.yaml"))
    assert proc.returncode == 2 and "nope.yaml" in proc.stderr and proc.stdout == ""


def test_help_lists_the_flags():
    proc = _cli("--help")
    assert proc.returncode == 0
    for flag in ("--http", "--port", "--token", "--no-auth", "--tool-name", "--yes", "--log-level"):
        assert flag in proc.stdout


@pytest.mark.parametrize("transport", [[], ["--http", "--port", "0"]])
def test_an_unreachable_model_stops_the_server_with_a_clear_error(tmp_path: Path, transport: list[str]):
    task = tmp_path / "task.yaml"
    task.write_text("max_steps: 2\n")
    proc = subprocess.run(
        [sys.executable, "-m", "agentkit", "mcp", str(task), *transport],
        capture_output=True,
        text=True,
        env={**_env(), "AGENTKIT_ENDPOINT": "http://127.0.0.1:9/v1"},
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: no model to run this task. Tried, in order:")
    assert "$AGENTKIT_ENDPOINT=http://127.0.0.1:9/v1: nothing answers there" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


@needs_simulator
@pytest.mark.anyio
async def test_a_task_on_its_simulation_script_labels_every_answer(tmp_path: Path):
    """No endpoint answers: the agent replays the task's `simulation:` script, and the MCP result itself
    (text and structuredContent) says so, not only stderr."""
    task = ROOT / "tests" / "fixtures" / "conformance" / "task.yaml"
    env = {**_env(), "AGENTKIT_ENDPOINT": f"http://127.0.0.1:{free_port()}/v1"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "agentkit", "mcp", str(task)], env=env)
    with (tmp_path / "stderr.txt").open("w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                result = await session.call_tool("run_agent", {"prompt": "Say hello."})
    assert "SIMULATION" in (tmp_path / "stderr.txt").read_text()
    assert result.content[0].text.startswith("[SIMULATED: no model ran")
    assert result.content[0].text.endswith("Hello from agentkit.")
    assert result.structured_content["simulated"] is True
