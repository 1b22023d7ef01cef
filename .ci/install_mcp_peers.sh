#!/usr/bin/env bash
# Installs the real MCP servers the MCP client tests talk to, idempotently:
#   - @modelcontextprotocol/server-everything and @modelcontextprotocol/server-memory (npm) into
#     $AGENTKIT_MCP_PEERS (default ~/.cache/agentkit/mcp-peers)
#   - mcp-server-time (PyPI) into the current Python environment
# Fast when all are already there. A peer that cannot be installed (no npm, registry down) is reported and
# its tests skip, saying why (in CI, where CI=true, they fail); this script itself never fails the run.
set -euo pipefail

PEERS="${AGENTKIT_MCP_PEERS:-$HOME/.cache/agentkit/mcp-peers}"

# npm_peer PACKAGE BINARY: install PACKAGE into $PEERS unless its BINARY is already there.
npm_peer() {
    local package="$1" binary="$2"
    if ! command -v npm >/dev/null 2>&1; then
        echo "install_mcp_peers: npm not found; skipping $package (its tests will skip)" >&2
        return 0
    fi
    if [ ! -x "$PEERS/node_modules/.bin/$binary" ]; then
        mkdir -p "$PEERS"
        echo "install_mcp_peers: npm install $package into $PEERS"
        npm install --prefix "$PEERS" --no-audit --no-fund --loglevel=error "$package" >/dev/null ||
            echo "install_mcp_peers: WARNING: npm install $package failed; its tests will skip" >&2
    fi
    if [ -x "$PEERS/node_modules/.bin/$binary" ]; then
        echo "install_mcp_peers: $package ready ($PEERS/node_modules/.bin/$binary)"
    fi
}
npm_peer @modelcontextprotocol/server-everything mcp-server-everything
npm_peer @modelcontextprotocol/server-memory mcp-server-memory

PYTHON="${PYTHON:-python}"
if ! "$PYTHON" -c "import mcp_server_time" >/dev/null 2>&1; then
    echo "install_mcp_peers: pip install mcp-server-time"
    "$PYTHON" -m pip install --quiet --disable-pip-version-check mcp-server-time ||
        echo "install_mcp_peers: WARNING: pip install mcp-server-time failed; its tests will skip" >&2
fi
"$PYTHON" -c "import mcp_server_time" >/dev/null 2>&1 && echo "install_mcp_peers: mcp-server-time ready"
exit 0
