"""The Assistant: Qwen-Agent's constructor and run() shapes, async core, against the simulator over HTTP."""

from __future__ import annotations

import json
import os
import runpy
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from agentkit import Assistant, tool
from agentkit.assistant import Responses, to_openai_messages
from agentkit.serving.spec import port_free
from agentkit.testing import run_simulator, serve_in_thread
from tests.e2e_helpers import ROOT, missing_peer

SCRIPT = {
    "model": "Qwen3-8B",
    "chunk_chars": 3,
    "replies": [
        {"think": "Check the stock.", "tool_calls": [{"name": "stock", "arguments": {"item": "plums"}}]},
        {"text": "7 plums are in stock."},
    ],
}


@tool
def stock(item: str) -> str:
    """Stock of an item."""
    return f"{item}: 7 in stock"


def test_founding_snippet_runs_as_written_with_the_import_switched(monkeypatch, capsys):
    """examples/qwen_agent_app/app.py is the founding document's code with only the import changed."""
    if not port_free("127.0.0.1", 8000):
        pytest.skip("port 8000 is taken; the snippet talks to http://localhost:8000/v1 as written")
    from agentkit_tools import web_search

    hits = [{"title": "AI trends 2025", "href": "https://example.org/ai", "body": "Agents and open models."}]
    monkeypatch.setattr(web_search.WebSearchTool, "_ddgs_backend", lambda self: lambda query, **kw: hits)
    app = ROOT / "examples" / "qwen_agent_app" / "app.py"
    assert "from agentkit import Assistant" in app.read_text()
    with serve_in_thread(ROOT / "examples" / "qwen_agent_app" / "replay.yaml", port=8000) as sim:
        runpy.run_path(str(app), run_name="__main__")
        requests = [r for r in sim.requests() if r["path"].endswith("/completions")]
    printed = capsys.readouterr().out
    assert "2025年全球AI的主要趋势" in printed.splitlines()[-1]
    assert len(requests) == 2
    second_prompt = requests[1]["body"]["prompt"]
    assert "<tool_response>" in second_prompt and "AI trends 2025" in second_prompt


def test_run_yields_growing_qwen_agent_style_lists():
    with serve_in_thread(SCRIPT) as sim:
        bot = Assistant(llm={"model": "Qwen3-8B", "model_server": sim.base_url}, function_list=[stock])
        snapshots = list(bot.run([{"role": "user", "content": "plums?"}]))
        final = bot.run_nonstream([{"role": "user", "content": "plums?"}])
    assert all(isinstance(s, Responses) for s in snapshots)
    assert len(snapshots) > 5  # streamed, not one final list
    last = snapshots[-1]
    roles = [m["role"] for m in last]
    assert roles == ["assistant", "assistant", "function", "assistant"]  # Qwen-Agent's split of a turn
    assert last[0]["reasoning_content"] == "Check the stock." and last[0]["content"] == ""
    assert last[1].function_call.name == "stock" and json.loads(last[1].function_call.arguments) == {
        "item": "plums"
    }
    assert last[1]["extra"] == {"function_id": "1"}
    assert last[2]["content"] == "plums: 7 in stock" and last[2].name == "stock"
    assert last["content"] == "7 plums are in stock."  # string keys read the latest message
    assert final[-1].content == "7 plums are in stock."


def test_ctrl_c_or_leaving_run_early_cancels_the_running_tool_at_once():
    import anyio

    ended = threading.Event()

    @tool
    async def nap(seconds: int) -> str:
        """Sleep."""
        try:
            await anyio.sleep(seconds)
        finally:
            ended.set()
        return "slept"

    script = {
        "model": "Qwen3-8B",
        "replies": [{"tool_calls": [{"name": "nap", "arguments": {"seconds": 30}}]}],
    }
    with serve_in_thread(script) as sim:
        bot = Assistant(llm={"model": "Qwen3-8B", "model_server": sim.base_url}, function_list=[nap])
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()  # as Ctrl-C does
        started = time.perf_counter()
        with pytest.raises(KeyboardInterrupt):
            for _ in bot.run([{"role": "user", "content": "nap"}]):
                pass
        assert time.perf_counter() - started < 5 and ended.wait(1)
        ended.clear()
        stream = bot.run([{"role": "user", "content": "nap"}])
        for snapshot in stream:
            if snapshot[-1].get("function_call"):
                break
        stream.close()
        assert ended.wait(2)
    assert [t for t in threading.enumerate() if t.name == "agentkit-assistant"] == []


def test_an_interrupted_run_leaves_the_record_of_its_finished_steps():
    """Ctrl-C during the second step's tool: `last_result` is the same partial record `run --json` prints.
    (``for`` closes the generator once the traceback is gone; ``close`` here makes that moment explicit.)"""
    import anyio

    @tool
    def quick(x: int) -> str:
        """Answer at once."""
        return f"quick {x}"

    @tool
    async def nap(seconds: int) -> str:
        """Sleep."""
        await anyio.sleep(seconds)
        return "slept"

    script = {
        "model": "Qwen3-8B",
        "replies": [
            {"tool_calls": [{"name": "quick", "arguments": {"x": 7}}]},
            {"tool_calls": [{"name": "nap", "arguments": {"seconds": 30}}]},
            "Done.",
        ],
    }
    with serve_in_thread(script) as sim:
        bot = Assistant(llm={"model": "Qwen3-8B", "model_server": sim.base_url}, function_list=[quick, nap])
        stream = bot.run([{"role": "user", "content": "go"}])
        with pytest.raises(KeyboardInterrupt):
            try:
                for snapshot in stream:
                    if (snapshot[-1].get("function_call") or {}).get("name") == "nap":
                        raise KeyboardInterrupt  # as Ctrl-C in the consumer does
            finally:
                stream.close()
        record = bot.last_result
        assert record is not None and record.status == "interrupted"
        assert [call.result for step in record.steps for call in step.tool_calls] == ["quick 7"]
        assert record.to_json()["steps"][0]["tool_calls"][0]["name"] == "quick"


@pytest.mark.anyio
async def test_async_core_keeps_servers_across_runs():
    async with run_simulator(SCRIPT) as sim:
        async with Assistant(
            llm={"model": "Qwen3-8B", "model_server": sim.base_url}, function_list=[stock]
        ) as bot:
            first = await bot.arun_nonstream([{"role": "user", "content": "plums?"}])
            second = await bot.arun_nonstream([{"role": "user", "content": "plums again?"}])
    assert first["content"] == second["content"] == "7 plums are in stock."


def test_history_in_qwen_agent_shape_becomes_openai_messages():
    history = [
        {"role": "user", "content": [{"text": "plums?"}]},
        {
            "role": "assistant",
            "content": "",
            "function_call": {"name": "stock", "arguments": '{"item": "plums"}'},
            "extra": {"function_id": "c1"},
        },
        {"role": "function", "name": "stock", "content": "plums: 7", "extra": {"function_id": "c1"}},
        {"role": "assistant", "content": "7 plums."},
    ]
    assert to_openai_messages(history) == [
        {"role": "user", "content": "plums?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "stock", "arguments": '{"item": "plums"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "name": "stock", "content": "plums: 7"},
        {"role": "assistant", "content": "7 plums."},
    ]


def test_qwen_agent_objects_are_accepted(monkeypatch):
    # Importing qwen_agent replaces socket.getaddrinfo process-wide (IPv4 only); undo that after the test.
    monkeypatch.setattr(socket, "getaddrinfo", socket.getaddrinfo)
    try:
        import qwen_agent.llm.schema as schema
        import qwen_agent.tools.base as base
    except ImportError as exc:  # the qwen-agent extra is part of dev: missing it fails CI, never skips
        missing_peer(f"qwen_agent does not import ({exc}); pip install -e '.[dev]'")

    class Stock(base.BaseTool):
        name = "stock"
        description = "Stock of an item."
        parameters = [{"name": "item", "type": "string", "description": "the item", "required": True}]

        def call(self, params, **kwargs):
            return f"{json.loads(params)['item']}: 7 in stock"

    with serve_in_thread(SCRIPT) as sim:
        bot = Assistant(llm={"model": "Qwen3-8B", "model_server": sim.base_url}, function_list=[Stock()])
        out = bot.run_nonstream([schema.Message(role="user", content="plums?")])
    assert out[2].content == "plums: 7 in stock" and out[1].function_call.name == "stock"
    assert type(out[-1]) is schema.Message and out[-1].content == "7 plums are in stock."


@pytest.mark.parametrize("mode", ["native", "server"])
@pytest.mark.parametrize(
    ("generate_cfg", "thinks"),
    [
        ({"temperature": 0.1, "top_p": 0.5, "max_tokens": 77, "seed": 3, "repetition_penalty": 1.05}, True),
        ({"enable_thinking": False, "top_k": 5, "frequency_penalty": 0.5}, False),
        ({"extra_body": {"chat_template_kwargs": {"enable_thinking": False}}}, False),
    ],
)
def test_generate_cfg_reaches_the_endpoint(mode, generate_cfg, thinks):
    script = {"model": "Qwen3-8B", "replies": [{"think": "hm", "text": "Hi."}]}
    with serve_in_thread(script) as sim:
        llm = {"model": "Qwen3-8B", "model_server": sim.base_url, "mode": mode, "generate_cfg": generate_cfg}
        out = Assistant(llm=llm).run_nonstream([{"role": "user", "content": "hi"}])
        body = next(r["body"] for r in sim.requests() if "completions" in r["path"])
    assert out[-1]["content"] == "Hi."
    sent = {k: v for k, v in generate_cfg.items() if k not in ("enable_thinking", "extra_body")}
    assert {k: body[k] for k in sent} == sent
    defaults = {"temperature": 0.6, "top_p": 0.95} if thinks else {"temperature": 0.7, "top_p": 0.8}
    assert {k: body[k] for k in defaults if k not in sent} == {
        k: v for k, v in defaults.items() if k not in sent
    }
    if mode == "native":
        assert body["prompt"].endswith("<think>\n\n</think>\n\n") != thinks
    else:
        assert body["chat_template_kwargs"] == {"enable_thinking": thinks}


def test_bad_configs_say_what_to_do():
    with pytest.raises(ValueError, match="model_server"):
        Assistant(llm={"model": "qwen-max", "model_server": "dashscope"})
    with pytest.raises(Exception, match="did you mean 'web_search'"):
        Assistant(llm={"model": "m", "model_server": "http://127.0.0.1:9/v1"}, function_list=["web_serch"])


def test_endpoint_down_raises_a_clear_error():
    bot = Assistant(llm={"model": "Qwen3-8B", "model_server": "http://127.0.0.1:9/v1"}, function_list=[stock])
    with pytest.raises(Exception, match=r"127\.0\.0\.1:9.*vllm serve"):
        bot.run_nonstream([{"role": "user", "content": "hi"}])


def test_assistant_app_example_runs():
    with serve_in_thread(ROOT / "examples" / "assistant_app" / "replay.yaml") as sim:
        env = {**os.environ, "AGENTKIT_ENDPOINT": sim.base_url}
        proc = subprocess.run(
            [sys.executable, str(ROOT / "examples" / "assistant_app" / "app.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 0, proc.stderr
    assert "7 plums are in stock" in proc.stdout and "called stock" in proc.stdout
