"""The approximate Qwen3 tokenizer: exact round trip, special tokens whole, prefix counting on token
boundaries, linear cost."""

import random
import time

import pytest

from agentkit.qwen3.template import render_prompt
from agentkit.qwen3.tokens import MAX_PIECE, SPECIAL_TOKENS, common_prefix_tokens, count_tokens, tokenize

SAMPLES = [
    "",
    "Hello, world!",
    "<|im_start|>user\n2025年全球AI趋势分析<|im_end|>\n",
    '{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}',
    "def f(x):\n    return x_1 + 2\n\n\n",
    "mkdir -p a/{b,c} && echo $HOME\t|| true\r\n",
    "naïve café — Ünïcödé, 한국어, カタカナ, emoji 🙂 and \x00 control",
    "<tool_call <|im <think >" + "x" * 50,
    " " * 40 + "indented\n" + "\n" * 9,
]


@pytest.mark.parametrize("text", SAMPLES)
def test_pieces_concatenate_back_to_the_text(text: str) -> None:
    pieces = tokenize(text)
    assert "".join(pieces) == text
    assert all(0 < len(piece) <= MAX_PIECE for piece in pieces)
    assert count_tokens(text) == len(pieces)


def test_special_tokens_are_single_tokens_even_between_punctuation() -> None:
    for token in SPECIAL_TOKENS:
        assert tokenize(token) == [token]
        assert token in tokenize(f'x."{token}",\n')
    assert tokenize("<think>\nplan\n</think>\n\n") == ["<think>", "\n", "plan", "\n", "</think>", "\n\n"]


def test_split_resembles_qwen_pre_tokenization() -> None:
    assert tokenize("Hello world") == ["Hello", " world"]
    assert tokenize("12345") == ["1", "2", "3", "4", "5"]  # Qwen splits numbers digit by digit
    assert tokenize("全球AI") == ["全", "球", "AI"]
    assert tokenize('{"a": 1}') == ['{"', "a", '":', " ", "1", "}"]
    assert tokenize("    return") == ["   ", " return"]  # the last space goes with the word
    assert tokenize("internationalization") == ["internatio", "nalization"]
    english = "The quick brown fox jumps over the lazy dog. " * 20
    assert 0.2 < count_tokens(english) / len(english) < 0.3  # about 4 characters a token


def _random_text(rng: random.Random, size: int) -> str:
    alphabet = [
        "a",
        "b",
        "Z",
        " ",
        "  ",
        "\n",
        "1",
        "9",
        "_",
        "<",
        ">",
        "|",
        "{",
        '"',
        "é",
        "汉",
        "字",
        "\t",
        ".",
    ]
    alphabet += list(SPECIAL_TOKENS) + ["word", " word", "<think", "im_end|>"]
    return "".join(rng.choice(alphabet) for _ in range(size))


def test_common_prefix_equals_leading_equal_tokens_of_full_tokenizations() -> None:
    rng = random.Random(7)
    for _ in range(400):
        base = _random_text(rng, rng.randint(0, 60))
        a = base + _random_text(rng, rng.randint(0, 30))
        b = base + _random_text(rng, rng.randint(0, 30))
        full_a, full_b = tokenize(a), tokenize(b)
        expected = 0
        while expected < min(len(full_a), len(full_b)) and full_a[expected] == full_b[expected]:
            expected += 1
        assert common_prefix_tokens(a, b) == expected == common_prefix_tokens(b, a), (a, b)


def test_common_prefix_on_prompts_of_a_growing_conversation() -> None:
    messages = [{"role": "user", "content": "Find the weather in Paris"}]
    first = render_prompt(messages)
    output = "<think>\nI will answer.\n</think>\n\nIt is sunny."
    messages.append({"role": "assistant", "content": output})
    messages.append({"role": "user", "content": "And tomorrow?"})
    second = render_prompt(messages)
    cached = first + output
    # the new prompt drops the old reasoning: reuse stops right after the assistant header
    assert common_prefix_tokens(cached, second) == count_tokens(first)
    assert common_prefix_tokens(second, second) == count_tokens(second)
    assert common_prefix_tokens("", second) == 0
    # a token cut by the end of the shorter string does not count
    assert common_prefix_tokens("hello world", "hello wor") == 1


def test_cost_is_linear_and_prefix_work_stays_near_the_shared_part() -> None:
    unit = render_prompt([{"role": "user", "content": "数据 data 123, {'k': [1, 2]}\n" * 50}])
    small, big = unit * 20, unit * 160
    count_tokens(small)

    def timed(fn, *args):
        start = time.perf_counter()
        fn(*args)
        return time.perf_counter() - start

    t_small = min(timed(count_tokens, small) for _ in range(3))
    t_big = min(timed(count_tokens, big) for _ in range(3))
    assert t_big < t_small * 8 * 2.5
    # two long prompts that differ at the start cost next to nothing to compare
    assert min(timed(common_prefix_tokens, "x" + big, "y" + big) for _ in range(3)) < t_big / 20
