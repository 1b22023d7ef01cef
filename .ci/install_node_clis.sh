#!/usr/bin/env bash
# Installs the real IDE-class MCP clients the tests drive, each with Node 22 as npm packages in its own
# folder under ~/.cache/agentkit (Qwen Code needs Node >= 22, the Inspector >= 22.19):
#   - Qwen Code (@qwen-code/qwen-code) into $AGENTKIT_QWEN_CODE_HOME, for tests/test_qwen_code.py
#   - Gemini CLI (@google/gemini-cli) into $AGENTKIT_GEMINI_CLI_HOME, for tests/test_gemini_cli.py
#   - the MCP Inspector (@modelcontextprotocol/inspector, CLI mode) into $AGENTKIT_INSPECTOR_HOME, for
#     tests/test_mcp_inspector.py
# Idempotent: fast when the pinned versions are there. A failed install is reported; those tests then fail
# in CI (CI=true) and skip elsewhere, saying how to install.
set -euo pipefail

# node_cli LABEL PREFIX PACKAGE VERSION BINARY: npm install node@22 PACKAGE@VERSION into PREFIX unless there.
node_cli() {
    local label="$1" prefix="$2" package="$3" version="$4" binary="$5"
    local bin="$prefix/node_modules/.bin"
    installed() {
        [ -x "$bin/$binary" ] && [ -x "$bin/node" ] &&
            grep -q "\"version\": \"$version\"" "$prefix/node_modules/$package/package.json" 2>/dev/null
    }
    if ! installed; then
        if ! command -v npm >/dev/null 2>&1; then
            echo "install_node_clis: npm not found; $label is not installed (its tests need it)" >&2
            return 0
        fi
        echo "install_node_clis: npm install node@22 $package@$version into $prefix"
        mkdir -p "$prefix"
        npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error node@22 "$package@$version" \
            >/dev/null || echo "install_node_clis: WARNING: npm install $package failed; its tests cannot run" >&2
    fi
    if installed; then
        echo "install_node_clis: $label $version ready ($bin/$binary, node $("$bin/node" --version))"
    fi
}

CACHE="$HOME/.cache/agentkit"
node_cli "Qwen Code" "${AGENTKIT_QWEN_CODE_HOME:-$CACHE/qwen-code}" @qwen-code/qwen-code 0.24.4 qwen
node_cli "Gemini CLI" "${AGENTKIT_GEMINI_CLI_HOME:-$CACHE/gemini-cli}" @google/gemini-cli 0.61.0 gemini
node_cli "MCP Inspector" "${AGENTKIT_INSPECTOR_HOME:-$CACHE/inspector}" @modelcontextprotocol/inspector 2.12.0 \
    mcp-inspector
exit 0
