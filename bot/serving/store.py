"""Our own tables (SQLAlchemy; SQLite by default).

- ``inbound``: every citizen message, stored before the platform is acknowledged and unique on
  the platform's id, so a redelivered webhook is recognised and not answered twice.
- ``outbound``: the outbox. Replies are queued in the same transaction that marks their message
  answered, then sent with retries; a final ``failed`` state stays visible.
- ``pending_pages``: the rest of a long SMS answer, sent when the citizen asks for more.

Every message text is stored with citizens' numbers masked (``bot.contract.redact.mask_numbers``:
ID card, social insurance and bank numbers, phones): only the sender's address (``sender``,
``recipient``) is kept whole, because a reply needs it. ``forget`` deletes a sender's rows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, declarative_base

from bot.contract import DEDUP_WINDOW_SECONDS
from bot.contract.redact import mask_numbers

Base = declarative_base()



class PendingPages(Base):
    __tablename__ = "pending_pages"
    channel = Column(String(16), primary_key=True)
    sender = Column(String(128), primary_key=True)
    pages = Column(Text, nullable=False)


class InboundRow(Base):
    __tablename__ = "inbound"
    __table_args__ = (UniqueConstraint("channel", "platform_id"),)
    id = Column(Integer, primary_key=True, autoincrement=True)
    channel = Column(String(16), nullable=False)
    platform_id = Column(String(128), nullable=False)
    sender = Column(String(128), nullable=False, index=True)
    text = Column(Text, nullable=False)
    meta = Column(Text, nullable=False, default="{}")
    state = Column(String(16), nullable=False, default="pending", index=True)  # pending, answered
    received_at = Column(Float, nullable=False)


class OutboundRow(Base):
    __tablename__ = "outbound"
    id = Column(Integer, primary_key=True, autoincrement=True)
    inbound_id = Column(Integer, nullable=True, index=True)
    channel = Column(String(16), nullable=False)
    recipient = Column(String(128), nullable=False)
    payload = Column(Text, nullable=False)  # {"text", "buttons": [[title, payload], ...]}
    meta = Column(Text, nullable=False, default="{}")
    state = Column(String(16), nullable=False, default="pending", index=True)  # pending, sent, failed
    attempts = Column(Integer, nullable=False, default=0)
    # 1 while the platform is being called: after a crash such a message may have arrived already,
    # and platforms give no idempotency key, so it is sent again (at least once) and logged.
    in_flight = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(Float, nullable=False)
    last_error = Column(Text, nullable=True)
    failure_kind = Column(String(24), nullable=True)  # bot.contract.SendFailure of the last failure
    platform_message_id = Column(String(128), nullable=True)
    delivery = Column(String(32), nullable=True)  # the last delivery report, e.g. Kannel's DLR
    created_at = Column(Float, nullable=False)
    sent_at = Column(Float, nullable=True)


@dataclass(frozen=True)
class Message:
    """A stored inbound message waiting for an answer."""

    id: int
    channel: str
    sender: str
    text: str
    meta: dict[str, Any]


@dataclass(frozen=True)
class Failed:
    """An outbound message that failed for good, and why (``kind``: a ``SendFailure`` value)."""

    id: int
    channel: str
    recipient: str
    kind: str
    reason: str
    attempts: int


@dataclass(frozen=True)
class Outgoing:
    """A queued outbound message."""

    id: int
    channel: str
    recipient: str
    text: str
    buttons: tuple[tuple[str, str], ...]
    meta: dict[str, Any]
    attempts: int
    in_flight: bool = False  # a send was cut by a crash: the platform may have it already


def delete_rows(engine: Any, tables: Iterable[tuple[Any, Any]], address: str,
                channel: str | None) -> dict[str, int]:
    """Deletes, in one transaction, the rows of each ``(table, column)`` whose column holds
    ``address`` (on ``channel``, or on all); rows deleted per table name."""
    deleted: dict[str, int] = {}
    with Session(engine) as session, session.begin():
        for table, column in tables:
            query = delete(table).where(column == address)
            if channel is not None:
                query = query.where(table.channel == channel)
            deleted[table.__tablename__] = session.execute(query).rowcount
    return deleted


UNKNOWN_KIND = "unknown"  # failed before the kind was recorded (databases from older versions)


def _add_missing_columns(engine: Any) -> None:
    """Adds columns that newer versions declare to tables an older version created: a database
    file outlives upgrades, and ``create_all`` never alters an existing table."""
    existing = inspect(engine)
    for table in Base.metadata.sorted_tables:
        present = {column["name"] for column in existing.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                kind = column.type.compile(dialect=engine.dialect)
                with engine.begin() as connection:
                    connection.execute(text(f'ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}'))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the webhook's writes
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Store:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, future=True)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        Base.metadata.create_all(self.engine)
        _add_missing_columns(self.engine)

    @classmethod
    def sqlite(cls, path: Path) -> Store:
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{path}")

    def set_pages(self, channel: str, sender: str, pages: list[str]) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(delete(PendingPages).where(
                PendingPages.channel == channel, PendingPages.sender == sender))
            if pages:
                session.add(PendingPages(channel=channel, sender=sender,
                                         pages=json.dumps([mask_numbers(p) for p in pages])))

    def pop_page(self, channel: str, sender: str) -> str | None:
        with Session(self.engine) as session, session.begin():
            row = session.execute(select(PendingPages).where(
                PendingPages.channel == channel, PendingPages.sender == sender)).scalar_one_or_none()
            if row is None:
                return None
            pages = json.loads(row.pages)
            if len(pages) > 1:
                row.pages = json.dumps(pages[1:])
            else:
                session.delete(row)
            return pages[0]

    def accept(self, channel: str, platform_id: str, sender: str, text: str,
               meta: dict[str, Any] | None = None, now: float | None = None) -> bool:
        """Stores one inbound message, numbers masked; False if this platform id was already stored."""
        row = InboundRow(channel=channel, platform_id=platform_id, sender=sender, text=mask_numbers(text),
                         meta=json.dumps(meta or {}), state="pending",
                         received_at=time.time() if now is None else now)
        try:
            with Session(self.engine) as session, session.begin():
                session.add(row)
        except IntegrityError:
            return False
        return True

    def pending_inbound(self, limit: int = 500) -> list[Message]:
        """Unanswered messages, oldest first (the order each conversation must be handled in)."""
        with Session(self.engine) as session:
            rows = session.execute(select(InboundRow).where(InboundRow.state == "pending")
                                   .order_by(InboundRow.id).limit(limit)).scalars()
            return [Message(r.id, r.channel, r.sender, r.text, json.loads(r.meta)) for r in rows]

    def answer(self, inbound_id: int, channel: str, recipient: str,
               messages: Iterable[tuple[str, Sequence[tuple[str, str]]]],
               meta: dict[str, Any] | None = None, now: float | None = None) -> None:
        """Marks a message answered and queues its replies (numbers masked), in one transaction."""
        now = time.time() if now is None else now
        with Session(self.engine) as session, session.begin():
            session.execute(update(InboundRow).where(InboundRow.id == inbound_id)
                            .values(state="answered"))
            for text, buttons in messages:
                session.add(OutboundRow(
                    inbound_id=inbound_id, channel=channel, recipient=recipient,
                    payload=json.dumps({"text": mask_numbers(text), "buttons": [
                        [mask_numbers(title), payload] for title, payload in buttons]}, ensure_ascii=False),
                    meta=json.dumps(meta or {}), state="pending", attempts=0, in_flight=0,
                    next_attempt_at=now, created_at=now))

    def due_outbound(self, now: float | None = None, limit: int = 200) -> list[Outgoing]:
        """Pending outbound messages whose time has come, oldest first."""
        now = time.time() if now is None else now
        with Session(self.engine) as session:
            rows = session.execute(select(OutboundRow).where(
                OutboundRow.state == "pending", OutboundRow.next_attempt_at <= now)
                .order_by(OutboundRow.id).limit(limit)).scalars()
            result = []
            for r in rows:
                payload = json.loads(r.payload)
                result.append(Outgoing(r.id, r.channel, r.recipient, payload["text"],
                                       tuple(tuple(b) for b in payload["buttons"]),
                                       json.loads(r.meta), r.attempts, bool(r.in_flight)))
            return result

    def blocked_recipients(self, now: float | None = None) -> set[tuple[str, str]]:
        """Recipients with a pending message waiting for a retry: their later messages wait too,
        so a conversation's replies arrive in order."""
        now = time.time() if now is None else now
        with Session(self.engine) as session:
            rows = session.execute(select(OutboundRow.channel, OutboundRow.recipient).where(
                OutboundRow.state == "pending", OutboundRow.next_attempt_at > now)).all()
            return {(c, r) for c, r in rows}

    def _update_outbound(self, outbound_id: int, **values: Any) -> int:
        """Sets ``values`` on one outbound row; the number of rows changed (0 or 1)."""
        with Session(self.engine) as session, session.begin():
            return session.execute(update(OutboundRow).where(OutboundRow.id == outbound_id)
                                   .values(**values)).rowcount

    def mark_in_flight(self, outbound_id: int) -> None:
        self._update_outbound(outbound_id, in_flight=1)

    def mark_sent(self, outbound_id: int, platform_message_id: str | None,
                  now: float | None = None) -> None:
        self._update_outbound(outbound_id, in_flight=0, state="sent",
                              platform_message_id=platform_message_id,
                              sent_at=time.time() if now is None else now,
                              attempts=OutboundRow.attempts + 1, last_error=None)

    def mark_retry(self, outbound_id: int, reason: str, at: float, kind: str | None = None) -> None:
        self._update_outbound(outbound_id, in_flight=0, attempts=OutboundRow.attempts + 1,
                              next_attempt_at=at, last_error=reason, failure_kind=kind)

    def mark_failed(self, outbound_id: int, reason: str, kind: str | None = None) -> None:
        self._update_outbound(outbound_id, in_flight=0, state="failed",
                              attempts=OutboundRow.attempts + 1, last_error=reason, failure_kind=kind)

    def record_delivery(self, outbound_id: int, status: str) -> bool:
        """Stores a delivery report; False if no such outbound message."""
        return self._update_outbound(outbound_id, delivery=status) > 0

    def outbound_counts(self) -> dict[str, int]:
        """How many outbound messages are in each state (for operators and tests)."""
        with Session(self.engine) as session:
            return dict(session.execute(select(OutboundRow.state, func.count())
                                        .group_by(OutboundRow.state)).all())

    def failed_outbound(self, limit: int = 20) -> list[Failed]:
        """The latest messages that could not be delivered, newest first."""
        with Session(self.engine) as session:
            rows = session.execute(select(OutboundRow).where(OutboundRow.state == "failed")
                                   .order_by(OutboundRow.id.desc()).limit(limit)).scalars()
            return [Failed(r.id, r.channel, r.recipient, r.failure_kind or UNKNOWN_KIND,
                           r.last_error or "", r.attempts) for r in rows]

    def failure_counts(self) -> dict[tuple[str, str], int]:
        """Messages that failed for good, by channel and kind of failure."""
        with Session(self.engine) as session:
            rows = session.execute(select(OutboundRow.channel, OutboundRow.failure_kind, func.count())
                                   .where(OutboundRow.state == "failed")
                                   .group_by(OutboundRow.channel, OutboundRow.failure_kind)).all()
            return {(channel, kind or UNKNOWN_KIND): n for channel, kind, n in rows}

    def forget_old_inbound(self, now: float | None = None) -> int:
        """Drops answered messages older than the dedup window."""
        cutoff = (time.time() if now is None else now) - DEDUP_WINDOW_SECONDS
        with Session(self.engine) as session, session.begin():
            return session.execute(delete(InboundRow).where(
                InboundRow.state == "answered", InboundRow.received_at < cutoff)).rowcount

    def forget(self, sender: str, channel: str | None = None) -> dict[str, int]:
        """Deletes every row about ``sender`` (on ``channel``, or on all); rows deleted per table."""
        tables = ((InboundRow, InboundRow.sender), (OutboundRow, OutboundRow.recipient),
                  (PendingPages, PendingPages.sender))
        return delete_rows(self.engine, tables, sender, channel)
