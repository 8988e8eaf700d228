"""PostgreSQL and Redis for the scale-out tests, started once per session on 127.0.0.1.

``scripts/scaleout-services.sh`` does the work (``start`` and ``stop``); the session fixture stops
both servers at the end even when a test failed. Each test gets a database of its own
(``pg_url``), dropped afterwards. Without the Debian packages (``scaleout-services.sh install``,
which ``scripts/test.sh`` runs) the tests are skipped and say so.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.paths import REPO

SCRIPT = REPO / "scripts" / "scaleout-services.sh"


@dataclass(frozen=True)
class Services:
    database_url: str  # the cluster's `bot` database; tests make their own beside it
    redis_url: str


def _installed() -> bool:
    return bool(shutil.which("redis-server")) and any(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    if not _installed():
        pytest.skip("PostgreSQL or Redis not installed: bash scripts/scaleout-services.sh install")
    folder = tempfile.mkdtemp(prefix="bot-scaleout-")
    try:
        started = subprocess.run(["bash", str(SCRIPT), "start", folder], capture_output=True, text=True,
                                 timeout=120)
        assert started.returncode == 0, started.stderr
        urls = dict(line.split("=", 1) for line in started.stdout.split() if "=" in line)
        yield Services(urls["DATABASE_URL"], urls["REDIS_URL"])
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", folder], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_url(services: Services) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test."""
    from sqlalchemy import create_engine, text

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(services.database_url, isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        yield services.database_url.rsplit("/", 1)[0] + f"/{name}"
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    finally:
        admin.dispose()
