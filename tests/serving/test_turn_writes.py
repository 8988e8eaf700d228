"""One commit a turn: the turn's tracker events, turn record, rating offer and SMS pages are written
with its answer, or not at all when the answer is not (a lost claim, a killed worker).

Real components on a SQLite file: the store, the journal, the ratings, Rasa's (masking) tracker
store. The worker's side of it, through a whole turn, is in ``test_worker.py`` and
``test_crash.py``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from bot.contract import Topic
from bot.serving.engine import TRACKER_EVENTS_TABLE, sql_tracker_store
from bot.serving.journal import Journal, Turn
from bot.serving.ratings import Ratings
from bot.serving.store import INBOX, ClaimLost, Store, turn_writes

SENDER = "84901234567"
WORKER = "host:1:abc"


def _offer(store: Store) -> None:
    Ratings(store).ask("sms", SENDER, Topic("khai_sinh", "fee"), "Le phi: mien phi")


def _record(store: Store) -> None:
    Journal(store).record(time.time(), "sms", SENDER, "le phi khai sinh", Turn("answered", "ask_fee"))


def _pages(store: Store) -> None:
    store.set_pages("sms", SENDER, ["trang 2", "trang 3"])


def _events(store: Store) -> None:
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker_store = sql_tracker_store(store.url)
    tracker = DialogueStateTracker(SENDER, [])
    intent = {"name": "ask_fee", "confidence": 1.0}
    tracker.update(UserUttered("le phi khai sinh", parse_data={"intent": intent}))
    asyncio.run(tracker_store.save(tracker))


# what a turn writes besides its answer, and the table a citizen's trace of it lands in
WRITES = [(_offer, "rating_prompts"), (_record, "turns"), (_pages, "pending_pages"),
          (_events, TRACKER_EVENTS_TABLE)]


def _count(db, table: str) -> int:
    with sqlite3.connect(db) as connection:
        return connection.execute(f'SELECT count(*) FROM "{table}" WHERE rowid > 0').fetchone()[0]


@pytest.fixture
def turn(tmp_path):
    db = tmp_path / "bot.db"
    store = Store.sqlite(db)
    store.accept("sms", "p1", SENDER, "le phi khai sinh")
    (message,) = store.pending_inbound()
    store.claim(INBOX, "sms", SENDER, WORKER, time.time(), 60)
    return db, store, message


@pytest.mark.parametrize(("write", "table"), WRITES)
def test_outside_a_turn_a_write_is_committed_at_once(turn, write, table):
    db, store, _ = turn
    write(store)
    assert _count(db, table) > 0


@pytest.mark.parametrize(("write", "table"), WRITES)
def test_in_a_turn_a_write_waits_for_the_answer_and_goes_with_it(turn, write, table):
    db, store, message = turn
    with turn_writes(store.engine):
        write(store)
        assert _count(db, table) == 0  # a worker killed here leaves nothing of the turn
        store.answer(message.id, "sms", SENDER, [("Le phi: mien phi", ())], worker=WORKER)
    assert _count(db, table) > 0
    assert _count(db, "outbound") == 1


@pytest.mark.parametrize(("write", "table"), WRITES)
def test_a_turn_whose_claim_was_lost_writes_nothing(turn, write, table):
    db, store, message = turn
    store.release(INBOX, "sms", SENDER, WORKER)
    store.claim(INBOX, "sms", SENDER, "other:2:def", time.time(), 60)
    with turn_writes(store.engine), pytest.raises(ClaimLost):
        write(store)
        store.answer(message.id, "sms", SENDER, [("Le phi: mien phi", ())], worker=WORKER)
    assert _count(db, table) == 0
    assert _count(db, "outbound") == 0


def test_the_tracker_read_in_a_turn_holds_the_events_the_turn_saved(turn):
    from rasa.shared.core.domain import Domain

    db, store, message = turn
    tracker_store = sql_tracker_store(store.url)
    tracker_store.domain = Domain.empty()
    with turn_writes(store.engine):
        _events(store)
        read = asyncio.run(tracker_store.retrieve(SENDER))  # e.g. the handover's transcript
        assert read is not None and read.latest_message.text == "le phi khai sinh"
        store.answer(message.id, "sms", SENDER, [("Le phi: mien phi", ())], worker=WORKER)
    after = asyncio.run(tracker_store.retrieve(SENDER))
    assert [e.as_dict() for e in after.events] == [e.as_dict() for e in read.events]


def test_a_turn_record_that_cannot_be_written_does_not_hold_the_answer_back(turn, caplog):
    db, store, message = turn
    journal = Journal(store)
    with sqlite3.connect(db) as connection:  # a turns table some other version left behind
        connection.execute("DROP TABLE turns")
        connection.execute("CREATE TABLE turns (id INTEGER PRIMARY KEY, at DATETIME)")
    with turn_writes(store.engine):
        journal.record(time.time(), "sms", SENDER, "le phi khai sinh", Turn("answered"))
        _pages(store)
        store.answer(message.id, "sms", SENDER, [("Le phi: mien phi", ())], worker=WORKER)
    assert _count(db, "outbound") == 1  # the citizen is answered
    assert _count(db, "pending_pages") == 1  # and the turn's other writes are kept
    assert _count(db, "turns") == 0
    assert "journal: turn not recorded" in caplog.text
