#!/usr/bin/env bash
# Installs the newest vLLM and SGLang wheels WITHOUT their GPU dependencies into their own venv
# ($AGENTKIT_ENGINES_VENV, default ~/.cache/agentkit/engines-venv; it sees the system site-packages for
# torch and transformers), plus the few pure dependencies their argument parsers import. Used by
# tests/test_serving_engines.py, which parses every command the planner emits with the engines' own
# parsers. Idempotent: fast when installed; AGENTKIT_ENGINES_UPGRADE=1 fetches newer releases.
set -euo pipefail
PYTHON="${PYTHON:-python}"
VENV="${AGENTKIT_ENGINES_VENV:-$HOME/.cache/agentkit/engines-venv}"
# What `import vllm.entrypoints...` / `sglang.srt.server_args` pull in beyond torch/transformers/fastapi.
PARSER_DEPS=(psutil pyzmq pybase64 cachetools msgspec prometheus-client openai-harmony cbor2 uvloop
  partial-json-parser llguidance xgrammar apache-tvm-ffi triton)
ready() {
  "$VENV/bin/python" - "${PARSER_DEPS[@]}" <<'PY' >/dev/null 2>&1
import importlib.metadata as m, sys
for name in ["vllm", "sglang", *sys.argv[1:]]:
    m.version(name)
PY
}
if [[ -x $VENV/bin/python ]] && ready && [[ -z ${AGENTKIT_ENGINES_UPGRADE:-} ]]; then
  echo "install_engines_parsers: vllm $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("vllm"))')," \
    "sglang $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("sglang"))') ready in $VENV"
  exit 0
fi
start=$SECONDS
[[ -x $VENV/bin/python ]] || "$PYTHON" -m venv --system-site-packages "$VENV"
echo "install_engines_parsers: pip install --no-deps vllm sglang ${PARSER_DEPS[*]} into $VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade --no-deps \
  vllm sglang "${PARSER_DEPS[@]}" 2>&1 | grep -v -e "^ERROR: pip's dependency resolver" -e " requires " -e "which is incompatible" || true
ready || { echo "install_engines_parsers: the install is incomplete (see above)" >&2; exit 1; }
echo "install_engines_parsers: done in $((SECONDS - start)) s"
