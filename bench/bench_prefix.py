"""Prefix-cache reuse over a 10-step tool loop, native mode, against the simulator over HTTP.

For each step: the tokens of the previous prompt + output that the new prompt re-prefills, the part the
Qwen3 template forces (the last assistant turn re-rendered) and the rest (goal: 0), plus the simulator's
own prefix-cache hit (like vLLM's automatic prefix caching).

    python bench/bench_prefix.py
"""

from __future__ import annotations

import anyio

from agentkit.agent import Agent
from agentkit.llm.http import Endpoint
from agentkit.llm.native import NativeBackend
from agentkit.testing import run_simulator
from agentkit.tooling import tool

STEPS = 10


@tool
def lookup(key: str) -> str:
    """Look up a value.

    Args:
        key: what to look up
    """
    return f"value of {key} is {len(key) * 7}"


def script() -> dict:
    replies = [
        {
            "think": f"Step {i}: I still need item{i}.",
            "tool_calls": [{"name": "lookup", "arguments": {"key": f"item{i}"}}],
        }
        for i in range(STEPS - 1)
    ]
    replies.append({"text": "All values collected."})
    return {"model": "Qwen/Qwen3-8B", "replies": replies}


async def main() -> None:
    async with run_simulator(script()) as sim:
        llm = NativeBackend(Endpoint(sim.base_url), "Qwen/Qwen3-8B")
        for mode in ("auto", "on"):
            sim.reset()
            result = await Agent(llm, [lookup], thinking=mode, max_steps=STEPS).run("Collect item0..item8.")
            print(f"\nthinking: {mode} — {len(result.steps)} steps, status {result.status}")
            print("step  thinking  prompt  re-prefilled  forced-by-template  extra  sim-cached")
            cached = [
                r.get("usage", {}).get("prompt_tokens_details", {}).get("cached_tokens")
                for r in sim.requests()
                if r["path"].endswith("/completions")
            ]
            for step in result.steps:
                u = step.usage
                print(
                    f"{step.step:4d}  {str(step.thinking):8s}  {u['prompt_tokens']:6d}  "
                    f"{u.get('reprefill_tokens', '-')!s:>12}  {u.get('reprefill_forced_tokens', '-')!s:>18}  "
                    f"{u.get('reprefill_extra_tokens', '-')!s:>5}  {cached[step.step] if step.step < len(cached) else '-'!s:>10}"
                )
            extra = sum(s.usage.get("reprefill_extra_tokens") or 0 for s in result.steps)
            print(f"total extra re-prefill beyond the template: {extra} tokens (goal 0)")
        await llm.aclose()


if __name__ == "__main__":
    anyio.run(main)
