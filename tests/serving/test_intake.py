"""The webhooks' group commit (``bot.serving.intake``) on SQLite and PostgreSQL: concurrent
webhooks are stored once each, in order per sender, in fewer commits than webhooks; a webhook is
answered only after the commit holding it; redeliveries are refused; one bad webhook costs only
itself; a process killed mid-traffic has stored every message it acknowledged."""

from __future__ import annotations

import asyncio
import itertools
import signal
import sqlite3
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.contract import Delivery, Event, Inbound, StaffMessage
from bot.serving.handover import STAFF_META
from bot.serving.intake import GroupCommit
from bot.serving.store import ROWS_PER_INSERT, Incoming, Store
from tests.connectors.harness import free_port, request, wait_until
from tests.paths import REPO
from tests.serve_process import SECRET, telegram_update
from tests.serving.scaleout_services import pg_url, services  # noqa: F401 - fixtures

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.scaleout)]


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path) -> Store:
    if request.param == "sqlite":
        return Store.sqlite(tmp_path / "bot.db")
    return Store(request.getfixturevalue("pg_url"))


class Held(Store):
    """A real store whose first group commit waits until ``release``; records each group's size."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.groups: list[int] = []
        self.entered = threading.Event()
        self.released = threading.Event()

    def accept_group(self, messages):
        if not self.groups:
            self.entered.set()
            assert self.released.wait(30)
        self.groups.append(len(messages))
        return super().accept_group(messages)


@pytest.fixture
def held(store) -> Held:
    return Held(store.url)


def _rows(store: Store, prefix: str = "") -> list[tuple[str, str, str]]:
    """(sender, platform id, text) of the stored messages, in the order they were stored."""
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(
            "SELECT sender, platform_id, text FROM inbound WHERE platform_id LIKE :p ORDER BY id"),
            {"p": f"{prefix}%"})]


def _message(platform_id: str, sender: str, body: str = "khai sinh") -> Inbound:
    return Inbound("telegram", platform_id, sender, body)


@pytest.mark.parametrize("webhooks, senders", [(1, 1), (10, 1), (50, 7), (200, 20)])
def test_concurrent_webhooks_are_stored_once_each_in_order_per_sender(store, webhooks, senders):
    intake = GroupCommit(store)
    sent = [_message(f"u{n}", f"s{n % senders}", f"cau hoi {n}") for n in range(webhooks)]

    async def post_all() -> list[list[bool]]:
        return await asyncio.gather(*(intake.store_events([m], now=100.0) for m in sent))

    assert asyncio.run(post_all()) == [[True]] * webhooks  # each acknowledged once, as new
    rows = _rows(store)
    assert sorted(p for _, p, _ in rows) == sorted(m.platform_id for m in sent)  # none lost or doubled
    for n in range(senders):  # each conversation in the order its webhooks came
        assert [t for s, _, t in rows if s == f"s{n}"] == [m.text for m in sent if m.sender == f"s{n}"]
    assert 1 <= intake.commits <= webhooks


def test_webhooks_arriving_during_a_commit_share_the_next_one_and_wait_for_it(held):
    intake = GroupCommit(held)

    async def scenario() -> None:
        first = asyncio.ensure_future(intake.store_events([_message("u0", "a")], now=1.0))
        await asyncio.get_running_loop().run_in_executor(None, held.entered.wait, 30)
        rest = [asyncio.ensure_future(intake.store_events([_message(f"u{n}", "a")], now=1.0))
                for n in range(1, 31)]
        await asyncio.sleep(0.2)
        assert not first.done() and not any(r.done() for r in rest)  # nothing answered before its commit
        assert _rows(held) == []
        held.released.set()
        assert await first == [True]
        assert await asyncio.gather(*rest) == [[True]] * 30

    asyncio.run(scenario())
    assert held.groups == [1, 30]  # the 30 that came during the first commit: one transaction
    assert intake.commits == 2
    assert [p for _, p, _ in _rows(held)] == [f"u{n}" for n in range(31)]


def test_a_busy_spell_is_logged_with_its_slowest_commit(held, caplog):
    """An operator sees, in one line when the writer goes idle, a commit that waited (here held
    0.3 s, as a commit waiting for another process's write lock would be)."""
    intake = GroupCommit(held, idle_seconds=0.05)

    async def scenario() -> None:
        first = asyncio.ensure_future(intake.store_events([_message("u0", "a")], now=1.0))
        await asyncio.get_running_loop().run_in_executor(None, held.entered.wait, 30)
        rest = [asyncio.ensure_future(intake.store_events([_message(f"u{n}", "a")], now=1.0))
                for n in range(1, 11)]
        await asyncio.sleep(0.3)
        held.released.set()
        await asyncio.gather(first, *rest)

    def ours() -> list[str]:  # an earlier test's writer thread may log its own spell meanwhile
        return [r.getMessage() for r in caplog.records if r.getMessage().startswith("inbox: 11 ")]

    with caplog.at_level("INFO", logger="bot.serving.intake"):
        asyncio.run(scenario())
        wait_until(ours, timeout=5)
    lines = ours()
    assert len(lines) == 1 and lines[0].startswith("inbox: 11 webhooks in 2 commits"), lines
    assert float(lines[0].rsplit("max ", 1)[1].removesuffix(" ms")) >= 300


@pytest.mark.parametrize("case, earlier, webhooks, expected", [
    ("redelivered after it was stored", [["u1"]], [["u1"]], [[False]]),
    ("the same update twice in one group", [], [["u1"], ["u1"]], [[True], [False]]),
    ("one webhook with a new and a known message", [["u1"]], [["u1", "u2"]], [[False, True]]),
    ("one webhook holding the same id twice", [], [["u1", "u1"]], [[True, False]]),
    ("a known id beside new ones", [["u2"]], [["u1"], ["u2"], ["u3"]], [[True], [False], [True]]),
])
def test_a_redelivered_update_is_refused_exactly_once(store, case, earlier, webhooks, expected):
    intake = GroupCommit(store)

    async def post(batches: list[list[str]]) -> list[list[bool]]:
        return await asyncio.gather(*(intake.store_events([_message(p, "a") for p in ids], now=1.0)
                                      for ids in batches))

    asyncio.run(post(earlier))
    assert asyncio.run(post(webhooks)) == expected, case
    stored = [p for _, p, _ in _rows(store)]
    assert sorted(stored) == sorted(set(stored)) == sorted({p for ids in earlier + webhooks for p in ids})


@dataclass
class Sample:
    sender: int
    update: int


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.builds(Sample, st.integers(0, 4), st.integers(0, 40)), min_size=1, max_size=60))
def test_any_mix_of_new_and_redelivered_updates_is_stored_as_first_seen(store, samples):
    """Property: concurrent webhooks, some redelivering an id (maybe with another sender, as a
    forged or replayed request would): the first of each id is stored and acknowledged as new,
    every later one as a duplicate, and each sender's messages keep their order."""
    prefix = f"{uuid.uuid4().hex[:8]}-"
    intake = GroupCommit(store)
    events = [_message(f"{prefix}{s.update}", f"s{s.sender}", f"tin {n}") for n, s in enumerate(samples)]

    async def post_all() -> list[list[bool]]:
        return await asyncio.gather(*(intake.store_events([e], now=1.0) for e in events))

    outcomes = asyncio.run(post_all())
    firsts = [e for n, e in enumerate(events) if e.platform_id not in {x.platform_id for x in events[:n]}]
    assert [o[0] for o in outcomes] == [any(e is f for f in firsts) for e in events]
    assert _rows(store, prefix) == [(e.sender, e.platform_id, e.text) for e in firsts]


def test_a_bad_webhook_in_a_group_costs_only_itself(held):
    """A message the database refuses (no sender) fails its own webhook, which is not stored at
    all, while the webhooks committed in the same group are stored and acknowledged."""
    intake = GroupCommit(held)
    broken = Inbound("telegram", "bad-2", None, "khai sinh")  # type: ignore[arg-type]

    async def scenario() -> list:
        first = asyncio.ensure_future(intake.store_events([_message("u0", "a")], now=1.0))
        await asyncio.get_running_loop().run_in_executor(None, held.entered.wait, 30)
        batch = [[_message("u1", "a")], [_message("good-2", "b"), broken], [_message("u3", "a")],
                 [_message("u4", "c")]]
        rest = [asyncio.ensure_future(intake.store_events(events, now=1.0)) for events in batch]
        await asyncio.sleep(0.2)  # all four queued behind the held commit
        held.released.set()
        return [await first, *await asyncio.gather(*rest, return_exceptions=True)]

    outcomes = asyncio.run(scenario())
    assert outcomes[:2] == [[True], [True]] and outcomes[3:] == [[True], [True]]
    assert isinstance(outcomes[2], SQLAlchemyError)  # the connector answers 503: sent again later
    assert held.groups == [1, 5, 1, 2, 1, 1]  # the four (5 messages) together, then each alone
    assert [p for _, p, _ in _rows(held)] == ["u0", "u1", "u3", "u4"]  # not "good-2" either


@pytest.mark.scaleout
def test_an_id_postgresql_cannot_hold_fails_alone(pg_url):  # noqa: F811 - the fixture
    store = Store(pg_url)
    intake = GroupCommit(store)

    async def scenario() -> list:
        return await asyncio.gather(*(intake.store_events([_message(p, "a")], now=1.0)
                                      for p in ["u1", "x" * 200, "u3"]), return_exceptions=True)

    first, too_long, third = asyncio.run(scenario())
    assert (first, third) == ([True], [True]) and isinstance(too_long, SQLAlchemyError)
    assert [p for _, p, _ in _rows(store)] == ["u1", "u3"]


def test_staff_messages_and_delivery_reports_go_through_the_same_intake(store):
    intake = GroupCommit(store)
    events: list[Event] = [StaffMessage("telegram", "g1", "-100", "da xu ly", reply_to="7", author="Lan"),
                           Delivery(999, "delivered"), _message("u1", "a")]
    assert asyncio.run(intake.store_events(events, now=1.0)) == [True, True]
    with store.engine.connect() as connection:
        meta = connection.execute(text("SELECT meta FROM inbound WHERE platform_id = 'g1'")).scalar()
    assert STAFF_META in meta and "Lan" in meta


# ------------------------------------------------------------------ killed mid-traffic

CLIENTS = 8
KILL_AFTER = 120


@pytest.mark.slow  # a web process of its own (Sanic and Rasa's channels imported)
def test_a_killed_web_process_has_stored_every_update_it_acknowledged(tmp_path):
    db = tmp_path / "bot.db"
    port = free_port()
    log = (tmp_path / "web.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "tests.serving.intake_server", str(db), str(port)],
                               cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    acked: set[int] = set()
    lock = threading.Lock()
    ids = itertools.count(1)

    def healthy() -> bool:
        assert process.poll() is None, (tmp_path / "web.log").read_text(errors="replace")[-2000:]
        try:
            return request(f"{url}/health", timeout=1).status == 200
        except OSError:
            return False

    def client(chat: int) -> None:
        while process.poll() is None:
            update = next(ids)
            body = telegram_update(update, chat, "khai sinh")
            try:
                answer = request(f"{url}/webhooks/telegram/webhook", body, {
                    "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}, timeout=5)
            except OSError:
                continue
            if answer.status == 200:
                with lock:
                    acked.add(update)

    try:
        wait_until(healthy, timeout=120, step=0.2)
        with ThreadPoolExecutor(CLIENTS) as pool:
            for chat in range(CLIENTS):
                pool.submit(client, 7000 + chat)
            wait_until(lambda: len(acked) >= KILL_AFTER, timeout=120, step=0.005)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        log.close()
    with sqlite3.connect(db) as connection:
        stored = {int(p) for (p,) in connection.execute("SELECT platform_id FROM inbound")}
    assert len(acked) >= KILL_AFTER
    assert acked <= stored, f"acknowledged but not stored: {sorted(acked - stored)[:10]}"


def test_incoming_is_what_accept_group_takes(store):
    """``Store.accept`` is a group of one: same duplicate answer, same masking of numbers."""
    assert store.accept("sms", "k1", "849", "so cccd 012345678901") is True
    assert store.accept("sms", "k1", "849", "lai lan nua") is False
    assert store.accept_group([Incoming("sms", "k2", "849", "xin chao", {}, 1.0),
                               Incoming("sms", "k1", "849", "x", {}, 1.0)]) == [True, False]
    assert "012345678901" not in str(_rows(store))


def test_a_group_larger_than_one_statement_keeps_order_and_refuses_repeats(store):
    """A group is inserted in multi-row statements of ``ROWS_PER_INSERT`` rows: an id repeated
    in a later statement, or twice in one, is still refused, and the order is the group's."""
    size = 2 * ROWS_PER_INSERT + 50
    ids = [f"m{n}" for n in range(size)]
    ids[ROWS_PER_INSERT + 3] = ids[2]  # repeats, in the next statement, an id of the first
    ids[size - 1] = ids[size - 2]  # twice in the last statement
    outcome = store.accept_group([Incoming("telegram", p, f"s{n % 7}", f"tin {n}", {}, 1.0)
                                  for n, p in enumerate(ids)])
    assert outcome == [p not in ids[:n] for n, p in enumerate(ids)]
    assert outcome.count(False) == 2
    assert [p for _, p, _ in _rows(store, "m")] == [p for n, p in enumerate(ids) if outcome[n]]
