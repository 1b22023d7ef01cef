"""configs/gemini_settings.json in the real Gemini CLI (``@google/gemini-cli``): ``gemini mcp list``
connects each entry to agentkit's servers (stdio, streamable HTTP at ``httpUrl``, SSE at ``url`` with
``type: sse``; the token from ``$AGENTKIT_MCP_TOKEN``). No model is involved: Gemini CLI talks only to
Google's API, so calling the tool is tested with Qwen Code (tests/test_qwen_code.py), its fork.

Gemini CLI is installed by ``.ci/install_node_clis.sh`` (``$AGENTKIT_GEMINI_CLI`` points elsewhere)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path

import yaml

from tests.e2e_helpers import ROOT, free_port, installed_config, missing_peer, start_mcp_http, stop

GEMINI = Path(
    os.environ.get("AGENTKIT_GEMINI_CLI")
    or Path.home() / ".cache/agentkit/gemini-cli/node_modules/.bin/gemini"
)

if not GEMINI.exists():
    why = f"Gemini CLI is not installed at {GEMINI}: run `bash .ci/install_node_clis.sh`"
    missing_peer(why)


def test_every_entry_of_the_config_connects(tmp_path: Path):
    task = tmp_path / "task.yaml"
    task.write_text(yaml.safe_dump({"model": {"endpoint": f"http://127.0.0.1:{free_port()}/v1"}}))
    log = tmp_path / "server.log"
    proc, port = start_mcp_http(task, log, "--token", "gemini-test-token")
    try:
        home = tmp_path / "home"
        (home / ".gemini").mkdir(parents=True)
        config = installed_config("gemini_settings.json", tmp_path, port)
        (home / ".gemini" / "settings.json").write_text(json.dumps(config))
        # what `gemini trust` (or the trust prompt) records: Gemini CLI starts no MCP server in an untrusted folder
        (home / ".gemini" / "trustedFolders.json").write_text(json.dumps({str(tmp_path): "TRUST_FOLDER"}))
        env = {
            **os.environ,
            "HOME": str(home),
            "PATH": f"{GEMINI.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(ROOT),
            "AGENTKIT_MCP_TOKEN": "gemini-test-token",
            "NO_COLOR": "1",
        }
        listed = subprocess.run(
            [str(GEMINI), "mcp", "list"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        stop(proc)
    output = listed.stdout + listed.stderr
    for name in config["mcpServers"]:
        if name != "agentkit-web-search" or importlib.util.find_spec("agentkit_tools.web_search"):
            assert re.search(rf"{name}: .* - Connected", output), output
    assert re.search(r"agentkit-agent-sse: \S+/sse \(sse\) - Connected", output), output
    access = log.read_text()
    assert '"GET /sse HTTP/1.1" 200' in access and '"POST /mcp HTTP/1.1" 200' in access
    assert " 401" not in access
