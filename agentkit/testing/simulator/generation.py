"""What the simulated engine generates for one request: EOS, stop strings, token limits, special tokens,
streamed chunk boundaries, and a prefix cache that reports ``cached_tokens`` like vLLM's."""

from __future__ import annotations

import random
import re
from collections import deque
from dataclasses import dataclass

from agentkit.qwen3.tokens import _common_chars as common_chars
from agentkit.qwen3.tokens import common_prefix_tokens, tokenize

EOS_TOKENS = ("<|im_end|>", "<|endoftext|>")
_SPECIAL = re.compile(r"<\|[a-z_]+\|>")


@dataclass(frozen=True, slots=True)
class Generation:
    text: str
    finish_reason: str
    """``stop`` (EOS or a stop string) or ``length``."""
    stop_reason: str | None
    """The stop string that ended the output (vLLM's ``stop_reason``), None for EOS or length."""
    completion_tokens: int


def generate(
    output: str,
    *,
    max_tokens: int,
    stop: list[str] | None = None,
    skip_special_tokens: bool = True,
    include_stop_str_in_output: bool = False,
) -> Generation:
    """Cut the scripted ``output`` the way an engine would end generation."""
    text, eos = output, True
    for token in EOS_TOKENS:
        if token in text:
            text = text[: text.index(token)]
    stop_reason = None
    cut = min(((text.find(s), s) for s in stop or [] if s and s in text), default=None)
    if cut is not None:
        pos, stop_reason = cut
        text = text[: pos + len(stop_reason)] if include_stop_str_in_output else text[:pos]
    tokens = tokenize(text)
    finish = "stop"
    if len(tokens) > max_tokens:
        text, finish, stop_reason, eos = "".join(tokens[:max_tokens]), "length", None, False
        tokens = tokens[:max_tokens]
    if skip_special_tokens:
        text = _SPECIAL.sub("", text)
    return Generation(text, finish, stop_reason, len(tokens) + (1 if eos and stop_reason is None else 0))


def split_chunks(text: str, chunk_chars: int, seed: int | None) -> list[str]:
    """Stream chunks: fixed ``chunk_chars`` characters, or random 1..chunk_chars sizes from ``seed``."""
    if seed is None:
        return [text[i : i + chunk_chars] for i in range(0, len(text), chunk_chars)]
    rng = random.Random(seed)
    chunks, i = [], 0
    while i < len(text):
        n = rng.randint(1, chunk_chars)
        chunks.append(text[i : i + n])
        i += n
    return chunks


class PrefixCache:
    """Earlier prompt + output texts; a new prompt reuses the longest common token prefix with any of them.

    Like vLLM's automatic prefix caching, only whole blocks are reused and the last prompt token is
    always computed.
    """

    def __init__(self, block_size: int = 1, capacity: int = 256) -> None:
        self.block_size = block_size
        self._entries: deque[str] = deque(maxlen=capacity)

    def lookup(self, prompt: str, prompt_tokens: int) -> int:
        if not self._entries:
            return 0
        # tokenize only against the entry sharing the most characters (the rest compare at C speed)
        entry = max(self._entries, key=lambda e: common_chars(e, prompt))
        best = common_prefix_tokens(entry, prompt)
        best = min(best, max(prompt_tokens - 1, 0))
        return best - best % self.block_size

    def add(self, text: str) -> None:
        self._entries.append(text)

    def clear(self) -> None:
        self._entries.clear()
