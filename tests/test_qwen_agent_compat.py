"""agentkit.qwen_agent_compat's own behaviour (the drop-in suite in tests/qwen_agent_compat/ compares it
with real Qwen-Agent): options, tool names, documents, truncation, sync lifetime, simulator faithfulness."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import zipfile

import httpx
import pytest

from agentkit import Assistant
from agentkit.qwen_agent_compat import FnCallAgent, get_chat_model
from agentkit.qwen_agent_compat.documents import DocumentError, bm25_scores, chunk, read_document, retrieve
from agentkit.qwen_agent_compat.truncate import truncate_history
from agentkit.testing import serve_in_thread
from tests.e2e_helpers import ROOT
from tests.qwen_agent_compat.make_pdf import write_pdf

LLM = {"model": "Qwen3-8B", "model_server": "http://127.0.0.1:9/v1"}


def test_unknown_constructor_arguments_name_the_known_ones():
    with pytest.raises(TypeError, match=r"unknown arguments: temprature \(known: function_list, llm"):
        Assistant(llm=LLM, temprature=0.2)


def test_unknown_tool_names_list_builtins_and_registered_tools():
    with pytest.raises(ValueError, match=r"unknown tool 'no_such_tool'.*agentkit built-ins: .*web_search"):
        Assistant(llm=LLM, function_list=["no_such_tool"])


def test_registered_tool_config_dicts_instantiate_that_tool_with_that_config():
    from qwen_agent.tools.base import BaseTool, register_tool

    @register_tool("compat_greeter", allow_overwrite=True)
    class Greeter(BaseTool):
        description = "Greets"
        parameters = [{"name": "who", "type": "string", "description": "who", "required": True}]

        def call(self, params, **kwargs):
            return f"{self.cfg.get('greeting', 'hi')} {json.loads(params)['who']}"

    bot = Assistant(llm=LLM, function_list=[{"name": "compat_greeter", "greeting": "servus"}])
    tool = bot.function_map["compat_greeter"]
    assert isinstance(tool, Greeter) and tool.call('{"who": "Ada"}') == "servus Ada"


def test_generate_cfg_keys_are_honoured_warned_or_refused(caplog):
    assert get_chat_model({**LLM, "generate_cfg": {"use_raw_api": True}}).settings.model["mode"] == "server"
    settings = get_chat_model(
        {**LLM, "generate_cfg": {"max_input_tokens": 900, "enable_thinking": False}}
    ).settings
    assert settings.max_input_tokens == 900 and settings.thinking == "off"
    with caplog.at_level(logging.WARNING, logger="agentkit.qwen_agent_compat"):
        get_chat_model({**LLM, "generate_cfg": {"thought_in_content": True, "fncall_prompt_type": "qwen"}})
    assert "thought_in_content" in caplog.text and "fncall_prompt_type" in caplog.text
    with pytest.raises(ValueError, match="generate_cfg keys agentkit does not know: tempreture"):
        get_chat_model({**LLM, "generate_cfg": {"tempreture": 0.1}})
    with pytest.raises(ValueError, match="fncall_prompt_type must be 'nous' or 'qwen'"):
        get_chat_model({**LLM, "generate_cfg": {"fncall_prompt_type": "react"}})


def test_enable_thinking_fixes_thinking_for_every_step():
    script = {
        "model": "Qwen3-8B",
        "replies": [{"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]}, {"text": "3"}],
    }

    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    for cfg, thinks in (({"enable_thinking": True}, True), ({}, False)):
        with serve_in_thread(script) as sim:
            llm = {"model": "Qwen3-8B", "model_server": sim.base_url, "generate_cfg": cfg}
            with FnCallAgent(llm=llm, function_list=[add]) as bot:
                assert bot.run_nonstream([{"role": "user", "content": "1+2?"}])[-1]["content"] == "3"
            prompts = [r["body"]["prompt"] for r in sim.requests() if r["path"].endswith("/completions")]
        # with enable_thinking the summarising step thinks too; by default agentkit switches it off there
        assert [p.endswith("<think>\n\n</think>\n\n") for p in prompts] == [False, not thinks]


def test_system_message_merges_with_a_leading_system_turn_and_knowledge(tmp_path):
    doc = tmp_path / "notes.md"
    doc.write_text("# Plums\n\nThe shop has 7 plums.\n")
    script = {"model": "Qwen3-8B", "replies": [{"text": "7."}]}
    with serve_in_thread(script) as sim:
        llm = {"model": "Qwen3-8B", "model_server": sim.base_url}
        with Assistant(llm=llm, system_message="Be brief.", files=[str(doc)]) as bot:
            bot.run_nonstream(
                [{"role": "system", "content": "Answer in English."}, {"role": "user", "content": "plums?"}]
            )
        prompt = next(r["body"]["prompt"] for r in sim.requests() if r["path"].endswith("/completions"))
    assert (
        "Be brief.\n\nAnswer in English.\n\n# Knowledge Base" in prompt and "The shop has 7 plums." in prompt
    )


def _docx(path, text):
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.'
        f'openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p>'
        "</w:body></w:document>"
    )
    types = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/'
        'document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.'
        'main+xml"/></Types>'
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", types)
        z.writestr("_rels/.rels", rels)
        z.writestr("word/document.xml", xml)


def test_documents_of_each_type_are_read(tmp_path):
    (tmp_path / "a.txt").write_text("plain text")
    (tmp_path / "b.html").write_text("<html><body><p>html <b>text</b></p><script>x</script></body></html>")
    _docx(tmp_path / "c.docx", "docx text")
    assert read_document(str(tmp_path / "a.txt")) == "plain text"
    assert "html" in read_document(str(tmp_path / "b.html"))
    assert read_document(str(tmp_path / "c.docx")) == "docx text"
    pdf = write_pdf(tmp_path / "d.pdf", ["pdf text, line one", "and line two"])
    assert read_document(str(pdf)).strip() == "pdf text, line one\nand line two"


def test_missing_or_unsupported_documents_are_clear_errors(tmp_path):
    with pytest.raises(DocumentError, match="no such file"):
        read_document(str(tmp_path / "gone.pdf"))
    (tmp_path / "x.xyz").write_text("?")
    with pytest.raises(DocumentError, match=r"unsupported document type '.xyz'; supported: .txt"):
        read_document(str(tmp_path / "x.xyz"))
    with pytest.raises(DocumentError, match="no such file"):
        Assistant(llm=LLM).run_nonstream([{"role": "user", "content": [{"text": "?"}, {"file": "nope.txt"}]}])


def test_bm25_retrieval_picks_the_relevant_chunks_when_the_documents_do_not_fit():
    filler = [f"Paragraph {i} is about the weather in town number {i}." for i in range(200)]
    text = "\n\n".join([*filler[:100], "The secret ingredient of the cake is cardamom.", *filler[100:]])
    chunks = chunk(text, page_tokens=40)
    assert len(chunks) > 20
    scores = bm25_scores("what is the secret cake ingredient", chunks)
    assert "cardamom" in chunks[max(range(len(chunks)), key=scores.__getitem__)]
    picked = retrieve("secret cake ingredient", {"doc.txt": chunks}, max_tokens=60)
    assert any("cardamom" in c for c in picked["doc.txt"]) and len(picked["doc.txt"]) < len(chunks)
    assert retrieve("anything", {"doc.txt": chunks[:2]}, max_tokens=10_000) == {"doc.txt": chunks[:2]}


def test_max_input_tokens_drops_oldest_turns_keeping_system_and_last_user_turn():
    history = [{"role": "system", "content": "sys"}]
    for i in range(10):
        history += [
            {"role": "user", "content": f"question {i} " * 20},
            {"role": "assistant", "content": f"answer {i}"},
        ]
    history.append({"role": "user", "content": "last question"})
    kept = truncate_history(history, 200)
    assert kept[0] == history[0] and kept[-1] == history[-1]
    assert len(kept) < len(history) and kept[1]["role"] == "user" and "question 9" in kept[-3]["content"]
    with pytest.raises(ValueError, match="max_input_tokens=5"):
        truncate_history(history, 5)


def test_sync_runs_keep_the_mcp_server_and_close_leaves_no_process():
    script = {
        "model": "Qwen3-8B",
        "replies": [
            {"tool_calls": [{"name": "time-get_current_time", "arguments": {"timezone": "UTC"}}]},
            {"text": "now"},
        ],
    }
    tools = [{"mcpServers": {"time": {"command": sys.executable, "args": ["-m", "mcp_server_time"]}}}]
    with serve_in_thread(script) as sim:
        bot = Assistant(llm={"model": "Qwen3-8B", "model_server": sim.base_url}, function_list=tools)
        assert "time-get_current_time" in bot.function_map
        pids = {p.pid for p in _server_processes()}
        for _ in range(2):
            assert (
                bot.run_nonstream([{"role": "user", "content": "time?"}])[-2]["name"]
                == "time-get_current_time"
            )
        assert {p.pid for p in _server_processes()} == pids and pids  # the same server, not restarted
        bot.close()
    assert _server_processes() == []


def _server_processes():
    import os

    out = subprocess.run(["ps", "-o", "pid=,ppid=,args=", "-e"], capture_output=True, text=True).stdout
    mine = str(os.getpid())
    rows = [line.split(None, 2) for line in out.splitlines()]
    parent = {pid: ppid for pid, ppid, *_ in rows}

    def ours(pid: str) -> bool:  # a descendant of this process (servers run under agentkit's reaper)
        while pid in parent and pid != "1":
            pid = parent[pid]
            if pid == mine:
                return True
        return False

    return [
        type("P", (), {"pid": int(pid)})
        for pid, _, *args in rows
        if args and "mcp_server_time" in args[0] and "reaper" not in args[0] and ours(pid)
    ]


def test_simulator_leaves_calls_in_the_content_of_requests_without_tools():
    script = {
        "model": "Qwen3-8B",
        "reasoning_field": "reasoning_content",
        "replies": [{"think": "t", "tool_calls": [{"name": "f", "arguments": {"a": 1}}]}],
    }
    with serve_in_thread(script) as sim:
        body = {"model": "Qwen3-8B", "messages": [{"role": "user", "content": "x"}]}
        message = httpx.post(f"{sim.base_url}/chat/completions", json=body).json()["choices"][0]["message"]
    assert message["tool_calls"] == [] and message["reasoning_content"] == "t"
    assert message["content"].startswith("<tool_call>\n") and '"name": "f"' in message["content"]


def test_simulator_coder_call_header_carries_empty_arguments_like_vllm():
    script = {
        "model": "Qwen3-Coder-30B-A3B-Instruct",
        "replies": [{"tool_calls": [{"name": "f", "arguments": {"a": "1"}}]}],
    }
    tools = [
        {
            "type": "function",
            "function": {
                "name": "f",
                "parameters": {"type": "object", "properties": {"a": {"type": "string"}}},
            },
        }
    ]
    with serve_in_thread(script) as sim:
        body = {
            "model": script["model"],
            "messages": [{"role": "user", "content": "x"}],
            "tools": tools,
            "stream": True,
        }
        with httpx.stream("POST", f"{sim.base_url}/chat/completions", json=body) as response:
            chunks = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: {")]
    headers = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in chunks
        if c["choices"] and "tool_calls" in c["choices"][0]["delta"]
    ]
    assert headers[0]["function"] == {"name": "f", "arguments": ""} and headers[0]["id"]


EXIT_PROGRAM = """
import sys
from agentkit import Assistant
from agentkit.testing import serve_in_thread

script = {"model": "Qwen3-8B", "replies": [
    {"tool_calls": [{"name": "time-get_current_time", "arguments": {"timezone": "UTC"}}]}, {"text": "now"}]}
server = {"command": sys.executable, "args": ["-m", "mcp_server_time"], "env": {"AGENTKIT_MARK": sys.argv[1]}}
with serve_in_thread(script) as sim:
    bot = Assistant(llm={"model": "Qwen3-8B", "model_server": sim.base_url}, function_list=[{"mcpServers": {"time": server}}])
    print(bot.run_nonstream([{"role": "user", "content": "time?"}])[-1]["content"])
"""


def _marked_processes(mark: str) -> list[str]:
    from pathlib import Path

    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"AGENTKIT_MARK={mark}".encode() in environ.read_bytes():
                found.append(environ.parent.name)
        except OSError:
            continue
    return found


def test_an_app_that_never_closes_its_assistant_leaves_no_server_at_exit(tmp_path):
    import uuid

    mark = uuid.uuid4().hex
    program = tmp_path / "app.py"
    program.write_text(EXIT_PROGRAM)
    env = {**__import__("os").environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(program), mark], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "now", proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert _marked_processes(mark) == []


def test_files_reach_qwen_agent_tools_with_file_access(tmp_path):
    from qwen_agent.tools.base import BaseTool

    seen = {}

    class Reader(BaseTool):
        name = "reader"
        description = "Reads the given files"
        parameters = {"type": "object", "properties": {}, "required": []}
        file_access = True

        def call(self, params, files=None, **kwargs):
            seen["files"] = files
            return "read"

    script = {
        "model": "Qwen3-8B",
        "replies": [{"tool_calls": [{"name": "reader", "arguments": {}}]}, {"text": "done"}],
    }
    with serve_in_thread(script) as sim:
        with FnCallAgent(
            llm={"model": "Qwen3-8B", "model_server": sim.base_url}, function_list=[Reader()], files=["a.csv"]
        ) as bot:
            bot.run_nonstream([{"role": "user", "content": [{"text": "read"}, {"file": "b.csv"}]}])
    assert seen["files"] == ["a.csv", "b.csv"]
