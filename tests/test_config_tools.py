"""Resolving a task's tools: module:function from the task folder, @tool objects, lists, policies, errors."""

import sys
from pathlib import Path

import pytest

from agentkit.config import TaskError, load_task, load_task_dict, resolve_tools
from agentkit.tooling import FunctionTool, ToolContext, ToolPolicy

FIXTURES = Path(__file__).parent / "fixtures" / "tasks"


def resolve_error(task) -> list[str]:
    with pytest.raises(TaskError) as info:
        resolve_tools(task)
    assert "Traceback" not in str(info.value)
    return str(info.value).splitlines()


@pytest.mark.anyio
async def test_full_file_tools_and_policies(monkeypatch):
    monkeypatch.setenv("AGENTKIT_TEST_KEY", "k")
    path_before = list(sys.path)
    tools, policies = resolve_tools(load_task(FIXTURES / "full.yaml"))
    assert sys.path == path_before
    assert [t.name for t in tools] == ["add", "shout"]
    assert isinstance(tools[0], FunctionTool)  # a plain function, wrapped
    assert tools[0].parameters["required"] == ["a", "b"]
    assert tools[1].description == "Upper-case a text."
    assert policies == {
        "add": ToolPolicy(approval="allow"),
        "shout": ToolPolicy(approval="ask", thinking="off", timeout=5.0),
    }
    assert (await tools[0].call({"a": 2, "b": 3}, ToolContext())).text == "5"
    assert (await tools[1].call({"text": "hi"}, ToolContext())).text == "HI"


def test_list_attribute_description_override_and_default_approval():
    data = {"tools": ["sample_tools:BOTH", {"name": "sample_tools:add", "description": "Sum."}]}
    with pytest.raises(TaskError, match="two tools are named 'add'"):
        resolve_tools(load_task_dict(data, FIXTURES))
    tools, policies = resolve_tools(load_task_dict({"tools": ["sample_tools:BOTH"]}, FIXTURES))
    assert [t.name for t in tools] == ["add", "shout"]
    assert policies["shout"].approval == "ask"  # the tool's own default_approval
    tools, policies = resolve_tools(
        load_task_dict(
            {"tools": [{"use": "sample_tools:shout", "description": "Loud.", "approval": "deny"}]}, FIXTURES
        )
    )
    assert (tools[0].name, tools[0].description, policies["shout"].approval) == ("shout", "Loud.", "deny")
    assert tools[0].default_approval == "ask"  # other attributes still reach the tool


@pytest.mark.anyio
async def test_module_in_a_task_folder_with_a_sibling_import(tmp_path):
    (tmp_path / "helper.py").write_text("def double(x):\n    return 2 * x\n")
    (tmp_path / "tools.py").write_text(
        "from helper import double\n\n"
        "async def twice(n: int) -> int:\n    '''Double a number.'''\n    return double(n)\n"
    )
    pkg = tmp_path / "kit"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "text.py").write_text("from .util import rev\n\ndef reverse(s: str) -> str:\n    return rev(s)\n")
    (pkg / "util.py").write_text("def rev(s):\n    return s[::-1]\n")
    (tmp_path / "task.yaml").write_text("prompt: hi\ntools:\n  - tools:twice\n  - kit.text:reverse\n")
    tools, _ = resolve_tools(load_task(tmp_path / "task.yaml"))
    # `tools.py` in the task folder is the user's, even though a package of that name may be installed.
    assert [t.name for t in tools] == ["twice", "reverse"]
    assert (await tools[0].call({"n": 21}, ToolContext())).text == "42"
    assert (await tools[1].call({"s": "abc"}, ToolContext())).text == "cba"
    assert str(tmp_path) not in sys.path


def test_bad_tool_entries_each_name_line_and_fix():
    task = load_task(FIXTURES / "bad_tools.yaml")
    source = FIXTURES / "bad_tools.yaml"
    lines = resolve_error(task)
    assert (
        lines[0]
        == f"{source}:4:5: module 'sample_tools' (sample_tools.py) has no attribute 'ad' — did you mean sample_tools:add?"
    )
    assert lines[1].startswith(
        f"{source}:5:5: cannot import missing_module:func: no module named 'missing_module'"
    )
    assert "create missing_module.py next to the task file" in lines[1]
    assert lines[2].startswith(f"{source}:6:5: sample_tools:NOT_A_TOOL is 'dict', not a tool")
    assert lines[3] == (
        f"{source}:7:30: unknown key 'colour' for sample_tools:add: a tool of your own takes no options; "
        "known keys: name, approval, thinking, timeout, description"
    )
    assert len(lines) == 4


@pytest.mark.parametrize(
    ("module", "ref", "expected"),
    [
        (
            "import requests_not_here\n",
            "m:f",
            "module 'm' imports 'requests_not_here', which cannot be found",
        ),
        ("def f(:\n", "m:f", "m.py:1: syntax error"),
        ("raise RuntimeError('no config')\n", "m:f", "importing 'm' raised RuntimeError: no config (m.py:1)"),
        ("class F:\n    pass\n", "m:F", "m:F is a class"),
        ("def f(x: int): pass\n", "m:", "write module:function"),
        ("def f(x: int): pass\n", "m:f.g", "m:f has no attribute 'g'"),
        (
            "from os.path import join\ndef first(x: int): pass\ndef second(): pass\n",
            "m:zzz",
            "module 'm' (m.py) has no attribute 'zzz'; it defines: first, second",
        ),
    ],
)
def test_import_problems(tmp_path, module, ref, expected):
    (tmp_path / "m.py").write_text(module)
    (tmp_path / "task.yaml").write_text(f"tools:\n  - '{ref}'\n")
    lines = resolve_error(load_task(tmp_path / "task.yaml"))
    assert lines[0].startswith(f"{tmp_path / 'task.yaml'}:2:5: ")
    assert expected in lines[0]
    assert "m" not in sys.modules or not str(getattr(sys.modules["m"], "__file__", "")).startswith(
        str(tmp_path)
    )


def test_dict_task_errors_name_the_entry():
    task = load_task_dict({"tools": ["sample_tools:nope"]}, FIXTURES, source="Assistant(...)")
    assert resolve_error(task)[0].startswith("Assistant(...): tools[0]: module 'sample_tools'")


def test_builtin_tools_options_and_their_default_approval(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "task.yaml").write_text("tools:\n  - name: files\n    root: data\n    write: true\n")
    tools, policies = resolve_tools(load_task(tmp_path / "task.yaml"))
    assert [t.name for t in tools] == ["files"]
    assert policies["files"].approval == "ask"  # a writable files tool asks by default
    (tmp_path / "task.yaml").write_text("tools:\n  - {name: files, approval: allow}\n")
    assert resolve_tools(load_task(tmp_path / "task.yaml"))[1]["files"].approval == "allow"


def test_bad_builtin_names_and_options(tmp_path):
    path = tmp_path / "task.yaml"
    path.write_text("tools:\n  - file\n  - sample.search\n  - name: files\n    wirte: true\n")
    lines = resolve_error(load_task(path))
    assert lines[0].startswith(
        f"{path}:2:5: unknown built-in tool 'file' — did you mean 'files'? (built-in tools: "
    )
    assert "your own functions are written module:function" in lines[0]
    assert lines[1].startswith(
        f"{path}:3:5: unknown built-in tool 'sample.search' — for a function of yours write sample:search"
    )
    assert lines[2].startswith(f"{path}:5:5: files: unknown option 'wirte' — did you mean 'write'?")
