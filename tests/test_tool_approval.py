"""The approval setting end to end: the Assistant's callback (simulator over HTTP) and the CLI's terminal prompt."""

from __future__ import annotations

import io

import anyio
import pytest
from rich.console import Console

from agentkit.assistant import Assistant
from agentkit.terminal_approval import terminal_approver
from agentkit.testing import run_simulator
from agentkit_tools import builtin_tool

SCRIPT = {
    "model": "Qwen/Qwen3-8B",
    "replies": [
        {"tool_calls": [{"name": "python", "arguments": {"code": "print(6 * 7)"}}]},
        {"text": "done"},
    ],
}


async def _tool_replies(function_list, approve) -> list[str]:
    async with run_simulator(SCRIPT) as sim:
        bot = Assistant(
            function_list=function_list,
            llm={"model": "Qwen/Qwen3-8B", "model_server": sim.base_url},
            approve=approve,
        )
        snapshots = [out async for out in bot.arun([{"role": "user", "content": "go"}])]
    return [m["content"] for m in snapshots[-1] if m.get("role") == "function"]


@pytest.mark.anyio
@pytest.mark.parametrize("given", ["name", "object"])
async def test_assistant_asks_its_callback_before_python_runs(given):
    """python asks by default, whether named or passed as a tool object (the object once skipped the ask)."""
    asked = []

    async def approve(name, arguments):
        asked.append((name, arguments))
        return len(asked) > 1

    function_list = ["python"] if given == "name" else [builtin_tool("python")]
    assert await _tool_replies(function_list, approve) == ["The user declined the call to 'python'."]
    assert asked == [("python", {"code": "print(6 * 7)"})]
    assert await _tool_replies(function_list, approve) == ["exit status 0\nstdout:\n42"]
    refused = await _tool_replies(function_list, None)
    assert "needs approval" in refused[0]


@pytest.mark.anyio
async def test_assistant_honours_allow_and_deny_settings():
    def never(name, arguments):
        raise AssertionError("not asked when the setting is allow or deny")

    assert await _tool_replies([{"name": "python", "approval": "allow"}], never) == [
        "exit status 0\nstdout:\n42"
    ]
    denied = await _tool_replies([{"name": "python", "approval": "deny"}], never)
    assert "denied by this task's settings" in denied[0]


@pytest.mark.anyio
async def test_terminal_prompt_shows_the_call_verbatim_and_asks_one_at_a_time():
    out = io.StringIO()
    console = Console(file=out, width=400, force_terminal=False)
    answers = iter(["y\n", "n\n"])
    seen_at_answer: list[str] = []

    def readline() -> str:
        seen_at_answer.append(out.getvalue())
        return next(answers)

    approve = terminal_approver(console, None, readline)
    hidden = "print('A')  # [conceal]\nprint('HIDDEN')  # [/conceal] [/] \u202e"
    results: dict[str, bool] = {}

    async def ask(key: str, code: str) -> None:
        results[key] = await approve("python", {"code": code})

    async with anyio.create_task_group() as tg:
        tg.start_soon(ask, "first", hidden)
        await anyio.sleep(0.05)
        tg.start_soon(ask, "second", "print('B')")
    # Code is shown as code, one line per line; markup in it is shown as typed, never interpreted (no
    # hidden text, no MarkupError), and invisible characters are escaped.
    assert (
        "code:\n  print('A')  # [conceal]\n  print('HIDDEN')  # [/conceal] [/] \\u202e\n" in seen_at_answer[0]
    )
    assert "\\n" not in seen_at_answer[0].replace("\\u202e", "")
    # The second question appears only after the first is answered: each answer goes to its own call.
    assert "print('B')" not in seen_at_answer[0] and "print('B')" in seen_at_answer[1]
    assert results == {"first": True, "second": False}
    assert out.getvalue().count("[y/N]") == 2
