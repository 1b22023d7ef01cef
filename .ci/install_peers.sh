#!/usr/bin/env bash
# Installs the real peers the tests run against (npm and PyPI), and the CPU engine for the
# Transformers-backend tests. Idempotent; fast when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
for script in .ci/install_mcp_peers.sh .ci/install_qwen_agent.sh .ci/install_node_clis.sh \
    .ci/install_terminal_peers.sh .ci/install_engine.sh .ci/install_engines_parsers.sh \
    .ci/install_tokenizer.sh .ci/install_batch_peers.sh; do
  if [[ -f $script ]]; then bash "$script"; fi
done
