"""Deadline reminders and opt-outs in the database, and the loop that sends reminders when due.

Tables (their own metadata, in the same database file as ``bot.serving.store``):

- ``reminders``: id, channel, recipient address, procedure, deadline date, ``due_at`` (UTC epoch),
  state ``pending`` / ``sent`` / ``cancelled``, ``created_at``. Nothing else about the citizen.
- ``opt_outs``: one row per (channel, address) that sent STOP; no proactive message goes there.

A due reminder is sent exactly once: one transaction claims it (``pending`` -> ``sent`` only if it
is still pending) and queues its text in the outbox, so a second worker on the same file, or the
same worker after a restart, finds it claimed and does nothing, and a crash leaves either both
changes or neither. The outbox then sends it with its own retries and backoff. A reminder whose
recipient has opted out is cancelled in the same way instead of being queued.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from sqlalchemy import Column, Float, Integer, String, delete, select, update
from sqlalchemy.orm import Session, declarative_base

from bot.contract import Rendered
from bot.dialogue.answers import Answers
from bot.dialogue.reminding import Scheduled, due_reply
from bot.render import render
from bot.serving.database import create_tables
from bot.serving.store import OutboundRow, Store, delete_rows

logger = logging.getLogger(__name__)

Base = declarative_base()
CHECK_EVERY_SECONDS = 30.0

PENDING, SENT, CANCELLED = "pending", "sent", "cancelled"


class ReminderRow(Base):
    __tablename__ = "reminders"
    id = Column(Integer, primary_key=True, autoincrement=True)
    channel = Column(String(16), nullable=False)
    recipient = Column(String(128), nullable=False, index=True)
    procedure = Column(String(64), nullable=False)
    deadline = Column(String(10), nullable=False)  # ISO date, said in the reminder's text
    due_at = Column(Float, nullable=False, index=True)
    state = Column(String(16), nullable=False, default=PENDING, index=True)
    created_at = Column(Float, nullable=False)


class OptOutRow(Base):
    __tablename__ = "opt_outs"
    channel = Column(String(16), primary_key=True)
    address = Column(String(128), primary_key=True)
    since = Column(Float, nullable=False)


@dataclass(frozen=True)
class Due:
    """A pending reminder whose time has come."""

    id: int
    channel: str
    recipient: str
    procedure: str
    deadline: dt.date


class Reminders:
    """The reminder and opt-out tables; also the ``ReminderDesk`` the conversation talks to."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.engine = store.engine
        self.clock = clock
        create_tables(Base.metadata, self.engine)

    def forget(self, address: str, channel: str | None = None) -> dict[str, int]:
        """Deletes a citizen's reminders and opt-out (on ``channel``, or on all); rows per table."""
        return delete_rows(self.engine, ((ReminderRow, ReminderRow.recipient),
                                         (OptOutRow, OptOutRow.address)), address, channel)

    # ----------------------------------------------------------------- ReminderDesk

    def now(self) -> float:
        return self.clock()

    def schedule(self, channel: str, address: str, procedure: str, deadline: dt.date,
                 due_at: float) -> int:
        """Stores a reminder; one pending reminder per procedure and address (a new date replaces
        the old one: the citizen corrected it)."""
        with Session(self.engine) as session, session.begin():
            session.execute(update(ReminderRow).where(
                ReminderRow.channel == channel, ReminderRow.recipient == address,
                ReminderRow.procedure == procedure, ReminderRow.state == PENDING)
                .values(state=CANCELLED))
            row = ReminderRow(channel=channel, recipient=address, procedure=procedure,
                              deadline=deadline.isoformat(), due_at=due_at, state=PENDING,
                              created_at=self.clock())
            session.add(row)
            session.flush()
            return int(row.id)

    def pending(self, channel: str, address: str) -> list[Scheduled]:
        with Session(self.engine) as session:
            rows = session.execute(select(ReminderRow).where(
                ReminderRow.channel == channel, ReminderRow.recipient == address,
                ReminderRow.state == PENDING).order_by(ReminderRow.due_at)).scalars()
            return [Scheduled(r.id, r.procedure, dt.date.fromisoformat(r.deadline), r.due_at)
                    for r in rows]

    def cancel_pending(self, channel: str, address: str) -> int:
        with Session(self.engine) as session, session.begin():
            return session.execute(update(ReminderRow).where(
                ReminderRow.channel == channel, ReminderRow.recipient == address,
                ReminderRow.state == PENDING).values(state=CANCELLED)).rowcount

    def opted_out(self, channel: str, address: str) -> bool:
        with Session(self.engine) as session:
            return session.get(OptOutRow, (channel, address)) is not None

    # ----------------------------------------------------------------- opt-out

    def opt_out(self, channel: str, address: str) -> bool:
        """Stops proactive messages to this sender; False if they were stopped already."""
        with Session(self.engine) as session, session.begin():
            if session.get(OptOutRow, (channel, address)) is not None:
                return False
            session.add(OptOutRow(channel=channel, address=address, since=self.clock()))
            return True

    def opt_in(self, channel: str, address: str) -> bool:
        """Allows proactive messages again; False if they were not stopped."""
        with Session(self.engine) as session, session.begin():
            return session.execute(delete(OptOutRow).where(
                OptOutRow.channel == channel, OptOutRow.address == address)).rowcount > 0

    # ----------------------------------------------------------------- sending

    def due(self, now: float, limit: int = 200) -> list[Due]:
        with Session(self.engine) as session:
            rows = session.execute(select(ReminderRow).where(
                ReminderRow.state == PENDING, ReminderRow.due_at <= now)
                .order_by(ReminderRow.due_at, ReminderRow.id).limit(limit)).scalars()
            return [Due(r.id, r.channel, r.recipient, r.procedure, dt.date.fromisoformat(r.deadline))
                    for r in rows]

    def deliver(self, due: Due, messages: list[Rendered], now: float) -> str:
        """Claims ``due`` and queues ``messages`` in the outbox, in one transaction: ``sent``;
        ``cancelled`` when the recipient opted out; ``taken`` when it was no longer pending."""
        with Session(self.engine) as session, session.begin():
            # the claim comes first: a write takes SQLite's lock, so a second worker waits here
            # and then finds the row no longer pending
            claimed = session.execute(update(ReminderRow).where(
                ReminderRow.id == due.id, ReminderRow.state == PENDING).values(state=SENT)).rowcount
            if not claimed:
                return "taken"
            if session.get(OptOutRow, (due.channel, due.recipient)) is not None:
                session.execute(update(ReminderRow).where(ReminderRow.id == due.id)
                                .values(state=CANCELLED))
                return CANCELLED
            for message in messages:
                session.add(OutboundRow(
                    inbound_id=None, channel=due.channel, recipient=due.recipient,
                    payload=json.dumps({"text": message.text,
                                        "buttons": [list(b) for b in message.buttons]},
                                       ensure_ascii=False),
                    meta=json.dumps({"reminder_id": due.id}), state="pending", attempts=0,
                    in_flight=0, next_attempt_at=now, created_at=now))
            return SENT

    def states(self) -> dict[str, int]:
        """How many reminders are in each state (for operators and tests)."""
        with Session(self.engine) as session:
            rows = session.execute(select(ReminderRow.state)).scalars()
            counts: dict[str, int] = {}
            for state in rows:
                counts[state] = counts.get(state, 0) + 1
            return counts


def composer(book: Answers) -> Callable[[Due, float], list[Rendered]]:
    """The reminder's text from the phrase book, shaped for its channel like any reply."""
    def compose(due: Due, now: float) -> list[Rendered]:
        return render(due_reply(book, due.procedure, due.deadline, now), due.channel)
    return compose


@dataclass
class ReminderLoop:
    """Checks for due reminders every ``every`` seconds and hands them to the outbox.

    ``compose`` turns a due reminder into the channel's messages; ``channels`` are the channels
    that run (a reminder for a channel that is off waits, like an outbox message)."""

    reminders: Reminders
    compose: Callable[[Due, float], list[Rendered]]
    channels: Collection[str]
    clock: Callable[[], float] = time.time
    every: float = CHECK_EVERY_SECONDS
    on_queued: Callable[[], None] | None = None  # wakes the outbox

    def tick(self) -> dict[str, int]:
        """One pass; how many reminders were sent, cancelled or taken by another worker."""
        now = self.clock()
        counts: dict[str, int] = {}
        for due in self.reminders.due(now):
            if due.channel not in self.channels:
                continue
            try:
                messages = self.compose(due, now)
            except Exception:  # noqa: BLE001 - one bad reminder must not stop the others
                logger.exception("reminder %s: composing failed", due.id)
                continue
            outcome = self.reminders.deliver(due, messages, now)
            counts[outcome] = counts.get(outcome, 0) + 1
            logger.info("reminder %s (%s): %s", due.id, due.channel, outcome)
        if counts.get(SENT) and self.on_queued is not None:
            self.on_queued()
        return counts

    async def run(self) -> None:
        while True:
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - a database hiccup: try again next time
                logger.exception("reminder check failed")
            await asyncio.sleep(self.every)
