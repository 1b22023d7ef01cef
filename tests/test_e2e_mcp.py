"""``python -m agentkit run`` with MCP servers: server-everything over stdio and streamable HTTP, a dead
server beside them, and nothing left running afterwards (real peers, real processes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from mcp_fixtures.peers import (  # noqa: F401  (fixture)
    TOOLS_SERVER,
    everything_http,
    no_leftover_processes,
    require_everything,
    require_memory,
    require_time_server,
)

from agentkit import Assistant
from agentkit.config import TaskError, load_task
from agentkit.testing import serve_in_thread
from tests.e2e_helpers import cli

pytestmark = pytest.mark.usefixtures("no_leftover_processes")


def test_task_calls_tools_on_stdio_and_http_servers_with_a_dead_one_beside(tmp_path):
    everything = require_everything()
    script = {
        "model": "Qwen3-8B",
        "replies": [
            {
                "think": "Echo through both servers, and get the tiny image.",
                "tool_calls": [
                    {"name": "local__echo", "arguments": {"message": "over stdio"}},
                    {"name": "remote__echo", "arguments": {"message": "over http"}},
                    {"name": "local__get-tiny-image", "arguments": {}},
                ],
            },
            {"text": "Both servers echoed."},
        ],
    }
    with everything_http("streamableHttp") as base, serve_in_thread(script) as sim:
        task = {
            "model": {"endpoint": sim.base_url},
            "prompt": "Echo please.",
            "mcpServers": {  # pasted as an IDE writes it
                "local": {"command": everything, "args": ["stdio"]},
                "remote": {"url": f"{base}/mcp"},
                "gone": {"command": "no-such-mcp-server-binary", "args": []},
            },
        }
        (tmp_path / "task.yaml").write_text(yaml.safe_dump(task))
        proc = cli("run", str(tmp_path / "task.yaml"), "--json", timeout=120)
        out = json.loads(proc.stdout)
        first_prompt = sim.requests()[0]["body"]["prompt"]
    assert proc.returncode == 0, proc.stderr
    assert out["output"] == "Both servers echoed."
    calls = out["steps"][0]["tool_calls"]
    assert [c["result"] for c in calls[:2]] == ["Echo: over stdio", "Echo: over http"]
    assert "[image image/png" in calls[2]["result"] and calls[2]["attachments"][0]["mime_type"] == "image/png"
    dead = [line for line in proc.stderr.splitlines() if "gone" in line]
    assert dead and "no-such-mcp-server-binary" in dead[0]
    assert "Traceback" not in proc.stderr
    assert '"name": "local__echo"' in first_prompt and '"name": "remote__echo"' in first_prompt
    assert "gone" not in first_prompt


def test_server_sampling_answered_by_the_task_model_and_elicitation_refused_without_a_terminal(tmp_path):
    everything = require_everything()
    script = {
        "model": "Qwen3-8B",
        "conversations": [
            {
                "match": "trigger-sampling-request context",
                "replies": [{"text": "Sampled by the task's model."}],
            },
            {
                "replies": [
                    {
                        "tool_calls": [
                            {
                                "name": "trigger-sampling-request",
                                "arguments": {"prompt": "hi", "maxTokens": 30},
                            },
                            {"name": "trigger-elicitation-request", "arguments": {}},
                        ]
                    },
                    {"text": "Done."},
                ]
            },
        ],
    }
    with serve_in_thread(script) as sim:
        task = {
            "model": {"endpoint": sim.base_url},
            "prompt": "Sample and ask.",
            "mcp_servers": {"everything": {"command": everything, "args": ["stdio"]}},
        }
        (tmp_path / "task.yaml").write_text(yaml.safe_dump(task))
        proc = cli("run", str(tmp_path / "task.yaml"), "--json", timeout=120)  # stdin is not a terminal
        sampling = [
            r["body"] for r in sim.requests() if "trigger-sampling-request context" in r["body"]["prompt"]
        ]
    assert proc.returncode == 0, proc.stderr
    sampled, elicited = json.loads(proc.stdout)["steps"][0]["tool_calls"]
    assert "Sampled by the task's model." in sampled["result"] and not sampled["is_error"]
    [body] = sampling
    assert body["prompt"].endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")  # thinking off
    assert (body["max_tokens"], body["temperature"], body["top_p"]) == (30, 0.7, 0.8)
    assert elicited["is_error"] and "there is no terminal to ask on" in elicited["result"]


def test_assistant_takes_qwen_agents_mcp_servers_entry_in_function_list():
    time_server = require_time_server()
    script = {
        "model": "Qwen3-8B",
        "replies": [
            {"tool_calls": [{"name": "time-get_current_time", "arguments": {"timezone": "Asia/Tokyo"}}]},
            {"text": "It is evening in Tokyo."},
        ],
    }
    tools = [
        {"mcpServers": {"time": {"command": time_server, "args": []}}},
        "web_search",
    ]  # Qwen-Agent's shape
    with serve_in_thread(script) as sim:
        bot = Assistant(llm={"model": "Qwen3-8B", "model_server": sim.base_url}, function_list=tools)
        responses = bot.run_nonstream([{"role": "user", "content": "What time is it in Tokyo?"}])
        first_prompt = sim.requests()[0]["body"]["prompt"]
    # Qwen-Agent's MCP naming: server-tool
    assert '"name": "time-get_current_time"' in first_prompt and '"name": "web_search"' in first_prompt
    result = next(m for m in responses if m["role"] == "function")
    assert result["name"] == "time-get_current_time" and '"timezone": "Asia/Tokyo"' in result["content"]
    assert responses[-1]["content"] == "It is evening in Tokyo."


def test_tools_added_by_a_server_mid_run_are_offered_at_the_next_step(tmp_path):
    script = {
        "model": "Qwen3-8B",
        "replies": [
            {"tool_calls": [{"name": "add_tool", "arguments": {"name": "fresh.tool"}}]},
            {"tool_calls": [{"name": "fresh_tool", "arguments": {}}]},
            {"text": "Used the new tool."},
        ],
    }
    with serve_in_thread(script) as sim:
        task = {
            "model": {"endpoint": sim.base_url},
            "prompt": "Add a tool and use it.",
            "mcp_servers": {"fx": {"command": TOOLS_SERVER[0], "args": TOOLS_SERVER[1:]}},
        }
        (tmp_path / "task.yaml").write_text(yaml.safe_dump(task))
        proc = cli("run", str(tmp_path / "task.yaml"), "--json", timeout=60)
        second_prompt = sim.requests()[1]["body"]["prompt"]
    assert proc.returncode == 0, proc.stderr
    steps = json.loads(proc.stdout)["steps"]
    assert '"name": "fresh_tool"' in second_prompt  # the model is told of it before it calls it
    assert steps[1]["tool_calls"][0]["result"] == "I am fresh.tool"


def test_progress_in_the_live_view_server_logs_and_stderr_in_the_trace_only(tmp_path):
    script = {
        "model": "Qwen3-8B",
        "replies": [
            {
                "tool_calls": [
                    {"name": "wait", "arguments": {"seconds": 0.3}},
                    {"name": "log", "arguments": {"message": "disk almost full"}},
                ]
            },
            {"text": "Done."},
        ],
    }
    with serve_in_thread(script) as sim:
        task = {
            "model": {"endpoint": sim.base_url},
            "prompt": "Wait and log.",
            "mcp_servers": {"fx": {"command": TOOLS_SERVER[0], "args": TOOLS_SERVER[1:]}},
        }
        (tmp_path / "task.yaml").write_text(yaml.safe_dump(task))
        proc = cli("run", str(tmp_path / "task.yaml"), "--trace", str(tmp_path / "trace.jsonl"), timeout=60)
    assert proc.returncode == 0, proc.stderr
    view = proc.stderr.splitlines()
    assert [line.strip() for line in view if line.strip().startswith("… wait")] == [
        "… wait 1/3 step 1",
        "… wait 2/3 step 2",
        "… wait 3/3 step 3",
    ]
    assert [line for line in view if "disk almost full" in line] == ['→ log({"message": "disk almost full"})']
    assert "fixture-tools: ready" not in proc.stderr  # the server's own stderr stays off the terminal
    records = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    logged = [r["data"] for r in records if r["kind"] == "mcp.log"]
    assert {"server": "fx", "level": "warning", "data": "disk almost full"} in logged


def test_a_servers_own_call_timeout_replaces_the_tasks_tool_timeout(tmp_path):
    script = {
        "model": "Qwen3-8B",
        "replies": [
            {
                "tool_calls": [
                    {"name": "slow__wait", "arguments": {"seconds": 1.2}},
                    {"name": "plain__wait", "arguments": {"seconds": 1.2}},
                ]
            },
            {"text": "Done."},
        ],
    }
    fixture = {"command": TOOLS_SERVER[0], "args": TOOLS_SERVER[1:]}
    with serve_in_thread(script) as sim:
        task = {
            "model": {"endpoint": sim.base_url},
            "prompt": "Wait on both.",
            "tool_timeout": 0.5,
            "mcp_servers": {"slow": {**fixture, "call_timeout": 10}, "plain": fixture},
        }
        (tmp_path / "task.yaml").write_text(yaml.safe_dump(task))
        proc = cli("run", str(tmp_path / "task.yaml"), "--json", timeout=60)
    assert proc.returncode == 0, proc.stderr
    slow, plain = json.loads(proc.stdout)["steps"][0]["tool_calls"]
    assert (slow["result"], slow["is_error"]) == ("waited 1.2 s", False)
    assert plain["is_error"] and "timed out after 0.5 s" in plain["result"]


def test_ide_variables_in_a_task_file_and_two_writes_of_one_step_both_kept(tmp_path, monkeypatch):
    """task.yaml's mcp_servers use ${workspaceFolder} / ${userHome} in args, cwd, env and envFile, as an IDE
    config does; the model writes twice to server-memory in one step and both entities are kept."""
    memory_js = Path(require_memory()).resolve()  # .bin/mcp-server-memory links to the package's script
    home = tmp_path / "home"
    (home / "peers").mkdir(parents=True)
    (home / "peers" / "memory.js").symlink_to(memory_js)
    (tmp_path / "work").mkdir()
    (tmp_path / "mcp.env").write_text("MEMORY_LOG_TAG=from-env-file\n")
    script = {
        "model": "Qwen3-8B",
        "replies": [
            {
                "tool_calls": [
                    {
                        "name": "create_entities",
                        "arguments": {
                            "entities": [{"name": "alice", "entityType": "person", "observations": ["a"]}]
                        },
                    },
                    {
                        "name": "create_entities",
                        "arguments": {
                            "entities": [{"name": "bob", "entityType": "person", "observations": ["b"]}]
                        },
                    },
                ]
            },
            {"text": "Both saved."},
        ],
    }
    with serve_in_thread(script) as sim:
        (tmp_path / "task.yaml").write_text(
            f"model: {{endpoint: {sim.base_url}}}\n"
            "prompt: Remember Alice and Bob.\n"
            "mcp_servers:\n"
            "  memory:\n"
            "    command: node\n"
            '    args: ["${userHome}/peers/memory.js"]\n'
            '    cwd: "${workspaceFolder}/work"\n'
            '    env: {MEMORY_FILE_PATH: "${workspaceFolder}/memory.jsonl"}\n'
            '    envFile: "${workspaceFolder}/mcp.env"\n'
        )
        env = {"HOME": str(home)}
        proc = cli("run", str(tmp_path / "task.yaml"), "--json", env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    calls = json.loads(proc.stdout)["steps"][0]["tool_calls"]
    assert [c["is_error"] for c in calls] == [False, False], calls
    saved = [json.loads(line)["name"] for line in (tmp_path / "memory.jsonl").read_text().splitlines()]
    assert sorted(saved) == ["alice", "bob"]
    monkeypatch.setenv("HOME", str(home))
    server = load_task(tmp_path / "task.yaml").mcp_servers["memory"]
    assert server.args == (f"{home}/peers/memory.js",) and server.cwd == str(tmp_path / "work")
    assert server.env == {"MEMORY_LOG_TAG": "from-env-file", "MEMORY_FILE_PATH": f"{tmp_path}/memory.jsonl"}


def test_ide_variables_outside_mcp_servers_are_named_as_such(tmp_path):
    (tmp_path / "task.yaml").write_text("prompt: look in ${workspaceFolder}\n")
    with pytest.raises(TaskError, match=r"filled in only inside mcp_servers"):
        load_task(tmp_path / "task.yaml")
    (tmp_path / "task.yaml").write_text(  # the IDE spelling of the section too
        'prompt: hi\nmcpServers:\n  files: {command: ls, args: ["${workspaceFolder}"]}\n'
    )
    assert load_task(tmp_path / "task.yaml").mcp_servers["files"].args == (str(tmp_path),)
