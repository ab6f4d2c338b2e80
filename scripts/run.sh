#!/usr/bin/env bash
# The main job. With no DATABASE_URL / REDIS_URL it starts embedded PostgreSQL and Redis under
# .memefeed/; with no TELEGRAM_BOT_TOKEN it drives simulated users through a local Bot API
# emulator and prints a summary. Extra arguments go to `memefeed run` (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/memefeed run "$@"
