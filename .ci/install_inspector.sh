#!/usr/bin/env bash
# Installs the MCP Inspector (@modelcontextprotocol/inspector, CLI mode; needs Node >= 22.19) with Node 22 as
# npm packages into $AGENTKIT_INSPECTOR_HOME (default ~/.cache/agentkit/inspector), for
# tests/test_mcp_inspector.py. Idempotent: fast when the pinned version is there. A failed install is
# reported; the tests then fail in CI (CI=true) and skip elsewhere.
set -euo pipefail
PREFIX="${AGENTKIT_INSPECTOR_HOME:-$HOME/.cache/agentkit/inspector}"
VERSION="2.12.0"
BIN="$PREFIX/node_modules/.bin"
installed() {
    [ -x "$BIN/mcp-inspector" ] && [ -x "$BIN/node" ] &&
        grep -q "\"version\": \"$VERSION\"" "$PREFIX/node_modules/@modelcontextprotocol/inspector/package.json" 2>/dev/null
}
if ! installed; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "install_inspector: npm not found; the MCP Inspector is not installed" >&2
        exit 0
    fi
    echo "install_inspector: npm install node@22 @modelcontextprotocol/inspector@$VERSION into $PREFIX"
    mkdir -p "$PREFIX"
    npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error node@22 \
        "@modelcontextprotocol/inspector@$VERSION" >/dev/null ||
        echo "install_inspector: WARNING: npm install failed; tests/test_mcp_inspector.py cannot run" >&2
fi
installed && echo "install_inspector: MCP Inspector $VERSION ready ($BIN/mcp-inspector, node $("$BIN/node" --version))"
exit 0
