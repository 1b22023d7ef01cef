"""Sync ``Assistant.run`` with an MCP server: later calls reuse the running server, side by side in one run.

    python bench/bench_assistant_sync.py [--calls 6]

A Qwen-Agent app calls ``bot.run(messages)`` once per user message. Each call here is one agent run
against the built-in simulator (a call of ``mcp-server-time``'s ``get_current_time``, then the answer).

(a) one ``Assistant`` for all calls: its background loop keeps the server up; the first call starts it;
(b) a new ``Assistant`` per call (what every sync call cost when each started its servers again).

Prints the median seconds per call of each and the ratio b/a. Goal: (a) later calls well under 0.5 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agentkit import Assistant  # noqa: E402
from agentkit.testing import serve_in_thread  # noqa: E402

SCRIPT = {
    "model": "Qwen3-8B",
    "replies": [
        {"tool_calls": [{"name": "time-get_current_time", "arguments": {"timezone": "UTC"}}]},
        {"text": "It is now."},
    ],
}
TOOLS = [{"mcpServers": {"time": {"command": sys.executable, "args": ["-m", "mcp_server_time"]}}}]
QUERY = [{"role": "user", "content": "What time is it?"}]


def timed(bot: Assistant) -> float:
    started = time.perf_counter()
    out = bot.run_nonstream(QUERY)
    elapsed = time.perf_counter() - started
    assert out[-2]["name"] == "time-get_current_time" and out[-1]["content"] == "It is now.", out
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=6)
    args = parser.parse_args()
    with serve_in_thread(SCRIPT) as sim:
        llm = {"model": "Qwen3-8B", "model_server": sim.base_url}
        kept, fresh = [], []
        with Assistant(llm=llm, function_list=TOOLS) as bot:
            for _ in range(args.calls):  # alternate, so machine noise hits both alike
                kept.append(timed(bot))
                with Assistant(llm=llm, function_list=TOOLS) as new_bot:
                    fresh.append(timed(new_bot))
    later = statistics.median(kept[1:])
    restart = statistics.median(fresh)
    print(f"one Assistant, first call (starts the server): {kept[0]:.3f} s")
    print(f"one Assistant, later calls (median of {len(kept) - 1}): {later:.3f} s   goal < 0.5 s")
    print(f"new Assistant per call (median of {len(fresh)}): {restart:.3f} s")
    print(f"ratio restart / kept: {restart / later:.1f}x")


if __name__ == "__main__":
    main()
