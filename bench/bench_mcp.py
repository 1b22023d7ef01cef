"""MCP client cost, side by side in one run.

    python bench/bench_mcp.py [--calls 400] [--servers 4] [--json out.json]

(a) One tool call through agentkit (``MCPServerProvider`` → ``MCPTool.call`` → ``ToolResult``) vs a bare
    ``mcp`` ``ClientSession.call_tool`` on the same kind of server: each client has its own server
    process; calls alternate in blocks so machine noise hits both alike, and the ratio is the median of
    each pair of neighbouring blocks. Goal: ratio <= 1.1x.
(b) Start-up (spawn, handshake, tools/list) of N servers concurrently (``ToolSet``) vs one after another.

The server is ``mcp-server-time`` (PyPI; .ci/install_mcp_peers.sh installs it), or the test fixture server
when it is missing. Takes well under a minute.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcp.client.session import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402

from agentkit.mcp import MCPServerProvider  # noqa: E402
from agentkit.tooling import ToolContext, ToolSet  # noqa: E402


def server() -> tuple[dict, str, dict]:
    """(stdio config, tool name, arguments) of the server to measure against."""
    time_server = shutil.which("mcp-server-time")
    if time_server:
        return {"command": time_server, "args": []}, "get_current_time", {"timezone": "UTC"}
    fixture = ROOT / "tests/mcp_fixtures/tools_server.py"
    return {"command": sys.executable, "args": [str(fixture)]}, "pid", {}


async def bench_calls(calls: int, block: int) -> dict:
    config, tool_name, arguments = server()
    params = StdioServerParameters(command=config["command"], args=config["args"])
    bare_times: list[float] = []
    ours_times: list[float] = []
    cpu: dict[str, list[float]] = {"bare": [], "ours": []}
    provider = MCPServerProvider("bench", config)
    with open("/dev/null", "w") as quiet:
        async with stdio_client(params, errlog=quiet) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            await session.list_tools()
            tool = {t.name: t for t in await provider.start()}[tool_name]
            ctx = ToolContext()

            async def bare_block() -> None:
                for _ in range(block):
                    result = await session.call_tool(tool_name, arguments)
                    assert not result.is_error

            async def ours_block() -> None:
                for _ in range(block):
                    out = await tool.call(arguments, ctx)
                    assert not out.is_error, out.text

            try:
                await bare_block()  # warm both paths up
                await ours_block()
                for round_ in range(calls // block):
                    order = ((bare_block, bare_times, cpu["bare"]), (ours_block, ours_times, cpu["ours"]))
                    for run, times, cpu_times in order if round_ % 2 == 0 else reversed(order):
                        started, cpu_started = time.perf_counter(), time.process_time()
                        await run()
                        times.append((time.perf_counter() - started) / block)
                        cpu_times.append((time.process_time() - cpu_started) / block)
            finally:
                await provider.aclose()
    bare, ours = statistics.median(bare_times), statistics.median(ours_times)
    paired = statistics.median(o / b for o, b in zip(ours_times, bare_times, strict=True))
    return {
        "server": f"{Path(config['command']).name} {' '.join(Path(a).name for a in config['args'])}".strip(),
        "tool": tool_name,
        "calls_each": len(bare_times) * block,
        "bare_ms": round(bare * 1000, 3),
        "agentkit_ms": round(ours * 1000, 3),
        "ratio": round(paired, 3),
        "client_cpu_bare_ms": round(statistics.median(cpu["bare"]) * 1000, 3),
        "client_cpu_agentkit_ms": round(statistics.median(cpu["ours"]) * 1000, 3),
    }


async def bench_startup(n: int) -> dict:
    config, _, _ = server()
    configs = {f"s{i}": dict(config) for i in range(n)}

    started = time.perf_counter()
    providers = [MCPServerProvider(name, c) for name, c in configs.items()]
    try:
        for provider in providers:
            await provider.start()
        sequential = time.perf_counter() - started
    finally:
        for provider in providers:
            await provider.aclose()

    from agentkit.mcp import providers_from_config

    started = time.perf_counter()
    async with ToolSet(providers=providers_from_config(configs)) as ts:
        concurrent = time.perf_counter() - started
        assert not ts.provider_errors, ts.provider_errors
        closing = time.perf_counter()
    closed = time.perf_counter() - closing
    return {
        "servers": n,
        "sequential_s": round(sequential, 3),
        "concurrent_s": round(concurrent, 3),
        "speedup": round(sequential / concurrent, 2),
        "close_all_s": round(closed, 3),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=800, help="tool calls per client (default 800)")
    parser.add_argument("--block", type=int, default=20, help="calls per alternating block (default 20)")
    parser.add_argument(
        "--servers", type=int, default=4, help="servers for the start-up comparison (default 4)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    calls = await bench_calls(args.calls, args.block)
    print(
        f"(a) tool call on {calls['server']} ({calls['tool']}), {calls['calls_each']} calls each, in alternating blocks:"
    )
    print(f"    bare mcp ClientSession   {calls['bare_ms']:8.3f} ms/call")
    print(f"    agentkit MCP provider    {calls['agentkit_ms']:8.3f} ms/call")
    print(
        f"    client CPU per call      {calls['client_cpu_bare_ms']:8.3f} ms bare, "
        f"{calls['client_cpu_agentkit_ms']:.3f} ms through agentkit"
    )
    verdict = "ok" if calls["ratio"] <= 1.1 else "over the 1.1x goal"
    print(
        f"    ratio agentkit / bare    {calls['ratio']:8.3f}x  median of paired blocks (goal <= 1.1x: {verdict})"
    )

    startup = await bench_startup(args.servers)
    print(f"(b) start-up of {startup['servers']} servers (spawn + handshake + tools/list):")
    print(f"    one after another        {startup['sequential_s']:8.3f} s")
    print(f"    concurrently (ToolSet)   {startup['concurrent_s']:8.3f} s  ({startup['speedup']}x faster)")
    print(f"    closing all              {startup['close_all_s']:8.3f} s")
    if args.json:
        args.json.write_text(json.dumps({"call": calls, "startup": startup}, indent=2))


if __name__ == "__main__":
    anyio.run(main)
