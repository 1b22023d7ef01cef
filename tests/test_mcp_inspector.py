"""The real MCP Inspector CLI (``@modelcontextprotocol/inspector`` 2.x, ``mcp-inspector --cli``) against
``python -m agentkit mcp --http``: with the token it lists and calls ``run_agent`` over streamable HTTP and
over SSE; without it, the Inspector (an OAuth-capable client) ends on agentkit's "send Authorization:
Bearer" hint instead of an OAuth login, both at a terminal and non-interactively.

The Inspector is installed by ``.ci/install_node_clis.sh`` (``$AGENTKIT_INSPECTOR`` points elsewhere)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentkit.testing import serve_in_thread
from agentkit_mcp_servers.agent_tool import SIMULATED_LABEL
from tests.e2e_helpers import missing_peer, start_mcp_http, stop

INSPECTOR = Path(
    os.environ.get("AGENTKIT_INSPECTOR")
    or Path.home() / ".cache/agentkit/inspector/node_modules/.bin/mcp-inspector"
)
TOKEN = "inspector-test-token"
HINT = "send 'Authorization: Bearer <token>'"

if not INSPECTOR.exists():
    why = f"the MCP Inspector is not installed at {INSPECTOR}: run `bash .ci/install_node_clis.sh`"
    missing_peer(why)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """agentkit's agent over HTTP (its model: a simulator answering one line), and its log."""
    folder = tmp_path_factory.mktemp("inspector")
    with serve_in_thread({"replies": ["Hello from the agentkit agent."]}) as sim:
        task = folder / "task.yaml"
        task.write_text(yaml.safe_dump({"model": {"endpoint": sim.base_url}, "max_steps": 2}))
        log = folder / "server.log"
        proc, port = start_mcp_http(task, log, "--token", TOKEN)
        try:
            yield port, log
        finally:
            stop(proc)


def _env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HOME": str(home),
        "PATH": f"{INSPECTOR.parent}{os.pathsep}{os.environ.get('PATH', '')}",  # its Node 22 first
        "MCP_INSPECTOR_SECRET_STORE": "memory",  # no keychain here; nothing written to disk
        "BROWSER": "/bin/false",  # never open a browser, whatever happens
        "NO_COLOR": "1",
    }


def _inspector(home: Path, url: str, *args: str, tty: bool = False) -> tuple[int, str]:
    """``mcp-inspector --cli URL ARGS``: exit status and output; ``tty``: at a terminal (stdin a
    pseudo-terminal, as a person running it)."""
    command = [str(INSPECTOR), "--cli", url, *args]
    if not tty:
        proc = subprocess.run(
            command, env=_env(home), capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
        )
        return proc.returncode, proc.stdout + proc.stderr
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            command, env=_env(home), capture_output=True, stdin=follower, timeout=60, text=True
        )
    finally:
        os.close(follower)
        os.close(leader)
    return proc.returncode, proc.stdout + proc.stderr


def _json(output: str) -> Any:
    """The JSON document the Inspector printed (results on stdout, errors on stderr)."""
    start = output.find("{\n") if output.find("{\n") >= 0 else output.find('{"')
    assert start >= 0, f"no JSON in the Inspector's output:\n{output}"
    return json.JSONDecoder().raw_decode(output[start:])[0]


@pytest.mark.parametrize("transport", ["http", "sse"])
def test_with_the_token_it_lists_and_calls_run_agent(
    server: tuple[int, Path], tmp_path: Path, transport: str
):
    port, log = server
    url = f"http://127.0.0.1:{port}/{'mcp' if transport == 'http' else 'sse'}"
    common = ["--transport", transport, "--header", f"Authorization: Bearer {TOKEN}"]
    code, out = _inspector(tmp_path, url, *common, "--method", "tools/list")
    assert code == 0, out
    (tool,) = _json(out)["tools"]
    assert tool["name"] == "run_agent"
    assert tool["outputSchema"]["required"][:3] == ["answer", "status", "simulated"]
    assert tool["annotations"]["readOnlyHint"] is True  # an agent without tools only reads
    code, out = _inspector(
        tmp_path,
        url,
        *common,
        "--method",
        "tools/call",
        "--tool-name",
        "run_agent",
        "--tool-arg",
        "prompt=Hi",
    )
    assert code == 0, out
    result = _json(out)
    # the agent's endpoint is agentkit's simulator (it says so in every response): labelled as such
    assert result["content"][0]["text"] == f"{SIMULATED_LABEL}\n\nHello from the agentkit agent."
    assert result["structuredContent"]["answer"] == "Hello from the agentkit agent."
    assert result["structuredContent"]["simulated"] is True
    if transport == "sse":
        assert '"GET /sse HTTP/1.1" 200' in log.read_text()


def test_without_a_token_at_a_terminal_it_ends_on_the_bearer_hint(server: tuple[int, Path], tmp_path: Path):
    """At a terminal the Inspector tries OAuth after the 401: no protected-resource or authorization-server
    metadata (404), then dynamic registration, answered 404 with the hint, which is what it shows."""
    port, log = server
    _, out = _inspector(tmp_path, f"http://127.0.0.1:{port}/mcp", "--method", "tools/list", tty=True)
    message = _json(out)["error"]["message"]
    assert HINT in message and "does not use OAuth" in message, out
    access = log.read_text()
    assert '"GET /.well-known/oauth-protected-resource/mcp HTTP/1.1" 404' in access
    assert "/authorize" not in access  # it never reached an authorization (login) step


def test_without_a_token_non_interactively_it_shows_the_bearer_hint(server: tuple[int, Path], tmp_path: Path):
    """``--stored-auth-only`` is the Inspector's own mode for CI: it then reports the server's 401 body."""
    port, _ = server
    code, out = _inspector(
        tmp_path, f"http://127.0.0.1:{port}/mcp", "--stored-auth-only", "--method", "tools/list"
    )
    assert code != 0
    assert HINT in _json(out)["error"]["message"] and "missing bearer token" in _json(out)["error"]["message"]
