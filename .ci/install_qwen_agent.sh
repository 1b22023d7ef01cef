#!/usr/bin/env bash
# Installs real Qwen-Agent (the oracle of the drop-in compatibility suite, tests/qwen_agent_compat/) into
# its own venv, because it needs mcp<2 and agentkit needs mcp>=2:
#   $AGENTKIT_QWEN_AGENT_VENV (default ~/.cache/agentkit/qwen-agent-venv)
# with qwen-agent's RAG and MCP extras and the modules it imports without declaring them (tqdm, soundfile,
# python-dateutil). Idempotent; fast when the venv already imports everything the suite uses.
set -euo pipefail

VENV="${AGENTKIT_QWEN_AGENT_VENV:-$HOME/.cache/agentkit/qwen-agent-venv}"
VERSION="${AGENTKIT_QWEN_AGENT_VERSION:-0.0.34}"
PYTHON="${PYTHON:-python}"
CHECK='import importlib.metadata as m, qwen_agent.agents, qwen_agent.tools.mcp_manager, mcp.client.stdio, rank_bm25, jieba, pdfminer, docx, numpy, tqdm, soundfile, dateutil, jupyter_client
assert m.version("qwen-agent") == "'"$VERSION"'", m.version("qwen-agent")
assert int(m.version("mcp").split(".")[0]) < 2'

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "$CHECK" >/dev/null 2>&1; then
    echo "install_qwen_agent: qwen-agent $VERSION ready ($VENV)"
    exit 0
fi
echo "install_qwen_agent: creating $VENV with qwen-agent $VERSION"
# numpy, soundfile, tqdm, python-dateutil: imported by qwen_agent without being declared; jupyter_client:
# checked by its code_interpreter
if "$PYTHON" -m venv "$VENV" && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "qwen-agent[rag,mcp]==$VERSION" "mcp<2" numpy soundfile tqdm python-dateutil jupyter_client &&
    "$VENV/bin/python" -c "$CHECK"; then
    echo "install_qwen_agent: qwen-agent $VERSION ready ($VENV)"
else  # reported here; the drop-in suite then fails in CI (CI=true), saying how to install
    echo "install_qwen_agent: WARNING: could not install qwen-agent $VERSION into $VENV" >&2
fi
