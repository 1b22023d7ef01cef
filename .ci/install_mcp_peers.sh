#!/usr/bin/env bash
# Installs the real MCP servers the MCP client tests talk to, idempotently:
#   - @modelcontextprotocol/server-everything (npm) into $AGENTKIT_MCP_PEERS (default ~/.cache/agentkit/mcp-peers)
#   - mcp-server-time (PyPI) into the current Python environment
# Fast when both are already there. A peer that cannot be installed (no npm, registry down) is reported and
# its tests skip, saying why; this script itself never fails the CI run.
set -euo pipefail

PEERS="${AGENTKIT_MCP_PEERS:-$HOME/.cache/agentkit/mcp-peers}"
EVERYTHING="@modelcontextprotocol/server-everything"

if command -v npm >/dev/null 2>&1; then
    if [ ! -x "$PEERS/node_modules/.bin/mcp-server-everything" ]; then
        mkdir -p "$PEERS"
        echo "install_mcp_peers: npm install $EVERYTHING into $PEERS"
        npm install --prefix "$PEERS" --no-audit --no-fund --loglevel=error "$EVERYTHING" >/dev/null ||
            echo "install_mcp_peers: WARNING: npm install $EVERYTHING failed; its tests will skip" >&2
    fi
    [ -x "$PEERS/node_modules/.bin/mcp-server-everything" ] &&
        echo "install_mcp_peers: $EVERYTHING ready ($PEERS/node_modules/.bin/mcp-server-everything)"
else
    echo "install_mcp_peers: npm not found; skipping $EVERYTHING (its tests will skip)" >&2
fi

PYTHON="${PYTHON:-python}"
if ! "$PYTHON" -c "import mcp_server_time" >/dev/null 2>&1; then
    echo "install_mcp_peers: pip install mcp-server-time"
    "$PYTHON" -m pip install --quiet --disable-pip-version-check mcp-server-time ||
        echo "install_mcp_peers: WARNING: pip install mcp-server-time failed; its tests will skip" >&2
fi
"$PYTHON" -c "import mcp_server_time" >/dev/null 2>&1 && echo "install_mcp_peers: mcp-server-time ready"
exit 0
