"""An MCP ``CallToolResult`` as a ``ToolResult``: text for the model, the rest kept for ``--json``."""

from __future__ import annotations

import base64
import json
from typing import Any

from agentkit.tooling.base import ToolResult


def to_tool_result(result: Any, max_chars: int) -> ToolResult:
    """Text blocks joined; images, audio and resources summarised in the text and kept as attachments.

    ``structuredContent`` is kept in ``.structured`` and shown as JSON when there is no text block.
    ``isError`` becomes an error result whose text starts with ``Error:``, so the model reads it as one.
    Text beyond ``max_chars`` is cut with a note saying so.
    """
    parts: list[str] = []
    attachments: list[dict[str, Any]] = []
    has_text = False
    for block in result.content:
        kind = getattr(block, "type", None)
        if kind == "text":
            has_text = True
            parts.append(block.text)
        elif kind in ("image", "audio"):
            parts.append(f"[{kind} {block.mime_type}, {_size(_decoded_len(block.data))}]")
            attachments.append({"type": kind, "mime_type": block.mime_type, "data": block.data})
        elif kind == "resource":
            summary, attachment = _resource(block.resource)
            parts.append(summary)
            attachments.append(attachment)
        elif kind == "resource_link":
            label = block.title or block.name
            parts.append(
                f"[resource link {label}: {block.uri}"
                + (f" ({block.mime_type})]" if block.mime_type else "]")
            )
            attachments.append(
                {
                    "type": "resource_link",
                    "uri": str(block.uri),
                    "name": block.name,
                    "mime_type": block.mime_type,
                }
            )
        else:  # a content type newer than this code: keep it, say what it was
            dumped = block.model_dump(mode="json", by_alias=True, exclude_none=True)
            parts.append(f"[{kind or 'unknown'} content]")
            attachments.append(dumped)
    structured = result.structured_content
    if structured is not None and not has_text:
        parts.insert(0, json.dumps(structured, ensure_ascii=False))
    text = "\n".join(parts)
    if result.is_error:
        text = f"Error: {text}" if text else "Error: the tool reported a failure without a message"
    elif not text:
        text = "(no output)"
    return ToolResult(
        text=cap(text, max_chars),
        is_error=bool(result.is_error),
        structured=structured,
        attachments=attachments,
    )


def resource_result(result: Any, max_chars: int) -> ToolResult:
    """An MCP ``ReadResourceResult``: text contents shown, binary ones summarised; all kept as attachments."""
    parts: list[str] = []
    attachments: list[dict[str, Any]] = []
    for contents in result.contents:
        summary, attachment = _resource(contents)
        parts.append(summary)
        attachments.append(attachment)
    return ToolResult(text=cap("\n".join(parts) or "(empty resource)", max_chars), attachments=attachments)


def cap(text: str, max_chars: int) -> str:
    """``text`` cut to ``max_chars`` with a note giving the full length."""
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}\n[output cut: showing {max_chars} of {len(text)} characters]"


def _resource(resource: Any) -> tuple[str, dict[str, Any]]:
    uri = str(resource.uri)
    mime = resource.mime_type or "unknown type"
    text = getattr(resource, "text", None)
    if text is not None:
        return f"[resource {uri} ({mime})]\n{text}", {
            "type": "resource",
            "uri": uri,
            "mime_type": resource.mime_type,
            "text": text,
        }
    blob = resource.blob
    decoded = _text_blob(blob, resource.mime_type)
    summary = f"[resource {uri} ({mime}, {_size(_decoded_len(blob))})]"
    return summary if decoded is None else f"{summary}\n{decoded}", {
        "type": "resource",
        "uri": uri,
        "mime_type": resource.mime_type,
        "blob": blob,
    }


_TEXT_TYPES = ("application/json", "application/xml", "application/yaml", "application/javascript")


def _text_blob(b64: str, mime_type: str | None) -> str | None:
    """A blob of a text type (``text/*``, JSON, XML, YAML, JavaScript) decoded as UTF-8; None otherwise or
    when it does not decode."""
    kind = (mime_type or "").split(";")[0].strip().lower()
    if not (kind.startswith("text/") or kind in _TEXT_TYPES or kind.endswith(("+json", "+xml"))):
        return None
    try:
        return base64.b64decode(b64, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def _decoded_len(b64: str) -> int:
    return len(b64) * 3 // 4 - b64[-2:].count("=")


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / 1024 / 1024:.1f} MB"
