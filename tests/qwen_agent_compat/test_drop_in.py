"""Qwen-Agent's own programs, run twice against the simulator: on real Qwen-Agent (its venv) and on
agentkit with only the agent/LLM import switched. Same printed output, same yielded structure.

Both runs get the same scripted model output. What is compared: the program's error (none), the final
list of every ``run``/``chat`` call exactly, the step-by-step structure (the sequence of message
skeletons — role, name, called function, reasoning/text present — as the lists grow), and the printed
output (exactly for ``typewriter_print`` programs; the last line for programs that print every streamed
list, whose count depends on how the endpoint chunks its stream: chat vs completions).

Qwen-Agent's own files (upstream/, byte for byte) are the first cases of ``CASES``; the rest are programs
in its style for what its files do not cover. Of an example, its ``test()`` (or ``app_tui()``, fed by the
scripted ``input()``) is called; ``qwen_agent.gui`` is a stub on both sides (gradio cannot be installed;
the GUI is never started), and ``uvx`` is a stand-in running the MCP server installed in the Qwen-Agent
venv (see ``stand_ins``). Each program's model config is pointed at the simulator by the runner."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agentkit.testing import serve_in_thread
from tests.e2e_helpers import ROOT
from tests.qwen_agent_compat.conftest import QWEN_PYTHON

HERE = Path(__file__).parent
UPSTREAM = HERE / "upstream"
RUNNER = HERE / "runner.py"
MODEL = "Qwen3-8B"
pytestmark = pytest.mark.slow

DRAW = [
    {
        "think": "The user wants a dog picture.",
        "tool_calls": [{"name": "my_image_gen", "arguments": {"prompt": "a dog"}}],
    },
    {"text": "Here is the dog: https://image.pollinations.ai/prompt/a%20dog"},
]
WEATHER = [
    {"tool_calls": [{"name": "get_current_weather", "arguments": {"location": "San Francisco, CA"}}]},
    {"text": "It is 72 °F in San Francisco."},
]
PARALLEL = [
    {
        "think": "Three cities.",
        "tool_calls": [
            {"name": "get_current_weather", "arguments": {"location": city}}
            for city in ("San Francisco", "Tokyo", "Paris")
        ],
    },
    {"text": "San Francisco 72 °F, Tokyo 10 °C, Paris 22 °C."},
]

TIME_SERVER = {"command": sys.executable, "args": ["-m", "mcp_server_time", "--local-timezone=UTC"]}

MCP_PROGRAM = f"""
from qwen_agent.agents import Assistant
tools = [{{'mcpServers': {{'time': {json.dumps(TIME_SERVER)}}}}}]
bot = Assistant(llm={{'model': 'qwen3'}}, function_list=tools, name='Qwen3 Tool-calling Demo')
print(sorted(bot.function_map))
for response in bot.run([{{'role': 'user', 'content': 'What time is it in UTC?'}}]):
    pass
print(response[-3]['function_call']['name'], response[-2]['name'])
print(response[-1]['content'])
"""

EVERYTHING = Path(os.environ.get("AGENTKIT_MCP_PEERS", Path.home() / ".cache/agentkit/mcp-peers"))
EVERYTHING = EVERYTHING / "node_modules" / ".bin" / "mcp-server-everything"

RESOURCES_PROGRAM = f"""
from qwen_agent.agents import Assistant
bot = Assistant(llm={{'model': 'qwen3'}}, function_list=[{{'mcpServers': {{'everything': {{'command': {str(EVERYTHING)!r}, 'args': []}}}}}}])
print(sorted(bot.function_map))
print(bot.run_nonstream([{{'role': 'user', 'content': 'What is 2 + 3?'}}]))
"""

MESSAGE_PROGRAM = """
import json
from qwen_agent.agents import Assistant
from qwen_agent.llm.schema import ContentItem, Message
from qwen_agent.tools.base import BaseTool, register_tool

@register_tool('weather_lookup')
class WeatherLookup(BaseTool):
    description = 'Weather of a district'
    parameters = [{'name': 'location', 'type': 'string', 'description': 'district', 'required': True}]

    def call(self, params, **kwargs):
        return json.dumps({'location': json.loads(params)['location'], 'weather': 'sunny'}, ensure_ascii=False)

agent = Assistant(llm={'model': 'qwen-max'}, system_message='你扮演一个天气预报助手。', function_list=['weather_lookup'])
messages = [Message('user', [ContentItem(text='海淀区天气')])]
*_, last = agent.run(messages)
print(type(last[-1]).__name__, last[-3].function_call.name, last[-3].function_call.arguments)
print(last[-2].name, last[-2].content)
print(last[-1].content)
"""

RAW_API_PROGRAM = """
from qwen_agent.agents import Assistant
from qwen_agent.tools.base import BaseTool, register_tool

@register_tool('stock')
class Stock(BaseTool):
    description = 'Stock of an item'
    parameters = {'type': 'object', 'properties': {'item': {'type': 'string'}}, 'required': ['item']}

    def call(self, params, **kwargs):
        return 'plums: 7'

bot = Assistant(llm={'model': 'qwen3', 'generate_cfg': {'use_raw_api': True}}, function_list=['stock'])
for response in bot.run([{'role': 'user', 'content': 'plums?'}]):
    pass
print([m['role'] for m in response], response[-2]['name'], response[-1]['content'])
"""

IMAGE_PROGRAM = """
from qwen_agent.agents import Assistant
from qwen_agent.llm.schema import ContentItem
from qwen_agent.tools.base import BaseTool, register_tool

@register_tool('snapshot')
class Snapshot(BaseTool):
    description = 'Takes a picture'
    parameters = {'type': 'object', 'properties': {'what': {'type': 'string'}}, 'required': ['what']}

    def call(self, params, **kwargs):
        return [ContentItem(text='a picture of a cat'), ContentItem(image='https://example.org/cat.png')]

bot = Assistant(llm={'model': 'qwen3'}, function_list=['snapshot'])
*_, last = bot.run([{'role': 'user', 'content': 'show me a cat'}])
print(last)
"""

HISTORY_PROGRAM = """
from qwen_agent.agents import Assistant

def add(a: int, b: int) -> int:
    return a + b

bot = Assistant(llm={'model': 'qwen3'}, function_list=['my_adder'] if False else [])
messages = []
for query in ['Hello, who are you?', 'And what can you do?']:
    messages.append({'role': 'user', 'content': query})
    response = bot.run_nonstream(messages)
    print(response)
    messages.extend(response)
print(len(messages), [m['role'] for m in messages])
"""

DOC_PROGRAM = """
from qwen_agent.agents import Assistant

bot = Assistant(llm={'model': 'qwen3'}, rag_cfg={'max_ref_token': 4000, 'parser_page_size': 500})
messages = [{'role': 'user', 'content': [{'text': 'What does the document say about Qwen-Agent?'}, {'file': 'examples/resource/doc.pdf'}]}]
for response in bot.run(messages):
    pass
print(response)
"""

THINKING_PROGRAM = """
from qwen_agent.agents import FnCallAgent
from qwen_agent.tools.base import BaseTool, register_tool

@register_tool('stock')
class Stock(BaseTool):
    description = 'Stock of an item'
    parameters = {'type': 'object', 'properties': {'item': {'type': 'string'}}, 'required': ['item']}

    def call(self, params, **kwargs):
        return 'plums: 7'

cfg = {'model': 'qwen3', 'generate_cfg': {'extra_body': {'chat_template_kwargs': {'enable_thinking': True}}}}
bot = FnCallAgent(llm=cfg, function_list=[{'name': 'stock'}], name='shop')
print(list(bot.function_map))
print(bot.run_nonstream([{'role': 'user', 'content': 'plums?'}]))
"""


def readme_snippet(qwen_python: Path) -> str:
    """Qwen-Agent README's custom-tool snippet, from the installed package's metadata."""
    code = "import importlib.metadata as m; print(m.metadata('qwen-agent').get_payload())"
    readme = subprocess.run(
        [str(qwen_python), "-c", code], capture_output=True, text=True, env=_qa_env(), check=True
    ).stdout
    blocks = re.findall(r"```py\n(.*?)```", readme, re.S)
    return next(b for b in blocks if "class MyImageGen" in b)


PARALLEL_PROGRAM = """
import json
from qwen_agent.llm import get_chat_model

def get_current_weather(location, unit='fahrenheit'):
    return json.dumps({'location': location, 'temperature': {'San Francisco': '72', 'Tokyo': '10', 'Paris': '22'}[location]})

llm = get_chat_model({'model': 'qwen3', 'generate_cfg': {'fncall_prompt_type': 'nous'}})
messages = [{'role': 'user', 'content': "What's the weather like in San Francisco? And what about Tokyo? Paris?"}]
functions = [{'name': 'get_current_weather', 'description': 'Get the current weather in a given location',
              'parameters': {'type': 'object', 'properties': {'location': {'type': 'string'}}, 'required': ['location']}}]
for responses in llm.chat(messages=messages, functions=functions, stream=True,
                          extra_generate_cfg=dict(max_input_tokens=6500, parallel_function_calls=True)):
    pass
messages.extend(responses)
for msg in [rsp for rsp in responses if rsp.get('function_call', None)]:
    args = json.loads(msg['function_call']['arguments'])
    messages.append({'role': 'function', 'name': msg['function_call']['name'], 'content': get_current_weather(**args)})
    print('# Function Response:', messages[-1]['content'])
for responses in llm.chat(messages=messages, functions=functions, stream=True,
                          extra_generate_cfg={'max_input_tokens': 6500, 'parallel_function_calls': True}):
    pass
print(responses)
"""

CASES = {
    # name: (source (path under upstream/ or text or 'README'), call, kwargs, inputs, script, exact output)
    # Qwen-Agent's own programs (README snippet, upstream/ files):
    "readme_custom_tool_files_typewriter_multiturn": (
        "README",
        None,
        {},
        ["draw a dog", "what is in the document?"],
        {
            "chunk_chars": 100000,  # typewriter output shows Qwen-Agent's partial-tag artefacts otherwise
            "replies": DRAW,
            "conversations": [
                {"match": "document", "replies": [{"text": "The document is about image operations."}]}
            ],
        },
        True,
    ),
    "test_custom_tool_object": (
        "tests/agents/test_custom_tool_object.py",
        "test_custom_tool_object",
        {},
        [],
        {"replies": [{"tool_calls": DRAW[0]["tool_calls"]}, DRAW[1]]},
        False,
    ),
    "example_function_calling_get_chat_model": (
        "examples/function_calling.py",
        "test",
        {"fncall_prompt_type": "nous"},
        [],
        {"replies": WEATHER},
        False,
    ),
    "test_llm_oai_functions_stream": (
        "tests/llm/test_oai.py",
        "test_llm_oai",
        {"functions": "$functions", "stream": True, "delta_stream": False},
        [],
        {"replies": [{"tool_calls": [{"name": "image_gen", "arguments": {"prompt": "a cute cat"}}]}]},
        True,
    ),
    "test_llm_oai_no_functions_nonstream": (
        "tests/llm/test_oai.py",
        "test_llm_oai",
        {"functions": None, "stream": False, "delta_stream": False},
        [],
        {"replies": [{"think": "A cat.", "text": "I cannot draw, but here is a cat: =^.^="}]},
        True,
    ),
    "test_continue_stream": (
        "tests/llm/test_continue.py",
        "test_continue",
        {
            "stream": True,
            "delta_stream": False,
            "llm_cfg": {"model": "qwen-max", "model_server": "dashscope"},
        },
        [],
        {"replies": [{"text": "So 1 + 1 is 2."}]},
        True,
    ),
    "test_continue_nonstream": (
        "tests/llm/test_continue.py",
        "test_continue",
        {
            "stream": False,
            "delta_stream": False,
            "llm_cfg": {"model": "qwen-max", "model_server": "dashscope"},
        },
        [],
        {"replies": [{"think": "Sum.", "text": "So 1 + 1 is 2."}]},
        True,
    ),
    "example_assistant_add_custom_tool": (
        "examples/assistant_add_custom_tool.py",
        "test",
        {},
        [],
        {"replies": DRAW},
        False,
    ),
    "example_assistant_add_custom_tool_app_tui": (
        "examples/assistant_add_custom_tool.py",
        "app_tui",
        {},
        ["draw a dog", "what is in the document?"],
        {
            "replies": DRAW,
            "conversations": [
                {"match": "document", "replies": [{"text": "The document is about image operations."}]}
            ],
        },
        False,
    ),
    "example_assistant_mcp_sqlite_bot": (
        "examples/assistant_mcp_sqlite_bot.py",
        "test",
        {},
        [],
        {
            "replies": [
                {"think": "列出表。", "tool_calls": [{"name": "sqlite-list_tables", "arguments": {}}]},
                {"text": "数据库里没有表。"},
            ]
        },
        False,
    ),
    "example_assistant_qwen3_mcp_time_fetch_code_interpreter": (
        "examples/assistant_qwen3.py",
        "test",
        {},
        [],
        {
            "chunk_chars": 100000,  # typewriter output shows Qwen-Agent's partial-tag artefacts otherwise
            "replies": [
                {
                    "think": "Convert noon in Shanghai.",
                    "tool_calls": [
                        {
                            "name": "time-convert_time",
                            "arguments": {
                                "source_timezone": "Asia/Shanghai",
                                "time": "12:00",
                                "target_timezone": "UTC",
                            },
                        }
                    ],
                },
                {"text": "Noon in Shanghai is 04:00 UTC."},
            ],
        },
        True,
    ),
    "example_assistant_mcp_sqlite_bot_app_tui_three_turns": (
        "examples/assistant_mcp_sqlite_bot.py",
        "app_tui",
        {},
        [
            "创建一个学生表包括学生的姓名、年龄",
            "",
            "增加一个学生名字叫韩梅梅，今年6岁",
            "",
            "数据库里有几张表",
            "",
        ],
        {
            "conversations": [
                {
                    "match": "创建一个学生表",
                    "replies": [
                        {
                            "tool_calls": [
                                {
                                    "name": "sqlite-create_table",
                                    "arguments": {"query": "CREATE TABLE students (name TEXT, age INTEGER)"},
                                }
                            ]
                        },
                        {"text": "已创建学生表。"},
                    ],
                },
                {
                    "match": "韩梅梅",
                    "replies": [
                        {
                            "tool_calls": [
                                {
                                    "name": "sqlite-write_query",
                                    "arguments": {"query": "INSERT INTO students VALUES ('韩梅梅', 6)"},
                                }
                            ]
                        },
                        {"text": "已添加韩梅梅。"},
                    ],
                },
                {
                    "match": "有几张表",
                    "replies": [
                        {"think": "查表。", "tool_calls": [{"name": "sqlite-list_tables", "arguments": {}}]},
                        {
                            "tool_calls": [
                                {
                                    "name": "sqlite-read_query",
                                    "arguments": {"query": "SELECT * FROM students"},
                                }
                            ]
                        },
                        {"text": "一张表：students，里面有韩梅梅（6岁）。"},
                    ],
                },
            ]
        },
        False,
    ),
    "example_assistant_qwen3_app_tui_two_turns": (
        "examples/assistant_qwen3.py",
        "app_tui",
        {},
        ["What time is it in Shanghai at noon UTC?", "Thanks! Say bye."],
        {
            "chunk_chars": 100000,  # typewriter output shows Qwen-Agent's partial-tag artefacts otherwise
            "conversations": [
                {
                    "match": "noon UTC",
                    "replies": [
                        {
                            "tool_calls": [
                                {
                                    "name": "time-convert_time",
                                    "arguments": {
                                        "source_timezone": "UTC",
                                        "time": "12:00",
                                        "target_timezone": "Asia/Shanghai",
                                    },
                                }
                            ]
                        },
                        {"text": "20:00 in Shanghai."},
                    ],
                },
                {"match": "bye", "replies": [{"think": "Farewell.", "text": "Bye!"}]},
            ],
        },
        True,
    ),
    "test_function_content_choice_none_dashscope_cfg": (
        "tests/llm/test_function_content.py",
        "test_function_content",
        {"cfg": 0, "gen_cfg1": {"function_choice": "none"}, "gen_cfg2": None},
        [],
        {"replies": [{"text": "I cannot look up the weather in San Francisco."}]},
        False,
    ),
    "test_function_content_choice_none_oai_cfg": (
        "tests/llm/test_function_content.py",
        "test_function_content",
        {"cfg": 1, "gen_cfg1": {"function_choice": "none"}, "gen_cfg2": None},
        [],
        {"replies": [{"text": "I cannot look up the weather in San Francisco."}]},
        False,
    ),
    "test_assistant_vl": (
        "tests/agents/test_assistant.py",
        "test_assistant_vl",
        {},
        [],
        {"replies": [{"text": "A girl and her dog on a beach."}]},
        True,
    ),
    "example_qwen2vl_assistant_video": (
        "examples/qwen2vl_assistant_video.py",
        "test",
        {},
        [],
        {"replies": [{"text": "A football match: a kick, a pass, a goal."}]},
        False,
    ),
    "example_llm_vl_mix_text": (
        "examples/llm_vl_mix_text.py",
        "test",
        {},
        [],
        {
            "conversations": [  # one chat call per user query (a reply index restarts at each query)
                {"match": "框出小狗", "replies": [{"text": "A dog next to a girl."}]},
                {"match": "描述更详细", "replies": [{"think": "More.", "text": "A golden dog by a girl."}]},
                {"match": "你是", "replies": [{"text": "I am Qwen."}]},
                {
                    "match": "画个可爱小猫",
                    "replies": [
                        {"tool_calls": [{"name": "image_gen", "arguments": {"prompt": "a cute kitten"}}]},
                        {"text": "Here is your kitten."},
                    ],
                },
                {"match": "描述下这张图片", "replies": [{"text": "A kitten on a sofa."}]},
            ]
        },
        False,
    ),
    # programs in Qwen-Agent's style, for what its own files do not cover:
    "parallel_function_calls_get_chat_model": (PARALLEL_PROGRAM, None, {}, [], {"replies": PARALLEL}, True),
    "mcp_servers_time_function_map": (
        MCP_PROGRAM,
        None,
        {},
        [],
        {
            "replies": [
                {
                    "think": "Ask the clock.",
                    "tool_calls": [
                        {
                            "name": "time-convert_time",
                            "arguments": {
                                "source_timezone": "UTC",
                                "time": "12:00",
                                "target_timezone": "Asia/Tokyo",
                            },
                        }
                    ],
                },
                {"text": "It is 21:00 in Tokyo."},
            ]
        },
        True,
    ),
    "mcp_server_with_resources_names": (
        RESOURCES_PROGRAM,
        None,
        {},
        [],
        {
            "replies": [
                {"tool_calls": [{"name": "everything-get-sum", "arguments": {"a": 2, "b": 3}}]},
                {"text": "5"},
            ]
        },
        False,
    ),
    "message_objects_last_minus_3": (
        MESSAGE_PROGRAM,
        None,
        {},
        [],
        {
            "replies": [
                {"tool_calls": [{"name": "weather_lookup", "arguments": {"location": "海淀区"}}]},
                {"text": "海淀区今天晴。"},
            ]
        },
        True,
    ),
    "use_raw_api_server_tool_parser": (
        RAW_API_PROGRAM,
        None,
        {},
        [],
        {
            "replies": [
                {"text": "Looking.", "tool_calls": [{"name": "stock", "arguments": {"item": "plums"}}]},
                {"text": "7 plums."},
            ],
            # vLLM's hermes parser sends a call header without "arguments", on which Qwen-Agent's raw API
            # mode fails; its qwen3_coder parser sends "arguments": "" (the simulator does the same)
            "model": "Qwen3-Coder-30B-A3B-Instruct",
        },
        True,
    ),
    "tool_result_content_items_kept": (
        IMAGE_PROGRAM,
        None,
        {},
        [],
        {
            "replies": [
                {"tool_calls": [{"name": "snapshot", "arguments": {"what": "cat"}}]},
                {"text": "Here it is."},
            ]
        },
        True,
    ),
    "multi_turn_history_run_nonstream": (
        HISTORY_PROGRAM,
        None,
        {},
        [],
        {
            "conversations": [
                {
                    "match": "who are you",
                    "replies": [{"think": "Greet.", "text": "I am a helpful assistant."}],
                },
                {"match": "what can you do", "replies": [{"text": "I can answer questions."}]},
            ]
        },
        True,
    ),
    "document_question_file_item": (
        DOC_PROGRAM,
        None,
        {},
        [],
        {"replies": [{"think": "Read it.", "text": "It describes image operations."}]},
        True,
    ),
    "fncall_agent_enable_thinking_config_dict_tool": (
        THINKING_PROGRAM,
        None,
        {},
        [],
        {
            "replies": [
                {"think": "Check.", "tool_calls": [{"name": "stock", "arguments": {"item": "plums"}}]},
                {"think": "Got it.", "text": "7 plums."},
            ]
        },
        True,
    ),
}


def _qa_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


UVX_SERVERS = ("mcp-server-time", "mcp-server-fetch", "mcp-server-sqlite")


def stand_ins(workdir: Path) -> Path:
    """A folder put first on PATH: ``docker`` (Qwen-Agent's code_interpreter checks it when constructed) and
    ``uvx``, with which Qwen-Agent's examples start PyPI MCP servers: it runs the server installed in the
    Qwen-Agent venv (mcp<2, which mcp-server-sqlite needs) instead of downloading it. Both sides use them."""
    fake_bin = workdir / "bin"
    if not fake_bin.exists():
        fake_bin.mkdir()
        (fake_bin / "docker").write_text("#!/bin/sh\nexit 0\n")
        servers = "|".join(UVX_SERVERS)
        (fake_bin / "uvx").write_text(
            f'#!/bin/sh\npackage="$1"; shift\ncase "$package" in {servers}) exec "{QWEN_PYTHON.parent}/$package" "$@";;\n'
            f'esac\necho "uvx stand-in: $package is not one of {servers}" >&2\nexit 127\n'
        )
        for name in ("docker", "uvx"):
            (fake_bin / name).chmod(0o755)
    return fake_bin


def run_side(
    side: str, python: Path, source: str, file: str, case: tuple, url: str, workdir: Path, model: str
) -> dict:
    _, call, kwargs, inputs, _, _ = case
    out = workdir / f"{side}.json"
    spec = {
        "side": side,
        "sim_url": url,
        "model": model,
        "source": source,
        "file": file,
        "call": call,
        "kwargs": kwargs,
        "inputs": inputs,
        "cwd": str(workdir / side),
        "out": str(out),
    }
    (workdir / side).mkdir()
    shutil.copytree(UPSTREAM / "examples", workdir / side / "examples")  # relative resource paths
    spec_file = workdir / f"{side}.spec.json"
    spec_file.write_text(json.dumps(spec, ensure_ascii=False))
    fake_bin = stand_ins(workdir)
    env = _qa_env() if side == "qwen-agent" else {**os.environ, "PYTHONPATH": str(ROOT)}
    env["PATH"] = f"{fake_bin}:{env['PATH']}"
    env["QWEN_AGENT_DEFAULT_WORKSPACE"] = str(workdir / side / "workspace")
    proc = subprocess.run(
        [str(python), str(RUNNER), str(spec_file)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and out.exists(), proc.stderr[-3000:]
    result = json.loads(out.read_text())
    result["stderr"] = proc.stderr
    return result


def server_ids_numbered(call: dict) -> dict:
    """Server-made call ids (random, ``use_raw_api``) as ``server-1``, ``server-2``… in order of appearance."""
    seen: dict[str, str] = {}
    for snapshot in call["snapshots"]:
        for m in snapshot:
            fid = (m.get("extra") or {}).get("function_id")
            if isinstance(fid, str) and fid.startswith("call_"):
                m["extra"]["function_id"] = seen.setdefault(fid, f"server-{len(seen) + 1}")
    return call


def skeleton(snapshot: list[dict]) -> tuple:
    return tuple(
        (
            m.get("role"),
            m.get("name"),
            (m.get("function_call") or {}).get("name"),
            bool(m.get("reasoning_content")),
            bool(m.get("content")),
        )
        for m in snapshot
    )


def steps(call: dict) -> list[tuple]:
    """The growing list's stable states: skeletons that the next list extends (a partial ``<tool_call>``
    that Qwen-Agent shows as text for a chunk or two, then replaces, is not a state of the list)."""
    seq: list[tuple] = []
    for snapshot in call["snapshots"]:
        s = skeleton(snapshot)
        while seq and s[: len(seq[-1])] != seq[-1]:
            seq.pop()
        if not seq or seq[-1] != s:
            seq.append(s)
    return seq


@pytest.mark.parametrize("name", list(CASES))
def test_same_output_on_qwen_agent_and_agentkit(name, qwen_python, tmp_path):
    case = CASES[name]
    if case[0] is RESOURCES_PROGRAM and not EVERYTHING.exists():
        message = f"{EVERYTHING} is missing; run `bash .ci/install_mcp_peers.sh`"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    source, file = case[0], f"<{name}>"
    if source == "README":
        source = readme_snippet(qwen_python)
    elif source.endswith(".py") and "\n" not in source:
        file = str(UPSTREAM / source)
        source = (UPSTREAM / source).read_text()
    script = {"model": MODEL, "chunk_chars": 6, "reasoning_field": "reasoning_content", **case[4]}
    results = {}
    with serve_in_thread(script) as sim:
        for side, python in (("qwen-agent", qwen_python), ("agentkit", Path(sys.executable))):
            results[side] = run_side(
                side, python, source, file, case, sim.base_url, tmp_path, script["model"]
            )
    qa, ak = results["qwen-agent"], results["agentkit"]
    assert qa["error"] is None, qa["stderr"][-3000:]
    assert ak["error"] == qa["error"], ak["stderr"][-3000:]
    assert [c["kind"] for c in ak["calls"]] == [c["kind"] for c in qa["calls"]]
    assert qa["calls"], "the program made no agent or model call"
    for got, want in zip(map(server_ids_numbered, ak["calls"]), map(server_ids_numbered, qa["calls"])):
        assert got["snapshots"][-1] == want["snapshots"][-1]  # the final list, message for message
        assert steps(got) == steps(want)  # the same structure, step by step
    if case[5]:  # programs that print final results (and typewriter_print): the same output exactly
        assert ak["stdout"] == qa["stdout"]
    else:  # programs that print every streamed list: the last list, and all other printed lines
        assert ak["stdout"].rstrip().splitlines()[-1:] == qa["stdout"].rstrip().splitlines()[-1:]
        assert [
            line for line in ak["stdout"].splitlines() if not line.startswith(("bot response:", "[", "# "))
        ] == [line for line in qa["stdout"].splitlines() if not line.startswith(("bot response:", "[", "# "))]
    if case[0] is RESOURCES_PROGRAM:  # the one known difference: agentkit answers MCP sampling requests
        import ast

        ak_names, qa_names = (set(ast.literal_eval(r["stdout"].splitlines()[0])) for r in (ak, qa))
        assert ak_names - qa_names == {"everything-trigger-sampling-request"} and qa_names <= ak_names
        assert {"everything-list_resources", "everything-read_resource"} <= qa_names
