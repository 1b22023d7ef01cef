"""Qwen-Agent's ``llm`` config (``model``, ``model_server``, ``generate_cfg``) as agentkit settings.

Every ``generate_cfg`` key is either honoured or, where it cannot apply to agentkit's native Qwen3
parsing, named once in a warning (see the README's drop-in table)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("agentkit.qwen_agent_compat")
DEFAULT_MAX_INPUT_TOKENS = int(os.environ.get("QWEN_AGENT_DEFAULT_MAX_INPUT_TOKENS", 58000))
_warned: set[str] = set()

# generate_cfg keys that only steer how Qwen-Agent itself parses a server's text; agentkit parses
# Qwen3's output natively, so they change nothing here
NOT_APPLICABLE = {
    "thought_in_content": "agentkit parses <think> itself and returns the thought as reasoning_content",
    "fncall_prompt_type": "agentkit renders Qwen3's own tool-call format from its chat template "
    "(what Qwen-Agent calls 'nous')",
}
QWEN_AGENT_KEYS = {"lang", "stop", "max_retries", "incremental_output", "cache_dir"}
# Qwen-Agent client settings with no counterpart here, each named once in a warning
UNUSED = {
    "stop": "not sent; agentkit stops at Qwen3's end of turn and parses calls itself",
    "max_retries": "agentkit retries 429/503 and cut streams itself (see the README's model section)",
    "incremental_output": "a DashScope setting; agentkit streams always",
    "cache_dir": "agentkit keeps no response cache",
}


def warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning(message)


@dataclass
class LLMSettings:
    """What agentkit takes from one Qwen-Agent ``llm`` config."""

    model: dict[str, Any]
    thinking: str | None = None  # "on"/"off" when enable_thinking is set: fixed for every step
    thinking_budget: int | None = None
    max_input_tokens: int | None = None
    function_choice: str = "auto"
    extra: dict[str, Any] = field(default_factory=dict)


def settings_from(cfg: dict[str, Any] | None) -> LLMSettings:
    from agentkit.config.task import SAMPLING_KEYS

    cfg = dict(cfg or {})
    server = cfg.get("model_server") or cfg.get("base_url") or cfg.get("api_base")
    if server == "dashscope" or (server is None and "dashscope" in str(cfg.get("model_type", ""))):
        raise ValueError(
            "agentkit drives your own Qwen3 endpoint; model_server='dashscope' is not supported. "
            "Set model_server to your vLLM/SGLang URL, e.g. 'http://localhost:8000/v1'."
        )
    gen = dict(cfg.get("generate_cfg") or {})
    model: dict[str, Any] = {"name": cfg.get("model"), "endpoint": server, "api_key": cfg.get("api_key")}
    for key in ("mode", "variant", "path", "engine"):
        if key in cfg:
            model[key] = cfg[key]
    if gen.pop("use_raw_api", False):  # the server's own tool-call API: agentkit's server mode
        model["mode"] = "server"
    for key in (*SAMPLING_KEYS, "max_tokens"):
        if key in gen:
            model[key] = gen.pop(key)
    if "max_output_tokens" in gen:
        model.setdefault("max_tokens", gen.pop("max_output_tokens"))
    settings = LLMSettings({k: v for k, v in model.items() if v is not None})
    extra_body = dict(gen.pop("extra_body", None) or {})
    kwargs = dict(extra_body.pop("chat_template_kwargs", None) or {})
    enable = gen.pop(
        "enable_thinking", extra_body.pop("enable_thinking", kwargs.pop("enable_thinking", None))
    )
    if enable is not None:
        settings.thinking = enable if isinstance(enable, str) else ("on" if enable else "off")
    budget = gen.pop("thinking_budget", None) or cfg.get("thinking_budget")
    settings.thinking_budget = budget
    # Qwen-Agent truncates at 58000 tokens unless told otherwise (0 or less: never), as here
    settings.max_input_tokens = gen.pop("max_input_tokens", DEFAULT_MAX_INPUT_TOKENS)
    settings.function_choice = gen.pop("function_choice", "auto")
    gen.pop("parallel_function_calls", None)  # Qwen3's format always allows several calls; all run
    prompt_type = gen.pop("fncall_prompt_type", "nous")
    if prompt_type not in ("nous", "qwen"):
        raise ValueError(f"generate_cfg fncall_prompt_type must be 'nous' or 'qwen', got {prompt_type!r}")
    if prompt_type == "qwen":
        warn_once(
            "fncall_prompt_type",
            f"generate_cfg fncall_prompt_type='qwen': {NOT_APPLICABLE['fncall_prompt_type']}",
        )
    if gen.pop("thought_in_content", False):
        warn_once(
            "thought_in_content", f"generate_cfg thought_in_content: {NOT_APPLICABLE['thought_in_content']}"
        )
    if settings.function_choice not in ("auto", "none"):
        raise ValueError(
            f"generate_cfg function_choice={settings.function_choice!r}: only 'auto' and 'none' are supported "
            "(Qwen-Agent's Qwen3 'nous' format has no forced call either)"
        )
    for key in [k for k in gen if k in QWEN_AGENT_KEYS]:
        settings.extra[key] = gen.pop(key)
        if key in UNUSED:
            warn_once(key, f"generate_cfg {key}: {UNUSED[key]}")
    if gen or extra_body or kwargs:
        unknown = sorted([*gen, *extra_body, *(f"chat_template_kwargs.{k}" for k in kwargs)])
        raise ValueError(
            f"generate_cfg keys agentkit does not know: {', '.join(unknown)} (known: sampling "
            f"{', '.join(SAMPLING_KEYS)}, max_tokens, enable_thinking, thinking_budget, max_input_tokens, "
            "function_choice, parallel_function_calls, use_raw_api, fncall_prompt_type, thought_in_content)"
        )
    return settings
