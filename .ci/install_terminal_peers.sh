#!/usr/bin/env bash
# pyte: a terminal emulator, so the live-view tests read the screen a user sees (not the raw bytes).
set -euo pipefail
python -c "import pyte" 2>/dev/null || python -m pip install -q "pyte>=0.8"
