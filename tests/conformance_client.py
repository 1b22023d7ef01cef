"""The MCP client under test for the official conformance suite's client scenarios.

``conformance client --command "python tests/conformance_client.py"`` appends the scenario server's URL;
the scenario's name is in ``$MCP_CONFORMANCE_SCENARIO`` and its credentials (for the auth scenarios) in
``$MCP_CONFORMANCE_CONTEXT``. This driver does what an agent run does with agentkit's client
(``agentkit.mcp.MCPServerProvider``): connect, list the tools, call each one with arguments made from its
schema, and answer elicitation as a user who accepts the offered defaults. The context becomes the
server's ``auth:`` setting as a user would write it; the person signing in is a browser that follows the
authorization server's redirect to agentkit's loopback listener. Exit status 0 when every call got a result.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Any

import anyio
import httpx2

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


CLIENT_METADATA_URL = "https://conformance-test.local/client-metadata.json"
"""The client metadata document URL the suite's CIMD scenarios accept (they do not fetch it)."""


def auth_setting(scenario: str, context: dict[str, Any]) -> dict[str, Any]:
    """The ``auth:`` a user would write for this scenario's server, from the credentials it hands out."""
    if scenario == "auth/client-credentials-jwt":
        return {
            "grant": "client_credentials",
            "client_id": context["client_id"],
            "private_key": context["private_key_pem"],
            "signing_algorithm": context.get("signing_algorithm", "RS256"),
        }
    if scenario == "auth/client-credentials-basic":
        return {
            "grant": "client_credentials",
            "client_id": context["client_id"],
            "client_secret": context["client_secret"],
        }
    if scenario == "auth/cross-app-access-complete-flow":
        return {
            "grant": "jwt_bearer",
            "client_id": context["client_id"],
            "client_secret": context["client_secret"],
            "id_token": context["idp_id_token"],
            "idp_token_endpoint": context["idp_token_endpoint"],
            "idp_client_id": context.get("idp_client_id"),
        }
    setting: dict[str, Any] = {"client_metadata_url": CLIENT_METADATA_URL}
    if context.get("client_id"):  # pre-registered
        setting = {"client_id": context["client_id"], "client_secret": context.get("client_secret")}
    return setting


async def browser(server: str, url: str) -> None:
    """The person signing in: open the authorization URL, follow its redirect back to agentkit."""
    print(f"sign-in to {server}: {url}", file=sys.stderr)
    async with httpx2.AsyncClient(follow_redirects=True, timeout=10) as client:
        response = await client.get(url)
    print(f"sign-in landed on {response.url} (HTTP {response.status_code})", file=sys.stderr)


async def main(url: str) -> int:
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "?")
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    print(f"scenario {scenario}: connecting to {url}", file=sys.stderr)
    config: dict[str, Any] = {"url": url, "timeout": 20}
    if scenario.startswith("auth/"):
        config["auth"] = auth_setting(scenario, context)
    provider = MCPServerProvider(
        "conformance", config, elicitation_handler=accept_defaults, authorization_handler=browser
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
    with tempfile.TemporaryDirectory(prefix="agentkit-conformance-auth-") as tokens:
        os.environ["AGENTKIT_MCP_AUTH_DIR"] = tokens  # a fresh sign-in per scenario
        sys.exit(anyio.run(main, sys.argv[1]))
