"""Render a conversation into the exact prompt text of the official Qwen3 chat templates.

Plain string building (no Jinja) that reproduces, byte for byte, these published templates:

- ``"hybrid"``: Qwen3 2504 (0.6B … 235B-A22B), the revised template with ``is string`` checks;
- ``"thinking-2507"``: Qwen3-*-Thinking-2507 (same body, the prompt opens ``<think>\\n``);
- ``"instruct-2507"``: Qwen3-*-Instruct-2507 (no think blocks at all);
- ``"coder"``: Qwen3-Coder (XML tool list and calls, see ``template_coder``).

Messages and tools are first normalised as vLLM's server does (see ``template_input``). Where the
hybrid/2507 templates print an argument string verbatim, so do we: history keeps the model's own
bytes and the prefix cache hits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentkit.qwen3.template_input import Message, is_missing, normalize_messages, normalize_tools, to_json

VARIANTS = ("hybrid", "thinking-2507", "instruct-2507", "coder")

_TOOLS_HEAD = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
_TOOLS_TAIL = (
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": '
    "<args-json-object>}\n</tool_call><|im_end|>\n"
)


def detect_variant(model_name: str) -> str:
    """The chat-template variant a model name implies; ``"hybrid"`` when nothing more specific matches.

    >>> detect_variant("Qwen/Qwen3-30B-A3B-Thinking-2507")
    'thinking-2507'
    """
    name = model_name.lower()
    if "coder" in name:
        return "coder"
    if "2507" in name and "thinking" in name:
        return "thinking-2507"
    if "2507" in name and "instruct" in name:
        return "instruct-2507"
    return "hybrid"


def tool_format_for(variant: str) -> str:
    """How a variant writes tool calls: ``"xml"`` for Qwen3-Coder, ``"hermes"`` (JSON) otherwise."""
    _check_variant(variant)
    return "xml" if variant == "coder" else "hermes"


def step_thinks(variant: str, requested: bool) -> bool:
    """Whether a step really thinks: Thinking-2507 always does, Instruct-2507 and Coder never do."""
    return {"thinking-2507": True, "instruct-2507": False, "coder": False}.get(variant, requested)


def _check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"unknown Qwen3 template variant {variant!r}; use one of {', '.join(VARIANTS)}")


def render_prompt(
    messages: Sequence[Any],
    tools: Sequence[Any] | None = None,
    *,
    enable_thinking: bool = True,
    add_generation_prompt: bool = True,
    variant: str = "hybrid",
) -> str:
    """The prompt text the official chat template of ``variant`` renders for this conversation.

    ``messages``: OpenAI-format dicts (system, user, assistant with ``reasoning_content`` or inline
    ``<think>``, ``tool_calls`` with dict or string arguments, tool results). ``tools``: OpenAI tool
    entries or bare function dicts. ``enable_thinking`` matters to ``"hybrid"`` only, and only when
    exactly ``False`` (as in the template): it appends the empty think block.
    """
    _check_variant(variant)
    normalized = normalize_messages(messages)
    tool_list = normalize_tools(tools)
    if variant == "coder":
        from agentkit.qwen3.template_coder import render_coder

        return render_coder(normalized, tool_list, add_generation_prompt)
    parts = _system_block(normalized, tool_list)
    thinks = variant != "instruct-2507"
    last_query = _last_query_index(normalized) if thinks else 0
    last = len(normalized) - 1
    for index, message in enumerate(normalized):
        role = message.role
        if role == "user" or (role == "system" and index > 0):
            parts.append(f"<|im_start|>{role}\n{message.content}<|im_end|>\n")
        elif role == "assistant":
            _assistant(parts, message, thinks, index > last_query, index == last)
        elif role == "tool":
            if index == 0 or normalized[index - 1].role != "tool":
                parts.append("<|im_start|>user")
            parts.append(f"\n<tool_response>\n{message.content}\n</tool_response>")
            if index == last or normalized[index + 1].role != "tool":
                parts.append("<|im_end|>\n")
    if add_generation_prompt:
        if variant == "thinking-2507":
            parts.append("<|im_start|>assistant\n<think>\n")
        elif variant == "hybrid" and enable_thinking is False:
            parts.append("<|im_start|>assistant\n<think>\n\n</think>\n\n")
        else:
            parts.append("<|im_start|>assistant\n")
    return "".join(parts)


def _system_block(messages: list[Message], tools: list[dict[str, Any]]) -> list[str]:
    first_system = messages[0].role == "system"
    if tools:
        parts = ["<|im_start|>system\n"]
        if first_system:
            parts.append(messages[0].content + "\n\n")
        parts.append(_TOOLS_HEAD)
        parts.extend("\n" + to_json(tool, f"tools[{index}]") for index, tool in enumerate(tools))
        parts.append(_TOOLS_TAIL)
        return parts
    if first_system:
        return [f"<|im_start|>system\n{messages[0].content}<|im_end|>\n"]
    return []


def _last_query_index(messages: list[Message]) -> int:
    """Index of the last real user query (not a ``<tool_response>`` wrapper); the last index if none."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.role == "user":
            text = message.content
            if not (text.startswith("<tool_response>") and text.endswith("</tool_response>")):
                return index
    return len(messages) - 1


def _assistant(parts: list[str], message: Message, thinks: bool, after_query: bool, is_last: bool) -> None:
    """One assistant turn; ``thinks`` is False for Instruct-2507, whose template has no think blocks."""
    content = message.content
    reasoning = message.reasoning
    if not thinks:
        reasoning = ""
    elif reasoning is None:
        reasoning = ""
        if "</think>" in content:
            reasoning = content.split("</think>")[0].rstrip("\n").split("<think>")[-1].lstrip("\n")
            content = content.split("</think>")[-1].lstrip("\n")
    if thinks and after_query and (is_last or reasoning):
        parts.append(
            f"<|im_start|>assistant\n<think>\n{reasoning.strip(chr(10))}\n</think>\n\n{content.lstrip(chr(10))}"
        )
    else:
        parts.append("<|im_start|>assistant\n" + content)
    for number, call in enumerate(message.calls):
        if number or content:
            parts.append("\n")
        name = "" if is_missing(call.name) else str(call.name)
        arguments = call.arguments
        if is_missing(arguments):
            raise ValueError(f"the tool call {name!r} has no arguments; give a dict or a JSON string")
        if not isinstance(arguments, str):
            arguments = to_json(arguments, f"the arguments of tool call {name!r}")
        parts.append(f'<tool_call>\n{{"name": "{name}", "arguments": {arguments}}}\n</tool_call>')
    parts.append("<|im_end|>\n")
