#!/usr/bin/env bash
# Registers agentkit's MCP servers with Claude Code (`claude mcp add`), for the current project.
# Usage: bash configs/claude_code_add.sh [path/to/task.yaml]   (default: ./task.yaml)
# Or copy configs/claude_code_mcp.json to .mcp.json at the project root instead.
set -euo pipefail
TASK="$(realpath "${1:-task.yaml}")"
PYTHON="${PYTHON:-python}"

claude mcp add --scope project agentkit-web-search -- "$PYTHON" -m agentkit_mcp_servers.web_search
claude mcp add --scope project agentkit-agent -- "$PYTHON" -m agentkit mcp "$TASK"
# Over HTTP instead (start `python -m agentkit mcp "$TASK" --http --port 8765` first, with
# AGENTKIT_MCP_TOKEN exported in both shells):
#   claude mcp add --scope project --transport http agentkit-agent-http http://127.0.0.1:8765/mcp \
#     --header "Authorization: Bearer $AGENTKIT_MCP_TOKEN"
