"""``bot serve``'s scale-out settings: which database, which lock store, how long a lease; a wrong
value stops the command at once with what is expected, before any model is loaded."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli.serve import database
from tests.connectors.harness import free_port
from tests.paths import PROJECT

SECRET = "s3cret-pw"


@pytest.mark.parametrize("variable, value, says", [
    ("BOT_LEASE_SECONDS", "abc", "BOT_LEASE_SECONDS: cần một số giây từ 1 đến 3600"),
    ("BOT_LEASE_SECONDS", "0.2", "BOT_LEASE_SECONDS: cần một số giây từ 1 đến 3600"),
    ("DATABASE_URL", "not a url", "DATABASE_URL: không đọc được URL"),
    ("REDIS_URL", "http://127.0.0.1:6379", "REDIS_URL: cần dạng redis://"),
    ("REDIS_URL", "redis://127.0.0.1:6379/one", "REDIS_URL: cần dạng redis://"),
    ("DATABASE_URL", f"postgresql://bot:{SECRET}@127.0.0.1:{{port}}/bot", "không kết nối được cơ sở dữ liệu"),
])
def test_a_wrong_setting_stops_serve_and_says_what_is_expected(variable, value, says, monkeypatch,
                                                                tmp_path, capsys):
    credentials = tmp_path / "credentials.yml"
    credentials.write_text("", encoding="utf-8")
    monkeypatch.setenv(variable, value.format(port=free_port()))  # nothing listens on that port
    assert main(["serve", "--credentials", str(credentials)]) == 2
    err = capsys.readouterr().err
    assert says in err and SECRET not in err


@pytest.mark.parametrize("db, environment, url", [
    (None, None, f"sqlite:///{PROJECT.database}"),
    (None, "postgresql://bot@10.0.0.5/bot", "postgresql://bot@10.0.0.5/bot"),
    ("other.db", "postgresql://bot@10.0.0.5/bot", "sqlite:///other.db"),  # --db says so explicitly
])
def test_the_database_is_db_then_database_url_then_the_sqlite_default(db, environment, url, monkeypatch,
                                                                      tmp_path):
    monkeypatch.chdir(tmp_path)
    if environment:
        monkeypatch.setenv("DATABASE_URL", environment)
    else:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    args = argparse.Namespace(db=Path(db) if db else None)
    assert database(args, PROJECT) == url
