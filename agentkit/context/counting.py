"""Counting prompt tokens: exactly with the model's tokenizer where one is at hand, else approximately."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from agentkit.qwen3.tokens import count_tokens

TokenCounter = Callable[[str], Awaitable[int]]
"""Async ``text -> tokens``."""


def approximate_counter() -> TokenCounter:
    """The built-in approximation (``agentkit.qwen3.tokens``), no vocabulary needed."""

    async def count(text: str) -> int:
        return count_tokens(text)

    return count


def tokenizer_counter(path: str | Path) -> TokenCounter:
    """Exact counts with a ``tokenizer.json`` (or a model folder holding one), read by the
    ``tokenizers`` library. Special tokens in the text (``<|im_start|>``…) count as one each."""
    file = Path(path)
    if file.is_dir():
        file = file / "tokenizer.json"
    if not file.is_file():
        raise FileNotFoundError(
            f"no tokenizer.json at {path}; point context.tokenizer at a model folder or file"
        )
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:  # pragma: no cover - tokenizers comes with transformers / vLLM
        raise ImportError("exact token counts need the tokenizers package: pip install tokenizers") from exc
    tokenizer = Tokenizer.from_file(str(file))

    async def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    return count


def first_exact(exact: Callable[[str], Awaitable[int | None]]) -> TokenCounter:
    """A counter asking ``exact`` (e.g. a server's ``/tokenize``), the approximation where it has no answer."""

    async def count(text: str) -> int:
        found = await exact(text)
        return count_tokens(text) if found is None else found

    return count
