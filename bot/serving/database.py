"""Which database and which lock store the assistant uses, decided in one place.

- ``DATABASE_URL`` (a SQLAlchemy URL, e.g. ``postgresql://bot:secret@db:5432/bot``): every table
  of ours (``bot.serving.store``, ``bot.serving.reminders`` and any module adding its own) and
  Rasa's tracker store. Unset: the embedded default, the SQLite file ``var/bot.db`` (or ``--db``).
- ``REDIS_URL`` (``redis://[:password@]host:port/db``): Rasa's ``RedisLockStore`` instead of its
  in-memory lock store, so that several ``bot serve`` processes never run two turns of one
  conversation at once.

A module with its own tables takes the URL from ``configured_url`` (or the ``Store`` it is given,
``store.url`` / ``store.engine``) and its engine from ``new_engine(url)``, which applies the SQLite
settings (WAL, busy timeout) or, on a server, tests pooled connections before use.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, ProgrammingError

from bot.contract import ConfigError

DATABASE_URL_VARIABLE = "DATABASE_URL"
REDIS_URL_VARIABLE = "REDIS_URL"
SQLITE_BUSY_TIMEOUT_MS = 10000

def database_url(database: Path | str) -> str:
    """A SQLAlchemy URL: a path is a SQLite file (its folder is created), a string a URL."""
    if isinstance(database, Path):
        database.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{database}"
    return database


def configured_url(default: Path, environ: Mapping[str, str] = os.environ) -> str:
    """``DATABASE_URL`` when it is set, else the SQLite file ``default``."""
    url = (environ.get(DATABASE_URL_VARIABLE) or "").strip()
    return url or database_url(default)


def redis_url(environ: Mapping[str, str] = os.environ) -> str | None:
    """``REDIS_URL`` when it is set: conversations are locked in Redis, across processes."""
    return (environ.get(REDIS_URL_VARIABLE) or "").strip() or None


def checked_url(url: str) -> str:
    """``url`` if SQLAlchemy can read it, else ``ConfigError`` saying what is expected (never the
    URL itself: it may hold a password)."""
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except ArgumentError:
        raise ConfigError(f"{DATABASE_URL_VARIABLE}: không đọc được URL; cần dạng "
                          f"postgresql://người_dùng:mật_khẩu@máy:5432/tên_db") from None
    return url


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def shown(url: str) -> str:
    """The URL with its password hidden, for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


def new_engine(url: str) -> Engine:
    """A SQLAlchemy engine for ``url`` with the settings this project relies on."""
    if is_sqlite(url):
        engine = create_engine(url, future=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # a server restarted under us leaves dead connections in the pool: test each before use
    return create_engine(url, future=True, pool_pre_ping=True)


def create_tables(metadata: MetaData, engine: Engine, attempts: int = 5) -> None:
    """``metadata.create_all``, tried again when another process starting at the same moment
    created the same table first (PostgreSQL then refuses the second CREATE)."""
    for attempt in range(attempts):
        try:
            metadata.create_all(engine)
            return
        except (IntegrityError, ProgrammingError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the webhook's writes
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def redis_parts(url: str) -> dict[str, Any]:
    """``RedisLockStore``'s arguments from ``url``; ``ConfigError`` if it is not a Redis URL."""
    parts = urlsplit(url)
    db = parts.path.strip("/") or "0"
    if parts.scheme not in ("redis", "rediss") or not parts.hostname or not db.isdigit():
        raise ConfigError(f"{REDIS_URL_VARIABLE}: cần dạng redis://[:mật_khẩu@]máy:cổng/số_db, "
                          f"ví dụ redis://127.0.0.1:6379/1")
    return {"host": parts.hostname, "port": parts.port or 6379, "db": int(db),
            "username": parts.username or None, "password": parts.password or None,
            "use_ssl": parts.scheme == "rediss"}


def redis_lock_store(url: str) -> Any:
    """Rasa's ``RedisLockStore`` on ``url``: a conversation's turns run one at a time across every
    process sharing it (Rasa 3.6.21, rasa/core/lock_store.py)."""
    from rasa.core.lock_store import RedisLockStore

    return RedisLockStore(**redis_parts(url))
