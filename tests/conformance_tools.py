"""Fixture tools for the conformance suite's ``tools-call-*`` server scenarios, served through agentkit's
generic adapter (``agentkit_mcp_servers.serve_tools``) over HTTP: ``python tests/conformance_tools.py PORT``.

The suite calls tools of fixed names (``test_simple_text``, ``test_image_content``, ...) that only its
reference server has; these are plain agentkit ``Tool``s returning what each scenario asks for, so the
scenarios check how the adapter carries text, images, audio, resources, errors, progress, logs,
elicitation and JSON Schema 2020-12 keywords onto the wire. (The agent server itself offers one tool, ``run_agent``.)
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from agentkit.tooling.base import ToolContext, ToolResult
from agentkit_mcp_servers.client_questions import forward_elicitation
from agentkit_mcp_servers.transports import configure_stderr_logging, serve_tools

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
WAV = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA="
log = logging.getLogger("agentkit.conformance")
Behaviour = Callable[[dict[str, Any], ToolContext], Awaitable[ToolResult]]


class FixtureTool:
    def __init__(self, name: str, behaviour: Behaviour, properties: dict[str, Any] | None = None):
        self.name, self.behaviour = name, behaviour
        self.description = f"conformance fixture {name}"
        self.parameters = {"type": "object", "properties": properties or {}}

    async def call(self, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
        return await self.behaviour(arguments, ctx)


async def simple_text(arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    return ToolResult(text="This is a simple text response for testing.")


async def image(arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    return ToolResult(text="", attachments=[{"type": "image", "mime_type": "image/png", "data": PNG}])


async def audio(arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    return ToolResult(text="", attachments=[{"type": "audio", "mime_type": "audio/wav", "data": WAV}])


RESOURCE = {
    "type": "resource",
    "uri": "test://embedded-resource",
    "mime_type": "text/plain",
    "text": "embedded",
}


async def embedded(arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    return ToolResult(text="", attachments=[RESOURCE])


async def mixed(arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    return ToolResult(
        text="Multiple content types test:",
        attachments=[{"type": "image", "mime_type": "image/png", "data": PNG}, RESOURCE],
    )


async def logging_tool(arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    for stage in ("started", "halfway", "finished"):
        log.info("tool execution %s", stage)
        await anyio.sleep(0.05)
    return ToolResult(text="Tool with logging executed successfully")


async def error(arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    return ToolResult.error("This tool intentionally returns an error for testing")


async def progress(arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    for step in range(3):
        await ctx.report_progress(step * 50, 100, f"step {step + 1}")
        await anyio.sleep(0.05)
    return ToolResult(text="Progress test completed")


async def elicitation(arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    schema = {
        "type": "object",
        "properties": {"username": {"type": "string"}, "email": {"type": "string"}},
        "required": ["username", "email"],
    }
    answer = await forward_elicitation(arguments.get("message") or "Please provide your information", schema)
    if answer is None:
        return ToolResult.error("the client declined, or cannot answer elicitation")
    return ToolResult(text=f"User response: action: accept, content: {answer}")


async def elicit_with(schema: dict[str, Any]) -> ToolResult:
    answer = await forward_elicitation("Please review these fields", schema)
    action = "accept" if answer is not None else "decline"
    return ToolResult(text=f"Elicitation completed: action={action}, content={answer}")


DEFAULTS_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "default": "John Doe"},
        "age": {"type": "integer", "default": 30},
        "score": {"type": "number", "default": 95.5},
        "status": {"type": "string", "enum": ["active", "inactive", "pending"], "default": "active"},
        "verified": {"type": "boolean", "default": True},
    },
}
ENUMS_SCHEMA = {
    "type": "object",
    "properties": {
        "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
        "titledSingle": {
            "type": "string",
            "oneOf": [
                {"const": "value1", "title": "First Option"},
                {"const": "value2", "title": "Second Option"},
                {"const": "value3", "title": "Third Option"},
            ],
        },
        "legacyEnum": {
            "type": "string",
            "enum": ["opt1", "opt2", "opt3"],
            "enumNames": ["Option One", "Option Two", "Option Three"],
        },
        "untitledMulti": {
            "type": "array",
            "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
        },
        "titledMulti": {
            "type": "array",
            "items": {
                "anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"},
                ]
            },
        },
    },
}
SCHEMA_2020_12 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
    "additionalProperties": False,
}


async def echo_arguments(arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    return ToolResult(text=f"received {sorted(arguments)}")


schema_tool = FixtureTool("json_schema_2020_12_tool", echo_arguments)
schema_tool.parameters = SCHEMA_2020_12  # passed through untouched: the scenario checks $schema and $defs

TOOLS = [
    FixtureTool("test_simple_text", simple_text),
    FixtureTool("test_image_content", image),
    FixtureTool("test_audio_content", audio),
    FixtureTool("test_embedded_resource", embedded),
    FixtureTool("test_multiple_content_types", mixed),
    FixtureTool("test_tool_with_logging", logging_tool),
    FixtureTool("test_error_handling", error),
    FixtureTool("test_tool_with_progress", progress),
    FixtureTool("test_elicitation", elicitation, {"message": {"type": "string"}}),
    FixtureTool("test_elicitation_sep1034_defaults", lambda arguments, ctx: elicit_with(DEFAULTS_SCHEMA)),
    FixtureTool("test_elicitation_sep1330_enums", lambda arguments, ctx: elicit_with(ENUMS_SCHEMA)),
    schema_tool,
]

if __name__ == "__main__":
    configure_stderr_logging("warning")
    anyio.run(
        lambda: serve_tools(TOOLS, name="agentkit-conformance-fixtures", http=True, port=int(sys.argv[1]))
    )
