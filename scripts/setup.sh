#!/usr/bin/env bash
# Installs everything memefeed needs into .venv (only Python 3.11+ is required on the machine)
# and prepares the dbt manifest that the Dagster definitions load.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -m uv --version >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check uv
fi
# Imports are twice as slow without bytecode where PYTHONDONTWRITEBYTECODE is set.
export UV_COMPILE_BYTECODE=1
python3 -m uv sync --frozen --quiet
.venv/bin/memefeed prepare
