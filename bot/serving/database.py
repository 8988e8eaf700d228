"""Which database and which lock store the assistant uses, decided in one place.

- ``DATABASE_URL`` (a SQLAlchemy URL, e.g. ``postgresql://bot:secret@db:5432/bot``): every table
  of ours (``bot.serving.store``, ``bot.serving.reminders`` and any module adding its own) and
  Rasa's tracker store. Unset: the embedded default, the SQLite file ``var/bot.db`` (or ``--db``).
- ``REDIS_URL`` (``redis://[:password@]host:port/db``): Rasa's ``RedisLockStore`` instead of its
  in-memory lock store, so that several ``bot serve`` processes never run two turns of one
  conversation at once.

A module with its own tables takes the URL from ``configured_url`` (or the ``Store`` it is given,
``store.url`` / ``store.engine``) and its engine from ``new_engine(url)``, which applies the SQLite
settings or, on a server, tests pooled connections before use.

SQLite file: connections are kept in a pool (SQLAlchemy 1.4 otherwise opens the file anew for
every session: 32.5 ms a transaction instead of 9.7 ms was measured on the loaded machine), in WAL
mode (readers never block the webhook's writes) with ``synchronous=NORMAL``: a commit no longer
waits for the disk; the WAL is synced at checkpoints and by any ``durable`` commit.

What a power cut (or an operating-system crash; a killed process loses nothing) may cost: the
transactions committed since the last sync of the WAL, i.e. the last moments' answers, tracker
events, reply states and journal rows. The database stays consistent (SQLite loses a suffix of
the WAL, whole transactions in order), so the worker's guarantees degrade to what a killed worker
already gives (``bot.serving.worker``): a message whose answer was lost is answered again, a reply
whose ``sent`` mark was lost is sent again. The inbox's promise is kept whole: ``Store.accept``
writes through a ``durable=True`` engine (``synchronous=FULL``), so a message acknowledged to the
platform is on disk, and with it everything committed before it.
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
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.pool import QueuePool

from bot.contract import ConfigError

DATABASE_URL_VARIABLE = "DATABASE_URL"
REDIS_URL_VARIABLE = "REDIS_URL"
SQLITE_BUSY_TIMEOUT_MS = 10000
# Connections kept open per engine on a SQLite file: the event loop uses one at a time, the claims'
# heartbeat thread and the webhooks may each want another.
SQLITE_POOL_SIZE = 4
SQLITE_POOL_OVERFLOW = 8

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


def is_sqlite_file(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")


def new_engine(url: str, durable: bool = False) -> Engine:
    """A SQLAlchemy engine for ``url`` with the settings this project relies on. On a SQLite file,
    ``durable``: every commit waits for the disk (``synchronous=FULL``), for what must survive a
    power cut; otherwise ``synchronous=NORMAL`` (see the module's docstring)."""
    if is_sqlite_file(url):
        engine = create_engine(url, future=True, poolclass=QueuePool, pool_size=SQLITE_POOL_SIZE,
                               max_overflow=SQLITE_POOL_OVERFLOW,
                               connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas_full if durable else _sqlite_pragmas)
        return engine
    if is_sqlite(url):
        engine = create_engine(url, future=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # a server restarted under us leaves dead connections in the pool: test each before use
    return create_engine(url, future=True, pool_pre_ping=True)


# What SQLite says to a process creating the tables beside another (`bot serve --workers` on one
# file): the table came first from the other, or the other holds the write lock while this one's
# read of the schema would become a write (SQLite answers that at once, busy_timeout or not).
SQLITE_CONCURRENT_CREATE = ("already exists", "database is locked")


def create_tables(metadata: MetaData, engine: Engine, attempts: int = 8) -> None:
    """``metadata.create_all``, tried again when another process starting at the same moment
    created the same table first or was creating one: PostgreSQL then refuses the second
    CREATE, SQLite answers one of ``SQLITE_CONCURRENT_CREATE``."""
    for attempt in range(attempts):
        try:
            metadata.create_all(engine)
            return
        except (IntegrityError, ProgrammingError, OperationalError) as error:
            if attempt == attempts - 1 or (isinstance(error, OperationalError) and not any(
                    message in str(error) for message in SQLITE_CONCURRENT_CREATE)):
                raise
            time.sleep(0.2 * (attempt + 1))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, synchronous: str = "NORMAL") -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")  # first: WAL needs a lock
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the webhook's writes
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.close()


def _sqlite_pragmas_full(dbapi_connection: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_connection, record, "FULL")


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
