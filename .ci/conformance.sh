#!/usr/bin/env bash
# The official MCP conformance suite (@modelcontextprotocol/conformance) against agentkit:
#   - server scenarios against the agent served over streamable HTTP (`python -m agentkit mcp ... --http`);
#   - the tools-call scenarios against the generic tool adapter (tests/conformance_tools.py);
#   - client scenarios against agentkit's MCP client (tests/conformance_client.py).
# Installs Node 22 and the suite as npm packages into $AGENTKIT_CONFORMANCE (default
# ~/.cache/agentkit/conformance) when missing. Prints one line per scenario and the totals; exits non-zero
# when a result differs from .ci/conformance-baseline.yml (a new failure, or a listed one that now passes).
# Usage: bash .ci/conformance.sh [RESULTS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PREFIX="${AGENTKIT_CONFORMANCE:-$HOME/.cache/agentkit/conformance}"
SUITE_VERSION="0.1.16"
PYTHON="${PYTHON:-python}"
BASELINE="$ROOT/.ci/conformance-baseline.yml"

if [ ! -x "$PREFIX/node_modules/.bin/conformance" ] || [ ! -x "$PREFIX/node_modules/.bin/node" ]; then
    echo "conformance: npm install node@22 @modelcontextprotocol/conformance@$SUITE_VERSION into $PREFIX"
    mkdir -p "$PREFIX"
    npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error \
        node@22 "@modelcontextprotocol/conformance@$SUITE_VERSION" >/dev/null
fi
export PATH="$PREFIX/node_modules/.bin:$PATH"
echo "conformance: suite $(conformance --version), node $(node --version)"

OUT="${1:-$(mktemp -d -t agentkit-conformance.XXXXXX)}"
mkdir -p "$OUT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
SERVER_PID=""
stop_server() { [ -n "$SERVER_PID" ] && { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }; SERVER_PID=""; }
trap stop_server EXIT
# start_server LOG CMD...: start an HTTP server in the background and wait for its "serving http" line.
start_server() {
    local log="$1"; shift
    "$@" 2>"$log" &
    SERVER_PID=$!
    for _ in $(seq 150); do
        grep -q "serving http" "$log" 2>/dev/null && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || { echo "conformance: the server did not start:"; cat "$log"; exit 1; }
        sleep 0.2
    done
    echo "conformance: the server did not say it was serving within 30 s:"; cat "$log"; exit 1
}

# 1. Server scenarios against the agent over HTTP. The suite cannot send a bearer token, hence --no-auth
#    (loopback only). No model endpoint: the task's simulation script answers run_agent.
PORT="$(free_port)"
AGENTKIT_ENDPOINT="http://127.0.0.1:$(free_port)/v1" start_server "$OUT/agent-server.log" \
    "$PYTHON" -m agentkit mcp tests/fixtures/conformance/task.yaml --http --port "$PORT" --no-auth
echo "conformance: server scenarios against the agent (http://127.0.0.1:$PORT/mcp)"
conformance server --url "http://127.0.0.1:$PORT/mcp" --suite active -o "$OUT/server" >"$OUT/server-run.txt" 2>&1 || true
stop_server

# 2. The tool scenarios against the generic adapter, serving fixture tools of the names they call.
PORT="$(free_port)"
start_server "$OUT/adapter-server.log" "$PYTHON" tests/conformance_tools.py "$PORT"
echo "conformance: tool scenarios against the adapter's fixture tools (http://127.0.0.1:$PORT/mcp)"
for scenario in tools-call-simple-text tools-call-image tools-call-audio tools-call-embedded-resource \
    tools-call-mixed-content tools-call-with-logging tools-call-error tools-call-with-progress tools-call-elicitation \
    elicitation-sep1034-defaults elicitation-sep1330-enums json-schema-2020-12; do
    conformance server --url "http://127.0.0.1:$PORT/mcp" --scenario "$scenario" -o "$OUT/adapter" \
        >>"$OUT/adapter-run.txt" 2>&1 || true
done
stop_server

# 3. Client scenarios: every one the suite lists, against tests/conformance_client.py.
echo "conformance: client scenarios against tests/conformance_client.py"
SCENARIOS="$(conformance list | sed -n '/^Client scenarios/,$p' | sed -n 's/^  - \([^ ]*\).*/\1/p')"
for scenario in $SCENARIOS; do
    conformance client --command "$PYTHON tests/conformance_client.py" --scenario "$scenario" --timeout 30000 \
        -o "$OUT/client" >>"$OUT/client-run.txt" 2>&1 || true
done

"$PYTHON" - "$OUT" "$BASELINE" <<'PY'
"""One line per scenario from the suite's checks.json files; compare with the baseline."""
import json, re, sys
from pathlib import Path

import yaml

out, baseline_path = Path(sys.argv[1]), Path(sys.argv[2])
baseline = yaml.safe_load(baseline_path.read_text()) if baseline_path.exists() else {}
stamp = re.compile(r"-\d{4}-\d\d-\d\dT[\d-]+Z$")
status = 0
for mode in ("server", "adapter", "client"):
    results = {}
    for checks in sorted((out / mode).rglob("checks.json")):
        name = stamp.sub("", str(checks.parent.relative_to(out / mode)))
        name = name.removeprefix("server-") if mode != "client" else name
        items = json.loads(checks.read_text())
        failed = [c for c in items if c.get("status") == "FAILURE"]
        results[name] = (len(items) - len(failed), len(items), failed)
    expected = set((baseline or {}).get(mode) or [])
    passed = [n for n, (_, _, f) in results.items() if not f]
    print(f"\n{mode} scenarios: {len(passed)}/{len(results)} pass")
    for name, (ok, total, failed) in results.items():
        mark = "PASS" if not failed else "FAIL"
        why = "" if not failed else " - " + "; ".join(c.get("name", c.get("id", "?")) for c in failed)[:200]
        note = ""
        if failed and name not in expected:
            note, status = "  (NEW FAILURE)", 1
        elif not failed and name in expected:
            note, status = "  (passes now: remove it from the baseline)", 1
        print(f"  {mark} {name} ({ok}/{total} checks){why}{note}")
sys.exit(status)
PY
