#!/usr/bin/env bash
# Installs the real Gemini CLI (@google/gemini-cli) with Node 22 as npm packages
# into $AGENTKIT_GEMINI_CLI_HOME (default ~/.cache/agentkit/gemini-cli), for tests/test_gemini_cli.py.
# Idempotent: fast when the pinned version is there. A failed install is reported; the tests then fail in CI
# (CI=true) and skip elsewhere, saying how to install.
set -euo pipefail
PREFIX="${AGENTKIT_GEMINI_CLI_HOME:-$HOME/.cache/agentkit/gemini-cli}"
VERSION="0.61.0"
BIN="$PREFIX/node_modules/.bin"
installed() {
    [ -x "$BIN/gemini" ] && [ -x "$BIN/node" ] &&
        grep -q "\"version\": \"$VERSION\"" "$PREFIX/node_modules/@google/gemini-cli/package.json" 2>/dev/null
}
if ! installed; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "install_gemini_cli: npm not found; Gemini CLI is not installed (tests/test_gemini_cli.py needs it)" >&2
        exit 0
    fi
    echo "install_gemini_cli: npm install node@22 @google/gemini-cli@$VERSION into $PREFIX"
    mkdir -p "$PREFIX"
    npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error node@22 "@google/gemini-cli@$VERSION" >/dev/null ||
        echo "install_gemini_cli: WARNING: npm install failed; tests/test_gemini_cli.py cannot run" >&2
fi
installed && echo "install_gemini_cli: Gemini CLI $VERSION ready ($BIN/gemini, node $("$BIN/node" --version))"
exit 0
