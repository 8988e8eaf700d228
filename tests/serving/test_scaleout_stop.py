"""A worker stopped the usual way (``Worker.stop``, what SIGTERM leads to) hands back what it holds.

On a SQLite file with a stub engine and a platform that takes its time: whatever the worker is
doing when it is stopped (a send the platform already has, a turn of the model), it ends it and
records it, starts nothing new and leaves no claim behind; a second worker on the same database
then delivers everything else, and nothing twice. The same under load on PostgreSQL and Redis,
with real ``bot serve`` processes: tests/serving/test_scaleout_load.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import text

from bot.contract import Connector, Inbound, Rendered, Reply
from bot.dialogue.phrases import load_phrases
from bot.serving.store import Store
from bot.serving.worker import Worker
from tests.paths import PROJECT

POLL_SECONDS = 0.02
SLOW = 0.5  # seconds the slow part (the platform's answer, or a turn) takes
GRACE = 5.0  # the stop's grace here


class Engine:
    """Replies ``re: <text>`` after ``turn_seconds``."""

    def __init__(self, turn_seconds: float) -> None:
        self.phrases = load_phrases(PROJECT.phrases)
        self.reminders = None
        self.turn_seconds = turn_seconds
        self.turns: list[str] = []

    async def handle(self, sender: str, text: str, channel: str | None = None) -> list[Reply]:
        self.turns.append(text)
        await asyncio.sleep(self.turn_seconds)
        return [Reply(f"re: {text}")]


class Platform(Connector):
    """Takes a message at once and answers after ``answer_seconds``: a worker cut in between has
    sent it without knowing."""

    channel = "telegram"

    def __init__(self, answer_seconds: float) -> None:
        self.taken: list[tuple[str, str]] = []
        self.answer_seconds = answer_seconds

    async def send(self, recipient: str, message: Rendered, meta: Mapping[str, Any]) -> str | None:
        self.taken.append((recipient, message.text))
        await asyncio.sleep(self.answer_seconds)
        return str(len(self.taken))


async def _until(condition, timeout: float = 20.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.02)
    await asyncio.wait_for(poll(), timeout)


def _rows(store: Store, sql: str) -> list[tuple]:
    with store.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(sql))]


CASES = {
    # what is in progress at the stop: the platform has a reply and has not answered yet
    "a send in flight": {"turn": 0.0, "answer": SLOW, "busy": lambda engine, platform: platform.taken},
    # a turn of the model is running
    "a turn in progress": {"turn": SLOW, "answer": 0.0, "busy": lambda engine, platform: engine.turns},
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_stopped_worker_finishes_what_it_does_and_hands_back_the_rest(tmp_path, case):
    store = Store.sqlite(tmp_path / "bot.db")
    questions = ["khai sinh", "le phi bao nhieu", "nop o dau"]
    platform = Platform(case["answer"])

    async def main() -> float:
        first = Worker(store, Engine(case["turn"]), {"telegram": platform}, poll_seconds=POLL_SECONDS)
        first.start()
        await first.accept([Inbound("telegram", str(i), "42", q) for i, q in enumerate(questions)])
        await _until(lambda: case["busy"](first.engine, platform))
        started = time.monotonic()
        await first.stop(grace=GRACE)
        took = time.monotonic() - started
        assert _rows(store, "SELECT count(*) FROM claims") == [(0,)], "claims left behind"
        assert _rows(store, "SELECT count(*) FROM outbound WHERE in_flight = 1") == [(0,)], \
            "a send left in flight: the next worker would send it again"
        assert len(case["busy"](first.engine, platform)) == 1, "the stopping worker started more"
        if case["turn"]:  # the turn ended and was recorded: its reply waits for the next worker
            assert _rows(store, "SELECT count(*) FROM inbound WHERE state = 'answered'") == [(1,)]
        else:  # the send ended and was recorded
            assert _rows(store, "SELECT count(*) FROM outbound WHERE state = 'sent'") == [(1,)]

        second = Worker(store, Engine(0.0), {"telegram": platform}, poll_seconds=POLL_SECONDS)
        second.start()
        try:
            await _until(lambda: len(platform.taken) >= len(questions))
            await asyncio.sleep(0.3)  # anything sent twice would be there by now
        finally:
            await second.stop()
        return took

    took = asyncio.run(main())
    assert platform.taken == [("42", f"re: {q}") for q in questions]  # each once, in order
    assert took < SLOW + 1.0, f"the stop took {took:.1f} s"
