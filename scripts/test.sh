#!/usr/bin/env bash
# Sets up what the tests need, then runs them. This is the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/kannel-packages.sh
bash scripts/chromium-packages.sh
bash scripts/scaleout-services.sh install  # PostgreSQL and Redis for the scale-out tests
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2
export BOT_REQUIRE_CHROMIUM=1  # installed above: the report's browser test may not skip
.venv/bin/ruff check bot connectors tests
.venv/bin/bot validate --strict
# two workers on CI's two cores; they share one training of the model (tests/conftest.py); the
# 15 slowest parts are printed, the figures docs/test-suite.md compares
.venv/bin/python -m pytest -n 2 --dist loadgroup --durations=15 "$@"
