"""The terminal question before a call marked ``approval: ask``: the whole call, code shown as code."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _shown_arguments(arguments: dict[str, Any]) -> str:
    """The arguments in full as JSON, with control and invisible (bidi, zero-width) characters escaped."""
    text = json.dumps(arguments, ensure_ascii=False)
    return _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _shown_code(text: str) -> str:
    """Multi-line text (code) shown as written, but control and invisible characters escaped."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def approval_question(name: str, arguments: dict[str, Any]) -> Any:
    """``Allow name(args)? [y/N]`` with every multi-line text argument (code) shown as code below."""
    from rich.syntax import Syntax
    from rich.text import Text

    blocks = {k: v for k, v in arguments.items() if isinstance(v, str) and "\n" in v.strip()}
    inline = {k: ("<below>" if k in blocks else v) for k, v in arguments.items()}
    question = Text.assemble(
        (f"Allow {name}(", "bold yellow"), _shown_arguments(inline), (")", "bold yellow")
    )
    for key, value in blocks.items():
        lexer = "python" if name == "python" or key == "code" else "text"
        code = _shown_code(value.rstrip("\n"))
        highlighted = Syntax(code, lexer, theme="ansi_dark").highlight(code)
        question.append(f"\n{key}:", style="bold")
        for line in highlighted.split("\n"):
            question.append("\n  ")
            question.append_text(line)
    question.append("\n? [y/N] " if blocks else "? [y/N] ", style="bold yellow")
    return question


def terminal_approver(console: Any, view: Any, readline: Any = None) -> Any:
    """Ask on the terminal before each call marked `approval: ask`: the whole call, code shown as code."""
    import anyio

    from agentkit.tooling.threads import run_blocking

    lock = anyio.Lock()  # one question at a time, so each answer goes to the call it was asked about
    readline = readline or sys.stdin.readline

    async def approve(name: str, arguments: dict[str, Any]) -> bool:
        async with lock:
            if view is not None:
                view.notice(f"approval needed: the task says `approval: ask` for {name}")
            console.print(approval_question(name, arguments), end="")
            answer = await run_blocking(readline)
            return answer.strip().lower() in ("y", "yes")

    if view is not None:
        return view.pausing(approve)
    return approve
