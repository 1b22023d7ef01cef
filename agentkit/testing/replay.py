"""Choosing a scripted reply for a request and writing it as the raw text Qwen3 would generate.

Choice is stateless, so retries and concurrent runs get the same answer: the conversation is the first
whose ``match`` finds the last real user query (a user turn that is not a ``<tool_response>`` wrapper),
and the reply index is the number of assistant turns after that query. For ``/v1/completions`` both are
read from the rendered prompt; for chat requests and ``ScriptedLLM`` from the messages.
"""

from __future__ import annotations

import json
from typing import Any

from agentkit.context.keeper import summary_turns
from agentkit.testing.script import Reply, Script, ScriptedCall

GENERATION_PROMPT = "<|im_start|>assistant\n"
EMPTY_THINK = "<think>\n\n</think>\n\n"
FALLBACK_PREFIX = "[agentkit simulator]"


def _text_of(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return None


def _is_tool_response(text: str) -> bool:
    stripped = text.strip()
    return stripped.startswith("<tool_response>") and stripped.endswith("</tool_response>")


def locate_in_messages(messages: list[dict[str, Any]]) -> tuple[str | None, int]:
    """The last real user query and the number of assistant turns after it (a summary the context
    policy put in place of earlier turns counts as the turns it replaced)."""
    query: str | None = None
    step = 0
    for msg in messages:
        role = msg.get("role")
        text = _text_of(msg.get("content"))
        replaced = summary_turns(text) if role == "user" and text else None
        if replaced is not None:
            step += replaced
        elif role == "user" and text is not None and not _is_tool_response(text):
            query, step = text, 0
        elif role == "assistant":
            step += 1
    return query, step


def locate_in_prompt(prompt: str) -> tuple[str | None, int, str]:
    """From a rendered ChatML prompt: the last user query, the completed assistant turns after it,
    and the text already written in the open assistant turn at the end ('' when there is none)."""
    query: str | None = None
    step = 0
    partial = ""
    turns = prompt.split("<|im_start|>")[1:]
    for i, turn in enumerate(turns):
        role, _, body = turn.partition("\n")
        closed = "<|im_end|>" in body
        body = body.split("<|im_end|>", 1)[0]
        replaced = summary_turns(body) if role == "user" else None
        if replaced is not None:
            step += replaced
        elif role == "user" and not _is_tool_response(body):
            query, step = body, 0
        elif role == "assistant":
            if closed:
                step += 1
            elif i == len(turns) - 1:
                partial = body
    return query, step, partial


def pick_reply(script: Script, query: str | None, step: int) -> Reply:
    """The scripted reply for this point of the conversation, or a fallback text saying the script ran out."""
    conv = script.conversation_for(query)
    if conv is None:
        return Reply(
            text=f"{FALLBACK_PREFIX} No scripted conversation matches the last user query {query!r}; "
            "add a conversation without 'match' or widen a 'match' pattern."
        )
    if step >= len(conv.replies):
        return Reply(
            text=f"{FALLBACK_PREFIX} The script ran out of replies: this is step {step + 1} after the last "
            f"user query and the conversation has {len(conv.replies)}; add replies to the script."
        )
    return conv.replies[step]


def generation_suffix(variant: str, thinking: bool) -> str:
    """What the template writes after ``<|im_start|>assistant\\n`` for this variant and thinking switch."""
    if variant == "thinking-2507":
        return "<think>\n"
    if variant == "hybrid" and not thinking:
        return EMPTY_THINK
    return ""


def _hermes_call(call: ScriptedCall) -> str:
    args = (
        call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments, ensure_ascii=False)
    )
    return f'<tool_call>\n{{"name": {json.dumps(call.name, ensure_ascii=False)}, "arguments": {args}}}\n</tool_call>'


def _xml_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _xml_call(call: ScriptedCall) -> str:
    if isinstance(call.arguments, str):
        body = call.arguments
    else:
        body = "".join(f"<parameter={k}>\n{_xml_value(v)}\n</parameter>\n" for k, v in call.arguments.items())
    return f"<tool_call>\n<function={call.name}>\n{body}</function>\n</tool_call>"


def render_answer(reply: Reply, variant: str) -> str:
    """The reply's text and tool calls in the variant's format (what follows the think block)."""
    if not reply.tool_calls:
        return reply.text
    if variant == "coder":
        calls = "\n".join(_xml_call(c) for c in reply.tool_calls)
        return f"{reply.text}\n\n{calls}" if reply.text.strip() else calls
    calls = "\n".join(_hermes_call(c) for c in reply.tool_calls)
    return f"{reply.text}\n{calls}" if reply.text else calls


def render_turn(reply: Reply, variant: str, thinking: bool) -> str:
    """The whole assistant turn after ``<|im_start|>assistant\\n``, as the template would re-render it."""
    answer = render_answer(reply, variant)
    if variant not in ("hybrid", "thinking-2507"):
        return answer
    think = (reply.think or "").strip("\n") if thinking else ""
    return f"<think>\n{think}\n</think>\n\n{answer}" if think else EMPTY_THINK + answer


def prompt_thinks(variant: str, partial: str) -> bool:
    """Whether the model thinks after a prompt whose open assistant turn holds ``partial``."""
    return variant in ("hybrid", "thinking-2507") and not partial.startswith(EMPTY_THINK.rstrip("\n"))


def raw_rest(raw: str, partial: str) -> str | None:
    """What is left of a ``raw`` reply when the open assistant turn already holds ``partial`` (the
    template's generation prompt, e.g. ``<think>\\n``, plus output written before a cut); None when
    ``partial`` holds no output of it."""
    for head in (EMPTY_THINK, "<think>\n", ""):
        written = partial[len(head) :] if partial.startswith(head) else None
        if written and raw.startswith(written):
            return raw[len(written) :]
    return None


def output_for(reply: Reply, variant: str, partial: str) -> str:
    """The text the model generates after a prompt whose open assistant turn already holds ``partial``.

    A prompt ending in the empty think block gets no reasoning; a partial turn the reply extends
    (``<think>\\n`` of Thinking-2507) is continued; a partial turn with a forced ``</think>`` (a thinking
    budget) gets the answer only. ``raw`` replies are served exactly (after a forced ``</think>``, their
    part after ``</think>``).
    """
    if reply.raw is not None:
        rest = raw_rest(reply.raw, partial)  # a cut turn being continued
        if rest is not None:
            return rest
        if partial in ("", "<think>\n", EMPTY_THINK) or "</think>" not in partial:
            return reply.raw
        return reply.raw.split("</think>", 1)[1].lstrip("\n") if "</think>" in reply.raw else reply.raw
    turn = render_turn(reply, variant, prompt_thinks(variant, partial))
    if turn.startswith(partial):
        return turn[len(partial) :]
    if "</think>" in partial:
        return render_answer(reply, variant)
    return turn
