"""Elicitation requests of MCP servers asked of the person at the terminal: the CLI's handler.

A request is a message and a flat JSON schema of primitive fields (string, number, integer, boolean,
single- and multi-select enums). The user first accepts or declines, then answers field by field; empty
takes the default. Without a terminal nobody can answer, so the request is refused with that reason.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import anyio
from rich.console import Console
from rich.text import Text

from agentkit.tooling.threads import run_blocking

NO_TERMINAL = (
    "there is no terminal to ask on (stdin is not interactive), so the request is refused; run the task "
    "in a terminal to answer it"
)
_EOF = object()


def terminal_elicitation(
    console: Console, *, interactive: bool, readline: Callable[[], str] = sys.stdin.readline
) -> Callable[[str, dict[str, Any]], Any]:
    """An elicitation handler (``async (message, schema) -> dict | None``, None: declined) for the CLI."""
    lock = anyio.Lock()  # one question on the terminal at a time

    async def ask(prompt: Text) -> Any:
        console.print(prompt, end="")
        line = await run_blocking(readline)  # Ctrl-C walks away from a pending read
        return _EOF if line == "" else line.strip()

    async def handle(message: str, schema: dict[str, Any]) -> dict[str, Any] | None:
        if not interactive:
            raise RuntimeError(NO_TERMINAL)
        async with lock:
            console.print(Text.assemble(("An MCP server asks: ", "bold yellow"), message))
            reply = await ask(Text("Answer it? [y/N] ", style="bold yellow"))
            if reply is _EOF or reply.lower() not in ("y", "yes"):
                return None
            required = set(schema.get("required") or ())
            answer: dict[str, Any] = {}
            for key, spec in (schema.get("properties") or {}).items():
                value = await _ask_field(ask, console, key, spec, key in required)
                if value is _EOF:
                    return None
                if value is not None:
                    answer[key] = value
            return answer

    return handle


async def _ask_field(ask: Any, console: Console, key: str, spec: dict[str, Any], required: bool) -> Any:
    """The value of one field, asked until it is valid; None: left out; ``_EOF``: the input ended."""
    choices = _choices(spec.get("items") or {} if spec.get("type") == "array" else spec)
    prompt = Text(f"  {spec.get('title') or key}", style="bold")
    if spec.get("description"):
        prompt.append(f" — {spec['description']}")
    if choices:
        prompt.append(" (" + ", ".join(f"{i}) {label}" for i, (_, label) in enumerate(choices, 1)) + ")")
        if spec.get("type") == "array":
            prompt.append(", several separated by commas")
    if "default" in spec:
        prompt.append(f" [{_show(spec['default'], choices)}]", style="dim")
    elif required:
        prompt.append(" (required)", style="dim")
    prompt.append(": ")
    while True:
        text = await ask(prompt)
        if text is _EOF:
            return _EOF
        if not text:
            if "default" in spec:
                return spec["default"]
            if not required:
                return None
            console.print(Text("    an answer is required", style="red"))
            continue
        try:
            return _parse(text, spec, choices)
        except ValueError as exc:
            console.print(Text(f"    {exc}", style="red"))


def _choices(spec: dict[str, Any]) -> list[tuple[Any, str]]:
    """(value, label) pairs of a select field (``enum`` with optional ``enumNames``, or ``oneOf``/``anyOf``
    of ``const``/``title``); empty for a free field."""
    if "enum" in spec:
        labels = spec.get("enumNames") or spec["enum"]
        return [(value, str(label)) for value, label in zip(spec["enum"], labels, strict=False)]
    options = spec.get("oneOf") or spec.get("anyOf") or []
    return [(o["const"], str(o.get("title", o["const"]))) for o in options if "const" in o]


def _show(value: Any, choices: list[tuple[Any, str]]) -> str:
    labels = dict(choices)
    values = value if isinstance(value, list) else [value]
    return ", ".join(str(labels.get(v, v)) for v in values)


def _parse(text: str, spec: dict[str, Any], choices: list[tuple[Any, str]]) -> Any:
    kind = spec.get("type", "string")
    if kind == "array":
        values = [_pick(part.strip(), choices) if choices else part.strip() for part in text.split(",")]
        values = [v for v in values if v != ""]
        low, high = spec.get("minItems"), spec.get("maxItems")
        if (low is not None and len(values) < low) or (high is not None and len(values) > high):
            raise ValueError(f"choose {low or 0} to {high if high is not None else 'any number of'} items")
        return values
    if choices:
        return _pick(text, choices)
    if kind == "boolean":
        if text.lower() in ("y", "yes", "true", "1"):
            return True
        if text.lower() in ("n", "no", "false", "0"):
            return False
        raise ValueError("answer y or n")
    if kind in ("integer", "number"):
        try:
            value: float = int(text) if kind == "integer" else float(text)
        except ValueError:
            raise ValueError(f"not {'an integer' if kind == 'integer' else 'a number'}: {text!r}") from None
        low, high = spec.get("minimum"), spec.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"must be between {low} and {high}")
        return value
    return text


def _pick(text: str, choices: list[tuple[Any, str]]) -> Any:
    """A choice by its number, value or label."""
    if text.isdigit() and 1 <= int(text) <= len(choices):
        return choices[int(text) - 1][0]
    for value, label in choices:
        if text == str(value) or text.lower() == label.lower():
            return value
    raise ValueError(f"{text!r} is not one of the choices; answer with its number")
