"""A small stdio MCP server for the client's fault tests (the real peers cover the rest).

Flags: ``--banner`` writes non-JSON lines on stdout before serving; ``--child`` starts a long-lived child
process first (its shutdown must take the child with it).
"""

import os
import subprocess
import sys

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

server = MCPServer("fixture-tools")


class Point(BaseModel):
    x: int
    y: int


@server.tool()
async def wait(seconds: float, ctx: Context) -> str:
    """Sleep, reporting progress every 0.1 s."""
    steps = max(1, round(seconds / 0.1))
    for i in range(steps):
        await anyio.sleep(seconds / steps)
        await ctx.report_progress(i + 1, steps, f"step {i + 1}")
    return f"waited {seconds} s"


@server.tool()
def pid() -> int:
    """This server's process id."""
    return os.getpid()


@server.tool()
def fail(reason: str) -> str:
    """Always fails."""
    raise ToolError(reason)


@server.tool()
def big(chars: int) -> str:
    """A long text."""
    return "x" * chars


@server.tool()
def distance(a: Point, b: Point) -> float:
    """Manhattan distance of two points (nested models: the schema has $defs)."""
    return abs(a.x - b.x) + abs(a.y - b.y)


@server.tool(name="dotted.name with spaces")
def odd_name() -> str:
    """A tool whose name the model cannot use as is."""
    return "odd"


@server.tool()
async def add_tool(name: str, ctx: Context) -> str:
    """Add a tool named ``name`` and tell the client the list changed."""
    server.add_tool(lambda: f"I am {name}", name=name, description=f"added at run time: {name}")
    await ctx.session.send_tool_list_changed()
    return f"added {name}"


@server.tool()
async def log(message: str, ctx: Context) -> str:
    """Send a log message to the client."""
    await ctx.warning(message)
    return "logged"


if __name__ == "__main__":
    if "--child" in sys.argv:
        subprocess.Popen(["sleep", "300"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    if "--banner" in sys.argv:
        print("fixture-tools starting up... (this line is not JSON-RPC)", flush=True)
    print("fixture-tools: ready", file=sys.stderr, flush=True)
    server.run()
