"""Checks shared by the built-in tools: task options and model-given arguments, both via pydantic."""

from __future__ import annotations

import difflib
from typing import Any, TypeVar

import pydantic

from agentkit.tooling.base import ToolResult
from agentkit.tooling.schema import inline_refs, strip_titles

M = TypeVar("M", bound=pydantic.BaseModel)


class Strict(pydantic.BaseModel):
    """Base for option and argument models: unknown keys are an error, never silently dropped."""

    model_config = pydantic.ConfigDict(extra="forbid")


def _unknown_key_hint(name: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.5)
    return f" — did you mean {close[0]!r}?" if close else ""


def _describe(exc: pydantic.ValidationError, allowed: list[str], kind: str) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "value"
        if err["type"] == "extra_forbidden":
            problems.append(
                f"unknown {kind} {where!r}{_unknown_key_hint(where, allowed)} (allowed: {', '.join(allowed)})"
            )
        else:
            problems.append(f"{where}: {err['msg']}")
    return "; ".join(problems)


def parse_options(model: type[M], options: dict[str, Any] | None, tool: str) -> M:
    """A task's per-tool options as ``model``; raises ``ValueError`` naming the bad key and the allowed ones."""
    allowed = list(model.model_fields)
    try:
        return model.model_validate(dict(options or {}))
    except pydantic.ValidationError as exc:
        raise ValueError(f"{tool}: {_describe(exc, allowed, 'option')}") from None


def parse_arguments(model: type[M], arguments: Any, tool: str) -> M | ToolResult:
    """The model's call arguments as ``model``, or an error result telling the model what to fix."""
    if not isinstance(arguments, dict):
        return ToolResult.error(f"{tool}: arguments must be a JSON object, got {type(arguments).__name__}")
    allowed = list(model.model_fields)
    bad = _lone_surrogate(arguments)
    if bad is not None:
        where, position, char = bad
        return ToolResult.error(
            f"{tool}: argument `{where}` is not valid Unicode: lone surrogate {char!r} at position "
            f"{position}; send plain UTF-8 text"
        )
    try:
        return model.model_validate(arguments)
    except pydantic.ValidationError as exc:
        return ToolResult.error(f"Invalid arguments for {tool}: {_describe(exc, allowed, 'argument')}")


def parameters_schema(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    """A flat JSON schema for the tool's arguments, as the model sees it."""
    schema = strip_titles(inline_refs(model.model_json_schema()))
    return {
        "type": "object",
        "properties": schema.get("properties", {}),
        "required": schema.get("required", []),
    }


def _lone_surrogate(value: Any, where: str = "") -> tuple[str, int, str] | None:
    """``(argument, position, character)`` of the first lone surrogate (``"\\ud800"``) in any string of
    ``value``: such text cannot be encoded, so no file, process or request may receive it."""
    if isinstance(value, str):
        for position, char in enumerate(value):
            if "\ud800" <= char <= "\udfff":
                return where, position, char
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        found = _lone_surrogate(inner, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None
