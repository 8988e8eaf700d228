"""`bot serve` with a malformed setting stops before the heavy part of its start: the environment's
settings before Rasa is imported at all, the connectors' before the catalogue and the model (on the
loaded benchmark machine: about 2 s and 11 s, against 39 s before; docs/benchmarks.md, "Cold start
and memory, after")."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.paths import REPO

# `bot serve` run by main() in a child, which then says which libraries it had imported.
CHILD = """
import json, sys
from bot.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "imported": sorted(m for m in ("rasa", "rasa.core.agent", "skops.io",
                  "sanic", "vietnamadminunits") if m in sys.modules)}))
"""
TELEGRAM = """connectors.telegram.TelegramConnector:
  token: ${TELEGRAM_TOKEN}
  secret_token: ${TELEGRAM_SECRET_TOKEN}
  base_url: ${TELEGRAM_BASE_URL:-https://api.telegram.org/bot}
"""
SET_TELEGRAM = {"TELEGRAM_TOKEN": "7000000001:AAH-fake", "TELEGRAM_SECRET_TOKEN": "secret-1"}
HEAVY = ["rasa.core.agent", "skops.io", "vietnamadminunits"]  # the model, the address book


@pytest.mark.parametrize("environment, says, imported", [
    ({"BOT_LEASE_SECONDS": "abc"}, "BOT_LEASE_SECONDS: cần một số giây từ 1 đến 3600", []),
    ({"DATABASE_URL": "not a url"}, "DATABASE_URL: không đọc được URL", []),
    ({"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL: cần dạng redis://", []),
    ({**SET_TELEGRAM, "TELEGRAM_BASE_URL": "ftp://api.telegram.org"}, "base_url: not an http(s) URL",
     ["rasa", "sanic"]),
    ({"BOT_RETENTION_DAYS": "-3"}, "BOT_RETENTION_DAYS", ["rasa", "sanic"]),
])
def test_a_malformed_setting_stops_serve_before_rasa_and_the_model(
        environment, says, imported, tmp_path):
    credentials = tmp_path / "credentials.yml"
    credentials.write_text(TELEGRAM, encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "DATABASE_URL", "REDIS_URL", "BOT_"))}
    env.update(environment, BOT_ROOT=str(tmp_path), PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", CHILD, "serve", "--credentials", str(credentials)],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    state = json.loads(done.stdout.splitlines()[-1])
    assert state["code"] == 2
    assert says in done.stderr
    loaded = [m for m in state["imported"] if m in ("rasa", "sanic")]
    assert loaded == imported
    assert not set(HEAVY) & set(state["imported"])
