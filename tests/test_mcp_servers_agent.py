"""The agent as an MCP tool (``agentkit_mcp_servers.agent_tool``) with the real ``Agent`` loop and a prepared model,
called by the SDK's real client session: answers, per-step progress, failed runs, approval by elicitation."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp.types as types
import pytest
from mcp.client.session import ClientSession
from mcp.shared.memory import create_client_server_memory_streams

from agentkit.agent import Agent
from agentkit.llm.types import StepFinished, StepOutput, Usage
from agentkit.qwen3.types import ParsedOutput, ToolCall
from agentkit.tooling import ToolPolicy, tool
from agentkit_mcp_servers.adapter import tool_server
from agentkit_mcp_servers.agent_tool import SIMULATED_LABEL, AgentTool, check_tool_name, describe_agent
from agentkit_mcp_servers.client_questions import ask_approval

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: first
        b: second
    """
    return a + b


def _turn(content: str | None = None, calls: tuple[ToolCall, ...] = ()) -> StepOutput:
    parsed = ParsedOutput(content=content, tool_calls=list(calls))
    return StepOutput(parsed=parsed, finish_reason="stop", usage=Usage(10, 5), thinking=False)


class PreparedLLM:
    """Answers step i of every run with ``turns[i]``."""

    model = "prepared"

    def __init__(self, *turns: StepOutput):
        self.turns = turns

    async def stream(self, request: Any):
        assistant_turns = sum(1 for m in request.messages if m.get("role") == "assistant")
        yield StepFinished(self.turns[min(assistant_turns, len(self.turns) - 1)])

    async def aclose(self) -> None:
        pass


ADD_THEN_ANSWER = (
    _turn(calls=(ToolCall(id="c1", name="add", arguments={"a": 2, "b": 3}),)),
    _turn("2 + 3 = 5."),
)


@asynccontextmanager
async def serving(agent: Agent, *, elicit: Any = None, simulated: bool = False):
    tool = AgentTool(agent, description=describe_agent(agent, "qwen3-test"), simulated=simulated)
    server = tool_server([tool], name="agent")
    async with create_client_server_memory_streams() as (client_streams, server_streams):
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                lambda: server.run(
                    server_streams[0], server_streams[1], server.create_initialization_options()
                )
            )
            async with ClientSession(*client_streams, elicitation_callback=elicit) as session:
                await session.initialize()
                yield session
            tg.cancel_scope.cancel()


@pytest.mark.anyio
async def test_the_agent_answers_with_progress_per_step_and_tool_call():
    agent = Agent(PreparedLLM(*ADD_THEN_ANSWER), [add], max_steps=4)
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    async with serving(agent) as session:
        listing = (await session.list_tools()).tools
        result = await session.call_tool(
            "run_agent", {"prompt": "What is 2 + 3?"}, progress_callback=on_progress
        )
    assert [t.name for t in listing] == ["run_agent"]
    assert listing[0].input_schema["required"] == ["prompt"]
    assert "qwen3-test" in listing[0].description and "add" in listing[0].description
    assert not result.is_error and result.content[0].text == "2 + 3 = 5."
    assert result.structured_content["status"] == "completed"
    assert result.structured_content["tool_calls"] == [{"step": 1, "name": "add", "is_error": False}]
    messages = [m for _, _, m in progress]
    assert messages[0] == "step 1: model thinking"
    assert messages[1] == 'step 1: calling add({"a": 2, "b": 3})'
    assert messages[2].startswith("step 1: add done in ")
    assert messages[3] == "step 2: model not thinking"  # thinking: auto, after tool results
    assert messages[-1] == "finished: completed"
    values = [v for v, _, _ in progress]
    assert all(later > earlier for earlier, later in zip(values, values[1:]))
    assert {total for _, total, _ in progress} == {4.0}


@pytest.mark.anyio
async def test_a_run_that_does_not_finish_is_an_error_result():
    looping = Agent(PreparedLLM(ADD_THEN_ANSWER[0]), [add], max_steps=2)
    async with serving(looping) as session:
        result = await session.call_tool("run_agent", {"prompt": "loop"})
        empty = await session.call_tool("run_agent", {"prompt": "  "})
        extra = await session.call_tool("run_agent", {"prompt": "x", "model": "big"})
    assert result.is_error
    assert result.content[0].text.startswith("The agent stopped before finishing (max_steps)")
    assert result.structured_content["steps"] == 2
    assert empty.is_error and "non-empty string" in empty.content[0].text
    assert extra.is_error and "unexpected argument(s) model" in extra.content[0].text


def _agent_asking_for_add() -> Agent:
    return Agent(
        PreparedLLM(*ADD_THEN_ANSWER),
        [add],
        max_steps=4,
        policies={"add": ToolPolicy(approval="ask")},
        approve=ask_approval,
    )


@pytest.mark.anyio
async def test_approval_is_asked_of_the_client_by_elicitation():
    asked: list[str] = []

    async def elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"allow": True})

    async with serving(_agent_asking_for_add(), elicit=elicit) as session:
        result = await session.call_tool("run_agent", {"prompt": "What is 2 + 3?"})
    assert asked == ['The agent wants to call the tool add with {"a": 2, "b": 3}. Allow it?']
    assert result.structured_content["tool_calls"] == [{"step": 1, "name": "add", "is_error": False}]


@pytest.mark.anyio
async def test_without_elicitation_support_the_call_is_refused():
    async with serving(_agent_asking_for_add()) as session:
        result = await session.call_tool("run_agent", {"prompt": "What is 2 + 3?"})
    assert result.structured_content["tool_calls"] == [{"step": 1, "name": "add", "is_error": True}]


def test_tool_names_are_checked():
    assert check_tool_name("research.v2") == "research.v2"
    with pytest.raises(ValueError, match="use 1-64 letters"):
        check_tool_name("run agent")


@pytest.mark.anyio
async def test_cancelling_the_request_cancels_the_run():
    state = {"started": anyio.Event(), "cancelled": False}

    @tool
    async def wait_long() -> str:
        """Takes a long time."""
        state["started"].set()
        try:
            await anyio.sleep(30)
        except anyio.get_cancelled_exc_class():
            state["cancelled"] = True
            raise
        return "done"

    agent = Agent(PreparedLLM(_turn(calls=(ToolCall(id="c1", name="wait_long", arguments={}),))), [wait_long])
    async with serving(agent) as session:
        with anyio.move_on_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(session.call_tool, "run_agent", {"prompt": "wait"})
                await state["started"].wait()
                tg.cancel_scope.cancel()
        with anyio.fail_after(5):
            while not state["cancelled"]:
                await anyio.sleep(0.01)
        assert (await session.call_tool("run_agent", {"prompt": ""})).is_error  # the session still serves


@pytest.mark.anyio
async def test_every_result_matches_the_declared_output_schema():
    """The SDK client's own validator accepts every result: an answer, a run stopped early, bad arguments."""
    async with serving(Agent(PreparedLLM(*ADD_THEN_ANSWER), [add], max_steps=4)) as session:
        (listed,) = (await session.list_tools()).tools
        answered = await session.call_tool("run_agent", {"prompt": "What is 2 + 3?"})
        bad = await session.call_tool("run_agent", {"prompt": ""})
        for result in (answered, bad):
            await session.validate_tool_result("run_agent", result)
    async with serving(Agent(PreparedLLM(ADD_THEN_ANSWER[0]), [add], max_steps=1)) as session:
        stopped = await session.call_tool("run_agent", {"prompt": "loop"})
        await session.validate_tool_result("run_agent", stopped)
    assert listed.output_schema["type"] == "object"
    assert (
        answered.structured_content["answer"] == "2 + 3 = 5." and answered.structured_content["error"] is None
    )
    assert bad.structured_content["status"] == "invalid_arguments" and bad.is_error
    assert stopped.structured_content["status"] == "max_steps" and stopped.structured_content["error"]


@pytest.mark.anyio
async def test_annotations_say_what_a_run_may_do():
    async with serving(Agent(PreparedLLM(_turn("hi")), [])) as session:
        (bare,) = (await session.list_tools()).tools
    async with serving(Agent(PreparedLLM(_turn("hi")), [add])) as session:
        (tooled,) = (await session.list_tools()).tools
    assert bare.annotations.read_only_hint is True and bare.annotations.open_world_hint is False
    # `add` says nothing about itself, so the agent may change things and reach out
    assert tooled.annotations.read_only_hint is False and tooled.annotations.destructive_hint is True
    assert tooled.annotations.idempotent_hint is False and tooled.annotations.open_world_hint is True


@pytest.mark.anyio
async def test_a_simulated_answer_says_so_in_the_result_itself():
    async with serving(Agent(PreparedLLM(_turn("Paris.")), []), simulated=True) as session:
        (listed,) = (await session.list_tools()).tools
        result = await session.call_tool("run_agent", {"prompt": "Capital of France?"})
    assert result.content[0].text == f"{SIMULATED_LABEL}\n\nParis."
    assert result.structured_content["simulated"] is True and result.structured_content["answer"] == "Paris."
    assert "SIMULATED" in listed.description
    async with serving(Agent(PreparedLLM(_turn("Paris.")), [])) as session:
        real = await session.call_tool("run_agent", {"prompt": "Capital of France?"})
    assert real.content[0].text == "Paris." and real.structured_content["simulated"] is False
