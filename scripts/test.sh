#!/usr/bin/env bash
# Sets up what the tests need, then runs them. This is the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# every process of the suite reads the project's modules compiled once (under
# PYTHONDONTWRITEBYTECODE=1, as here, each one would compile them again)
.venv/bin/python -m compileall -q bot connectors tests bench >/dev/null
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2
# The session's model trains from here on, beside the Debian packages, ruff and bot validate
# (little CPU); pytest's workers find it started in this folder (tests/session_model.py).
session=$(mktemp -d)
export BOT_TEST_SESSION_MODEL="$session/session-model"
mkdir "$BOT_TEST_SESSION_MODEL"
echo "scripts/test.sh" >"$BOT_TEST_SESSION_MODEL/started"
(
  set +e
  sh -c 'echo $$ >"$1/training.pid"; exec .venv/bin/python -m tests.session_model "$1"' \
    training "$BOT_TEST_SESSION_MODEL" >"$BOT_TEST_SESSION_MODEL/training.log" 2>&1
  echo $? >"$BOT_TEST_SESSION_MODEL/exit-code.tmp"
  mv "$BOT_TEST_SESSION_MODEL/exit-code.tmp" "$BOT_TEST_SESSION_MODEL/exit-code"
) &
# a failed step or an interrupted run does not leave the training running
trap '[ -e "$BOT_TEST_SESSION_MODEL/exit-code" ] || kill "$(cat "$BOT_TEST_SESSION_MODEL/training.pid")" 2>/dev/null; wait; rm -rf "$session"' EXIT
bash scripts/kannel-packages.sh
bash scripts/chromium-packages.sh
bash scripts/scaleout-services.sh install  # PostgreSQL and Redis for the scale-out tests
export BOT_REQUIRE_CHROMIUM=1  # installed above: the report's browser test may not skip
.venv/bin/ruff check bot connectors tests
.venv/bin/bot validate --strict
# two workers on CI's two cores; they share one training of the model (tests/conftest.py); the
# 15 slowest parts are printed, the figures docs/test-suite.md compares
.venv/bin/python -m pytest -n 2 --dist loadgroup --durations=15 "$@"
