"""Claims in the database: several workers on one inbox and outbox, on SQLite and PostgreSQL,
from the store up to Telegram webhooks on two servers.

Each worker here has its own ``Store`` (its own connection pool), as separate ``bot serve``
processes would; the PostgreSQL cases run against a real server (``-m scaleout``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import text

from bot.contract import Connector, Inbound, Rendered
from bot.serving.store import INBOX, OUTBOX, ClaimLost, Store
from bot.serving.worker import Worker
from tests.connectors.harness import ServerThread, wait_until
from tests.connectors.telegram.fake_telegram import FakeTelegram
from tests.connectors.telegram.test_telegram import TOKEN, connector, post
from tests.serve_process import telegram_update as _update
from tests.serving.scaleout_services import pg_url, services  # noqa: F401 - fixtures
from tests.serving.test_worker import EchoEngine
from tests.stub_engine import StubEngine

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.scaleout)]
LEASE = 1.0  # seconds: a stopped worker's conversations are taken over this soon
# Where no worker stops, a lease long enough that a starved heartbeat thread on a loaded machine
# cannot let a claim lapse: a lapsed claim is a takeover, which may send a reply twice by design.
STEADY_LEASE = 15.0
POLL = 0.02


@pytest.fixture(params=BACKENDS)
def url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bot.db'}"
    return request.getfixturevalue("pg_url")


class Platform:
    """What the platform received, from every worker: (recipient, text) in arrival order."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []
        self.times: list[float] = []  # time.time() of each arrival, the workers' clock
        self.lock = threading.Lock()

    def of(self, recipient: str) -> list[str]:
        return [t for r, t in self.received if r == recipient]


class Sending(Connector):
    channel = "telegram"

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    async def send(self, recipient: str, message: Rendered, meta: Mapping[str, Any]) -> str | None:
        await asyncio.sleep(0.005)  # the platform's round trip: other sends go on meanwhile
        with self.platform.lock:
            self.platform.received.append((recipient, message.text))
            self.platform.times.append(time.time())
            return str(len(self.platform.received))


def _worker(url: str, platform: Platform, name: str, at_once: int = 32, lease: float = LEASE) -> Worker:
    return Worker(Store(url), EchoEngine(), {"telegram": Sending(platform)}, poll_seconds=POLL,
                  lease_seconds=lease, worker_id=name, max_conversations=at_once)


async def _until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not done in time"
        await asyncio.sleep(0.02)


def test_a_claim_has_one_holder_until_its_lease_runs_out(url):
    first, second = Store(url), Store(url)
    assert first.claim(INBOX, "telegram", "42", "worker-a", now=100.0, lease=10.0)
    assert not second.claim(INBOX, "telegram", "42", "worker-b", now=105.0, lease=10.0)
    assert second.claim(OUTBOX, "telegram", "42", "worker-b", now=105.0, lease=10.0)  # another kind
    assert first.renew_claims("worker-a", now=108.0, lease=10.0) == 1
    assert not second.claim(INBOX, "telegram", "42", "worker-b", now=115.0, lease=10.0)
    assert second.claim(INBOX, "telegram", "42", "worker-b", now=118.5, lease=10.0)  # a's lease ran out

    first.accept("telegram", "m1", "42", "khai sinh", now=100.0)
    (message,) = first.pending_inbound()
    with pytest.raises(ClaimLost):  # worker a came back too late: it must not answer
        first.answer(message.id, "telegram", "42", [("re: khai sinh", ())], worker="worker-a")
    assert first.outbound_counts() == {} and len(first.pending_inbound()) == 1
    second.answer(message.id, "telegram", "42", [("re: khai sinh", ())], worker="worker-b")
    assert first.outbound_counts() == {"pending": 1} and first.pending_inbound() == []


def test_workers_racing_for_one_conversation_have_one_winner(url):
    stores = [Store(url) for _ in range(6)]
    start = threading.Barrier(len(stores))
    won: list[str] = []

    def race(index: int) -> None:
        start.wait()
        if stores[index].claim(INBOX, "telegram", "7", f"w{index}", now=50.0, lease=30.0):
            won.append(f"w{index}")

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(won) == 1
    assert stores[0].held_claims(INBOX, now=60.0) == {("telegram", "7")}


def test_two_workers_answer_one_inbox_once_and_in_order(url):
    platform = Platform()
    senders = [f"s{n}" for n in range(6)]
    questions = ["khai sinh", "le phi", "nop o dau", "bao lau", "online duoc khong"]

    async def main() -> set[str]:
        # at most 2 conversations at once each: neither worker can take all six
        workers = [_worker(url, platform, name, at_once=2, lease=STEADY_LEASE) for name in "ab"]
        for worker in workers:
            worker.start()
        try:
            n = 0
            for question in questions:  # each webhook call lands on the next worker in turn
                for sender in senders:
                    await workers[n % 2].accept([Inbound("telegram", str(n), sender, question)])
                    n += 1
            await _until(lambda: len(platform.received) >= len(senders) * len(questions))
            await asyncio.sleep(30 * POLL)  # a double would arrive by now
        finally:
            for worker in workers:
                await worker.stop()
        with workers[0].store.engine.connect() as connection:
            return set(connection.execute(text("SELECT handled_by FROM inbound")).scalars())

    answered_by = asyncio.run(main())
    for sender in senders:
        assert platform.of(sender) == [f"re: {q}" for q in questions]
    assert answered_by == {"a", "b"}  # both took a share of the conversations


def test_a_stopped_workers_conversation_is_taken_over_after_its_lease(url, caplog):
    platform = Platform()
    store = Store(url)
    now = time.time()
    # worker "gone" was killed holding a conversation with two unanswered messages, and in the
    # middle of sending a reply to another recipient
    store.accept("telegram", "1", "taken", "khai sinh", now=now)
    store.accept("telegram", "2", "taken", "le phi", now=now)
    assert store.claim(INBOX, "telegram", "taken", "gone", now=now, lease=LEASE)
    store.accept("telegram", "3", "cut", "ket hon", now=now)
    (cut,) = store.pending_inbound(channel="telegram", sender="cut")
    store.answer(cut.id, "telegram", "cut", [("re: ket hon", ())], now=now)
    assert store.claim(OUTBOX, "telegram", "cut", "gone", now=now, lease=LEASE)
    (outgoing,) = store.outbox_of("telegram", "cut", now)
    store.mark_in_flight(outgoing.id, "gone")

    async def main() -> None:
        worker = _worker(url, platform, "heir")
        worker.start()
        try:
            await _until(lambda: len(platform.received) == 3)
        finally:
            await worker.stop()

    asyncio.run(main())
    assert platform.of("taken") == ["re: khai sinh", "re: le phi"]
    assert platform.of("cut") == ["re: ket hon"]  # the platform may have had it: sent at least once
    # nothing was taken before the lease ran out (on the claims' own clock: the set-up above may
    # have used part of the lease on a busy machine, so the worker's start is not the reference)
    assert min(platform.times) >= now + LEASE
    assert "was being sent when the server stopped" in caplog.text


def test_a_database_from_before_claims_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.db"
    Store.sqlite(path).accept("telegram", "1", "old", "khai sinh", now=time.time())
    with sqlite3.connect(path) as db:  # as the single-process version left it
        db.execute("DROP TABLE claims")
        db.execute("ALTER TABLE inbound DROP COLUMN handled_by")
        db.execute("ALTER TABLE outbound DROP COLUMN handled_by")
    platform = Platform()

    async def main() -> None:
        worker = _worker(f"sqlite:///{path}", platform, "upgraded")
        worker.start()
        try:
            await _until(lambda: platform.received)
        finally:
            await worker.stop()

    asyncio.run(main())
    assert platform.received == [("old", "re: khai sinh")]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT handled_by FROM inbound").fetchall() == [("upgraded",)]


def test_telegram_webhooks_of_two_servers_on_one_database_answer_once_in_order(url):
    chats, questions = [6100 + n for n in range(4)], ["khai sinh", "le phi", "nop o dau"]
    with FakeTelegram(TOKEN) as fake:
        servers = [ServerThread(StubEngine(), Store(url), {"telegram": connector(fake.base_url)})
                   for _ in range(2)]
        with servers[0] as first, servers[1] as second:
            hooks = [f"{s.url}/webhooks/telegram/webhook" for s in (first, second)]
            n = 0
            for question in questions:
                for chat in chats:
                    body = _update(100 + n, chat, question)
                    assert post(hooks[n % 2], body) == 200
                    if n % 3 == 0:  # Telegram redelivers, here to the other server
                        assert post(hooks[(n + 1) % 2], body) == 200
                    n += 1
            store = Store(url)
            wait_until(lambda: store.outbound_counts() == {"sent": n}, timeout=30)
            time.sleep(0.5)  # a double would be sent by now
        sent = fake.sent()
    for chat in chats:
        assert [c.params["text"] for c in sent if c.params["chat_id"] == str(chat)] == [
            f"Bạn hỏi: {q}" for q in questions]
