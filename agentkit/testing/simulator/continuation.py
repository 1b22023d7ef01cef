"""Continuing a cut turn on chat requests the way vLLM does: ``continue_final_message``.

vLLM renders a chat request with ``continue_final_message: true`` (and ``add_generation_prompt: false``)
through transformers' ``apply_chat_template``: the final assistant message is rendered with a marker
appended to its content and the prompt ends where the marker began, so the model writes on from the last
character of that content (no ``<|im_end|>``). Both flags true is a 400, as in vLLM.
"""

from __future__ import annotations

from typing import Any

from agentkit.qwen3.template import render_prompt

_TAG = "CONTINUE_FINAL_MESSAGE_TAG "


class ContinuationError(ValueError):
    """The request asks for a continuation the server cannot make (vLLM answers 400)."""


def chat_prompt(
    messages: list[dict[str, Any]], tools: Any, body: dict[str, Any], *, thinking: bool, variant: str
) -> tuple[str, bool]:
    """The prompt of a chat request and whether it continues its final assistant message."""
    continuing = bool(body.get("continue_final_message", False))
    add_generation = body.get("add_generation_prompt", True)
    if not continuing:
        prompt = render_prompt(
            messages, tools, enable_thinking=thinking, add_generation_prompt=add_generation, variant=variant
        )
        return prompt, False
    if add_generation:
        raise ContinuationError(
            "Cannot set both `continue_final_message` and `add_generation_prompt` to True."
        )
    last = messages[-1]
    if last.get("role") != "assistant" or not isinstance(last.get("content"), str):
        raise ContinuationError(
            "continue_final_message is set but the final message is not an assistant message with text content"
        )
    tagged = [*messages[:-1], {**last, "content": last["content"] + _TAG}]
    rendered = render_prompt(
        tagged, tools, enable_thinking=thinking, add_generation_prompt=False, variant=variant
    )
    at = rendered.rfind(_TAG.strip())
    if at < 0:
        raise ContinuationError(
            "continue_final_message is set but the final message does not appear in the chat after applying "
            "the chat template"
        )
    return (rendered[:at] if rendered.startswith(_TAG, at) else rendered[:at].rstrip()), True
