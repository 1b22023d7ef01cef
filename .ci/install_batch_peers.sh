#!/usr/bin/env bash
# Installs what the batch tests need beyond the core: Ray (--ray, the `agentkit[ray]` extra) and pyarrow
# (Parquet items). Idempotent; fast when both are there. The tests fail in CI when either is missing.
set -uo pipefail
PYTHON="${PYTHON:-python}"
if "$PYTHON" -c "import ray, pyarrow" >/dev/null 2>&1; then
    echo "install_batch_peers: ray and pyarrow ready"
    exit 0
fi
echo "install_batch_peers: pip install 'ray>=2.9' 'pyarrow>=14'"
"$PYTHON" -m pip install --quiet --disable-pip-version-check "ray>=2.9" "pyarrow>=14" ||
    echo "install_batch_peers: WARNING: could not install ray/pyarrow; the batch tests that need them fail in CI" >&2
exit 0
