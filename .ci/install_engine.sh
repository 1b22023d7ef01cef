#!/usr/bin/env bash
# Installs torch (the CPU build this machine kind keeps on disk) and transformers for the in-process
# engine's tests. Idempotent; a failure is reported and those tests skip, saying why.
set -uo pipefail
PYTHON="${PYTHON:-python}"
if "$PYTHON" -c "import torch, transformers" >/dev/null 2>&1; then
    echo "install_engine: torch and transformers ready"
    exit 0
fi
echo "install_engine: pip install torch==2.13.0 'transformers>=4.51'"
"$PYTHON" -m pip install --quiet --disable-pip-version-check "torch==2.13.0" "transformers>=4.51" ||
    echo "install_engine: WARNING: could not install torch/transformers; the Transformers engine tests will skip" >&2
exit 0
