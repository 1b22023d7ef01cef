"""The Qwen3 simulator over real HTTP on 127.0.0.1, with httpx and the openai SDK as clients."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import openai
import pytest

from agentkit.qwen3.template import render_prompt
from agentkit.qwen3.tokens import count_tokens
from agentkit.testing import run_simulator, serve_in_thread

SCRIPTS = Path(__file__).parent / "fixtures" / "scripts"
WEATHER = SCRIPTS / "weather.yaml"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
USER = {"role": "user", "content": "What is the weather in Paris?"}


@pytest.fixture
def sim():
    with serve_in_thread(WEATHER) as running:
        yield running


def sse_events(response: httpx.Response) -> list:
    """Parsed ``data:`` payloads of an SSE body, ``[DONE]`` kept as the string."""
    out = []
    for line in response.text.splitlines():
        if line.startswith("data: "):
            data = line[len("data: ") :]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def native_body(prompt: str, **extra) -> dict:
    return {
        "model": "qwen3-sim",
        "prompt": prompt,
        "skip_special_tokens": False,
        "stop": ["<|im_end|>"],
        **extra,
    }


def test_health_models_and_simulation_label(sim):
    with httpx.Client(base_url=sim.url) as client:
        assert client.get("/health").status_code == 200
        models = client.get("/v1/models")
    assert models.headers["x-agentkit-simulator"]
    card = models.json()["data"][0]
    assert models.json()["object"] == "list"
    assert card["id"] == "qwen3-sim" and card["object"] == "model"
    assert card["owned_by"] == "agentkit-simulator" and card["max_model_len"] == 4096


def test_completions_stream_splits_tags_and_ends_with_done(sim):
    prompt = render_prompt([USER], TOOLS)
    body = native_body(prompt, stream=True, stream_options={"include_usage": True})
    with httpx.Client(base_url=sim.base_url) as client:
        events = sse_events(client.post("/completions", json=body))
    assert events[-1] == "[DONE]"
    usage = events[-2]["usage"]
    assert events[-2]["choices"] == []
    pieces = [e["choices"][0]["text"] for e in events[:-2]]
    text = "".join(pieces)
    assert text.startswith("<think>\nThe user wants the weather in Paris.")
    assert (
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n</tool_call>'
        in text
    )
    assert "<|im_end|>" not in text
    assert max(len(p) for p in pieces) <= 3
    assert not any("<tool_call>" in p or "</think>" in p for p in pieces), "tags arrive split across chunks"
    assert events[-3]["choices"][0]["finish_reason"] == "stop"
    assert all(e["system_fingerprint"] == "agentkit-simulator" for e in events[:-1])
    assert usage["prompt_tokens"] == count_tokens(prompt)
    assert usage["completion_tokens"] == count_tokens(text) + 1  # + the EOS token, as vLLM counts it


def test_completions_thinking_off_max_tokens_and_stop(sim):
    prompt = render_prompt([USER], TOOLS, enable_thinking=False)
    with httpx.Client(base_url=sim.base_url) as client:
        whole = client.post("/completions", json=native_body(prompt)).json()
        cut = client.post("/completions", json=native_body(prompt, max_tokens=3)).json()
        stopped = client.post("/completions", json=native_body(prompt, stop=['"arguments"'])).json()
    text = whole["choices"][0]["text"]
    assert text.startswith("<tool_call>\n"), "thinking off: no think block is generated"
    assert cut["choices"][0]["finish_reason"] == "length" and cut["usage"]["completion_tokens"] == 3
    assert text.startswith(cut["choices"][0]["text"])
    assert stopped["choices"][0]["text"] == '<tool_call>\n{"name": "get_weather", '
    assert stopped["choices"][0]["stop_reason"] == '"arguments"'


def test_completions_reply_follows_the_conversation_and_falls_back(sim):
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    history = [
        USER,
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "content": "sunny, 21"},
    ]
    capital = [{"role": "user", "content": "What is the capital of France?"}]
    done = [*history, {"role": "assistant", "content": "It is sunny."}, {"role": "tool", "content": "x"}]
    with httpx.Client(base_url=sim.base_url) as client:
        texts = [
            client.post("/completions", json=native_body(render_prompt(m, TOOLS))).json()["choices"][0][
                "text"
            ]
            for m in (history, capital, done)
        ]
    assert texts[0].endswith("</think>\n\nIt is sunny in Paris, 21 °C.")
    assert texts[1] == "<think>\nEasy.\n</think>\n\nParis."
    assert "[agentkit simulator] The script ran out of replies" in texts[2]


@pytest.mark.anyio
async def test_chat_parses_tool_calls_and_reasoning_server_side_with_openai_sdk():
    async with run_simulator(WEATHER) as sim:
        client = openai.AsyncOpenAI(base_url=sim.base_url, api_key="EMPTY", max_retries=0)
        first = await client.chat.completions.create(model="qwen3-sim", messages=[USER], tools=TOOLS)
        choice = first.choices[0]
        assert choice.finish_reason == "tool_calls"
        assert choice.message.model_extra["reasoning"].startswith("The user wants the weather")
        (call,) = choice.message.tool_calls
        assert call.id and call.function.name == "get_weather"
        assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "celsius"}
        assert first.system_fingerprint == "agentkit-simulator"
        history = [
            USER,
            choice.message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21"},
        ]
        second = await client.chat.completions.create(
            model="qwen3-sim",
            messages=history,
            tools=TOOLS,
            extra_body={"chat_template_kwargs": {"enable_thinking": False}},
        )
        assert second.choices[0].finish_reason == "stop"
        assert second.choices[0].message.content == "It is sunny in Paris, 21 °C."
        assert second.choices[0].message.model_extra.get("reasoning") is None, "thinking off: no reasoning"
        await client.close()
        assert [r["path"] for r in sim.requests()] == ["/v1/chat/completions"] * 2


@pytest.mark.anyio
async def test_chat_stream_deltas_in_vllm_shape():
    script = {"reasoning_field": "reasoning_content", "chunk_chars": 5, "chunk_seed": 3, "replies": []}
    script["replies"] = [
        {
            "think": "Two calls.",
            "text": "Checking.",
            "tool_calls": [
                {"name": "get_weather", "arguments": {"city": "Paris"}},
                {"name": "get_weather", "arguments": {"city": "東京"}},
            ],
        }
    ]
    async with run_simulator(script) as sim:
        client = openai.AsyncOpenAI(base_url=sim.base_url, api_key="EMPTY", max_retries=0)
        stream = await client.chat.completions.create(
            model="qwen3-sim",
            messages=[USER],
            tools=TOOLS,
            stream=True,
            stream_options={"include_usage": True},
        )
        reasoning, content, calls, finish, usage = "", "", {}, None, None
        async for chunk in stream:
            if chunk.usage:
                usage = chunk.usage
            for choice in chunk.choices:
                delta = choice.delta
                reasoning += (delta.model_extra or {}).get("reasoning_content") or ""
                content += delta.content or ""
                for tc in delta.tool_calls or []:
                    entry = calls.setdefault(tc.index, {"id": None, "name": None, "args": ""})
                    entry["id"] = entry["id"] or tc.id
                    entry["name"] = entry["name"] or (tc.function and tc.function.name)
                    entry["args"] += (tc.function and tc.function.arguments) or ""
                finish = choice.finish_reason or finish
        await client.close()
    assert reasoning == "Two calls."
    assert content.strip() == "Checking."
    assert finish == "tool_calls"
    assert [c["name"] for c in calls.values()] == ["get_weather", "get_weather"]
    assert [json.loads(c["args"]) for c in calls.values()] == [{"city": "Paris"}, {"city": "東京"}]
    assert all(c["id"] for c in calls.values()) and calls[0]["id"] != calls[1]["id"]
    assert usage.completion_tokens > 0 and usage.prompt_tokens > 0


@pytest.mark.anyio
async def test_variants_thinking_2507_instruct_and_coder():
    reply = {"think": "Hmm.", "text": "Hi."}
    async with run_simulator({"variant": "thinking-2507", "replies": [reply]}) as sim:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            prompt = render_prompt([USER], variant="thinking-2507")
            raw = (await client.post("/completions", json=native_body(prompt))).json()["choices"][0]["text"]
            chat = (await client.post("/chat/completions", json={"messages": [USER]})).json()
    assert raw == "Hmm.\n</think>\n\nHi.", "Thinking-2507 writes no opening <think>"
    assert chat["choices"][0]["message"]["reasoning"] == "Hmm."
    assert chat["choices"][0]["message"]["content"] == "Hi."
    async with run_simulator({"variant": "instruct-2507", "replies": [reply]}) as sim:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            prompt = render_prompt([USER], variant="instruct-2507")
            raw = (await client.post("/completions", json=native_body(prompt))).json()["choices"][0]["text"]
    assert raw == "Hi."
    tools = [
        {
            "type": "function",
            "function": {
                "name": "run",
                "parameters": {
                    "type": "object",
                    "properties": {"cmd": {"type": "string"}, "timeout": {"type": "integer"}},
                },
            },
        }
    ]
    async with run_simulator(SCRIPTS / "coder.json") as sim:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            body = {"model": "qwen3-coder-sim", "messages": [USER], "tools": tools}
            message = (await client.post("/chat/completions", json=body)).json()["choices"][0]["message"]
            prompt = render_prompt([USER], tools, variant="coder")
            raw = (
                await client.post("/completions", json=native_body(prompt, model="qwen3-coder-sim"))
            ).json()
    (call,) = message["tool_calls"]
    assert call["function"]["name"] == "run"
    assert json.loads(call["function"]["arguments"]) == {"cmd": "mkdir -p a/{b,c} && ls", "timeout": 5}
    assert (
        "<function=run>\n<parameter=cmd>\nmkdir -p a/{b,c} && ls\n</parameter>" in raw["choices"][0]["text"]
    )


@pytest.mark.anyio
@pytest.mark.parametrize("block", [1, 16])
async def test_prefix_cache_reports_growing_cached_tokens_over_a_tool_loop(block):
    script = {
        "cache_block_size": block,
        "replies": [
            {"think": "Step one.", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]},
            {"think": "Step two.", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Lyon"}}]},
            {"think": "Done.", "text": "Both sunny."},
        ],
    }
    async with run_simulator(script) as sim:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            prompt = render_prompt([USER], TOOLS)
            cached, prompt_tokens = [], []
            for step in range(3):
                data = (await client.post("/completions", json=native_body(prompt))).json()
                cached.append(data["usage"]["prompt_tokens_details"]["cached_tokens"])
                prompt_tokens.append(data["usage"]["prompt_tokens"])
                # What a native client does next: the output closes the turn, then the tool result follows.
                prompt += data["choices"][0]["text"] + "<|im_end|>\n"
                prompt += f"<|im_start|>user\n<tool_response>\nresult {step}\n</tool_response><|im_end|>\n"
                prompt += "<|im_start|>assistant\n"
    assert cached[0] == 0
    assert cached[1] > prompt_tokens[0] - block and cached[2] > prompt_tokens[1] > cached[1]
    assert all(c % block == 0 for c in cached), "only whole blocks are reused"
    assert all(c < p for c, p in zip(cached, prompt_tokens))


def test_context_overflow_and_unknown_model_errors_like_vllm(sim):
    with httpx.Client(base_url=sim.base_url) as client:
        long_prompt = render_prompt([{"role": "user", "content": "word " * 5000}])
        too_long = client.post("/completions", json=native_body(long_prompt))
        too_much = client.post("/completions", json=native_body(render_prompt([USER]), max_tokens=5000))
        unknown = client.post("/completions", json={"model": "gpt-4", "prompt": "hi"})
    assert too_long.status_code == 400
    error = too_long.json()["error"]
    assert error["type"] == "BadRequestError" and error["code"] == 400
    assert "maximum context length is 4096 tokens" in error["message"]
    assert too_much.status_code == 400 and "max_tokens" in too_much.json()["error"]["message"]
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "The model `gpt-4` does not exist."

    client = openai.OpenAI(base_url=sim.base_url, api_key="EMPTY", max_retries=0)
    with pytest.raises(openai.BadRequestError, match="maximum context length"):
        client.completions.create(model="qwen3-sim", prompt=long_prompt)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[USER])
    client.close()


def test_status_faults_from_script_and_at_runtime():
    script = {"replies": ["Hello."], "faults": [{"status": 503, "times": 2}]}
    with serve_in_thread(script) as sim, httpx.Client(base_url=sim.url) as client:
        body = {"messages": [USER]}
        codes = [client.post("/v1/chat/completions", json=body).status_code for _ in range(3)]
        assert codes == [503, 503, 200]
        assert client.get("/_sim/faults").json() == {"faults": []}
        rules = [{"status": 429, "retry_after": 2}, {"status": 503, "path": "/v1/completions"}]
        assert client.post("/_sim/faults", json=rules).status_code == 200
        limited = client.post("/v1/chat/completions", json=body)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
        assert limited.json()["error"]["type"] == "RateLimitError"
        assert client.post("/v1/chat/completions", json=body).status_code == 200, (
            "the 503 rule is for completions"
        )
        assert client.post("/v1/completions", json={"prompt": "hi"}).status_code == 503
        bad = client.post("/_sim/faults", json=[{"staus": 503}])
        assert bad.status_code == 400 and "did you mean 'status'" in bad.json()["error"]["message"]
        recorded = client.get("/_sim/requests").json()["requests"]
        assert (
            len(recorded) == 6 and recorded[0]["body"] == body and recorded[-1]["path"] == "/v1/completions"
        )
        assert client.post("/_sim/reset").status_code == 200
        assert client.get("/_sim/requests").json() == {"requests": []}
        assert client.get("/_sim/faults").json()["faults"] == [{"status": 503, "times": 2}], (
            "reset re-arms the script"
        )


def test_openai_sdk_retries_through_503_and_429():
    script = {"replies": ["Hello."], "faults": [{"status": 503}, {"status": 429, "retry_after": 0}]}
    with serve_in_thread(script) as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="EMPTY", max_retries=2)
        reply = client.chat.completions.create(model="qwen3-sim", messages=[USER])
        client.close()
        assert reply.choices[0].message.content == "Hello."
        assert len(sim.requests()) == 3, "a 503, a 429, then the answer"


def test_stream_cut_closes_the_connection_without_done(sim):
    sim.set_faults([{"cut_after_chars": 10}])
    body = native_body(render_prompt([USER], TOOLS), stream=True)
    received = ""
    with httpx.Client(base_url=sim.base_url) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            with client.stream("POST", "/completions", json=body) as response:
                for line in response.iter_lines():
                    assert line != "data: [DONE]"
                    if line.startswith("data: "):
                        received += json.loads(line[6:])["choices"][0]["text"]
        assert received == "<think>\nTh"
        again = sse_events(client.post("/completions", json=body))
        assert again[-1] == "[DONE]", "the rule was used up; the retry streams in full"
        sim.set_faults([{"cut_after_chars": 50}])
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/chat/completions", json={"messages": [USER], "tools": TOOLS})


def test_length_fault_and_delays(sim):
    sim.set_faults([{"length_after_tokens": 4, "first_byte_delay_s": 0.3, "chunk_delay_s": 0.002}])
    body = native_body(render_prompt([USER], TOOLS), stream=True)
    with httpx.Client(base_url=sim.base_url) as client:
        started = time.perf_counter()
        events = sse_events(client.post("/completions", json=body))
        assert time.perf_counter() - started >= 0.3
        chat = client.post("/chat/completions", json={"messages": [USER], "tools": TOOLS}).json()
    assert events[-2]["choices"][0]["finish_reason"] == "length"
    assert count_tokens("".join(e["choices"][0]["text"] for e in events[:-1])) == 4
    assert chat["choices"][0]["finish_reason"] == "tool_calls", "the fault was used once"


def test_error_statuses_leave_stream_faults_armed_and_requests_record_usage():
    script = {"replies": ["Hello there."], "faults": [{"status": 503, "times": 2}, {"cut_after_chars": 3}]}
    with serve_in_thread(script) as sim, httpx.Client(base_url=sim.base_url) as client:
        body = {"prompt": render_prompt([USER]), "stream": True}
        assert [client.post("/completions", json=body).status_code for _ in range(2)] == [503, 503]
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/completions", json=body)
        assert sse_events(client.post("/completions", json=body))[-1] == "[DONE]"
        records = sim.requests()
    assert [r["status"] for r in records] == [503, 503, 200, 200]
    assert "usage" not in records[0]
    assert records[3]["usage"]["prompt_tokens_details"]["cached_tokens"] > 0


def test_special_tokens_eos_and_openai_sdk_completion_stream():
    script = {"replies": [{"raw": "<think>\nx\n</think>\n\nA<|im_start|>B<|im_end|>never sent"}]}
    with serve_in_thread(script) as sim:
        prompt = render_prompt([USER])
        with httpx.Client(base_url=sim.base_url) as client:
            kept = client.post("/completions", json=native_body(prompt)).json()["choices"][0]
            skipped = client.post("/completions", json={"prompt": prompt}).json()["choices"][0]
        client = openai.OpenAI(base_url=sim.base_url, api_key="EMPTY", max_retries=0)
        stream = client.completions.create(
            model="qwen3-sim", prompt=prompt, stream=True, extra_body={"skip_special_tokens": False}
        )
        streamed = "".join(chunk.choices[0].text for chunk in stream if chunk.choices)
        client.close()
    assert kept["text"] == "<think>\nx\n</think>\n\nA<|im_start|>B" and kept["finish_reason"] == "stop"
    assert kept["stop_reason"] is None, "ended by EOS, not by a stop string"
    assert skipped["text"] == "<think>\nx\n</think>\n\nAB", "special tokens stripped, added tokens kept"
    assert streamed == kept["text"]


@pytest.mark.anyio
async def test_concurrent_requests_each_get_the_reply_for_their_own_step():
    import anyio

    script = {"replies": [f"reply {i}" for i in range(4)]}
    results: dict[int, str] = {}
    async with run_simulator(script) as sim, httpx.AsyncClient(base_url=sim.base_url) as client:

        async def ask(n: int) -> None:
            history = [USER]
            for i in range(n % 4):
                history += [{"role": "assistant", "content": f"reply {i}"}, {"role": "tool", "content": "ok"}]
            body = {"messages": history, "stream": n % 2 == 0}
            response = await client.post("/chat/completions", json=body)
            if body["stream"]:
                results[n] = "".join(
                    e["choices"][0]["delta"].get("content") or "" for e in sse_events(response)[:-1]
                )
            else:
                results[n] = response.json()["choices"][0]["message"]["content"]

        async with anyio.create_task_group() as tg:
            for n in range(24):
                tg.start_soon(ask, n)
    assert results == {n: f"reply {n % 4}" for n in range(24)}


def test_chat_keeps_unchecked_calls_like_vllm_and_stream_agrees():
    raw = (
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "nope", "arguments": {}}\n</tool_call>'
    )
    with (
        serve_in_thread({"chunk_chars": 2, "replies": [{"raw": raw}]}) as sim,
        httpx.Client(base_url=sim.base_url) as client,
    ):
        body = {"messages": [USER], "tools": TOOLS, "chat_template_kwargs": {"enable_thinking": False}}
        whole = client.post("/chat/completions", json=body).json()["choices"][0]
        events = sse_events(client.post("/chat/completions", json={**body, "stream": True}))
    calls = whole["message"]["tool_calls"]
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == [
        ("get_weather", {"city": "Paris"}),
        ("nope", {}),
    ], "like vLLM's parser, a call naming an unknown tool is passed on for the client to judge"
    assert whole["finish_reason"] == "tool_calls" and whole["message"]["content"] is None
    streamed: dict[int, dict] = {}
    for event in events[:-1]:
        for tc in event["choices"][0]["delta"].get("tool_calls") or []:
            entry = streamed.setdefault(tc["index"], {"name": "", "arguments": ""})
            entry["name"] += tc.get("function", {}).get("name") or ""
            entry["arguments"] += tc.get("function", {}).get("arguments") or ""
    assert [(e["name"], json.loads(e["arguments"])) for e in streamed.values()] == [
        (c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls
    ]
    assert events[-2]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.anyio
async def test_shuts_down_cleanly_leaving_no_thread_or_listening_socket():
    import threading

    before = threading.active_count()
    with serve_in_thread({"replies": ["x"]}) as threaded:
        assert httpx.get(f"{threaded.url}/health").status_code == 200
    async with run_simulator({"replies": ["x"]}) as sim:
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{sim.url}/health")).status_code == 200
    assert threading.active_count() == before
    for port in (threaded.port, sim.port):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/health")
