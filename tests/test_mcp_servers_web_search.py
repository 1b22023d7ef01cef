"""``python -m agentkit_mcp_servers.web_search``: the built-in web_search tool over stdio, driven by the SDK's real
client. The search backend is faked (no internet here): a launcher script builds the same tool with a
backend function and serves it through the same ``agentkit_mcp_servers.web_search.serve``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters, stdio_client

from agentkit_mcp_servers.web_search import parse_options

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [
    pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
    pytest.mark.skipif(
        not (ROOT / "tools" / "web_search.py").exists(), reason="tools/web_search.py has not landed yet"
    ),
]

FAKE_SERVER = """
import sys
from ddgs.exceptions import RatelimitException
from agentkit_tools.web_search import WebSearchOptions, WebSearchTool
from agentkit_mcp_servers.web_search import build_parser, serve

calls = []

def backend(query, *, region, safesearch, timelimit, max_results):
    calls.append(query)
    if query == "busy" and calls.count("busy") == 1:
        raise RatelimitException("202 Ratelimit")
    hits = [{"title": f"{query} result {i}", "href": f"https://example.org/{i}", "body": f"about {query}"}
            for i in range(1, 10)]
    return hits[:max_results]

args = build_parser().parse_args()
tool = WebSearchTool(WebSearchOptions(max_results=3, retries=1, backoff=0), backend=backend)
sys.exit(serve(tool, http=args if args.http else None))
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.mark.anyio
async def test_searches_over_stdio_with_the_tools_own_schema(tmp_path: Path):
    from agentkit_tools.web_search import WebSearchOptions, WebSearchTool

    script = tmp_path / "fake_web_search.py"
    script.write_text(FAKE_SERVER)
    params = StdioServerParameters(command=sys.executable, args=[str(script)], env=_env(), cwd=str(tmp_path))
    progress: list[str | None] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message)

    with (tmp_path / "stderr.txt").open("w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                tools = (await session.list_tools()).tools
                found = await session.call_tool("web_search", {"query": "qwen3"})
                busy = await session.call_tool("web_search", {"query": "busy"}, progress_callback=on_progress)
                bad = await session.call_tool("web_search", {"query": "x", "colour": "red"})
    assert init.server_info.name == "agentkit-web-search"
    assert [t.name for t in tools] == ["web_search"]
    assert tools[0].annotations.read_only_hint is True and tools[0].annotations.open_world_hint is True
    assert tools[0].input_schema == WebSearchTool(WebSearchOptions()).parameters
    assert not found.is_error
    assert found.content[0].text.splitlines()[0] == "1. qwen3 result 1"
    assert "3. qwen3 result 3" in found.content[0].text and "result 4" not in found.content[0].text
    assert found.structured_content["result"][0] == {
        "title": "qwen3 result 1",
        "url": "https://example.org/1",
    }
    assert not busy.is_error and progress == ["rate limited; retrying in 0 s"]
    assert bad.is_error and "colour" in bad.content[0].text


def test_bad_options_are_refused_with_the_option_named():
    proc = subprocess.run(
        [sys.executable, "-m", "agentkit_mcp_servers.web_search", "--option", "max_results=500"],
        capture_output=True,
        text=True,
        env=_env(),
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert proc.returncode == 2 and "max_results" in proc.stderr and proc.stdout == ""


def test_options_are_read_as_yaml_values():
    assert parse_options(["max_results=5", "region=de-de", "safesearch=off"]) == {
        "max_results": 5,
        "region": "de-de",
        "safesearch": "off",
    }
    with pytest.raises(ValueError, match="write KEY=VALUE"):
        parse_options(["max_results"])


@pytest.mark.anyio
async def test_serves_http_and_sse_behind_the_token(tmp_path: Path):
    import anyio
    import httpx

    script = tmp_path / "fake_web_search.py"
    script.write_text(FAKE_SERVER)
    command = [sys.executable, str(script), "--http", "--port", "0", "--token", "web-token"]
    proc = subprocess.Popen(command, env=_env(), stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = await anyio.to_thread.run_sync(proc.stderr.readline)
        found = re.search(
            r"serving (http://127\.0\.0\.1:\d+)/mcp \(streamable HTTP\) and \S+/sse \(SSE\)", line
        )
        assert found and "<your token>" in line, line
        base = found.group(1)
        async with sse_client(f"{base}/sse", headers={"Authorization": "Bearer web-token"}) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                hits = await session.call_tool("web_search", {"query": "qwen3"})
        async with httpx.AsyncClient() as client:
            refused = await client.get(f"{base}/sse")
    finally:
        proc.terminate()
        proc.wait(10)
    assert hits.content[0].text.splitlines()[0] == "1. qwen3 result 1"
    assert refused.status_code == 401


def test_http_flags_need_http():
    proc = subprocess.run(
        [sys.executable, "-m", "agentkit_mcp_servers.web_search", "--token", "x"],
        capture_output=True,
        text=True,
        env=_env(),
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert proc.returncode == 2 and "--token applies to HTTP only; add --http" in proc.stderr
