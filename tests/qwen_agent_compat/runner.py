"""Runs one Qwen-Agent program (an example, a README snippet, a test) and records what it did.

``python runner.py SPEC.json`` in either of two interpreters:

- ``side: qwen-agent``: the real Qwen-Agent (its own venv), the program's source as it is;
- ``side: agentkit``: agentkit's main environment, the program's source with only its agent/LLM imports
  switched (``from qwen_agent.agents import`` -> ``from agentkit.qwen_agent_compat import``, likewise
  ``qwen_agent.llm.get_chat_model``).

On both sides the harness points the program's model configuration at the simulator (``model``,
``model_server``; its ``generate_cfg`` is kept), feeds ``input()`` from the spec (echoed as typed), and
records stdout and every list that ``Agent.run`` / ``llm.chat`` yielded to the program (outermost calls
only), as JSON.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import json
import os
import sys
import traceback

SWITCHES = [
    ("from qwen_agent.agents import", "from agentkit.qwen_agent_compat import"),
    ("from qwen_agent.llm import get_chat_model", "from agentkit.qwen_agent_compat import get_chat_model"),
]


def plain(obj):
    """A yielded item as JSON data (Qwen-Agent's Message dumps without None fields, as its repr does)."""
    if hasattr(obj, "model_dump"):
        return plain(obj.model_dump())
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj


def main() -> None:
    spec = json.loads(open(sys.argv[1], encoding="utf-8").read())
    side, url, model = spec["side"], spec["sim_url"], spec["model"]
    calls: list[dict] = []
    depth = {"agent": 0, "llm": 0}

    def redirect(cfg):
        cfg = dict(cfg or {})
        out = {"model": model, "model_server": url, "api_key": "EMPTY"}
        if "generate_cfg" in cfg:
            out["generate_cfg"] = cfg["generate_cfg"]
        return out

    def recording(kind, func):
        def wrapper(self, *args, **kwargs):
            outer = depth["agent"] == 0 and depth["llm"] == 0
            result = func(self, *args, **kwargs)
            if isinstance(result, list):  # llm.chat(stream=False)
                if outer:
                    calls.append({"kind": kind, "snapshots": [plain(result)]})
                return result

            def stream():
                record = {"kind": kind, "snapshots": []}
                if outer:
                    calls.append(record)
                depth[kind] += 1
                try:
                    for item in result:
                        if outer:
                            record["snapshots"].append(plain(item))
                        depth[kind] -= 1
                        try:
                            yield item
                        finally:
                            depth[kind] += 1
                finally:
                    depth[kind] -= 1

            return stream()

        return wrapper

    if side == "qwen-agent":
        import qwen_agent.agent
        import qwen_agent.llm
        import qwen_agent.llm.base

        original = qwen_agent.llm.get_chat_model

        def patched(cfg):
            return original(redirect(cfg)) if isinstance(cfg, dict) else original(cfg)

        qwen_agent.llm.get_chat_model = patched
        qwen_agent.agent.get_chat_model = patched
        qwen_agent.agent.Agent.run = recording("agent", qwen_agent.agent.Agent.run)
        base = qwen_agent.llm.base.BaseChatModel
        base.chat = recording("llm", base.chat)
        source_switches = []
    else:
        import agentkit.qwen_agent_compat as compat
        from agentkit.qwen_agent_compat import agents, llm

        original = llm.get_chat_model

        def patched(cfg):
            return original(redirect(cfg)) if isinstance(cfg, dict) else original(cfg)

        llm.get_chat_model = patched
        compat.get_chat_model = patched
        agents.Agent.run = recording("agent", agents.Agent.run)
        llm.ChatModel.chat = recording("llm", llm.ChatModel.chat)
        source_switches = SWITCHES

    source = spec["source"]
    for old, new in source_switches:
        source = source.replace(old, new)
    inputs = list(spec.get("inputs", []))

    def fake_input(prompt=""):  # printed as a terminal shows it: the prompt, then the typed line
        if not inputs:
            print(prompt)
            raise EOFError
        print(f"{prompt}{inputs[0]}")
        return inputs.pop(0)

    builtins.input = fake_input
    os.chdir(spec["cwd"])
    sys.path.insert(0, spec["cwd"])
    out, error = io.StringIO(), None
    namespace = {"__name__": spec.get("module_name", "__program__"), "__file__": spec["file"]}
    with contextlib.redirect_stdout(out):
        try:
            exec(compile(source, spec["file"], "exec"), namespace)
            if spec.get("call"):
                kwargs = {  # "$name": a name the program defines
                    k: namespace[v[1:]] if isinstance(v, str) and v.startswith("$") else v
                    for k, v in spec.get("kwargs", {}).items()
                }
                namespace[spec["call"]](**kwargs)
        except EOFError:
            pass
        except BaseException as exc:  # reported, compared like the output
            error = f"{type(exc).__name__}: {exc}"
            traceback.print_exc(file=sys.stderr)
    result = {"stdout": out.getvalue(), "calls": calls, "error": error}
    with open(spec["out"], "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
