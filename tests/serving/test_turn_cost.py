"""What keeps a turn cheap keeps its guarantees: the SQLite settings say what survives a power cut,
connections are kept, the inbox reads waiting conversations from its index, and an older database
gets the new indexes."""

from __future__ import annotations

import sqlite3

from bot.serving.engine import sql_tracker_store
from bot.serving.store import INBOX, Store


def _pragmas(engine) -> tuple[str, int]:
    with engine.connect() as connection:
        return (connection.exec_driver_sql("PRAGMA journal_mode").scalar(),
                connection.exec_driver_sql("PRAGMA synchronous").scalar())


def test_an_accepted_message_waits_for_the_disk_and_the_rest_does_not(tmp_path):
    store = Store.sqlite(tmp_path / "bot.db")
    assert _pragmas(store.durable_engine) == ("wal", 2)  # FULL: survives a power cut
    assert _pragmas(store.engine) == ("wal", 1)  # NORMAL: a power cut may undo the last answers
    tracker_store = sql_tracker_store(tmp_path / "bot.db")
    assert _pragmas(tracker_store.engine) == ("wal", 1)


def test_sessions_reuse_one_sqlite_connection(tmp_path):
    store = Store.sqlite(tmp_path / "bot.db")
    seen = set()
    for n in range(3):
        store.accept("sms", f"m{n}", "84912345678", "xin chao")
        store.pending_inbound()
        with store.engine.connect() as connection:
            seen.add(id(connection.connection.dbapi_connection))
    assert len(seen) == 1


def test_waiting_conversations_come_longest_waiting_first_without_the_claimed(tmp_path):
    store = Store.sqlite(tmp_path / "bot.db")
    for n, sender in enumerate(["b", "a", "c", "b", "a", "d"]):
        store.accept("telegram", f"u{n}", sender, f"tin {n}", now=100.0 + n)
    store.accept("sms", "s1", "a", "tin sms", now=200.0)
    assert store.claim(INBOX, "telegram", "c", "worker-1", now=100.0, lease=30.0)
    assert store.claim(INBOX, "telegram", "d", "worker-1", now=100.0, lease=1.0)  # lapses at 101
    assert store.waiting_senders(now=110.0) == [("telegram", "b"), ("telegram", "a"), ("telegram", "d"),
                                                ("sms", "a")]
    assert store.waiting_senders(now=110.0, limit=2) == [("telegram", "b"), ("telegram", "a")]
    assert [m.text for m in store.pending_inbound(channel="telegram", sender="a")] == ["tin 1", "tin 4"]
    assert [m.text for m in store.pending_inbound(limit=1, channel="telegram", sender="a")] == ["tin 1"]


def test_a_claim_is_taken_once_whether_new_or_expired(tmp_path):
    store = Store.sqlite(tmp_path / "bot.db")
    assert store.claim(INBOX, "sms", "849", "worker-1", now=100.0, lease=10.0)
    assert not store.claim(INBOX, "sms", "849", "worker-2", now=105.0, lease=10.0)
    assert store.claim(INBOX, "sms", "849", "worker-2", now=111.0, lease=10.0)  # expired: taken over
    store.release(INBOX, "sms", "849", "worker-2")
    assert store.claim(INBOX, "sms", "849", "worker-1", now=112.0, lease=10.0)  # released: new row


def test_an_older_database_gets_the_queue_indexes(tmp_path):
    path = tmp_path / "old.db"
    Store.sqlite(path).accept("sms", "m1", "849", "xin chao")
    with sqlite3.connect(path) as db:  # as a version before the indexes left it
        db.execute("DROP INDEX ix_inbound_waiting")
        db.execute("DROP INDEX ix_outbound_queue")
    store = Store.sqlite(path)
    with sqlite3.connect(path) as db:
        names = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        plan = " ".join(row[-1] for row in db.execute(
            "EXPLAIN QUERY PLAN SELECT channel, sender, min(id) FROM inbound WHERE state = 'pending' "
            "GROUP BY channel, sender"))
    assert {"ix_inbound_waiting", "ix_outbound_queue"} <= names
    assert "COVERING INDEX ix_inbound_waiting" in plan
    assert store.waiting_senders(now=0.0) == [("sms", "849")]


def _slots_domain():
    from rasa.shared.core.domain import Domain

    return Domain.from_dict({"slots": {"procedure": {"type": "text", "mappings": [{"type": "custom"}]}}})


def _session(sender: str, start: float, text: str, procedure: str) -> list:
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

    return [ActionExecuted("action_session_start", timestamp=start), SessionStarted(timestamp=start + 1),
            ActionExecuted("action_listen", timestamp=start + 2),
            UserUttered(text, intent={"name": "ask_documents", "confidence": 0.9},
                        parse_data={"text": text, "intent": {"name": "ask_documents", "confidence": 0.9},
                                    "entities": []}, timestamp=start + 3),
            SlotSet("procedure", procedure, timestamp=start + 4),
            BotUttered(f"{procedure}: giấy tờ cần có", timestamp=start + 5),
            ActionExecuted("action_listen", timestamp=start + 6)]


def _rows(path) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT sender_id, type_name, timestamp, intent_name, action_name, data "
                                  "FROM events ORDER BY id").fetchall()


def test_the_tracker_store_writes_and_reads_what_rasas_own_does(tmp_path):
    """A conversation of two sessions, saved turn by turn: the rows written (numbers masked) and
    the tracker read back (the latest session, slots set) are those of Rasa's SQLTrackerStore."""
    import asyncio

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.serving.engine import masked_event

    ours = sql_tracker_store(tmp_path / "ours.db")
    rasas = SQLTrackerStore(host=f"sqlite:///{tmp_path / 'rasa.db'}")
    first = _session("84912345678", 100.0, "khai sinh, so 0912345678", "khai_sinh")
    second = _session("84912345678", 5000.0, "ket hon can gi", "ket_hon")

    async def play(store, masking: bool) -> list:
        store.domain = _slots_domain()
        read = []
        for events in (first[:4], first[4:], second[:4], second[4:]):
            tracker = await store.retrieve("84912345678") or DialogueStateTracker("84912345678", [])
            for event in events:
                tracker.update(masked_event(event) if masking else event)
            await store.save(tracker)
            again = await store.retrieve("84912345678")
            read.append(([e.as_dict() for e in again.events], again.get_slot("procedure")))
        return read

    ours_read = asyncio.run(play(ours, masking=False))
    rasas_read = asyncio.run(play(rasas, masking=True))
    assert ours_read == rasas_read
    # the latest session, from its SessionStarted on
    assert ours_read[-1][1] == "ket_hon" and len(ours_read[-1][0]) == len(second) - 1
    assert _rows(tmp_path / "ours.db") == _rows(tmp_path / "rasa.db")
    assert "0912345678" not in str(_rows(tmp_path / "ours.db"))
    assert asyncio.run(ours.retrieve("someone else")) is None


def _graph_of(*components):
    """An agent's shape as far as ``contiguous_coefficients`` reads it (Rasa's DaskGraphRunner)."""
    from types import SimpleNamespace

    nodes = {f"node_{n}": SimpleNamespace(_component=c) for n, c in enumerate(components)}
    return SimpleNamespace(processor=SimpleNamespace(graph_runner=SimpleNamespace(_instantiated_nodes=nodes)))


def test_a_classifiers_coefficients_are_reordered_without_changing_a_prediction():
    from types import SimpleNamespace

    import numpy as np
    from scipy.sparse import random as sparse_random
    from sklearn.linear_model import LogisticRegression

    from bot.serving.engine import contiguous_coefficients

    x = sparse_random(200, 3000, density=0.01, format="csr", random_state=1)
    clf = LogisticRegression(max_iter=200).fit(x, np.arange(200) % 5)
    before = clf.predict_proba(x)
    agent = _graph_of(SimpleNamespace(clf=clf), SimpleNamespace(), object())
    assert contiguous_coefficients(agent) == 1
    assert clf.coef_.flags["F_CONTIGUOUS"] and clf.coef_.T.flags["C_CONTIGUOUS"]  # no copy per message
    assert np.array_equal(clf.predict_proba(x), before)
    assert contiguous_coefficients(agent) == 0


def test_the_loaded_engines_classifier_needs_no_copy_per_message(engine, parse):
    from bot.serving.engine import contiguous_coefficients

    assert parse("khai sinh can giay to gi")["intent"]["name"] == "ask_documents"
    assert contiguous_coefficients(engine.agent) == 0  # Engine.load did it
    nodes = engine.agent.processor.graph_runner._instantiated_nodes.values()
    assert any(getattr(getattr(n._component, "clf", None), "coef_", None) is not None for n in nodes)
