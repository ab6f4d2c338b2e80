#!/usr/bin/env bash
# The whole suite: lint, format check, unit, integration (real PostgreSQL and Redis: the ones at
# 127.0.0.1 when they answer, embedded ones otherwise) and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy bot ingestion orchestration memefeed tests
exec .venv/bin/pytest -q "$@"
