"""Streaming-parse cost: linear scaling, and incremental parsing vs re-parsing the text per delta.

    python bench/bench_parse.py [--base-tokens 4000] [--delta 3] [--samples 48]

(a) streams a turn of ~base tokens and one 8x longer (~4 chars per token, 3-char deltas) through
    ``OutputParser``: goal <= 9x the time.
(b) at 8x (~32k tokens) compares that incremental parse with re-parsing the whole text so far on
    every delta (``parse_output(text[:k])``, what a non-incremental streaming parser does). The
    re-parse total is estimated from an evenly spaced sample of prefixes (the full run would take
    minutes): goal >= 20x faster.
(c) the same two texts parsed whole with ``parse_output``: linear too.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agentkit.qwen3.parser import OutputParser, parse_output  # noqa: E402

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "run_shell",
            "description": "Run a shell command",
            "parameters": {
                "type": "object",
                "properties": {"command": {"type": "string"}, "timeout": {"type": "integer"}},
                "required": ["command"],
            },
        },
    }
]
REASONING_BLOCK = (
    "The user wants the build fixed. I should look at the failing test first, then the module "
    "it imports; maybe a <tool_call> to run pytest. 需要先看看测试输出。 Check a < b and {x}.\n"
)
CONTENT_BLOCK = "Running the next step now.\n" + (
    "<tool_call>\n"
    + json.dumps(
        {
            "name": "run_shell",
            "arguments": {"command": "mkdir -p out/{a,b} && pytest -q tests/ 2>&1 | tail -5", "timeout": 60},
        },
        ensure_ascii=False,
    )
    + "\n</tool_call>\n"
)


def make_output(chars: int) -> str:
    """A thinking turn of about ``chars`` characters: half reasoning, half text and tool calls."""
    half = chars // 2
    reasoning = REASONING_BLOCK * max(1, half // len(REASONING_BLOCK))
    content = CONTENT_BLOCK * max(1, half // len(CONTENT_BLOCK))
    return f"<think>\n{reasoning}</think>\n\n{content}Done."


def deltas(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def stream_time(chunks: list[str], repeat: int) -> float:
    """Best of ``repeat`` CPU times of one streamed parse (CPU time: the machine is shared)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        parser = OutputParser(tools=TOOLS)
        for chunk in chunks:
            parser.feed(chunk)
        parser.close()
        parser.result()
        best = min(best, time.process_time() - started)
    return best


def whole_time(text: str, repeat: int) -> float:
    """Best of ``repeat`` CPU times of ``parse_output`` on the whole text."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        parse_output(text, tools=TOOLS)
        best = min(best, time.process_time() - started)
    return best


def reparse_estimate(text: str, size: int, samples: int) -> float:
    """Estimated total time of ``parse_output(text[:k])`` after every delta, from a sample."""
    ends = list(range(size, len(text) + size, size))
    picked = [ends[round(i * (len(ends) - 1) / (samples - 1))] for i in range(samples)]
    times = []
    for end in picked:
        started = time.process_time()
        parse_output(text[:end], tools=TOOLS)
        times.append(time.process_time() - started)
    return statistics.fmean(times) * len(ends)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-tokens", type=int, default=4000)
    parser.add_argument("--delta", type=int, default=3, help="characters per streamed delta")
    parser.add_argument("--samples", type=int, default=48, help="prefixes timed for the re-parse estimate")
    args = parser.parse_args()

    base = make_output(args.base_tokens * 4)
    long = make_output(args.base_tokens * 4 * 8)
    check = parse_output(long, tools=TOOLS)
    assert check.tool_calls and not check.invalid_tool_calls, "benchmark text must parse cleanly"
    base_chunks, long_chunks = deltas(base, args.delta), deltas(long, args.delta)
    t_base = t_long = float("inf")
    for _ in range(7):  # alternate, so both see the same machine load; keep the best of each
        t_base = min(t_base, stream_time(base_chunks, repeat=3))
        t_long = min(t_long, stream_time(long_chunks, repeat=1))
    t_reparse = reparse_estimate(long, args.delta, args.samples)
    w_base, w_long = whole_time(base, 9), whole_time(long, 5)

    print(f"(a) streaming parse, {args.delta}-char deltas, CPU time, best of 7 alternating rounds")
    print(f"    base  {len(base):>8,} chars (~{len(base) // 4:,} tokens): {t_base * 1000:8.1f} ms")
    print(f"    8x    {len(long):>8,} chars (~{len(long) // 4:,} tokens): {t_long * 1000:8.1f} ms")
    print(f"    ratio {t_long / t_base:.2f}x for {len(long) / len(base):.2f}x the text   (goal <= 9x)")
    print(f"(b) ~{len(long) // 4:,} tokens, {len(long_chunks):,} deltas")
    print(f"    incremental parser:       {t_long * 1000:10.1f} ms")
    print(
        f"    re-parse per delta (est.): {t_reparse * 1000:10.1f} ms  (mean of {args.samples} sampled prefixes x deltas)"
    )
    print(f"    incremental is {t_reparse / t_long:,.0f}x faster   (goal >= 20x)")
    print("(c) parse_output on the whole text (one feed)")
    print(f"    base {w_base * 1000:.1f} ms, 8x {w_long * 1000:.1f} ms: ratio {w_long / w_base:.2f}x")


if __name__ == "__main__":
    main()
