"""Crash test: ``bot serve`` killed with SIGKILL in the middle of traffic, then restarted.

50 messages from 10 senders go to the real server process over its Telegram webhook; the
server is killed after half of them were accepted (the two starts of the server cost the most, not
the messages: a larger load adds CPU time, not cases). The platform redelivers what got no 200
(and, as Telegram may, some that did). After the restart every accepted message must be
answered, nothing answered twice, and each conversation's replies must come in order. The only
tolerated double is a reply whose send was cut by the kill itself: platforms give no
idempotency key, so the outbox sends it again rather than lose it (``in_flight``).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from tests.connectors.harness import wait_until
from tests.connectors.telegram.fake_telegram import FakeTelegram
from tests.serve_process import QUESTIONS, TOKEN, ServeProcess
from tests.serve_process import telegram_update as _update

SENDERS = 10
PER_SENDER = 5
KILL_AFTER = 25


class Server(ServeProcess):
    """The server on its SQLite file, restarted on the same one."""

    def __init__(self, tmp: Path, model: Path, fake: FakeTelegram) -> None:
        super().__init__(tmp, model, fake, db=tmp / "bot.db")

    def rows(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.db) as db:
            return db.execute(sql).fetchall()


@pytest.fixture
def fake():
    with FakeTelegram(TOKEN) as telegram:
        yield telegram


@pytest.mark.slow  # two `bot serve` processes, each loading the model
def test_sigkill_mid_traffic_loses_nothing_and_doubles_nothing(full_model, fake, tmp_path):
    server = Server(tmp_path, full_model, fake)
    updates = [(1000 + n, 5000 + n % SENDERS, QUESTIONS[n // SENDERS]) for n in range(SENDERS * PER_SENDER)]
    accepted: set[int] = set()
    try:
        server.start()
        for update_id, chat, text in updates:
            if len(accepted) == KILL_AFTER:
                server.kill()
            if server.post(_update(update_id, chat, text)):
                accepted.add(update_id)
        assert len(accepted) == KILL_AFTER  # every post after the kill failed
        in_flight = {row[0] for row in server.rows("SELECT payload FROM outbound WHERE in_flight = 1")}

        server.start()
        for update_id, chat, text in updates:  # Telegram redelivers what got no 200...
            if update_id not in accepted:
                assert server.post(_update(update_id, chat, text))
        for update_id, chat, text in updates[:10]:  # ...and may repeat what did
            assert server.post(_update(update_id, chat, text))

        def all_answered() -> bool:
            pending = server.rows("SELECT count(*) FROM inbound WHERE state != 'answered'")[0][0]
            queued = server.rows("SELECT count(*) FROM outbound WHERE state = 'pending'")[0][0]
            return pending == 0 and queued == 0
        wait_until(all_answered, timeout=240, step=0.5)
    finally:
        server.stop()

    inbound = server.rows("SELECT platform_id, sender FROM inbound")
    assert sorted(int(p) for p, _ in inbound) == [u for u, _, _ in updates]  # each stored once
    outbound = server.rows("SELECT recipient, payload, state FROM outbound ORDER BY id")
    assert {state for _, _, state in outbound} == {"sent"}
    answered = server.rows("SELECT count(DISTINCT inbound_id) FROM outbound")[0][0]
    assert answered == len(updates)  # every message got its reply

    expected = Counter((recipient, json.loads(payload)["text"]) for recipient, payload, _ in outbound)
    delivered = Counter((str(c.params["chat_id"]), c.params["text"]) for c in fake.sent())
    doubled = delivered - expected
    assert not expected - delivered, "a reply was lost"
    allowed = Counter((r, json.loads(p)["text"]) for r, p, _ in outbound if p in in_flight)
    assert not doubled - allowed, f"answered twice: {doubled - allowed}"
    for chat in {str(c) for _, c, _ in updates}:  # replies of one conversation in order
        sent: list[str] = []
        for call in fake.sent():
            text = call.params["text"]
            if str(call.params["chat_id"]) != chat or (sent and sent[-1] == text and (chat, text) in allowed):
                continue
            sent.append(text)
        assert sent == [json.loads(p)["text"] for r, p, _ in outbound if r == chat]
