"""agentkit's testing kit: a Qwen3 simulator over HTTP and an in-process scripted model, from one script format.

- ``run_simulator(script)`` / ``serve_in_thread(script)``: a vLLM-like OpenAI-compatible server
  (``python -m agentkit.testing.simulator --script FILE --port N`` from a shell).
- ``ScriptedLLM``: the same replies behind the ``LLM`` protocol, no HTTP.
- ``load_script``: the script format (see ``agentkit.testing.script`` and docs/simulator.md).
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "Script": "agentkit.testing.script",
    "Reply": "agentkit.testing.script",
    "load_script": "agentkit.testing.script",
    "ScriptError": "agentkit.testing.validation",
    "Fault": "agentkit.testing.faults",
    "ScriptedLLM": "agentkit.testing.scripted",
    "RunningSimulator": "agentkit.testing.simulator",
    "run_simulator": "agentkit.testing.simulator",
    "serve_in_thread": "agentkit.testing.simulator",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'agentkit.testing' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
