"""Judging a parsed call against the tools offered: known name, arguments that fit the schema.

Errors are written for the model: they name the problem and say how to fix the call.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from agentkit.qwen3.types import InvalidToolCall, ToolCall

_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


TYPE_ALIASES = {
    "int": "integer",
    "float": "number",
    "double": "number",
    "bool": "boolean",
    "dict": "object",
    "list": "array",
}
"""Type names schemas in the wild use for JSON-schema types."""
TRUNCATED = "the output ended inside this tool call before it was complete, so it was not run"


@dataclass(slots=True)
class ParsedCall:
    """What a call body parser made of one call, before it is judged against the tools."""

    name: str | None
    arguments: dict[str, Any] | None
    raw_arguments: str
    """The arguments text as written when valid as written, else re-serialised JSON; for a call that
    failed to parse, the arguments text as located (or the whole body)."""
    error: str | None = None
    truncated: bool = False


def normalise_tools(tools: Iterable[Any]) -> dict[str, dict[str, Any] | None]:
    """Map tool name -> parameters schema from OpenAI tool dicts, bare function dicts or Tool objects."""
    if isinstance(tools, (str, bytes, dict)):
        raise TypeError("tools must be a list of tools, e.g. [{'type': 'function', 'function': {...}}]")
    out: dict[str, dict[str, Any] | None] = {}
    for i, tool in enumerate(tools):
        if isinstance(tool, dict):
            fn = tool.get("function", tool)
            name, params = (fn.get("name"), fn.get("parameters")) if isinstance(fn, dict) else (None, None)
        else:
            name, params = getattr(tool, "name", None), getattr(tool, "parameters", None)
        if not isinstance(name, str) or not name:
            raise TypeError(
                f"tools[{i}] has no name: expected {{'type': 'function', 'function': {{'name': ..., "
                f"'parameters': {{...}}}}}}, a bare function dict or a Tool object, got {tool!r:.120}"
            )
        out[name] = params if isinstance(params, dict) else None
    return out


class ToolChecker:
    """Checks calls against the offered tools; with ``tools=None`` any name passes unchecked."""

    def __init__(self, tools: Iterable[Any] | None) -> None:
        self.schemas = None if tools is None else normalise_tools(tools)
        self._validators: dict[str, Callable[[dict[str, Any]], list[str]]] = {}

    def schema(self, name: str) -> dict[str, Any] | None:
        """The parameters schema of tool ``name``, if known."""
        return None if self.schemas is None else self.schemas.get(name)

    def judge(self, parsed: ParsedCall, *, index: int, call_id: str) -> ToolCall | InvalidToolCall:
        """A ToolCall when the call is well-formed, known and fits its schema; else an InvalidToolCall."""
        error = parsed.error
        if error is None and parsed.name is not None and parsed.arguments is not None:
            error = self._check(parsed.name, parsed.arguments)
            if error is None:
                return ToolCall(call_id, parsed.name, parsed.arguments, parsed.raw_arguments, index)
        return InvalidToolCall(
            call_id, parsed.raw_arguments, error or "malformed tool call", parsed.name, index
        )

    def _check(self, name: str, arguments: dict[str, Any]) -> str | None:
        if self.schemas is None:
            return None
        if name not in self.schemas:
            return unknown_tool_error(name, list(self.schemas))
        schema = self.schemas[name]
        if schema is None:
            return None
        validate = self._validators.get(name)
        if validate is None:
            validate = self._validators[name] = _make_validator(schema)
        problems = validate(arguments)
        if not problems:
            return None
        return (
            f"invalid arguments for tool '{name}': {'; '.join(problems[:5])}. "
            "Call it again with arguments that match its parameters schema."
        )


def unknown_tool_error(name: str, names: list[str]) -> str:
    """The error for a call to a tool that does not exist, with a 'did you mean' hint."""
    if not names:
        return (
            f"unknown tool '{name}': no tools are available in this conversation; answer without calling one."
        )
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    listed = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
    return f"unknown tool '{name}'.{hint} Available tools: {listed}."


def canonical_types(schema: Any) -> Any:
    """A copy of ``schema`` with alias type names (``int``, ``bool``, ``dict``...) made standard."""
    if isinstance(schema, list):
        return [canonical_types(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: canonical_types(v) for k, v in schema.items()}
    kind = schema.get("type")
    if isinstance(kind, str):
        out["type"] = TYPE_ALIASES.get(kind, kind)
    elif isinstance(kind, list):
        out["type"] = [TYPE_ALIASES.get(k, k) if isinstance(k, str) else k for k in kind]
    return out


def _make_validator(schema: dict[str, Any]) -> Callable[[dict[str, Any]], list[str]]:
    schema = canonical_types(schema)
    try:
        from jsonschema.validators import validator_for
    except ImportError:  # jsonschema is optional: fall back to the small checker
        return lambda args: check_schema(args, schema)
    validator = validator_for(schema)(schema)

    def validate(args: dict[str, Any]) -> list[str]:
        try:
            errors = sorted(validator.iter_errors(args), key=lambda e: list(map(str, e.absolute_path)))
        except Exception:  # the tool's own schema is broken: that is not the model's fault
            return []
        return [
            _describe(e.validator, list(e.absolute_path), e.instance, e.validator_value, e.message, e.schema)
            for e in errors
        ]

    return validate


def _describe(
    kind: Any, path: list[Any], instance: Any, expected: Any, message: str, schema: Any = None
) -> str:
    where = "argument '" + ".".join(map(str, path)) + "'" if path else "arguments"
    if kind == "required" and isinstance(instance, dict):
        missing = [k for k in expected if k not in instance]
        return f"{where} missing required " + ", ".join(f"'{k}'" for k in missing)
    if kind == "additionalProperties" and isinstance(instance, dict) and isinstance(schema, dict):
        allowed = list(schema.get("properties", {}))
        extra = [k for k in instance if k not in allowed]
        return (
            f"{where} has unknown "
            + ", ".join(f"'{k}'" for k in extra)
            + f" (allowed: {', '.join(allowed) or 'none'})"
        )
    if kind == "type":
        want = " or ".join(expected) if isinstance(expected, list) else expected
        return f"{where} must be of type {want}, got {_json_type(instance)} {_short(instance)}"
    return f"{where}: {message}"


def check_schema(value: Any, schema: dict[str, Any], path: list[Any] | None = None) -> list[str]:
    """A small JSON-schema checker (type, required, properties, additionalProperties, items, enum)."""
    path = path or []
    problems: list[str] = []
    want = schema.get("type")
    if want is not None:
        kinds = want if isinstance(want, list) else [want]
        if not any(_JSON_TYPES.get(k, lambda v: True)(value) for k in kinds):
            return [_describe("type", path, value, want, "")]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(
            _describe("enum", path, value, schema["enum"], f"{_short(value)} is not one of {schema['enum']}")
        )
    if isinstance(value, dict):
        props = schema.get("properties", {})
        missing = [k for k in schema.get("required", []) if k not in value]
        if missing:
            problems.append(_describe("required", path, value, missing, ""))
        extra = [k for k in value if k not in props]
        if schema.get("additionalProperties") is False and extra:
            problems.append(_describe("additionalProperties", path, value, False, "", schema))
        for key, sub in props.items():
            if key in value and isinstance(sub, dict):
                problems.extend(check_schema(value[key], sub, [*path, key]))
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problems.extend(check_schema(item, schema["items"], [*path, i]))
    return problems


def _json_type(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _JSON_TYPES[name](value):
            return name
    return type(value).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
