"""The MCP client under test for the official conformance suite's client scenarios.

``conformance client --command "python tests/conformance_client.py"`` appends the scenario server's URL;
the scenario's name is in ``$MCP_CONFORMANCE_SCENARIO``. This driver does what an agent run does with
agentkit's client (``agentkit.mcp.MCPServerProvider``): connect, list the tools, call each one with
arguments made from its schema, and answer elicitation as a user who accepts the offered defaults.
Exit status 0 when every call got a result.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio

from agentkit.mcp import MCPServerProvider
from agentkit.tooling.base import ToolContext

_SAMPLES: dict[str, Any] = {
    "number": 2,
    "integer": 3,
    "string": "test",
    "boolean": True,
    "array": [],
    "object": {},
}


def sample_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    """Plain values for the schema's required properties (first enum value, else one per type)."""
    properties = schema.get("properties") or {}
    out: dict[str, Any] = {}
    for name in schema.get("required") or []:
        spec = properties.get(name) or {}
        if spec.get("enum"):
            out[name] = spec["enum"][0]
        else:
            kind = spec.get("type", "string")
            out[name] = _SAMPLES.get(kind if isinstance(kind, str) else kind[0], "test")
    return out


async def accept_defaults(message: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The user accepts: every field the schema gives a default gets it."""
    print(f"elicitation: {message}", file=sys.stderr)
    return {
        name: spec["default"] for name, spec in (schema.get("properties") or {}).items() if "default" in spec
    }


async def main(url: str) -> int:
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "?")
    print(f"scenario {scenario}: connecting to {url}", file=sys.stderr)
    provider = MCPServerProvider(
        "conformance", {"url": url, "timeout": 20}, elicitation_handler=accept_defaults
    )
    failures = 0
    try:
        tools = await provider.start()
        for tool in tools:
            result = await tool.call(sample_arguments(tool.parameters), ToolContext(call_id=tool.name))
            print(f"{tool.name}: {'error: ' if result.is_error else ''}{result.text[:300]}", file=sys.stderr)
            failures += result.is_error
    except Exception as exc:
        print(f"scenario {scenario}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        await provider.aclose()
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/conformance_client.py SERVER_URL")
    sys.exit(anyio.run(main, sys.argv[1]))
