"""The inbox and outbox loops: order per conversation, retries, final failures, crash recovery."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import pytest

from bot.contract import Connector, Inbound, Rendered, SendError, SendFailure
from bot.serving.store import Store
from bot.serving.worker import BACKOFF_SECONDS, Worker, backoff


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


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


def run(engine, store: Store, body, clock: FakeClock | None = None) -> Recording:
    connector = Recording()

    async def main() -> None:
        worker = Worker(store, engine, {"telegram": connector}, clock=clock or FakeClock())
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


def test_each_conversation_is_answered_in_order_and_duplicates_once(engine, store):
    questions = ["khai sinh", "le phi bao nhieu", "nop o dau", "bao lau co ket qua"]

    async def body(worker, connector):
        events = [_inbound(i * 2 + n, sender, q) for i, q in enumerate(questions)
                  for n, sender in enumerate(("order-a", "order-b"))]
        await worker.accept(events)
        await worker.accept(events[:3])  # the platform redelivers
        await _until(lambda: len(connector.sent) >= 2 * len(questions))
        await asyncio.sleep(0.3)

    connector = run(engine, store, body)
    for sender in ("order-a", "order-b"):
        texts = [text for recipient, text in connector.sent if recipient == sender]
        assert len(texts) == len(questions)
        assert "Lệ phí" in texts[1] and "Nộp ở đâu" in texts[2] and "Bao lâu" in texts[3]


def test_retryable_failure_waits_its_backoff_and_keeps_the_order(engine, store):
    clock = FakeClock()

    async def body(worker, connector):
        connector.failures["retry"] = [SendError("429", SendFailure.THROTTLED, retry_after=7)]
        await worker.accept([_inbound(1, "retry", "khai sinh"), _inbound(2, "retry", "le phi bao nhieu")])
        await _until(lambda: store.outbound_counts().get("pending") == 2
                     and store.blocked_recipients(clock.now) == {("telegram", "retry")})
        await asyncio.sleep(0.7)
        assert connector.sent == []  # the second reply does not overtake the first
        clock.now += 7.5  # retry_after (7 s) wins over the first backoff step
        await _until(lambda: len(connector.sent) == 2)

    connector = run(engine, store, body, clock)
    assert connector.sent[0][1].startswith("Đăng ký khai sinh:") and "Lệ phí" in connector.sent[1][1]
    assert store.outbound_counts() == {"sent": 2}


def test_final_failure_is_visible_and_does_not_block_the_next_reply(engine, store):
    async def body(worker, connector):
        connector.failures["blocked"] = [SendError("403 bot blocked", SendFailure.CONTACT_STOPPED)]
        await worker.accept([_inbound(1, "blocked", "khai sinh"), _inbound(2, "blocked", "le phi bao nhieu")])
        await _until(lambda: store.outbound_counts() == {"failed": 1, "sent": 1})

    connector = run(engine, store, body)
    assert [t for _, t in connector.sent][0].startswith("Khai sinh – Lệ phí")


@pytest.mark.parametrize("attempts, retry_after, expected", [
    (1, None, BACKOFF_SECONDS[0]),
    (1, 30.0, 30.0),
    (len(BACKOFF_SECONDS), None, BACKOFF_SECONDS[-1]),
    (len(BACKOFF_SECONDS) + 1, None, None),
])
def test_backoff(attempts, retry_after, expected):
    assert backoff(attempts, retry_after) == expected


def test_retries_run_out_into_failed(engine, store):
    clock = FakeClock()

    async def body(worker, connector):
        connector.failures["down"] = [SendError("502", SendFailure.SERVER)] * (len(BACKOFF_SECONDS) + 1)
        await worker.accept([_inbound(1, "down", "khai sinh")])
        for _ in range(len(BACKOFF_SECONDS) + 1):
            await asyncio.sleep(0.6)
            clock.now += max(BACKOFF_SECONDS) + 1
        await _until(lambda: store.outbound_counts() == {"failed": 1})

    connector = run(engine, store, body, clock)
    assert connector.sent == []


def test_restart_finishes_what_was_accepted_before_a_crash(engine, store):
    store.accept("telegram", "u1", "crash", "khai sinh")  # stored, never answered
    store.accept("telegram", "u2", "crash-2", "le phi khai sinh")
    store.answer(store.pending_inbound()[1].id, "telegram", "crash-2", [("queued before the crash", ())],
                 now=0)

    async def body(worker, connector):
        await _until(lambda: len(connector.sent) == 2)

    connector = run(engine, store, body)
    assert sorted(r for r, _ in connector.sent) == ["crash", "crash-2"]
    assert ("crash-2", "queued before the crash") in connector.sent


def test_a_failing_turn_gets_a_polite_reply_and_others_go_on(engine, store, monkeypatch):
    from bot.serving.conversation import Conversation

    original = Conversation.handle

    async def broken(self, sender, text):
        if text == "boom":
            raise RuntimeError("model exploded")
        return await original(self, sender, text)

    monkeypatch.setattr(Conversation, "handle", broken)

    async def body(worker, connector):
        await worker.accept([_inbound(1, "boom-user", "boom"), _inbound(2, "boom-user", "khai sinh")])
        await _until(lambda: len(connector.sent) == 2)

    connector = run(engine, store, body)
    assert connector.sent[0][1].startswith("Xin lỗi, hệ thống đang gặp sự cố")
    assert "Traceback" not in connector.sent[0][1]
    assert connector.sent[1][1].startswith("Đăng ký khai sinh:")


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
