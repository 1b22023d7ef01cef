"""Questions for the person behind the MCP client, asked with elicitation during a tool call: approving a
tool call the task marks ``approval: ask``, and elicitation requests of the agent's own MCP servers."""

from __future__ import annotations

import json
import logging
from typing import Any

from agentkit_mcp_servers.adapter import current_request

log = logging.getLogger("mcp_servers")

_APPROVAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"allow": {"type": "boolean", "title": "Allow this tool call", "default": False}},
    "required": ["allow"],
}


def _asking_context(purpose: str) -> Any:
    """The current request, if its client can answer elicitation; else None (and a log line saying why)."""
    ctx = current_request()
    if ctx is None:
        log.warning("cannot ask the MCP client about %s: not inside a tool call", purpose)
        return None
    capabilities = ctx.session.client_capabilities
    if capabilities is None or capabilities.elicitation is None:
        log.warning(
            "the MCP client does not support elicitation, so %s is refused; serve with --yes to approve "
            "tool calls without asking",
            purpose,
        )
        return None
    return ctx


async def ask_approval(name: str, arguments: dict[str, Any]) -> bool:
    """Ask the client's user whether the agent may call ``name`` with ``arguments``."""
    ctx = _asking_context(f"the call to {name}")
    if ctx is None:
        return False
    shown = json.dumps(arguments, ensure_ascii=False)
    message = f"The agent wants to call the tool {name} with {shown[:2000]}. Allow it?"
    answer = await ctx.session.elicit_form(message, _APPROVAL_SCHEMA, related_request_id=ctx.request_id)
    return answer.action == "accept" and bool((answer.content or {}).get("allow"))


async def forward_elicitation(message: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    """Pass an elicitation request of one of the agent's MCP servers on to our client; None: declined."""
    ctx = _asking_context("a question from one of the agent's MCP servers")
    if ctx is None:
        return None
    answer = await ctx.session.elicit_form(
        message, schema or {"type": "object", "properties": {}}, related_request_id=ctx.request_id
    )
    return dict(answer.content or {}) if answer.action == "accept" else None
