"""Qwen3-Coder XML calls: ``<function=NAME>\\n<parameter=ARG>\\nVALUE\\n</parameter>...</function>``.

Values are raw text typed by the tool's JSON schema. A missing ``</parameter>`` is closed by the next
``<parameter=`` that starts a line; a literal ``</parameter>`` inside a value only closes it when followed by
``<parameter=``, ``</function>``, ``</tool_call>`` or the end of the call.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agentkit.qwen3.json_repair import RepairError, loads_lenient
from agentkit.qwen3.tool_check import TRUNCATED, TYPE_ALIASES, ParsedCall

FUNCTION_OPEN = "<function="
_PARAM_OPEN = "<parameter="
_PARAM_CLOSE = "</parameter>"
_FUNCTION_CLOSE = "</function>"
_REAL_PARAM_CLOSE = re.compile(r"\s*(?:<parameter=|</function>|</tool_call>|\Z)")
_REAL_FUNCTION_CLOSE = re.compile(r"</function>\s*\Z")
_INT = re.compile(r"[+-]?\d+\Z")
_SHAPE_HINT = "Write each call as <tool_call>\n<function=TOOL>\n<parameter=NAME>\nVALUE\n</parameter>\n</function>\n</tool_call>."


def function_name(head: str) -> str | None:
    """The NAME of ``<function=NAME>`` once its ``>`` has arrived, else None."""
    start = head.find(FUNCTION_OPEN)
    if start < 0:
        return None
    end = head.find(">", start)
    return head[start + len(FUNCTION_OPEN) : end].strip() if end >= 0 else None


def parse_xml_body(body: str, schema: dict[str, Any] | None, *, closed: bool) -> ParsedCall:
    """Parse one XML call body (without the ``<tool_call>`` wrapper, if any)."""
    start = body.find(FUNCTION_OPEN)
    if start < 0:
        if not closed:
            return ParsedCall(None, None, body.strip(), TRUNCATED, truncated=True)
        return ParsedCall(None, None, body.strip(), f"tool call has no <function=NAME>. {_SHAPE_HINT}")
    name_end = body.find(">", start)
    if name_end < 0:
        return ParsedCall(None, None, body.strip(), TRUNCATED, truncated=True)
    name = body[start + len(FUNCTION_OPEN) : name_end].strip()
    finished = _REAL_FUNCTION_CLOSE.search(body, name_end) is not None
    if not closed and not finished:
        return ParsedCall(name or None, None, body.strip(), TRUNCATED, truncated=True)
    if not name:
        return ParsedCall(None, None, body.strip(), f"<function=> has no tool name. {_SHAPE_HINT}")
    props = (schema or {}).get("properties") or {}
    args: dict[str, Any] = {}
    pos = name_end + 1
    while True:
        p_open = body.find(_PARAM_OPEN, pos)
        if p_open < 0:
            break
        gt = body.find(">", p_open)
        if gt < 0:
            break
        key = body[p_open + len(_PARAM_OPEN) : gt].strip()
        value, pos = _read_value(body, gt + 1)
        args[key] = typed_value(value, props.get(key))
    return ParsedCall(name, args, json.dumps(args, ensure_ascii=False))


def _read_value(body: str, start: int) -> tuple[str, int]:
    """The raw value starting at ``start`` and the position after it."""
    limit = body.find("\n" + _PARAM_OPEN, start)
    if limit >= 0:
        limit += 1
    else:
        fn_close = _REAL_FUNCTION_CLOSE.search(body, start)
        limit = len(body) if fn_close is None else fn_close.start()
    close = body.find(_PARAM_CLOSE, start, limit)
    while close >= 0:
        if _REAL_PARAM_CLOSE.match(body, close + len(_PARAM_CLOSE)):
            return _strip_one_newline(body[start:close]), close + len(_PARAM_CLOSE)
        close = body.find(_PARAM_CLOSE, close + 1, limit)
    return _strip_one_newline(body[start:limit]), limit


def _strip_one_newline(value: str) -> str:
    if value.startswith("\n"):
        value = value[1:]
    if value.endswith("\n"):
        value = value[:-1]
    return value


def schema_type(schema: Any) -> str:
    """The JSON type a parameter schema asks for: first non-null type; unknown means string."""
    if not isinstance(schema, dict):
        return "string"
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        for option in schema.get("anyOf") or schema.get("oneOf") or []:
            found = schema_type(option)
            if found != "null":
                return found
        return "string"
    kind = TYPE_ALIASES.get(kind, kind) if isinstance(kind, str) else "string"
    return kind if kind in ("string", "integer", "number", "boolean", "object", "array", "null") else "string"


def typed_value(raw: str, schema: Any) -> Any:
    """Convert a raw XML value by its schema type; text that does not convert stays a string."""
    kind = schema_type(schema)
    text = raw.strip()
    if kind == "string":
        return raw
    if text.lower() == "null":
        return None
    if kind == "integer" and _INT.match(text):
        return int(text)
    if kind == "number":
        try:
            return int(text) if _INT.match(text) else float(text)
        except ValueError:
            return raw
    if kind == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if kind in ("object", "array"):
        try:
            return loads_lenient(text)[0]
        except RepairError:
            return raw
    return raw
