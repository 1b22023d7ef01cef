"""An approximate Qwen3 tokenizer that needs no vocabulary files.

Qwen3's special and added tokens (``<|im_start|>``, ``<think>``, ``<tool_call>``…) are one token
each, as in the real tokenizer. Other text splits the way Qwen's byte-level BPE pre-tokenizer cuts
it, then caps each piece's length in place of real merges: words with their leading space (a long
word every 10 letters), each digit alone (Qwen splits numbers into digits), CJK one character per
token, punctuation runs of up to 4 with trailing newlines, whitespace runs. Counts land near the
real tokenizer's for English, code and JSON, and a little above it for CJK.

Every piece is at most ``MAX_PIECE`` characters and decided by at most ``_WINDOW`` characters from
where it starts, so the split of a shared prefix does not depend on what follows it far away:
``common_prefix_tokens`` looks only at the strings' common part plus a small margin. One regular
expression scan: linear time.
"""

from __future__ import annotations

import re

SPECIAL_TOKENS = (
    "<|im_start|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<think>",
    "</think>",
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "</tool_response>",
)

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u3000-\u303f\uff00-\uffef"
_SPECIAL = "|".join(re.escape(token) for token in SPECIAL_TOKENS)
_LETTER = rf"(?:(?![{_CJK}])[^\W\d_])"
_PUNCT = rf"(?:[^\s\w<]|_|(?!{_SPECIAL})<)"
_PIECE = re.compile(
    rf"{_SPECIAL}"  # added tokens, whole
    rf"| ?{_LETTER}{{1,10}}"  # a word (or 10 letters of it) with its leading space
    rf"|[{_CJK}]"  # one CJK character
    r"|\d"  # one digit
    rf"| ?{_PUNCT}{{1,4}}[\r\n]{{0,2}}"  # punctuation with its leading space and trailing newlines
    r"|[^\S\r\n]{0,12}[\r\n]{1,4}"  # spaces then newlines
    r"|[^\S\r\n]{1,16}(?!\S)"  # spaces not followed by a word (the last one goes with the word)
    r"|[\s\S]",  # anything else, one character
)
MAX_PIECE = 16
"""No piece is longer than this many characters."""
_WINDOW = MAX_PIECE + 24
"""A piece is decided by the text within this distance of its start (its length, the lookaheads)."""


def tokenize(text: str) -> list[str]:
    """Split ``text`` into token pieces; ``"".join(tokenize(text)) == text``."""
    return _PIECE.findall(text)


def count_tokens(text: str) -> int:
    """How many tokens ``text`` is (approximately, for Qwen3)."""
    count = 0
    for _ in _PIECE.finditer(text):
        count += 1
    return count


def _common_chars(a: str, b: str) -> int:
    """Length of the common prefix of two strings, compared in C-speed slices."""
    limit = min(len(a), len(b))
    if a[:limit] == b[:limit]:
        return limit
    low, step = 0, 4096
    while low + step <= limit and a[low : low + step] == b[low : low + step]:
        low += step
    high = min(low + step, limit)  # the first difference lies in [low, high)
    while high - low > 1:
        mid = (low + high) // 2
        if a[low:mid] == b[low:mid]:
            low = mid
        else:
            high = mid
    return low if a[low] != b[low] else high


def common_prefix_tokens(a: str, b: str) -> int:
    """Tokens the two strings share from the start, counted on token boundaries of both.

    What a prefix cache can reuse between a cached ``a`` and a new ``b``: the leading tokens that
    are identical in both tokenizations (a token cut by the first difference does not count).
    """
    shared = _common_chars(a, b)
    end = shared + _WINDOW
    count = 0
    for piece_a, piece_b in zip(_PIECE.finditer(a, 0, end), _PIECE.finditer(b, 0, end)):
        if piece_a.group() != piece_b.group():  # equal pieces at equal starts lie within the shared part
            break
        count += 1
    return count
