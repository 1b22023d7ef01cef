"""The Qwen3-Coder prompt: XML tool list and ``<function=…>`` calls, as its published template renders them.

The template iterates over tool-call arguments as a mapping, so a JSON-string ``arguments`` is
decoded first (vLLM does the same before rendering); ``None`` or ``""`` arguments are ``{}``.
Values print as the template prints them: strings verbatim, objects and arrays as JSON, other
scalars with Python's ``str`` (``True``, ``None``, ``1.5``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from agentkit.qwen3.template_input import Call, Message, is_missing, to_json

_INSTRUCTIONS = (
    "\n\nIf you choose to call a function ONLY reply in the following format with NO suffix:\n\n"
    "<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n</parameter>\n"
    "<parameter=example_parameter_2>\nThis is the value for the second parameter\nthat can span\nmultiple lines\n"
    "</parameter>\n</function>\n</tool_call>\n\n<IMPORTANT>\nReminder:\n"
    "- Function calls MUST follow the specified format: an inner <function=...></function> block must be "
    "nested within <tool_call></tool_call> XML tags\n"
    "- Required parameters MUST be specified\n"
    "- You may provide optional reasoning for your function call in natural language BEFORE the function "
    "call, but NOT after\n"
    "- If there is no function call available, answer the question like normal with your current knowledge "
    "and do not tell the user about function calls\n</IMPORTANT>"
)
_DEFAULT_SYSTEM = "You are Qwen, a helpful AI assistant that can interact with a computer to solve tasks."


def _text(value: Any) -> str:
    """A value as the template's ``| string`` / ``| tojson`` choice prints it."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) or isinstance(value, Sequence):
        return to_json(value, "a tool schema or argument value")
    return str(value)


def _extra_keys(parts: list[str], fields: Any, handled: tuple[str, ...]) -> None:
    if isinstance(fields, Mapping):
        for key, value in fields.items():
            if key not in handled:
                parts.append(f"\n<{key}>{_text(value)}</{key}>")


def _tool(parts: list[str], tool: Mapping[str, Any]) -> None:
    function = tool["function"]
    name = function.get("name", "")
    parts.append(f"\n<function>\n<name>{name}</name>")
    if "description" in function:
        parts.append(f"\n<description>{str(function['description']).strip()}</description>")
    parts.append("\n<parameters>")
    parameters = function.get("parameters")
    properties = parameters.get("properties") if isinstance(parameters, Mapping) else None
    if isinstance(properties, Mapping):
        for param, fields in properties.items():
            parts.append(f"\n<parameter>\n<name>{param}</name>")
            if isinstance(fields, Mapping):
                if "type" in fields:
                    parts.append(f"\n<type>{fields['type']}</type>")
                if "description" in fields:
                    parts.append(f"\n<description>{str(fields['description']).strip()}</description>")
            _extra_keys(parts, fields, ("name", "type", "description"))
            parts.append("\n</parameter>")
    _extra_keys(parts, parameters, ("type", "properties"))
    parts.append("\n</parameters>")
    _extra_keys(parts, function, ("type", "name", "description", "parameters"))
    parts.append("\n</function>")


def _arguments(call: Call) -> Mapping[str, Any]:
    arguments = call.arguments
    if is_missing(arguments) or arguments is None or arguments == "":
        return {}
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"the arguments of tool call {call.name!r} are not valid JSON ({exc.msg}); "
                "Qwen3-Coder's template needs them as an object"
            ) from None
    if not isinstance(arguments, Mapping):
        raise ValueError(
            f"the arguments of tool call {call.name!r} must be a JSON object, got {type(arguments).__name__}"
        )
    return arguments


def _assistant_calls(parts: list[str], message: Message) -> None:
    parts.append("<|im_start|>assistant")
    text = message.content.strip()
    if text:
        parts.append(f"\n{text}\n")
    for call in message.calls:
        if not isinstance(call.name, str):
            raise ValueError(
                f"a tool call has name {call.name!r}; Qwen3-Coder's template needs a string name"
            )
        parts.append(f"\n<tool_call>\n<function={call.name}>\n")
        for key, value in _arguments(call).items():
            parts.append(f"<parameter={key}>\n{_text(value)}\n</parameter>\n")
        parts.append("</function>\n</tool_call>")
    parts.append("<|im_end|>\n")


def render_coder(messages: list[Message], tools: list[dict[str, Any]], add_generation_prompt: bool) -> str:
    """The Qwen3-Coder prompt for normalised ``messages`` and ``tools``."""
    parts: list[str] = []
    has_system = messages[0].role == "system"
    loop = messages[1:] if has_system else messages
    if has_system:
        parts.append("<|im_start|>system\n" + messages[0].content)
    elif tools:
        parts.append("<|im_start|>system\n" + _DEFAULT_SYSTEM)
    if tools:
        parts.append("\n\n# Tools\n\nYou have access to the following functions:\n\n<tools>")
        for tool in tools:
            _tool(parts, tool)
        parts.append("\n</tools>" + _INSTRUCTIONS)
    if has_system or tools:
        parts.append("<|im_end|>\n")
    last = len(loop) - 1
    for index, message in enumerate(loop):
        if message.role == "assistant" and message.calls:
            _assistant_calls(parts, message)
        elif message.role == "tool":
            if index > 0 and loop[index - 1].role != "tool":
                parts.append("<|im_start|>user\n")
            parts.append(f"<tool_response>\n{message.content}\n</tool_response>\n")
            if index == last or loop[index + 1].role != "tool":
                parts.append("<|im_end|>\n")
        else:
            parts.append(f"<|im_start|>{message.role}\n{message.content}<|im_end|>\n")
    if add_generation_prompt:
        parts.append("<|im_start|>assistant\n")
    return "".join(parts)
