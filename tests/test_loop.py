"""The agent loop against a model that returns prepared parsed turns (no parser, no HTTP involved)."""

from __future__ import annotations

import threading
import time

import anyio
import pytest

from agentkit.agent import Agent
from agentkit.agent.events import StepEnded, StepStarted, ToolFinished, ToolRunning
from agentkit.llm.errors import LLMError
from agentkit.llm.types import ModelRequest, StepFinished, StepOutput, Usage
from agentkit.qwen3.types import InvalidToolCall, ParsedOutput, ToolCall
from agentkit.tooling import ToolPolicy, tool


def call(name: str, index: int = 0, **arguments) -> ToolCall:
    return ToolCall(id=f"call_{name}_{index}", name=name, arguments=arguments, index=index)


def turn(content: str | None = None, calls=(), invalid=(), reasoning=None, finish="stop") -> StepOutput:
    parsed = ParsedOutput(
        content=content, reasoning_content=reasoning, tool_calls=list(calls), invalid_tool_calls=list(invalid)
    )
    return StepOutput(parsed=parsed, finish_reason=finish, usage=Usage(10, 5), thinking=True)


class PreparedLLM:
    """Answers each step with the next prepared turn and records the requests."""

    model = "prepared"

    def __init__(self, *turns: StepOutput | Exception):
        self.turns = list(turns)
        self.requests: list[ModelRequest] = []

    async def stream(self, request: ModelRequest):
        self.requests.append(request)
        out = self.turns.pop(0)
        if isinstance(out, Exception):
            raise out
        out.thinking = request.thinking
        yield StepFinished(out)

    async def aclose(self) -> None:
        pass


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: first
        b: second
    """
    return a + b


@tool
async def slow(seconds: float) -> str:
    """Sleep, then say so."""
    await anyio.sleep(seconds)
    return f"slept {seconds}"


@tool
def boom() -> str:
    """Always fails."""
    raise RuntimeError("disk on fire")


@pytest.mark.anyio
async def test_tool_runs_and_answer_is_returned_with_thinking_switched():
    llm = PreparedLLM(turn(calls=[call("add", a=2, b=3)], reasoning="plan"), turn("The sum is 5."))
    result = await Agent(llm, [add]).run("what is 2+3?")
    assert result.status == "completed"
    assert result.output == "The sum is 5."
    assert [r.thinking for r in llm.requests] == [True, False]  # planning on, summarising off
    assert llm.requests[0].sampling["temperature"] == 0.6 and llm.requests[1].sampling["temperature"] == 0.7
    tool_msg = result.messages[-2]
    assert tool_msg == {"role": "tool", "tool_call_id": "call_add_0", "name": "add", "content": "5"}
    assistant = result.messages[1]
    assert assistant["reasoning_content"] == "plan"
    assert assistant["tool_calls"][0]["function"] == {"name": "add", "arguments": '{"a": 2, "b": 3}'}
    assert [s.thinking for s in result.steps] == [True, False]
    assert result.steps[0].tool_calls[0].result == "5"


@pytest.mark.anyio
async def test_parallel_calls_run_concurrently_and_results_keep_call_order():
    calls = [call("slow", 0, seconds=0.3), call("slow", 1, seconds=0.25), call("add", 2, a=1, b=1)]
    llm = PreparedLLM(turn(calls=calls), turn("done"))
    started = time.perf_counter()
    result = await Agent(llm, [slow, add]).run("go")
    assert time.perf_counter() - started < 0.5  # one after another would take 0.55 s
    contents = [m["content"] for m in result.messages if m["role"] == "tool"]
    assert contents == ["slept 0.3", "slept 0.25", "2"]


@pytest.mark.anyio
async def test_errors_become_results_and_the_next_step_thinks():
    invalid = InvalidToolCall(
        id="call_bad", raw='{"a": }', error="invalid JSON in arguments", name="add", index=1
    )
    llm = PreparedLLM(
        turn(calls=[call("boom", 0), call("nope", 2)], invalid=[invalid]),
        turn("sorry"),
    )
    result = await Agent(llm, [boom, add]).run("go")
    tool_results = [m["content"] for m in result.messages if m["role"] == "tool"]
    assert "disk on fire" in tool_results[0]
    assert "invalid JSON" in tool_results[1]
    assert "Unknown tool 'nope'" in tool_results[2]
    assert llm.requests[1].thinking is True  # planning again after errors
    assert [c.valid for c in result.steps[0].tool_calls] == [True, False, True]


@pytest.mark.anyio
async def test_validation_error_reaches_the_model():
    llm = PreparedLLM(turn(calls=[call("add", a="two", b=3)]), turn("ok"))
    result = await Agent(llm, [add]).run("go")
    text = result.messages[2]["content"]
    assert "Invalid arguments for add" in text and "a" in text


@pytest.mark.anyio
async def test_timeout_cap_and_policies():
    llm = PreparedLLM(
        turn(calls=[call("slow", 0, seconds=5)]), turn(calls=[call("add", a=1, b=2)]), turn("x")
    )
    agent = Agent(llm, [slow, add], tool_timeout=0.1, policies={"add": ToolPolicy(approval="deny")})
    result = await agent.run("go")
    tool_results = [m["content"] for m in result.messages if m["role"] == "tool"]
    assert "timed out after 0.1 s" in tool_results[0]
    assert "denied" in tool_results[1]


@pytest.mark.anyio
async def test_a_blocking_sync_tool_is_timed_out_and_cancelled_promptly():
    release = threading.Event()

    @tool
    def stuck() -> str:
        """Blocks until released."""
        release.wait(10)
        return "done"

    try:
        llm = PreparedLLM(turn(calls=[call("stuck")]), turn("x"))
        started = time.perf_counter()
        result = await Agent(llm, [stuck], tool_timeout=0.2).run("go")
        assert time.perf_counter() - started < 2
        assert "timed out after 0.2 s" in result.messages[2]["content"]
        llm = PreparedLLM(turn(calls=[call("stuck")]))
        started = time.perf_counter()
        with anyio.move_on_after(0.2):
            await Agent(llm, [stuck]).run("go")
        assert time.perf_counter() - started < 2
    finally:
        release.set()


@pytest.mark.anyio
async def test_output_capped_with_a_note():
    @tool
    def big() -> str:
        """Lots of text."""
        return "x" * 1000

    llm = PreparedLLM(turn(calls=[call("big")]), turn("ok"))
    result = await Agent(llm, [big], max_tool_output=100).run("go")
    content = result.messages[2]["content"]
    assert content.startswith("x" * 100) and "output truncated: 1000 characters" in content


@pytest.mark.anyio
async def test_ask_approval_uses_the_hook_or_refuses_without_one():
    llm = PreparedLLM(turn(calls=[call("add", 0, a=1, b=1), call("add", 1, a=2, b=2)]), turn("ok"))
    asked = []

    async def approve(name, arguments):
        asked.append(arguments)
        return arguments["a"] == 1

    result = await Agent(llm, [add], policies={"add": ToolPolicy(approval="ask")}, approve=approve).run("go")
    assert [m["content"] for m in result.messages if m["role"] == "tool"] == [
        "2",
        "The user declined the call to 'add'.",
    ]
    assert len(asked) == 2
    llm = PreparedLLM(turn(calls=[call("add", a=1, b=1)]), turn("ok"))
    result = await Agent(llm, [add], policies={"add": ToolPolicy(approval="ask")}).run("go")
    assert "needs approval" in result.messages[2]["content"]


@pytest.mark.anyio
async def test_max_steps_and_llm_errors_end_with_clear_status():
    llm = PreparedLLM(*[turn(calls=[call("add", a=1, b=1)]) for _ in range(3)])
    result = await Agent(llm, [add], max_steps=3).run("go")
    assert result.status == "max_steps" and "max_steps=3" in result.error
    llm = PreparedLLM(LLMError("cannot reach the model endpoint http://x"))
    result = await Agent(llm, [add]).run("go")
    assert result.status == "error" and "cannot reach" in result.error


@pytest.mark.anyio
async def test_per_tool_thinking_override_and_fixed_modes():
    llm = PreparedLLM(turn(calls=[call("add", a=1, b=1)]), turn("ok"))
    await Agent(llm, [add], policies={"add": ToolPolicy(thinking="on")}).run("go")
    assert [r.thinking for r in llm.requests] == [True, True]
    llm = PreparedLLM(turn(calls=[call("add", a=1, b=1)]), turn("ok"))
    await Agent(llm, [add], thinking="off").run("go")
    assert [r.thinking for r in llm.requests] == [False, False]


@pytest.mark.anyio
async def test_events_in_order_and_cancellation_stops_tools():
    events = []
    llm = PreparedLLM(turn(calls=[call("add", a=1, b=1)]), turn("ok"))
    await Agent(llm, [add]).run("go", on_event=events.append)
    kinds = [type(e).__name__ for e in events]
    assert kinds[:2] == ["StepStarted", "StepFinished"]
    assert kinds.index("ToolRunning") < kinds.index("ToolFinished") < kinds.index("StepEnded")
    assert kinds[-1] == "RunFinished"
    assert isinstance(events[0], StepStarted) and any(isinstance(e, ToolRunning) for e in events)
    assert any(isinstance(e, ToolFinished) for e in events) and any(isinstance(e, StepEnded) for e in events)

    cancelled = anyio.Event()

    @tool
    async def forever() -> str:
        """Never returns."""
        try:
            await anyio.sleep(100)
        finally:
            cancelled.set()
        return ""

    llm = PreparedLLM(turn(calls=[call("forever")]))
    with anyio.move_on_after(0.2):
        await Agent(llm, [forever]).run("go")
    assert cancelled.is_set()


@pytest.mark.anyio
async def test_system_prompt_and_history_are_kept():
    llm = PreparedLLM(turn("hi"))
    result = await Agent(llm, system="Be brief.").run([{"role": "user", "content": "hello"}])
    assert result.messages[0] == {"role": "system", "content": "Be brief."}
    assert result.to_json()["steps"][0]["finish_reason"] == "stop"


@pytest.mark.anyio
async def test_a_failing_approver_refuses_and_approval_time_is_not_tool_time():
    def broken(name, arguments):
        raise RuntimeError("no terminal")

    llm = PreparedLLM(turn(calls=[call("add", a=1, b=1)]), turn("ok"))
    result = await Agent(llm, [add], policies={"add": ToolPolicy(approval="ask")}, approve=broken).run("go")
    assert result.status == "completed"
    assert "approval hook failed (RuntimeError: no terminal)" in result.messages[2]["content"]

    async def slow_yes(name, arguments):
        await anyio.sleep(0.3)
        return True

    llm = PreparedLLM(turn(calls=[call("add", a=1, b=1)]), turn("ok"))
    result = await Agent(llm, [add], policies={"add": ToolPolicy(approval="ask")}, approve=slow_yes).run("go")
    assert result.messages[2]["content"] == "2"
    assert result.steps[0].tool_calls[0].duration_s < 0.2
