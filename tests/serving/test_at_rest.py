"""No citizen's number is kept in the clear (issue #13): masking rules, then every table after a
conversation full of numbers has gone through the real worker."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from bot.contract import Connector, Inbound, Rendered, Reply
from bot.contract.redact import RedactingFilter, mask_numbers
from bot.serving.engine import TRACKER_EVENTS_TABLE, sql_tracker_store
from bot.serving.store import Store
from bot.serving.worker import Worker
from tests.stub_engine import StubEngine

MASKED = [
    ("CCCD 001099012345", "CCCD *********345"),
    ("so can cuoc 079 203 001 234", "so can cuoc *** *** *** 234"),
    ("CMND 271234567 cu", "CMND ******567 cu"),
    ("sdt 0912345678", "sdt *******678"),
    ("goi 0912 345 678 nhe", "goi **** *** 678 nhe"),
    ("goi 0912.345.678", "goi ****.***.678"),
    ("+84 912 345 678", "+** *** *** 678"),
    ("84912345678", "********678"),
    ("(024) 3825 6789", "(***) **** *789"),
    ("ma BHXH 7912345678", "ma BHXH *******678"),
    ("stk 19036543210011 techcombank", "stk ***********011 techcombank"),
    ("tk 1234 5678 9012", "tk **** **** *012"),
    ("12345678", "*****678"),
]
READABLE = ["le phi 70.000", "1.500.000 đồng", "mau CT01", "thu tuc 1.004194", "ngay 20/11/2026", "3/11",
            "Phường 1", "15 giờ", "2", "12", "Quận 10", "năm 2026", "84.000.000.000 đồng",
            "1.001193.000.00.00.H12", "tổng đài 1900 1234", "mẫu TK1-TS", "0.5 ngày"]


@pytest.mark.parametrize("text, masked", MASKED)
def test_citizens_numbers_are_masked(text, masked):
    assert mask_numbers(text) == masked
    assert RedactingFilter().redact(text) == masked  # logs and storage follow the same rules


@pytest.mark.parametrize("text", READABLE)
def test_numbers_that_help_a_reader_stay(text):
    assert mask_numbers(text) == text


# ------------------------------------------------------------------------------- at rest

CCCD, PHONE, CMND, BHXH, BANK = "001099012345", "0987 654 321", "271234567", "7912345678", "19036543210011"
SMS_SENDER = "84911222333"
TG_CHAT = "5551234567"
CONVERSATION = [
    ("telegram", TG_CHAT, f"toi mat can cuoc so {CCCD}, goi lai {PHONE} giup"),
    ("telegram", TG_CHAT, f"cmnd cu {CMND} con dung duoc khong"),
    ("telegram", TG_CHAT, f"ma so bhxh cua con {BHXH}"),
    ("sms", SMS_SENDER, f"le phi 70.000 chuyen khoan vao {BANK} duoc khong"),
    ("sms", SMS_SENDER, f"CCCD {CCCD}"),
]
SECRETS = [CCCD, PHONE, PHONE.replace(" ", ""), CMND, BHXH, BANK]


class Recording(Connector):
    channel = "telegram"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, recipient: str, message: Rendered, meta: Mapping[str, Any]) -> str | None:
        self.sent.append((recipient, message.text))
        return None


class RecordingSms(Recording):
    channel = "sms"


class TrackingEngine(StubEngine):
    """The stub's echo, with the turn written to Rasa's (masking) tracker store as the agent does."""

    def __init__(self, db: Path) -> None:
        super().__init__()
        self.tracker_store = sql_tracker_store(db)

    async def handle(self, sender: str, text: str, channel: str | None = None) -> list[Reply]:
        from rasa.shared.core.events import BotUttered, UserUttered
        from rasa.shared.core.trackers import DialogueStateTracker

        replies = await super().handle(sender, text)
        tracker = await self.tracker_store.retrieve(sender) or DialogueStateTracker(sender, [])
        numbers = re.findall(r"\d[\d .]{7,}\d", text)
        tracker.update(UserUttered(text, parse_data={
            "text": text, "intent": {"name": "ask", "confidence": 1.0},
            "entities": [{"entity": "number", "value": n, "start": 0, "end": 1} for n in numbers]}))
        for reply in replies:
            tracker.update(BotUttered(reply.text))
        await self.tracker_store.save(tracker)
        return replies


def every_cell(db: Path) -> list[tuple[str, str, str]]:
    """(table, column, value as text) for every cell of every table in the SQLite file."""
    cells = []
    with sqlite3.connect(db) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                cells += [(table, column, str(value)) for column, value in zip(columns, row, strict=True)]
    return cells


def converse(db: Path) -> tuple[Store, dict[str, Recording], TrackingEngine]:
    store = Store.sqlite(db)
    engine = TrackingEngine(db)
    connectors = {"telegram": Recording(), "sms": RecordingSms()}

    async def run() -> None:
        worker = Worker(store, engine, connectors)
        worker.start()
        try:
            await worker.accept([Inbound(channel, f"{channel}-{i}", sender, text)
                                 for i, (channel, sender, text) in enumerate(CONVERSATION)])
            for _ in range(400):
                if sum(len(c.sent) for c in connectors.values()) >= len(CONVERSATION):
                    break
                await asyncio.sleep(0.05)
        finally:
            await worker.stop()

    asyncio.run(run())
    return store, connectors, engine


def test_no_number_is_stored_in_clear_anywhere(tmp_path):
    db = tmp_path / "bot.db"
    _store, connectors, engine = converse(db)
    assert sum(len(c.sent) for c in connectors.values()) == len(CONVERSATION)
    cells = every_cell(db)
    tables = {table for table, _, _ in cells}
    assert {"inbound", "outbound", TRACKER_EVENTS_TABLE} <= tables
    for table, column, value in cells:
        compact = re.sub(r"[ .]", "", value)
        for secret in SECRETS:
            assert secret not in value and re.sub(r"[ .]", "", secret) not in compact, (table, column, value)
    # The sender's address is kept only where a reply needs it.
    holding = {(table, column) for table, column, value in cells if SMS_SENDER in value or TG_CHAT in value}
    assert holding <= {("inbound", "sender"), ("outbound", "recipient"), (TRACKER_EVENTS_TABLE, "sender_id")}
    # The engine was given the inbox's text: masked too (no rule of the NLU reads such numbers).
    assert all(secret not in text for _, text in engine.seen for secret in SECRETS)
    # The replies still went out (masked: they echo the citizen).
    assert ("5551234567", "Bạn hỏi: cmnd cu ******567 con dung duoc khong") in connectors["telegram"].sent


def test_tracker_stores_masked_what_the_engine_read_in_clear(tmp_path):
    """``bot chat`` gives the engine clear text: the tracker store still writes it masked."""
    db = tmp_path / "bot.db"
    engine = TrackingEngine(db)
    asyncio.run(engine.handle("chat-1", f"cccd {CCCD} sdt {PHONE}"))
    events = [v for t, c, v in every_cell(db) if t == TRACKER_EVENTS_TABLE and c == "data"]
    assert events and all(CCCD not in v and PHONE not in v for v in events)
    assert any("*********345" in v for v in events)
