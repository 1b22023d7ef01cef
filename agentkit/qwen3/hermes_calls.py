"""Hermes-style calls (``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``): stream and parse.

``HermesScanner`` follows the JSON as it streams (string- and bracket-aware, so braces, quotes and
CJK inside strings are safe) and reports the tool name as soon as it is complete and the raw text of
the ``arguments`` (or ``parameters``) value as it arrives. ``parse_hermes_body`` parses a finished
body once.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agentkit.qwen3.json_repair import RepairError, loads_lenient
from agentkit.qwen3.tool_check import TRUNCATED, ParsedCall

ARGUMENT_KEYS = ("arguments", "parameters")
_IN_DQ = re.compile(r'["\\]')
_IN_SQ = re.compile(r"['\\]")
_NESTED = re.compile(r"[\"'{}\[\]]")
_SHAPE_HINT = 'Write each call as <tool_call>\n{"name": "TOOL", "arguments": {...}}\n</tool_call>.'


class HermesScanner:
    """Incremental reader of a hermes call body; O(1) amortised work per character."""

    def __init__(self) -> None:
        self.offset = 0
        self.depth = 0
        self.quote: str | None = None
        self.escape = False
        self.expect_value = False
        self.key: str | None = None
        self.string_start = 0
        self.string_parts: list[str] = []
        self.string_role: str | None = None  # "key", "name", "args" or None for a plain string
        self.args_start: int | None = None
        self.args_end: int | None = None
        self.args_scalar = False
        self.name: str | None = None
        self.done = False  # the top-level object has closed: the rest is not followed

    def feed(self, text: str) -> tuple[str | None, str]:
        """Consume more body text; return (the name if it just became known, new arguments text)."""
        base = self.offset
        self.offset += len(text)
        found_name = None
        args_open_before = self.args_start is not None and self.args_end is None
        self.string_start = 0
        i, n = 0, len(text)
        while i < n and not self.done:
            if self.quote is not None:
                if self.escape:
                    self.escape = False
                    i += 1
                    continue
                m = (_IN_DQ if self.quote == '"' else _IN_SQ).search(text, i)
                if m is None:
                    break
                i = m.start()
                if text[i] == "\\":
                    self.escape = True
                else:
                    self.quote = None
                    found_name = self._end_string(base + i, text[self.string_start : i]) or found_name
                i += 1
                continue
            if self.depth >= 2:
                m = _NESTED.search(text, i)
                if m is None:
                    break
                i = m.start()
                ch = text[i]
                if ch in "{[":
                    self.depth += 1
                elif ch in "}]":
                    self.depth -= 1
                    if self.depth == 1 and self.args_start is not None and self.args_end is None:
                        self.args_end = base + i + 1
                else:
                    self.quote = ch
                    self.string_role = None
                i += 1
                continue
            self._top_level_char(text[i], base + i)
            if self.quote is not None:
                self.string_start = i + 1
            i += 1
        if self.quote is not None and self.string_role in ("key", "name"):
            self.string_parts.append(text[self.string_start :])
        if self.args_start is None or (self.args_end is not None and self.args_end <= base):
            return found_name, ""
        lo = self.args_start - base if not args_open_before else 0
        hi = (self.args_end if self.args_end is not None else self.offset) - base
        return found_name, text[max(lo, 0) : hi]

    def _top_level_char(self, ch: str, pos: int) -> None:
        if self.depth == 0:
            if ch == "{":
                self.depth = 1
            return
        if self.args_scalar and self.args_end is None and ch in ",}":
            self.args_end = pos
        if ch in "\"'":
            self.quote = ch
            self.string_parts = []
            if self.expect_value:
                self.string_role = (
                    "args" if self.key in ARGUMENT_KEYS else "name" if self.key == "name" else None
                )
                self._maybe_start_args(pos)
                self.expect_value = False
            else:
                self.string_role = "key"
        elif ch == ":":
            self.expect_value = True
        elif ch == ",":
            self.expect_value = False
        elif ch in "{[":
            self._maybe_start_args(pos)
            self.expect_value = False
            self.depth += 1
        elif ch in "}]":
            self.depth = 0
            self.done = True
        elif self.expect_value and not ch.isspace():
            if self._maybe_start_args(pos):
                self.args_scalar = True
            self.expect_value = False

    def _maybe_start_args(self, pos: int) -> bool:
        if self.expect_value and self.key in ARGUMENT_KEYS:
            self.args_start, self.args_end, self.args_scalar = pos, None, False
            return True
        return False

    def _end_string(self, pos: int, tail: str) -> str | None:
        role, self.string_role = self.string_role, None
        if role == "args":
            self.args_end = pos + 1
        elif role in ("key", "name"):
            raw = "".join(self.string_parts) + tail
            if role == "key":
                self.key = raw
            elif self.name is None:
                self.name = _unescape(raw)
                return self.name
        return None


def _unescape(raw: str) -> str:
    if "\\" not in raw:
        return raw
    try:
        return json.loads('"' + raw + '"')
    except json.JSONDecodeError:
        return raw


def parse_hermes_body(body: str, scanner: HermesScanner, *, closed: bool) -> ParsedCall:
    """Parse a finished hermes body; ``closed`` is False when the output ended before ``</tool_call>``."""
    text = body.strip()
    span = scanner.args_start, scanner.args_end
    located = body[span[0] : span[1]].strip() if span[0] is not None and span[1] is not None else text
    if not text:
        error = TRUNCATED if not closed else f"empty tool call. {_SHAPE_HINT}"
        return ParsedCall(None, None, "", error, truncated=not closed)
    try:
        obj, repairs, completed = loads_lenient(text)
    except RepairError as exc:
        error = TRUNCATED if not closed else f"tool call is {exc}. {_SHAPE_HINT}"
        return ParsedCall(scanner.name, None, located, error, truncated=not closed)
    if completed and not closed:
        return ParsedCall(scanner.name, None, located, TRUNCATED, truncated=True)
    if not isinstance(obj, dict):
        return ParsedCall(
            None, None, located, f"tool call must be a JSON object, got {type(obj).__name__}. {_SHAPE_HINT}"
        )
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        return ParsedCall(None, None, located, f'tool call has no "name". {_SHAPE_HINT}')
    key = next((k for k in ARGUMENT_KEYS if k in obj), None)
    args: Any = {} if key is None or obj[key] is None else obj[key]
    as_written = not repairs and not completed and key is not None
    if isinstance(args, str):
        as_written = False
        if not args.strip():
            args = {}
        else:
            try:
                args = loads_lenient(args)[0]
            except RepairError:
                return ParsedCall(
                    name, None, located, f'"arguments" of {name} must be a JSON object, got a string'
                )
    if not isinstance(args, dict):
        return ParsedCall(
            name, None, located, f'"arguments" of {name} must be a JSON object, got {type(args).__name__}'
        )
    raw = located if as_written and span[1] is not None else ""
    if not raw or _loads_or_none(raw) != args:
        raw = json.dumps(args, ensure_ascii=False)
    return ParsedCall(name, args, raw)


def _loads_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None
