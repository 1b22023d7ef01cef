"""Lenient JSON for tool-call bodies: the small repairs models need, and nothing more.

Repairs: trailing commas, single-quoted strings, ``\\'`` escapes, raw control characters inside
strings, Python ``True``/``False``/``None``, extra closing brackets at the end, and (reported separately, since it means the text may be cut off) an unclosed
string or missing closing brackets.
"""

from __future__ import annotations

import json
from typing import Any

_PY_LITERALS = {"True": "true", "False": "false", "None": "null"}
_CLOSER = {"{": "}", "[": "]"}


class RepairError(ValueError):
    """The text is not JSON, even after the small repairs."""


def loads_lenient(text: str) -> tuple[Any, list[str], bool]:
    """Parse ``text`` as JSON, repairing small mistakes.

    Returns ``(value, repairs, completed)``: the repairs applied (human-readable) and whether closing
    quotes or brackets had to be added at the end (the text may have been cut off).
    """
    try:
        return json.loads(text), [], False
    except json.JSONDecodeError:
        pass
    fixed, repairs, completed = _normalise(text)
    try:
        return json.loads(fixed), repairs, completed
    except json.JSONDecodeError as exc:
        raise RepairError(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None


def _normalise(text: str) -> tuple[str, list[str], bool]:
    out: list[str] = []
    repairs: set[str] = set()
    stack: list[str] = []
    i, n = 0, len(text)
    completed = False
    while i < n:
        ch = text[i]
        if ch == '"' or ch == "'":
            end, literal, closed, fixes = _read_string(text, i)
            repairs.update(fixes)
            if ch == "'":
                repairs.add("single quotes")
            if not closed:
                completed = True
            out.append(literal)
            i = end
            continue
        if ch in "{[":
            stack.append(ch)
        elif ch in "}]":
            if not stack:
                repairs.add("extra closing bracket")
                i += 1
                continue
            _drop_trailing_comma(out, repairs)
            stack.pop()
        elif ch.isalpha() or ch == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            if word in _PY_LITERALS:
                repairs.add("Python literals")
                word = _PY_LITERALS[word]
            out.append(word)
            i = j
            continue
        out.append(ch)
        i += 1
    if stack:
        _drop_trailing_comma(out, repairs)
        out.extend(_CLOSER[b] for b in reversed(stack))
        completed = True
    return "".join(out), sorted(repairs), completed


def _drop_trailing_comma(out: list[str], repairs: set[str]) -> None:
    k = len(out) - 1
    while k >= 0 and out[k].isspace():
        k -= 1
    if k >= 0 and out[k] == ",":
        del out[k]
        repairs.add("trailing comma")


def _read_string(text: str, start: int) -> tuple[int, str, bool, set[str]]:
    """Read a string quoted with ``text[start]``; return (end index, JSON literal, closed, repairs)."""
    quote = text[start]
    i, n = start + 1, len(text)
    chars: list[str] = []
    fixes: set[str] = set()
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "'":
                chars.append("'")
                if quote == '"':
                    fixes.add("escaped single quote")
            else:
                chars.append(ch + nxt)
            i += 2
            continue
        if ch == quote:
            return i + 1, _as_json_string(chars, fixes), True, fixes
        chars.append('\\"' if ch == '"' else ch)
        i += 1
    return n, _as_json_string(chars, fixes), False, fixes


def _as_json_string(chars: list[str], fixes: set[str]) -> str:
    body = "".join(chars)
    if any(c in body for c in "\n\t\r"):
        fixes.add("control characters in strings")
        body = body.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return '"' + body + '"'
