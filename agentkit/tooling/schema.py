"""JSON-schema clean-up for tool parameters: Qwen3 reads flat schemas best."""

from __future__ import annotations

from typing import Any

_DEF_KEYS = ("$defs", "definitions")
_DROPPED_KEYS = ("$schema", "$id")


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
            return {
                k: walk(v, seen) for k, v in node.items() if k not in _DEF_KEYS and k not in _DROPPED_KEYS
            }
        if isinstance(node, list):
            return [walk(v, seen) for v in node]
        return node

    return walk(schema, frozenset())


def strip_titles(node: Any) -> Any:
    """Drop the ``title`` strings pydantic and zod add to every schema node (a property named ``title`` stays)."""
    if isinstance(node, dict):
        return {k: strip_titles(v) for k, v in node.items() if k != "title" or not isinstance(v, str)}
    if isinstance(node, list):
        return [strip_titles(v) for v in node]
    return node
