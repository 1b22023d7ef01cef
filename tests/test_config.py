"""task.yaml loading: a full good file, and every kind of bad file giving file:line, the problem and the fix."""

from pathlib import Path

import pytest

from agentkit.config import ModelConfig, TaskConfig, TaskError, load_task, load_task_dict
from agentkit.config.yaml_source import expand_env

FIXTURES = Path(__file__).parent / "fixtures" / "tasks"


def error_of(path: Path | str) -> str:
    with pytest.raises(TaskError) as info:
        load_task(path)
    message = str(info.value)
    assert "Traceback" not in message
    return message


def test_full_file_loads_every_setting(monkeypatch):
    monkeypatch.delenv("AGENTKIT_TEST_ENDPOINT", raising=False)
    monkeypatch.setenv("AGENTKIT_TEST_KEY", "sekret")
    task = load_task(FIXTURES / "full.yaml")
    assert isinstance(task, TaskConfig)
    model = task.model
    assert model.endpoint == "http://127.0.0.1:8000/v1"  # the ${VAR:-default}
    assert model.api_key == "sekret"  # the ${VAR}
    assert (model.name, model.mode, model.variant, model.max_tokens, model.timeout) == (
        "Qwen3-30B-A3B", "native", "hybrid", 2048, 120.0,
    )  # fmt: skip
    assert model.sampling() == {
        "temperature": 0.6,
        "top_p": 0.95,
        "top_k": 20,
        "min_p": 0,
        "presence_penalty": 1.5,
    }
    assert task.thinking == "on"  # YAML's boolean `on`
    assert (task.thinking_budget, task.max_steps, task.system) == (512, 6, "You are terse.")
    assert task.prompt == "Add 2 and 3, then report the result.\n"
    assert [t.ref for t in task.tools] == ["sample_tools:add", "sample_tools:shout"]
    shout = task.tools[1]
    assert (shout.approval, shout.thinking, shout.timeout, shout.description) == (
        "ask",
        "off",
        5.0,
        "Upper-case a text.",
    )
    assert shout.options == {}
    assert list(task.mcp_servers) == ["files"]  # from the IDE-style `mcpServers` key
    assert task.mcp_servers["files"].command == "python"
    assert (task.tool_timeout, task.max_tool_output, task.parallel_tools) == (30.0, 5000, 2)
    assert task.base_dir == FIXTURES.resolve()
    assert task.where("tools", 1) == f"{FIXTURES / 'full.yaml'}:23:5"


def test_defaults():
    task = load_task_dict({"prompt": "hi"}, "/tmp")
    assert task.model == ModelConfig()
    assert (task.model.mode, task.thinking, task.max_steps, task.tools, task.mcp_servers) == (
        "native", "auto", 10, [], {},
    )  # fmt: skip
    assert (task.tool_timeout, task.max_tool_output, task.parallel_tools) == (60.0, 20000, 8)


def test_folder_means_its_task_yaml(tmp_path):
    (tmp_path / "task.yaml").write_text("prompt: from the folder\n")
    assert load_task(tmp_path).prompt == "from the folder"
    with pytest.raises(TaskError, match="is a folder without a task.yaml"):
        load_task(tmp_path / "..")


def test_yaml_syntax_error_has_line_and_column():
    message = error_of(FIXTURES / "bad_syntax.yaml")
    assert message == (
        f"{FIXTURES / 'bad_syntax.yaml'}:4:7: YAML syntax error: expected ',' or ']', but got ':' (while parsing a "
        "flow sequence that starts at line 3) — close the list with ] (or quote a value that starts with [)"
    )


def test_tab_indentation_is_named(tmp_path):
    path = tmp_path / "task.yaml"
    path.write_text("model:\n\tendpoint: http://x\n")
    message = error_of(path)
    assert f"{path}:2:1: YAML syntax error" in message and "indent with spaces, not tabs" in message


def test_unknown_key_suggests_the_right_one():
    message = error_of(FIXTURES / "unknown_key.yaml")
    assert (
        message
        == f"{FIXTURES / 'unknown_key.yaml'}:8:1: unknown key 'max_step' in the task — did you mean 'max_steps'?"
    )


def test_unknown_key_in_the_wrong_section(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("endpoint: http://x/v1\nmodel:\n  max_steps: 2\n  endpiont: http://y\n")
    lines = error_of(path).splitlines()
    assert (
        lines[0]
        == f"{path}:1:1: unknown key 'endpoint' in the task — it belongs under `model:` (model.endpoint)"
    )
    assert lines[1].startswith(f"{path}:3:3: unknown key 'max_steps' in model — it belongs at the top level")
    assert lines[2] == f"{path}:4:3: unknown key 'endpiont' in model — did you mean 'endpoint'?"


def test_wrong_types_say_what_is_expected():
    path = FIXTURES / "wrong_types.yaml"
    lines = error_of(path).splitlines()
    assert lines == [
        f"{path}:2:3: `model.endpoint`: expected an http:// or https:// URL such as http://localhost:8000/v1/v1",
        f"{path}:3:3: `model.timeout`: expected a number, got 'soon'",
        f"{path}:4:1: `max_steps`: expected a whole number, got 'ten'",
        f"{path}:5:1: `thinking`: expected one of auto, on, off, got 'sometimes'",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("max_steps: 0\n", "`max_steps`: should be greater than or equal to 1, got 0"),
        (
            "model: {mode: nativ}\n",
            "`model.mode`: expected one of native, server, got 'nativ' — did you mean 'native'?",
        ),
        ("tools: web_search\n", "`tools`: expected a list of tools, one per line starting with '- '"),
        ("tools:\n  - 3\n", "`tools[0]`: a tool entry is a built-in name like `web_search`"),
        ("tools:\n  - {approval: ask}\n", "`tools[0]`: a tool mapping needs `name:`"),
        ("model: {gpus: 4}\n", "`model.gpus`: expected a list of GPU indices: write [4] for GPU 4 alone"),
        ("model: {endpoint: 'http://x/v1', engine: vllm}\n", "`engine: vllm` starts a model here"),
        ("model: {engine: transformers}\n", "`engine: transformers` needs `path`"),
        (
            "model: {path: /m, dtype: bf16}\n",
            "expected one of auto, bfloat16, float16, float32, got 'bf16' — did you mean 'bfloat16'?",
        ),
        ("model: {path: /m, device: cuda}\n", "`device` and `dtype` apply to `engine: transformers` only"),
        ("mcp_servers: [a]\n", "`mcp_servers`: expected a mapping of server name to settings"),
        ("mcp_servers: {a: {}}\nservers: {}\n", "MCP servers are given twice"),
        (
            "mcp_servers:\n  fs:\n    comand: x\n",
            "2:3: MCP server 'fs': unknown setting 'comand'; did you mean 'command'?",
        ),
        ("base_dir: /x\n", "1:1: `base_dir` is set by agentkit"),
        ("simulation: nope.jsonl\n", "simulation script 'nope.jsonl' not found"),
        ("a: 1\na: 2\n", "2: key 'a' appears twice in one mapping (first at line 1)"),
        (
            "model: {mode: server}\nthinking_budget: 512\n",
            "2:1: `thinking_budget` needs `model.mode: native`",
        ),
    ],
)
def test_bad_values(tmp_path, text, expected):
    path = tmp_path / "task.yaml"
    path.write_text(text)
    message = error_of(path)
    assert message.startswith(f"{path}:")
    assert expected in message


def test_missing_empty_and_non_mapping_files(tmp_path):
    assert "no such file; check the path" in error_of(tmp_path / "absent.yaml")
    message = error_of(FIXTURES / "empty.yaml")
    assert message.startswith(f"{FIXTURES / 'empty.yaml'}: the file is empty") and "prompt:" in message
    message = error_of(FIXTURES / "not_mapping.yaml")
    assert (
        message.startswith(f"{FIXTURES / 'not_mapping.yaml'}: a task is a mapping of settings")
        and "a list" in message
    )
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"prompt: \xff\xfe\n")
    assert "not UTF-8 text" in error_of(binary)


def test_unset_environment_variable_names_it(monkeypatch):
    monkeypatch.delenv("AGENTKIT_TEST_UNSET_VAR", raising=False)
    message = error_of(FIXTURES / "env_unset.yaml")
    assert message == (
        f"{FIXTURES / 'env_unset.yaml'}:2: environment variable 'AGENTKIT_TEST_UNSET_VAR' is not set; "
        "set it (export AGENTKIT_TEST_UNSET_VAR=...) or give a default: ${AGENTKIT_TEST_UNSET_VAR:-value}"
    )
    monkeypatch.setenv("AGENTKIT_TEST_UNSET_VAR", "http://h:1/v1")
    assert load_task(FIXTURES / "env_unset.yaml").model.endpoint == "http://h:1/v1"


def test_expand_env_forms():
    env = {"A": "x", "EMPTY": ""}
    assert expand_env("${A}-${B:-dflt}-${EMPTY:-e}-${EMPTY}-$${A}", env) == "x-dflt-e--${A}"
    assert expand_env("no vars, ${ not a var }", env) == "no vars, ${ not a var }"
    with pytest.raises(KeyError, match="B"):
        expand_env("${B}", env)


def test_dict_source_names_the_path():
    with pytest.raises(TaskError) as info:
        load_task_dict({"model": {"mode": "chat"}, "max_steps": "x"}, "/tmp", source="Assistant(...)")
    assert str(info.value).splitlines() == [
        "Assistant(...): `model.mode`: expected one of native, server, got 'chat'",
        "Assistant(...): `max_steps`: expected a whole number, got 'x'",
    ]


def test_model_shorthands_and_paths(tmp_path):
    (tmp_path / "weights").mkdir()
    task = load_task_dict({"model": {"path": "weights", "gpus": "0, 2"}}, tmp_path)
    assert task.model.path == str(tmp_path / "weights") and task.model.gpus == [0, 2]
    assert load_task_dict({"model": {"path": "Qwen/Qwen3-8B"}}, tmp_path).model.path == "Qwen/Qwen3-8B"
    assert load_task_dict({"model": "http://h:8000/v1"}, tmp_path).model.endpoint == "http://h:8000/v1"
    assert load_task_dict({"model": "Qwen/Qwen3-8B"}, tmp_path).model.name == "Qwen/Qwen3-8B"
    assert load_task_dict({"thinking": False}, tmp_path).thinking == "off"


def test_vscode_servers_object(tmp_path):
    data = {"mcp_servers": {"servers": {"web": {"type": "http", "url": "http://127.0.0.1:9/mcp"}}}}
    task = load_task_dict(data, tmp_path)
    assert task.mcp_servers["web"].transport == "http"


def test_serving_keys_reach_the_launcher(tmp_path):
    from agentkit.config import load_task_dict

    task = load_task_dict(
        {"model": {"name": "Qwen/Qwen3-32B", "tp": 2, "gpu_memory_utilization": 0.8, "gpus": "0,1"}}, tmp_path
    )
    assert task.model.serving_args() == {
        "name": "Qwen/Qwen3-32B",
        "gpus": [0, 1],
        "tp": 2,
        "gpu_memory_utilization": 0.8,
    }
