#!/usr/bin/env bash
# Installs the real Qwen Code CLI (@qwen-code/qwen-code, which needs Node >= 22) with Node 22 as npm packages
# into $AGENTKIT_QWEN_CODE_HOME (default ~/.cache/agentkit/qwen-code), for tests/test_qwen_code.py.
# Idempotent: fast when the pinned version is there. A failed install is reported; the tests then fail in CI
# (CI=true) and skip elsewhere, saying how to install.
set -euo pipefail
PREFIX="${AGENTKIT_QWEN_CODE_HOME:-$HOME/.cache/agentkit/qwen-code}"
VERSION="0.24.4"
BIN="$PREFIX/node_modules/.bin"
installed() {
    [ -x "$BIN/qwen" ] && [ -x "$BIN/node" ] &&
        grep -q "\"version\": \"$VERSION\"" "$PREFIX/node_modules/@qwen-code/qwen-code/package.json" 2>/dev/null
}
if ! installed; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "install_qwen_code: npm not found; Qwen Code is not installed (tests/test_qwen_code.py needs it)" >&2
        exit 0
    fi
    echo "install_qwen_code: npm install node@22 @qwen-code/qwen-code@$VERSION into $PREFIX"
    mkdir -p "$PREFIX"
    npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error node@22 "@qwen-code/qwen-code@$VERSION" >/dev/null ||
        echo "install_qwen_code: WARNING: npm install failed; tests/test_qwen_code.py cannot run" >&2
fi
installed && echo "install_qwen_code: Qwen Code $VERSION ready ($BIN/qwen, node $("$BIN/node" --version))"
exit 0
