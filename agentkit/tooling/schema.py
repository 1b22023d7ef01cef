"""JSON-schema clean-up for tool parameters: Qwen3 reads flat schemas best."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_DEF_KEYS = ("$defs", "definitions")
_DROPPED_KEYS = ("$schema", "$id")
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "dependentSchemas", *_DEF_KEYS})
"""Keywords whose value maps names to subschemas."""
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SCHEMA_ONES = frozenset(
    {
        "items", "additionalItems", "additionalProperties", "not", "if", "then", "else", "contains",
        "propertyNames", "unevaluatedItems", "unevaluatedProperties",
    }
)  # fmt: skip
"""Keywords whose value is one subschema (``items`` may also be a list of them)."""


def map_subschemas(node: dict[str, Any], fn: Callable[[Any], Any]) -> dict[str, Any]:
    """A copy of the schema ``node`` with ``fn`` applied to each direct subschema. Every other keyword's
    value (``default``, ``examples``, ``const``, ``enum``, annotations) is data and is kept as it is."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: fn(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [fn(sub) for sub in value]
        elif key in _SCHEMA_ONES and isinstance(value, dict | list):
            out[key] = [fn(sub) for sub in value] if isinstance(value, list) else fn(value)
        else:
            out[key] = value
    return out


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace local ``$ref``s (``#/$defs/X``, ``#/definitions/X``) by the definitions themselves.

    Returns a new schema without ``$defs``/``definitions``/``$schema``/``$id``; the input is left unchanged.
    A recursive reference becomes ``{"type": "object"}``, an unresolvable one too.
    """
    defs: dict[str, Any] = {}
    for key in _DEF_KEYS:
        if isinstance(schema.get(key), dict):
            defs.update({f"#/{key}/{name}": value for name, value in schema[key].items()})

    def walk(node: Any, seen: frozenset[str]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/"):
                if ref in seen or ref not in defs:
                    return {"type": "object"}
                merged = {**defs[ref], **{k: v for k, v in node.items() if k != "$ref"}}
                return walk(merged, seen | {ref})
            kept = {k: v for k, v in node.items() if k not in _DEF_KEYS and k not in _DROPPED_KEYS}
            return map_subschemas(kept, lambda sub: walk(sub, seen))
        return node

    return walk(schema, frozenset())


def strip_titles(node: Any) -> Any:
    """Drop the ``title`` strings pydantic and zod add to every schema node. Only the keyword goes: a
    property named ``title`` stays, and so does a ``title`` inside a value (``default``, ``examples``,
    ``const``, ``enum``)."""
    if not isinstance(node, dict):
        return node
    kept = {k: v for k, v in node.items() if k != "title" or not isinstance(v, str)}
    return map_subschemas(kept, strip_titles)
