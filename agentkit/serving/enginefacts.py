"""Facts about vLLM and SGLang releases that decide the flags agentkit emits (data, read from the engines).

Each gate is the first release that accepts a name. They were read from the released wheels' own
registries (SGLang's ``ToolCallParserEnum`` / reasoning ``DetectorMap`` and ``server_args.py`` of every
release from 0.4.6 to 0.5.23; vLLM's parser managers and argument parser) and are checked against the
newest installed engines by ``tests/test_serving_engines.py``.
"""

from __future__ import annotations

import re

Version = tuple[int, int, int, int]
"""(major, minor, patch, post): ``0.4.6.post1`` is ``(0, 4, 6, 1)``; pre-releases count as the release."""


def parse_version(text: str) -> Version | None:
    """The last ``X.Y[.Z][.postN]`` in ``text`` (engines may print log lines before it)."""
    found = re.findall(r"(?<![\w.])v?(\d+)\.(\d+)(?:\.(\d+))?(?:\.?post(\d+))?", text)
    if not found:
        return None
    major, minor, patch, post = found[-1]
    return int(major), int(minor), int(patch or 0), int(post or 0)


def version(text: str) -> Version:
    """A version literal: ``version("0.4.9.post4")``."""
    parsed = parse_version(text)
    if parsed is None:
        raise ValueError(f"not a version: {text!r}")
    return parsed


def version_text(v: Version) -> str:
    """``(0, 4, 6, 1)`` → ``0.4.6.post1``."""
    text = f"{v[0]}.{v[1]}.{v[2]}"
    return text + (f".post{v[3]}" if v[3] else "")


NEWEST_KNOWN = {"vllm": version("0.34.0"), "sglang": version("0.5.23")}
"""The newest release each engine's flags were checked against (tests/test_serving_engines.py)."""

QWEN3_MIN = {"vllm": version("0.8.4"), "sglang": version("0.4.6")}
"""First releases that load Qwen3 models."""

# vLLM
VLLM_QWEN3_REASONING = version("0.9.0")
"""First vLLM with the ``qwen3`` reasoning parser and without the need for ``--enable-reasoning``."""
VLLM_ENABLE_REASONING = version("0.7.1")
"""First vLLM with ``--enable-reasoning`` (deprecated in 0.9, removed in 0.10)."""
VLLM_QWEN3_CODER = version("0.10.0")
"""First vLLM with the ``qwen3_coder`` tool-call parser."""
VLLM_DATA_PARALLEL = version("0.9.0")
"""From here agentkit plans ``vllm serve --data-parallel-size N`` (one API server balancing N engines);
on older releases it starts replicas instead."""

# SGLang
SGLANG_QWEN_TOOL_PARSER = version("0.5.4")
"""First SGLang with the ``qwen`` tool-call parser; from then on ``qwen25`` is a deprecated alias of it."""
SGLANG_QWEN3_REASONING = version("0.4.6.post1")
"""First SGLang with the ``qwen3`` reasoning parser (0.4.6 has only ``deepseek-r1``)."""
SGLANG_QWEN3_CODER = version("0.4.9.post4")
"""First SGLang with the ``qwen3_coder`` tool-call parser (0.4.9.post3 named it ``qwen3``)."""
SGLANG_EP_SIZE = version("0.5.0")
"""From here ``--ep-size N`` alone turns on expert parallelism (``--enable-ep-moe`` deprecated in 0.5.1)."""

SGLANG_DEPRECATED_TOOL_PARSERS = {"qwen25": "qwen"}
"""Tool-call parser names SGLang rewrites (with a warning) from SGLANG_QWEN_TOOL_PARSER on."""
