"""A local model's own chat template: load it, render it the way Hugging Face transformers does, and
check that our string-building renderer agrees with it.

Jinja is used only here (loaded lazily), never on the hot path: ``render_prompt`` is what every
agent step calls; this module is the ground truth it is checked against when a model's files are
at hand (``verify_renderer``, called by the launcher).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from agentkit.qwen3.template_input import as_mapping, normalize_tools, text_of

_ITERATES_ARGUMENTS = re.compile(r"arguments\s*\|\s*items")

log = logging.getLogger("agentkit.qwen3")


def load_chat_template(model_dir: str | Path) -> str | None:
    """The chat template shipped in a model folder, or ``None`` when it has none.

    ``chat_template.jinja`` wins over ``tokenizer_config.json``'s ``chat_template`` (as in
    transformers); a list of named templates yields the one named ``default``.
    """
    folder = Path(model_dir)
    jinja_file = folder / "chat_template.jinja"
    if jinja_file.is_file():
        return jinja_file.read_text(encoding="utf-8")
    config_file = folder / "tokenizer_config.json"
    if not config_file.is_file():
        return None
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{config_file} is not valid JSON (line {exc.lineno}): {exc.msg}") from None
    template = config.get("chat_template")
    if isinstance(template, list):
        named = {entry.get("name"): entry.get("template") for entry in template if isinstance(entry, dict)}
        template = named.get("default")
    return template if isinstance(template, str) else None


@lru_cache(maxsize=16)
def _compiled(template: str) -> Any:
    import jinja2
    import jinja2.ext
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class GenerationTag(jinja2.ext.Extension):
        """``{% generation %}…{% endgeneration %}`` marks assistant text for training masks; renders as is."""

        tags = {"generation"}

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

        def _body(self, caller: Any) -> str:
            return caller()

    def raise_exception(message: str) -> None:
        raise jinja2.exceptions.TemplateError(message)

    def tojson(
        value: Any, ensure_ascii: bool = False, indent: Any = None, separators: Any = None, sort_keys=False
    ):
        return json.dumps(
            value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
        )

    def strftime_now(fmt: str) -> str:
        return datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env.from_string(template)


def template_messages(messages: Sequence[Any], decode_arguments: bool) -> list[dict[str, Any]]:
    """Messages as our renderer reads them, as dicts for a Jinja template: content as one string,
    ``reasoning`` copied to ``reasoning_content``; with ``decode_arguments``, JSON-string tool-call
    arguments decoded (``None``/``""`` as ``{}``), as vLLM does before rendering."""
    out = []
    for index, raw in enumerate(messages):
        message = dict(as_mapping(raw, f"messages[{index}]"))
        message["content"] = text_of(message.get("content"), f"messages[{index}]")
        if not isinstance(message.get("reasoning_content"), str) and isinstance(
            message.get("reasoning"), str
        ):
            message["reasoning_content"] = message["reasoning"]
        if decode_arguments and message.get("tool_calls"):
            message["tool_calls"] = [_decoded_call(call) for call in message["tool_calls"]]
        out.append(message)
    return out


def _decoded_call(call: Any) -> dict[str, Any]:
    call = dict(as_mapping(call, "a tool call"))
    target = call
    if call.get("function"):
        target = call["function"] = dict(as_mapping(call["function"], "a tool call's function"))
    arguments = target.get("arguments")
    if arguments is None or arguments == "":
        target["arguments"] = {}
    elif isinstance(arguments, str):
        target["arguments"] = json.loads(arguments)
    return call


def render_with_template(
    template: str,
    messages: Sequence[Any],
    tools: Sequence[Any] | None = None,
    *,
    add_generation_prompt: bool = True,
    **kwargs: Any,
) -> str:
    """Render a chat template with Jinja the way transformers' ``apply_chat_template`` does.

    Sandboxed environment with ``trim_blocks``/``lstrip_blocks`` and ``loopcontrols``; ``tojson``
    is ``json.dumps(ensure_ascii=False)``; ``raise_exception`` and ``strftime_now`` are defined.
    Messages and tools are normalised like ``render_prompt``'s input (see ``template_input``);
    extra ``kwargs`` (``enable_thinking``…) reach the template as variables.
    """
    decode = bool(_ITERATES_ARGUMENTS.search(template))
    tool_list = normalize_tools(tools) or None
    return _compiled(template).render(
        messages=template_messages(messages, decode),
        tools=tool_list,
        add_generation_prompt=add_generation_prompt,
        **kwargs,
    )


def _probe_conversations() -> list[tuple[str, list[dict[str, Any]], list[dict[str, Any]] | None]]:
    weather = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name"},
                    "unit": {"type": "string", "enum": ["c", "f"]},
                },
                "required": ["city"],
            },
        },
    }
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": {"city": "Paris"}},
    }
    call2 = {
        "id": "c2",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "東京"}'},
    }
    user = {"role": "user", "content": "What is the weather in Paris and Tokyo?"}
    tool_turn = [
        user,
        {"role": "assistant", "content": "", "reasoning_content": "Two cities.", "tool_calls": [call, call2]},
        {"role": "tool", "tool_call_id": "c1", "content": "18 C, cloudy"},
        {"role": "tool", "tool_call_id": "c2", "content": "22 C, sunny"},
    ]
    parts = [{"type": "text", "text": "Weather"}, {"type": "text", "text": "in Paris?"}]
    return [
        ("single user turn", [{"role": "user", "content": "Hello"}], None),
        (
            "content parts and None",
            [
                {"role": "user", "content": parts},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "content": None},
            ],
            [weather],
        ),
        (
            "system and user",
            [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
            None,
        ),
        ("tools, system", [{"role": "system", "content": "You help."}, user], [weather]),
        ("tool loop", tool_turn, [weather]),
        (
            "answer after tools",
            [
                *tool_turn,
                {"role": "assistant", "content": "<think>\nBoth known.\n</think>\n\nParis 18 C, Tokyo 22 C."},
            ],
            [weather],
        ),
        (
            "second query",
            [
                *tool_turn,
                {"role": "assistant", "content": "Paris 18 C, Tokyo 22 C.", "reasoning_content": "Done."},
                {"role": "system", "content": "Answer in French."},
                {"role": "user", "content": "Et à Rome ?"},
            ],
            [weather],
        ),
    ]


def _first_difference(ours: str, theirs: str) -> str:
    at = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
    return f"first difference at char {at}: ours {ours[at : at + 60]!r}, template {theirs[at : at + 60]!r}"


def verify_renderer(model_dir: str | Path, variant: str) -> list[str]:
    """Differences between ``render_prompt(variant=…)`` and the model's own template on probe
    conversations (thinking on/off, with/without the generation prompt). Empty: ours agrees."""
    from agentkit.qwen3.template import render_prompt

    template = load_chat_template(model_dir)
    if template is None:
        raise FileNotFoundError(
            f"{model_dir} has no chat template: expected chat_template.jinja or a tokenizer_config.json "
            "with a chat_template"
        )
    problems = []
    for name, messages, tools in _probe_conversations():
        for thinking in (True, False):
            for generation in (True, False):
                label = f"probe {name!r} (enable_thinking={thinking}, add_generation_prompt={generation})"
                kwargs = {"enable_thinking": thinking, "add_generation_prompt": generation}
                try:
                    theirs = render_with_template(template, messages, tools, **kwargs)
                except Exception as exc:  # a template's own failure is a finding, not a crash
                    problems.append(f"{label}: the model's template failed: {type(exc).__name__}: {exc}")
                    continue
                ours = render_prompt(messages, tools, variant=variant, **kwargs)
                if ours != theirs:
                    problems.append(f"{label}: {_first_difference(ours, theirs)}")
    return problems


def template_if_ours_differs(folder: str | Path, variant: str) -> str | None:
    """The model's chat template when our renderer disagrees with it (it is the ground truth), else None."""
    try:
        template = load_chat_template(folder)
        problems = verify_renderer(folder, variant) if template is not None else []
    except ValueError as exc:
        log.warning("%s: cannot read the model's chat template (%s); rendering with agentkit's", folder, exc)
        return None
    if not problems:
        return None
    log.warning(
        "%s: agentkit's %s renderer disagrees with the model's own chat template (%s); rendering with the "
        "model's template for this model",
        folder, variant, problems[0],
    )  # fmt: skip
    return template
