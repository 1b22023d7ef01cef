"""Re-prefilled tokens per step over a long run on a small context, side by side: no policy (fails) and
agentkit's context policy (default, compacting only just enough, and keeping one turn whole).

40 steps, each a tool call with a 4 KB result, against the simulator with an 8k window and a vLLM-like
prefix cache (16-token blocks). Re-prefilled tokens are what the server computes again for a step's
prompt (prompt tokens less the cached ones, as the server reports them).

    python bench/bench_context.py [--steps 40] [--window 8192]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from typing import Any

from agentkit.agent import Agent
from agentkit.context import ContextPolicy
from agentkit.llm.http import Endpoint
from agentkit.llm.native import NativeBackend
from agentkit.testing import run_simulator
from agentkit.tooling import tool

TASK = "Read every part of the report and tell me the total."
POLICIES: dict[str, ContextPolicy | None] = {
    "no policy": None,
    "agentkit, headroom 0": ContextPolicy(headroom=0.0),
    "agentkit (default)": ContextPolicy(),
    "agentkit, keep_turns 1": ContextPolicy(keep_turns=1),
}


@tool
def read_part(part: int) -> str:
    """Read one part of the report.

    Args:
        part: which part
    """
    line = f"part {part}: revenue grew in region {part % 7}, costs were flat, see table {part}.\n"
    return (line * (4096 // len(line) + 1))[:4096]


async def run(steps: int, window: int, how: str) -> dict[str, Any]:
    calls = [{"tool_calls": [{"name": "read_part", "arguments": {"part": i + 1}}]} for i in range(steps)]
    script = {
        "model": "qwen3-sim",
        "max_model_len": window,
        "cache_block_size": 16,
        "conversations": [
            {
                "match": "Summarise the steps above",
                "replies": ["Parts read so far: revenue grew, costs flat."],
            },
            {"replies": [*calls, f"All {steps} parts read."]},
        ],
    }
    async with run_simulator(script) as sim:
        llm: Any = NativeBackend(Endpoint(sim.base_url), "qwen3-sim")
        policy = POLICIES[how]
        try:
            result = await Agent(llm, [read_part], max_steps=steps + 5, context=policy).run(TASK)
        finally:
            await llm.aclose()
        served = [r for r in sim.state.requests if r.get("usage")]
        summaries = sum(1 for r in served if "Summarise the steps above" in str(r["body"]))
    # every prompt the server computed, the summarising steps' included (their cost counts too)
    prefill = [
        r["usage"]["prompt_tokens"] - r["usage"]["prompt_tokens_details"]["cached_tokens"] for r in served
    ]
    return {
        "status": result.status,
        "steps": len(result.steps),
        "error": result.error,
        "prefill": prefill,
        "compactions": sum(1 for s in result.steps if s.context),
        "summaries": summaries,
    }


async def main(steps: int, window: int) -> None:
    print(f"{steps} steps, 4 KB tool results, {window}-token window; re-prefilled tokens per step")
    print(
        f"  {'history':24s} {'status':10s} {'steps':>5s} {'mean':>7s} {'median':>7s} {'total':>8s}  compactions"
    )
    floor = 0
    for how in POLICIES:
        out = await run(steps, window, how)
        prefill = out["prefill"][1:] or [0]  # the first prompt is new either way; summary steps count
        extra = f"  {out['compactions']} ({out['summaries']} summaries)" if how.startswith("agentkit") else ""
        print(
            f"  {how:24s} {out['status']:10s} {out['steps']:5d} {statistics.mean(prefill):7.0f} "
            f"{statistics.median(prefill):7.0f} {sum(prefill):8d}{extra}"
        )
        if out["status"] != "completed":
            print(f"    {out['error'][:150]}")
            floor = floor or statistics.mean(prefill)
    print(
        f"  (appending only, as far as it gets, re-prefills {floor:.0f} per step: each step's new messages)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--window", type=int, default=8192)
    args = parser.parse_args()
    asyncio.run(main(args.steps, args.window))
