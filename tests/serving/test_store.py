"""The outbox remembers why a message failed, and ``bot outbox`` groups failures by that kind."""

from __future__ import annotations

import sqlite3
import time

import pytest

from bot.cli import main
from bot.contract import SendFailure
from bot.serving.store import Store


def _queue(store: Store, recipient: str, texts: list[str]) -> list:
    store.accept("telegram", f"u-{recipient}", recipient, "hi")
    inbound = [m for m in store.pending_inbound() if m.sender == recipient][0]
    store.answer(inbound.id, "telegram", recipient, [(t, ()) for t in texts])
    return [m for m in store.due_outbound(now=time.time() + 1) if m.recipient == recipient]


@pytest.mark.parametrize("kind", list(SendFailure))
def test_a_failure_is_stored_with_its_kind(tmp_path, kind):
    store = Store.sqlite(tmp_path / "bot.db")
    (message,) = _queue(store, "42", ["a"])
    store.mark_failed(message.id, "reason", kind.value)
    (failed,) = store.failed_outbound()
    assert (failed.kind, failed.reason) == (kind.value, "reason")
    assert store.failure_counts() == {("telegram", kind.value): 1}


def test_bot_outbox_groups_failures_by_kind(tmp_path, capsys):
    store = Store.sqlite(tmp_path / "bot.db")
    blocked = _queue(store, "1001", ["a", "b"])
    refused = _queue(store, "1002", ["c"])
    for message in blocked:
        store.mark_failed(message.id, "Forbidden: bot was blocked by the user", "contact_stopped")
    store.mark_failed(refused[0].id, "BadRequest: message is too long", "rejected")
    assert main(["outbox", "--db", str(tmp_path / "bot.db")]) == 0
    out = capsys.readouterr().out
    assert "failed for good, by kind: telegram contact_stopped 2, telegram rejected 1" in out
    assert "(contact_stopped): Forbidden: bot was blocked by the user" in out


def test_a_database_from_before_the_kind_column_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.db"
    Store.sqlite(path)
    with sqlite3.connect(path) as db:  # the outbox as an older version created it
        db.execute("ALTER TABLE outbound DROP COLUMN failure_kind")
        db.execute("INSERT INTO outbound (channel, recipient, payload, meta, state, attempts, in_flight,"
                   " next_attempt_at, last_error, created_at) VALUES ('sms', '849', '{}', '{}', 'failed',"
                   " 5, 0, 0, 'old failure', 0)")
    store = Store.sqlite(path)
    (failed,) = store.failed_outbound()
    assert (failed.kind, failed.reason) == ("unknown", "old failure")


def _dead_pid() -> int:
    """The id of a process that has just ended on this machine."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_restart_releases_only_the_claims_of_this_machines_ended_processes(tmp_path):
    import os

    from bot.serving.worker import INBOX, OUTBOX, process_alive, this_host

    store = Store.sqlite(tmp_path / "bot.db")
    now = time.time()
    host, dead = this_host(), _dead_pid()
    holders = {  # sender -> the worker id holding its claim, and whether a restart releases it
        "killed": (f"{host}:{dead}:0a1b2c3d", True),
        "running": (f"{host}:{os.getpid()}:0a1b2c3d", False),
        "other-machine": (f"not-{host}:{dead}:0a1b2c3d", False),
        "not-a-worker-id": ("someone", False),
    }
    for sender, (worker, _) in holders.items():
        for kind in (INBOX, OUTBOX):
            assert store.claim(kind, "telegram", sender, worker, now=now, lease=30)

    assert store.release_claims_of_dead_processes(host, process_alive) == 2
    held = store.held_claims(INBOX, now) | store.held_claims(OUTBOX, now)
    assert {sender for _, sender in held} == {s for s, (_, freed) in holders.items() if not freed}
