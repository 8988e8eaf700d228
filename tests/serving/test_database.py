"""Database setup shared by the store, the journal and the reminders."""

from __future__ import annotations

import threading

from sqlalchemy import Column, Integer, MetaData, Table, inspect

from bot.serving.database import create_tables, new_engine

STARTERS = 8  # processes (here threads, each with its own engine) creating the tables at once
TABLES = 6


def _start_together(url: str, metadata: MetaData) -> list[Exception]:
    """What ``STARTERS`` engines on ``url`` raise when they create ``metadata`` at one moment."""
    barrier, failures = threading.Barrier(STARTERS, timeout=30), []

    def start() -> None:
        engine = new_engine(url)
        barrier.wait()
        try:
            create_tables(metadata, engine)
        except Exception as error:  # noqa: BLE001 - any failure is the finding
            failures.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=start) for _ in range(STARTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return failures


def test_answering_processes_starting_together_on_one_sqlite_file_all_start(tmp_path):
    # `bot serve --workers 2` on the embedded SQLite: both create the tables at the same moment,
    # and SQLite tells the slower one that a table "already exists", or that the "database is
    # locked" by the other's CREATE; it must start all the same
    for attempt in range(5):
        url = f"sqlite:///{tmp_path / f'bot{attempt}.db'}"
        metadata = MetaData()
        for index in range(TABLES):
            Table(f"table{index}", metadata, Column("id", Integer, primary_key=True))
        failures = _start_together(url, metadata)
        assert not failures, failures[0]
        assert len(inspect(new_engine(url)).get_table_names()) == TABLES
