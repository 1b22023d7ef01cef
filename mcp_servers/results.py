"""A ``ToolResult`` as an MCP ``CallToolResult``: the text, the error flag, structured content and the
attachments (images, audio, resources) as native content blocks again."""

from __future__ import annotations

from typing import Any

import mcp.types as types

from agentkit.tooling.base import ToolResult


def to_call_result(result: ToolResult) -> types.CallToolResult:
    """Text first, then one block per attachment. ``structured`` becomes ``structuredContent``: a dict as is,
    any other JSON value as ``{"result": value}`` (the protocol wants an object there)."""
    content: list[Any] = [types.TextContent(type="text", text=result.text)] if result.text else []
    content.extend(block for block in map(_attachment_block, result.attachments) if block is not None)
    structured = result.structured
    if structured is not None and not isinstance(structured, dict):
        structured = {"result": structured}
    return types.CallToolResult(content=content, structured_content=structured, is_error=result.is_error)


def _attachment_block(item: dict[str, Any]) -> Any:
    """The content block an attachment dict (as ``agentkit.mcp.results`` keeps them) stands for."""
    kind = item.get("type")
    if kind == "image" and item.get("data"):
        return types.ImageContent(
            type="image", data=item["data"], mime_type=item.get("mime_type") or "image/png"
        )
    if kind == "audio" and item.get("data"):
        return types.AudioContent(
            type="audio", data=item["data"], mime_type=item.get("mime_type") or "audio/wav"
        )
    if kind == "resource" and item.get("uri"):
        if item.get("text") is not None:
            contents: Any = types.TextResourceContents(
                uri=item["uri"], mime_type=item.get("mime_type"), text=item["text"]
            )
        elif item.get("blob") is not None:
            contents = types.BlobResourceContents(
                uri=item["uri"], mime_type=item.get("mime_type"), blob=item["blob"]
            )
        else:
            return None
        return types.EmbeddedResource(type="resource", resource=contents)
    if kind == "resource_link" and item.get("uri"):
        return types.ResourceLink(
            type="resource_link",
            uri=item["uri"],
            name=item.get("name") or item["uri"],
            mime_type=item.get("mime_type"),
        )
    return None  # anything else is already summarised in the text
