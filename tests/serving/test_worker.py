"""The inbox and outbox loops: order per conversation, retries, final failures, crash recovery.

The engine is a stub that echoes each message, so the order of the replies shows directly and no
model is needed; the trained engine behind the worker is tested through the connectors' server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import pytest

from bot.contract import Connector, Inbound, Rendered, Reply, SendError, SendFailure
from bot.dialogue.phrases import load_phrases
from bot.serving.store import Store
from bot.serving.worker import BACKOFF_SECONDS, Worker, backoff
from tests.paths import PROJECT

POLL_SECONDS = 0.02  # the worker's idle poll here; production polls every 0.5 s


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class EchoEngine:
    """What the worker needs of ``Engine``: replies ``re: <text>``, and raises on ``boom``."""

    def __init__(self) -> None:
        self.phrases = load_phrases(PROJECT.phrases)
        self.reminders = None  # no reminders or opt-outs: the conversation skips them

    async def handle(self, sender: str, text: str, channel: str | None = None) -> list[Reply]:
        await asyncio.sleep(0.01)  # a turn takes time: other conversations go on meanwhile
        if text == "boom":
            raise RuntimeError("model exploded")
        return [Reply(f"re: {text}")]


class Recording(Connector):
    """A platform that records what it is sent and fails on demand (per recipient)."""

    channel = "telegram"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failures: dict[str, list[SendError]] = {}

    async def send(self, recipient: str, message: Rendered, meta: Mapping[str, Any]) -> str | None:
        queue = self.failures.get(recipient)
        if queue:
            raise queue.pop(0)
        self.sent.append((recipient, message.text))
        return str(len(self.sent))


async def _until(condition, timeout: float = 20.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.02)
    await asyncio.wait_for(poll(), timeout)


def _inbound(platform_id: int, sender: str, text: str) -> Inbound:
    return Inbound("telegram", str(platform_id), sender, text)


def run(store: Store, body, clock: FakeClock | None = None) -> Recording:
    connector = Recording()

    async def main() -> None:
        worker = Worker(store, EchoEngine(), {"telegram": connector}, clock=clock or FakeClock(),
                        poll_seconds=POLL_SECONDS)
        worker.start()
        try:
            await body(worker, connector)
        finally:
            await worker.stop()

    asyncio.run(main())
    return connector


@pytest.fixture
def store(tmp_path) -> Store:
    return Store.sqlite(tmp_path / "messages.db")


def test_each_conversation_is_answered_in_order_and_duplicates_once(store):
    questions = ["khai sinh", "le phi bao nhieu", "nop o dau", "bao lau co ket qua"]

    async def body(worker, connector):
        events = [_inbound(i * 2 + n, sender, q) for i, q in enumerate(questions)
                  for n, sender in enumerate(("order-a", "order-b"))]
        await worker.accept(events)
        await worker.accept(events[:3])  # the platform redelivers
        await _until(lambda: len(connector.sent) >= 2 * len(questions))
        await asyncio.sleep(20 * POLL_SECONDS)  # a duplicate's answer would be sent by now

    connector = run(store, body)
    for sender in ("order-a", "order-b"):
        texts = [text for recipient, text in connector.sent if recipient == sender]
        assert texts == [f"re: {q}" for q in questions]


def test_retryable_failure_waits_its_backoff_and_keeps_the_order(store):
    clock = FakeClock()

    async def body(worker, connector):
        connector.failures["retry"] = [SendError("429", SendFailure.THROTTLED, retry_after=7)]
        await worker.accept([_inbound(1, "retry", "khai sinh"), _inbound(2, "retry", "le phi bao nhieu")])
        await _until(lambda: store.outbound_counts().get("pending") == 2
                     and store.blocked_recipients(clock.now) == {("telegram", "retry")})
        await asyncio.sleep(30 * POLL_SECONDS)
        assert connector.sent == []  # the second reply does not overtake the first
        clock.now += 6.5  # past the first backoff step (2 s), not past retry_after (7 s)
        await asyncio.sleep(30 * POLL_SECONDS)
        assert connector.sent == []  # retry_after wins over the first backoff step
        clock.now += 1.0
        await _until(lambda: len(connector.sent) == 2)

    connector = run(store, body, clock)
    assert connector.sent == [("retry", "re: khai sinh"), ("retry", "re: le phi bao nhieu")]
    assert store.outbound_counts() == {"sent": 2}


def test_final_failure_is_visible_and_does_not_block_the_next_reply(store):
    async def body(worker, connector):
        connector.failures["blocked"] = [SendError("403 bot blocked", SendFailure.CONTACT_STOPPED)]
        await worker.accept([_inbound(1, "blocked", "khai sinh"), _inbound(2, "blocked", "le phi bao nhieu")])
        await _until(lambda: store.outbound_counts() == {"failed": 1, "sent": 1})

    connector = run(store, body)
    assert connector.sent == [("blocked", "re: le phi bao nhieu")]


@pytest.mark.parametrize("attempts, retry_after, expected", [
    (1, None, BACKOFF_SECONDS[0]),
    (1, 30.0, 30.0),
    (len(BACKOFF_SECONDS), None, BACKOFF_SECONDS[-1]),
    (len(BACKOFF_SECONDS) + 1, None, None),
])
def test_backoff(attempts, retry_after, expected):
    assert backoff(attempts, retry_after) == expected


def test_backoff_follows_the_schedule_it_is_given():
    schedule = (0.1, 0.4)
    assert [backoff(n, None, schedule) for n in (1, 2, 3)] == [0.1, 0.4, None]
    assert backoff(1, 1.0, schedule) == 1.0


def test_retries_run_out_into_failed(store):
    clock = FakeClock()
    tries = len(BACKOFF_SECONDS) + 1

    async def body(worker, connector):
        connector.failures["down"] = [SendError("502", SendFailure.SERVER)] * (tries + 1)
        await worker.accept([_inbound(1, "down", "khai sinh")])
        for tried in range(1, tries):  # each failure waits its backoff step, then is tried again
            await _until(lambda tried=tried: len(connector.failures["down"]) == tries + 1 - tried
                         and store.blocked_recipients(clock.now) == {("telegram", "down")})
            clock.now += BACKOFF_SECONDS[tried - 1] + 0.1
        await _until(lambda: store.outbound_counts() == {"failed": 1})
        clock.now += max(BACKOFF_SECONDS) + 1
        await asyncio.sleep(30 * POLL_SECONDS)

    connector = run(store, body, clock)
    assert connector.sent == [] and len(connector.failures["down"]) == 1  # no try after the last


def test_restart_finishes_what_was_accepted_before_a_crash(store):
    store.accept("telegram", "u1", "crash", "khai sinh")  # stored, never answered
    store.accept("telegram", "u2", "crash-2", "le phi khai sinh")
    store.answer(store.pending_inbound()[1].id, "telegram", "crash-2", [("queued before the crash", ())],
                 now=0)

    async def body(worker, connector):
        await _until(lambda: len(connector.sent) == 2)

    connector = run(store, body)
    assert sorted(connector.sent) == [("crash", "re: khai sinh"), ("crash-2", "queued before the crash")]


def test_a_failing_turn_gets_a_polite_reply_and_others_go_on(store):
    async def body(worker, connector):
        await worker.accept([_inbound(1, "boom-user", "boom"), _inbound(2, "boom-user", "khai sinh")])
        await _until(lambda: len(connector.sent) == 2)

    connector = run(store, body)
    assert connector.sent[0][1].startswith("Xin lỗi, hệ thống đang gặp sự cố")
    assert "Traceback" not in connector.sent[0][1]
    assert connector.sent[1] == ("boom-user", "re: khai sinh")


def test_bot_outbox_lists_failed_replies_with_masked_numbers(tmp_path, capsys):
    from bot.cli import main

    store = Store.sqlite(tmp_path / "bot.db")
    store.accept("sms", "k1", "84912345678", "khai sinh")
    store.answer(store.pending_inbound()[0].id, "sms", "84912345678", [("Khai sinh", ()), ("Le phi", ())])
    first, second = store.due_outbound(now=time.time() + 1)
    store.mark_failed(first.id, "403 Authorization failed for sendsms")
    store.mark_sent(second.id, None)
    assert main(["outbox", "--db", str(tmp_path / "bot.db")]) == 0
    out = capsys.readouterr().out
    assert "failed 1, sent 1" in out
    assert "403 Authorization failed for sendsms" in out and "84912345678" not in out and "678" in out


def test_a_turn_whose_writes_fail_gets_the_polite_reply(store):
    import sqlite3

    from bot.contract import Topic

    with sqlite3.connect(store.engine.url.database) as connection:  # offers can be read, not written
        connection.execute("CREATE TABLE rating_prompts (channel VARCHAR(16), sender VARCHAR(128), "
                           "procedure VARCHAR(64), aspect VARCHAR(128), answer TEXT, offered_at DATETIME, "
                           "added_later TEXT NOT NULL, PRIMARY KEY (channel, sender))")

    class RateableEngine(EchoEngine):
        async def handle(self, sender: str, text: str, channel: str | None = None) -> list[Reply]:
            return [Reply(f"re: {text}", rate=Topic("khai_sinh", "fee"))]

    connector = Recording()

    async def main() -> None:
        worker = Worker(store, RateableEngine(), {"telegram": connector}, clock=FakeClock(),
                        poll_seconds=POLL_SECONDS)
        worker.start()
        try:
            await worker.accept([_inbound(1, "rater", "le phi khai sinh"), _inbound(2, "rater", "khai tu")])
            await _until(lambda: len(connector.sent) == 2)
        finally:
            await worker.stop()

    asyncio.run(main())
    assert [text.startswith("Xin lỗi, hệ thống đang gặp sự cố") for _, text in connector.sent] == [True, True]
    assert store.pending_inbound() == []  # answered, not retried for ever
