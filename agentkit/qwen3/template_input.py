"""What the Qwen3 chat templates see: OpenAI-format messages and tools, checked and normalised.

Before a template runs, messages are brought to the shape vLLM's OpenAI server hands its chat
templates, so that a prompt we render equals the one the server would render for the same request:

- ``content`` that is a list of parts becomes its text parts joined with ``"\\n"``; ``None`` or a
  missing ``content`` becomes ``""`` (non-text parts are refused: Qwen3 text models read text only);
- an assistant's reasoning is ``reasoning_content``, or else ``reasoning`` (vLLM's newer name);
- a tool entry may be the OpenAI ``{"type": "function", "function": {...}}`` object or a bare
  function dict ``{"name", "description", "parameters"}``, which is wrapped into the former (that is
  what the hybrid template prints, and what the model saw in training);
- message objects with ``model_dump()`` (pydantic, the OpenAI SDK's types) are read as dicts.

Everything else is passed to the template rules unchanged. Bad input raises ``ValueError`` naming
the message and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ROLES = ("system", "user", "assistant", "tool")

_MISSING: Any = object()
"""Stands for a key the message does not have (Jinja's ``undefined``)."""


@dataclass(slots=True)
class Call:
    """One tool call of an assistant message, its ``function`` wrapper already removed."""

    name: Any
    """The ``name`` value, or ``_MISSING``."""
    arguments: Any
    """A string (rendered verbatim by the JSON templates), any JSON value, or ``_MISSING``."""


@dataclass(slots=True)
class Message:
    """One message as the templates read it."""

    role: str
    content: str
    reasoning: str | None
    calls: list[Call]


def as_mapping(value: Any, what: str) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(exclude_none=True)
    raise ValueError(f"{what} must be a dict (OpenAI format), got {type(value).__name__}: {value!r:.80}")


def text_of(content: Any, where: str) -> str:
    """A message's content as one string: text parts joined with newlines, ``None`` as ``""``."""
    if isinstance(content, str):
        return content
    if content is None or content is _MISSING:
        return ""
    if isinstance(content, Sequence):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
                continue
            part = as_mapping(part, f"a content part of {where}")
            if isinstance(part.get("text"), str) and part.get("type", "text") == "text":
                texts.append(part["text"])
            elif part.get("type", "text") == "text":
                raise ValueError(
                    f'{where} has a text content part without a string "text": {dict(part)!r:.80}'
                )
            else:
                kind = part.get("type") or ", ".join(part)
                raise ValueError(
                    f"{where} has a {kind!r} content part; Qwen3 text models read text only: "
                    'send {"type": "text", "text": ...} parts or a plain string'
                )
        return "\n".join(texts)
    raise ValueError(
        f"{where} has content of type {type(content).__name__}; give a string or a list of text parts"
    )


def _call(entry: Any, where: str) -> Call:
    entry = as_mapping(entry, f"a tool call in {where}")
    function = entry.get("function")
    if function:  # the templates unwrap ``function`` when it is there and not empty
        entry = as_mapping(function, f"the function of a tool call in {where}")
    return Call(entry.get("name", _MISSING), entry.get("arguments", _MISSING))


def normalize_messages(messages: Sequence[Any]) -> list[Message]:
    """Check ``messages`` and bring each to the shape the templates read."""
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise ValueError(
            f"messages must be a list of OpenAI-format message dicts, got {type(messages).__name__}"
        )
    if not messages:
        raise ValueError("messages is empty: a Qwen3 prompt needs at least one message")
    out = []
    for index, raw in enumerate(messages):
        where = f"messages[{index}]"
        message = as_mapping(raw, where)
        role = message.get("role")
        if role not in ROLES:
            hint = " (use 'system')" if role == "developer" else ""
            raise ValueError(
                f"{where} has role {role!r}; the Qwen3 chat templates know only {', '.join(ROLES)}{hint}"
            )
        reasoning = None
        calls: list[Call] = []
        if role == "assistant":
            for key in ("reasoning_content", "reasoning"):
                if isinstance(message.get(key), str):
                    reasoning = message[key]
                    break
            tool_calls = message.get("tool_calls") or []
            if isinstance(tool_calls, (str, bytes)) or not isinstance(tool_calls, Sequence):
                raise ValueError(f"{where}.tool_calls must be a list of tool calls")
            calls = [_call(entry, where) for entry in tool_calls]
        out.append(Message(role, text_of(message.get("content"), where), reasoning, calls))
    return out


def normalize_tools(tools: Sequence[Any] | None) -> list[dict[str, Any]]:
    """OpenAI tool entries; a bare function dict (one with a ``name``) is wrapped as ``type: function``."""
    if not tools:
        return []
    if isinstance(tools, (str, bytes, Mapping)) or not isinstance(tools, Sequence):
        raise ValueError(f"tools must be a list of OpenAI tool dicts, got {type(tools).__name__}")
    out = []
    for index, raw in enumerate(tools):
        tool = as_mapping(raw, f"tools[{index}]")
        if isinstance(tool.get("function"), Mapping):
            out.append(dict(tool))
        elif isinstance(tool.get("name"), str):
            out.append({"type": "function", "function": dict(tool)})
        else:
            raise ValueError(
                f"tools[{index}] is neither {{'type': 'function', 'function': {{...}}}} nor a function dict "
                f"with a 'name': {tool!r:.120}"
            )
    return out


def to_json(value: Any, what: str) -> str:
    """``json.dumps(value, ensure_ascii=False)``, the templates' ``tojson``; a clear error if it cannot."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} cannot be written as JSON ({exc}); give plain JSON values") from None


def is_missing(value: Any) -> bool:
    """Whether a ``Call`` field was absent from the message."""
    return value is _MISSING
