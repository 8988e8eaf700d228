"""The turn journal: each turn's outcome as the dialogue produced it, stored masked; retention."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.contract import ConfigError
from bot.serving.journal import Journal, Turn, read_turn
from bot.serving.retention import DEFAULT_RETENTION_DAYS, purge, retention_days
from bot.serving.store import Store

WHICH = ["/ask_fee{\"group\":\"cu_tru\"}", "/ask_fee{\"group\":\"ho_tich\"}"]


def _tracker(intent: str, confidence: float, actions: list[str], slots: dict,
             entities: list[dict] | None = None, before: list | None = None):
    from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    events = list(before or [])
    events.append(UserUttered("...", intent={"name": intent, "confidence": confidence},
                              entities=entities or []))
    for action in actions:
        events.append(ActionExecuted(action))
    events += [SlotSet(key, value) for key, value in slots.items()]
    events.append(ActionExecuted("action_listen"))
    return DialogueStateTracker.from_events("someone", events)


def _earlier_turn():
    from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered

    return [UserUttered("le phi", intent={"name": "ask_fee", "confidence": 0.9}),
            ActionExecuted("action_answer"), SlotSet("options", ["/ask_fee{\"procedure\":\"khai_sinh\"}",
                                                                 "/ask_fee{\"procedure\":\"ket_hon\"}"])]


PROC = {"entity": "procedure", "value": "khai_sinh"}
OTHER = {"entity": "other_procedure", "value": "ho_chieu"}

# (what the dialogue did, the outcome and the procedure and aspect recorded)
CASES = [
    ("aspect answered", ("ask_fee", 0.93, ["action_answer"], {"procedure": "khai_sinh", "aspect": "fee"},
                         [PROC]), Turn("answered", "ask_fee", 0.93, "khai_sinh", "fee")),
    ("follow-up keeps the procedure", ("ask_where", 0.81, ["action_answer"],
                                       {"procedure": "khai_sinh", "aspect": "where"}),
     Turn("answered", "ask_where", 0.81, "khai_sinh", "where")),
    ("answered, unsure", ("ask_documents", 0.45, ["action_answer"],
                          {"procedure": "ket_hon", "aspect": "documents"}),
     Turn("low_confidence", "ask_documents", 0.45, "ket_hon", "documents")),
    ("help line", ("nlu_fallback", 0.4, ["utter_help"], {}), Turn("fallback", "nlu_fallback", 0.4)),
    ("which procedure", ("ask_fee", 0.88, ["action_answer"], {"options": WHICH}),
     Turn("clarification", "ask_fee", 0.88, None, "fee")),
    ("out of scope", ("out_of_scope", 0.97, ["action_out_of_scope", "utter_out_of_scope"],
                      {"options": WHICH, "aspect": None}), Turn("out_of_scope", "out_of_scope", 0.97)),
    ("not covered", ("ask_documents", 0.9, ["action_answer"], {"procedure": None, "aspect": None},
                     [OTHER]), Turn("not_covered", "ask_documents", 0.9, None, "documents")),
    ("greeting", ("greet", 0.99, ["utter_greet"], {}), Turn("answered", "greet", 0.99)),
    ("a digit picks an option", ("choose_option", 0.98, ["action_choose_option"],
                                 {"procedure": "khai_sinh", "aspect": "fee"},
                                 [{"entity": "number", "value": "2"}]),
     Turn("answered", "choose_option", 0.98, "khai_sinh", "fee")),
    ("a number with nothing to pick", ("choose_option", 0.95, ["action_choose_option"], {"options": WHICH},
                                       [{"entity": "number", "value": "7912345678"}]),
     Turn("fallback", "choose_option", 0.95)),
]


@pytest.mark.parametrize("name, turn, expected", CASES, ids=[c[0] for c in CASES])
def test_the_outcome_is_what_the_dialogue_did(name, turn, expected):
    intent, confidence, actions, slots, *entities = turn
    tracker = _tracker(intent, confidence, actions, slots, entities[0] if entities else None,
                       before=_earlier_turn())
    assert read_turn(tracker) == expected


def _rows(db):
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT channel, sender, outcome, text FROM turns ORDER BY id").fetchall()


def test_turns_are_stored_masked_and_forgotten_per_sender(tmp_path):
    db = tmp_path / "bot.db"
    journal = Journal(Store.sqlite(db), clock=lambda: 1_800_000_000.0)
    journal.record(1_800_000_000.0, "sms", "84911222333", "CCCD 001099012345 sdt 0912 345 678",
                   Turn("fallback", "nlu_fallback", 0.4))
    journal.record(1_800_000_000.0, "telegram", "5551234567", "ma bhxh 7912345678",
                   Turn("answered", "ask_fee", 0.9, "khai_sinh", "fee"))
    assert _rows(db) == [("sms", "84911222333", "fallback", "CCCD *********345 sdt **** *** 678"),
                         ("telegram", "5551234567", "answered", "ma bhxh *******678")]
    assert journal.forget("84911222333") == {"turns": 1}
    assert [r[1] for r in _rows(db)] == ["5551234567"]


def test_a_failed_turn_is_a_fallback_and_a_broken_journal_never_raises(tmp_path, caplog):
    db = tmp_path / "bot.db"
    journal = Journal(Store.sqlite(db), clock=lambda: 1_800_000_000.0)
    asyncio.run(journal.after_turn(None, None, "zalo", "u1", "xin chao", failed=True))
    assert _rows(db) == [("zalo", "u1", "fallback", "xin chao")]
    with sqlite3.connect(db) as connection:
        connection.execute("DROP TABLE turns")
    journal.record(1_800_000_000.0, "zalo", "u1", "lan nua", Turn("answered"))  # logged, not raised
    assert "journal: turn not recorded" in caplog.text


@pytest.mark.parametrize("env, days", [({}, DEFAULT_RETENTION_DAYS), ({"BOT_RETENTION_DAYS": "30"}, 30),
                                       ({"BOT_RETENTION_DAYS": " 0.5 "}, 0.5)])
def test_retention_period_comes_from_the_environment(env, days):
    assert retention_days(env) == days


@pytest.mark.parametrize("raw", ["0", "-3", "ba muoi", "nan"])
def test_a_wrong_retention_period_says_the_fix(raw):
    with pytest.raises(ConfigError, match="BOT_RETENTION_DAYS=90"):
        retention_days({"BOT_RETENTION_DAYS": raw})


DAY = 86400.0
NOW = 1_800_000_000.0  # 2027-01-15


def test_purge_deletes_citizen_text_older_than_the_period(tmp_path):
    from bot.serving.engine import sqlite_tracker_store

    db = tmp_path / "bot.db"
    store = Store.sqlite(db)
    journal = Journal(store)
    for age, sender in ((100, "old"), (10, "new")):
        at = NOW - age * DAY
        journal.record(at, "sms", sender, f"cau hoi {sender}", Turn("fallback"))
        store.accept("sms", f"p-{sender}", sender, f"cau hoi {sender}", now=at)
        inbound = store.pending_inbound()[-1].id
        store.answer(inbound, "sms", sender, [("tra loi", ())], now=at)
    for outgoing in store.due_outbound(now=NOW):
        store.mark_sent(outgoing.id, None, now=NOW)
    store.accept("sms", "p-waiting", "old", "chua tra loi", now=NOW - 100 * DAY)  # still to answer
    sqlite_tracker_store(db)  # Rasa's events table, with one old and one new utterance
    with sqlite3.connect(db) as connection:
        connection.executemany(
            "INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, ?, ?, '{}')",
            [("old", "user", NOW - 100 * DAY), ("old", "slot", NOW - 100 * DAY),
             ("new", "user", NOW - 10 * DAY)])
        connection.execute("CREATE TABLE ratings (id INTEGER PRIMARY KEY, rated_at DATETIME, channel "
                           "VARCHAR, sender VARCHAR, procedure VARCHAR, aspect VARCHAR, score INTEGER, "
                           "answer TEXT)")
        connection.executemany(
            "INSERT INTO ratings (rated_at, channel, sender, procedure, aspect, score, answer) "
            "VALUES (?, 'sms', 's', 'khai_sinh', 'fee', 2, 'tra loi')",
            [("2026-10-01 08:00:00",), ("2027-01-10 08:00:00",)])
    deleted = purge(store.engine, NOW, 90)
    assert deleted == {"turns": 1, "inbound": 1, "outbound": 1, "events": 1, "ratings": 1}
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT sender FROM turns").fetchall() == [("new",)]
        assert sorted(connection.execute("SELECT text FROM inbound").fetchall()) == [
            ("cau hoi new",), ("chua tra loi",)]
        assert connection.execute("SELECT type_name, sender_id FROM events ORDER BY id").fetchall() == [
            ("slot", "old"), ("user", "new")]
        assert connection.execute("SELECT rated_at FROM ratings").fetchall() == [("2027-01-10 08:00:00",)]
    assert purge(store.engine, NOW, 90) == {"turns": 0, "inbound": 0, "outbound": 0, "events": 0,
                                            "ratings": 0}
    later = NOW + 81 * DAY  # the period runs on: the new rows go too
    assert purge(store.engine, later, 90)["turns"] == 1


def test_the_worker_purges_with_its_clock(tmp_path):
    from bot.serving.worker import Worker
    from tests.stub_engine import StubEngine

    db = tmp_path / "bot.db"
    store = Store.sqlite(db)
    Journal(store).record(NOW - 40 * DAY, "sms", "s", "cau hoi cu", Turn("fallback"))
    Journal(store).record(NOW - 1 * DAY, "sms", "s", "cau hoi moi", Turn("fallback"))
    worker = Worker(store, StubEngine(), {}, clock=lambda: NOW, retention_days=30, poll_seconds=0.01)

    async def run_once() -> None:
        task = asyncio.ensure_future(worker.run_inbox())
        await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(run_once())
    assert [r[3] for r in _rows(db)] == ["cau hoi moi"]
