"""``max_input_tokens``: drop the oldest turns until the history fits, as Qwen-Agent does.

The system message and the last user turn (with what follows it) are always kept; the turns between
them go oldest first, a whole turn (user message, its assistant and tool messages) at a time."""

from __future__ import annotations

import json
from typing import Any

from agentkit.qwen3.tokens import count_tokens


def _tokens(message: dict[str, Any]) -> int:
    return count_tokens(json.dumps(message, ensure_ascii=False))


def truncate_history(messages: list[dict[str, Any]], max_tokens: int) -> list[dict[str, Any]]:
    head = messages[:1] if messages and messages[0].get("role") == "system" else []
    body = messages[len(head) :]
    last_user = max((i for i, m in enumerate(body) if m.get("role") == "user"), default=0)
    older, kept = body[:last_user], body[last_user:]
    fixed = sum(map(_tokens, head + kept))
    if fixed > max_tokens:
        raise ValueError(
            f"the system message and the last user turn alone take about {fixed} tokens, more than "
            f"generate_cfg max_input_tokens={max_tokens}; raise max_input_tokens or shorten the input"
        )
    turns: list[list[dict[str, Any]]] = []
    for m in older:
        if m.get("role") == "user" or not turns:
            turns.append([])
        turns[-1].append(m)
    total = fixed + sum(_tokens(m) for turn in turns for m in turn)
    while turns and total > max_tokens:
        total -= sum(map(_tokens, turns.pop(0)))
    return head + [m for turn in turns for m in turn] + kept
