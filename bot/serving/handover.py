"""Handover to staff: a citizen's conversation goes to a staff group, staff replies come back.

A case opens when the citizen asks for a person (intent ``ask_human``: "gặp cán bộ"), after two
fallbacks in a row, or when another part of the bot calls ``Handover.hand_over`` (a low rating).
The conversation so far, from the tracker (numbers masked there and again here with the same
``mask_numbers``), is posted to the staff group through the outbox, in the same transaction that
opens the case: exactly once, retried like any reply. While the case is open the bot does not
answer the citizen; their messages are posted to the group, threaded to the case. A staff
member's reply to any of the case's posts is relayed to the citizen on the citizen's channel
(SMS rendered and paged as any SMS reply); ``/dong`` (or ``/close``) in the thread closes the
case, and so does ``timeout_seconds`` without a new message from either side. STOP closes it too.
Outside working hours the citizen is told when staff will answer.

Tables (their own metadata, in the same database file as ``bot.serving.store``):

- ``handover_cases``: ``id``, ``channel``, ``sender``, ``opened_at``, ``closed_at`` (null while
  open), ``reason`` (``asked``, ``fallback``, ``low_rating``), ``closed_by`` (``staff``,
  ``timeout``, ``stop``), ``staff_channel`` and ``staff_chat`` (where the case is posted) and
  ``last_activity_at`` (the timeout counts from it). Times are UTC epoch seconds.
- ``handover_posts``: one row per outbox message posted to the staff group for a case. A staff
  reply names the group message it answers; the outbox keeps the platform's id of each sent
  message, which leads back to the post and its case.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import Field, validator
from sqlalchemy import Column, Float, Integer, String, delete, select, update
from sqlalchemy.orm import Session, declarative_base

from bot.contract import REPLY_TO_META, ConfigError, Rendered, Reply, Settings, parse_settings
from bot.contract.redact import mask_numbers
from bot.render import render
from bot.serving.database import create_tables
from bot.serving.reminders import OptOutRow
from bot.serving.store import InboundRow, Message, OutboundRow, Store
from bot.text import search_key

logger = logging.getLogger(__name__)

Base = declarative_base()

# Vietnam has kept UTC+7 without daylight saving since 1975 (Asia/Ho_Chi_Minh).
LOCAL_TIME = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")
ASK_HUMAN_INTENT = "ask_human"
FALLBACK_INTENT = "nlu_fallback"
REASON_ASKED, REASON_FALLBACK, REASON_LOW_RATING = "asked", "fallback", "low_rating"
BY_STAFF, BY_TIMEOUT, BY_STOP = "staff", "timeout", "stop"
CLOSE_COMMANDS = frozenset({"dong", "close"})  # /dong, /close, /dong@OurBot, "/dong 12"
STAFF_META = "staff_message"  # an inbox message's meta key: a staff message, {"reply_to", "author"}
TRANSCRIPT_MESSAGES = 20  # the last messages of the conversation shown to staff
TRANSCRIPT_LINE_CHARS = 600  # one message in the transcript, at most
CHECK_EVERY_SECONDS = 60.0
DEFAULT_WORKING_HOURS = "T2-T6 07:30-11:30 13:30-17:00"  # a commune's one-stop desk
DEFAULT_TIMEOUT_HOURS = 48.0
ENVIRONMENT = {"working_hours": "HANDOVER_WORKING_HOURS", "timeout_hours": "HANDOVER_TIMEOUT_HOURS"}

_DAYS = {"T2": 0, "T3": 1, "T4": 2, "T5": 3, "T6": 4, "T7": 5, "CN": 6}
_DAY = r"(?:T[2-7]|CN)"
_DAYS_PART = re.compile(rf"{_DAY}(?:-{_DAY})?(?:,{_DAY}(?:-{_DAY})?)*")
_SPAN = re.compile(r"([01]?\d|2[0-4]):([0-5]\d)-([01]?\d|2[0-4]):([0-5]\d)")


class CaseRow(Base):
    __tablename__ = "handover_cases"
    id = Column(Integer, primary_key=True, autoincrement=True)
    channel = Column(String(16), nullable=False)
    sender = Column(String(128), nullable=False, index=True)
    opened_at = Column(Float, nullable=False)
    closed_at = Column(Float, nullable=True, index=True)
    reason = Column(String(24), nullable=False)
    closed_by = Column(String(16), nullable=True)
    staff_channel = Column(String(16), nullable=False)
    staff_chat = Column(String(128), nullable=False)
    last_activity_at = Column(Float, nullable=False)


class PostRow(Base):
    __tablename__ = "handover_posts"
    outbound_id = Column(Integer, primary_key=True)
    case_id = Column(Integer, nullable=False, index=True)


# ------------------------------------------------------------------ working hours

@dataclass(frozen=True)
class WorkingHours:
    """Opening spans per weekday (0 = Monday), in minutes after local midnight."""

    spans: Mapping[int, tuple[tuple[int, int], ...]]

    @classmethod
    def parse(cls, spec: str) -> WorkingHours:
        """``"T2-T6 07:30-11:30 13:30-17:00; T7 07:30-11:30"``: days (T2..T7, CN; ranges and
        commas), then the spans; groups separated by ``;``. ``ValueError`` says what is wrong."""
        spans: dict[int, list[tuple[int, int]]] = {}
        for group in filter(None, (part.strip() for part in spec.split(";"))):
            days, *times = group.split()
            if not _DAYS_PART.fullmatch(days.upper()) or not times:
                raise ValueError(f"'{group}': expected days such as T2-T6 or CN, "
                                 "then spans such as 07:30-11:30")
            for time_span in times:
                match = _SPAN.fullmatch(time_span)
                start = int(match.group(1)) * 60 + int(match.group(2)) if match else 0
                end = int(match.group(3)) * 60 + int(match.group(4)) if match else 0
                if not match or not start < end <= 24 * 60:
                    raise ValueError(f"'{time_span}': expected a span such as 07:30-11:30 within one day")
                for day in _day_numbers(days.upper()):
                    spans.setdefault(day, []).append((start, end))
        if not spans:
            raise ValueError("no working hours given")
        return cls({day: tuple(sorted(s)) for day, s in spans.items()})

    def is_open(self, at: float) -> bool:
        local = dt.datetime.fromtimestamp(at, LOCAL_TIME)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.spans.get(local.weekday(), ()))

    def next_opening(self, at: float) -> dt.datetime:
        """The next start of a span after ``at``, local time (within the coming week)."""
        local = dt.datetime.fromtimestamp(at, LOCAL_TIME)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        for offset in range(8):
            day = midnight + dt.timedelta(days=offset)
            for start, _end in self.spans.get(day.weekday(), ()):
                opening = day + dt.timedelta(minutes=start)
                if opening > local:
                    return opening
        raise ValueError("working hours without any span")  # parse never builds such hours


def _day_numbers(days: str) -> list[int]:
    numbers: list[int] = []
    for part in days.split(","):
        first, _, last = part.partition("-")
        start, end = _DAYS[first], _DAYS[last or first]
        numbers += list(range(start, end + 1)) if start <= end else [*range(start, 7), *range(0, end + 1)]
    return numbers


class HandoverSettings(Settings):
    """Handover settings, from the environment (``ENVIRONMENT`` names the variables)."""

    working_hours: str = Field(DEFAULT_WORKING_HOURS, description=(
        "days and hours staff answer, Asia/Ho_Chi_Minh time, "
        "e.g. 'T2-T6 07:30-11:30 13:30-17:00; T7 07:30-11:30'"))
    timeout_hours: float = Field(DEFAULT_TIMEOUT_HOURS, gt=0, description=(
        "hours without a message from either side after which a case closes by itself"))

    @validator("working_hours")
    def _readable(cls, value: str) -> str:
        WorkingHours.parse(value)
        return value


def settings_from_env(env: Mapping[str, str]) -> HandoverSettings:
    """``HandoverSettings`` from ``HANDOVER_*`` variables; ``ConfigError`` names a wrong one."""
    try:
        given = {key: env.get(variable) for key, variable in ENVIRONMENT.items()}
        return parse_settings(HandoverSettings, given)
    except ConfigError as exc:
        message = str(exc)
        for key, variable in ENVIRONMENT.items():
            message = message.replace(f"{key}:", f"{variable}:")
        raise ConfigError(message) from None


# ------------------------------------------------------------------ the desk

@dataclass(frozen=True)
class Case:
    id: int
    channel: str
    sender: str
    reason: str
    opened_at: float
    closed_at: float | None


@dataclass
class Handover:
    """Opens, threads, relays and closes cases; queues every message through the outbox."""

    store: Store
    phrases: Mapping[str, str]
    staff_channel: str
    staff_chat: str
    hours: WorkingHours
    timeout_seconds: float = DEFAULT_TIMEOUT_HOURS * 3600
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.engine = self.store.engine
        create_tables(Base.metadata, self.engine)  # two workers may start at once
        OptOutRow.__table__.create(self.engine, checkfirst=True)  # STOP is checked before a relay

    @classmethod
    def configured(cls, store: Store, phrases: Mapping[str, str], staff: Iterable[tuple[str, str | None]],
                   settings: HandoverSettings, clock: Callable[[], float] = time.time) -> Handover | None:
        """The handover to the first channel with a staff chat (``Connector.staff_chat``); None
        (handover off) when no channel has one."""
        for channel, chat in staff:
            if chat:
                return cls(store, phrases, channel, chat, WorkingHours.parse(settings.working_hours),
                           settings.timeout_hours * 3600, clock)
        return None

    # -------------------------------------------------------------- citizen side

    async def after_turn(self, agent: Any, channel: str, sender: str) -> Reply | None:
        """Opens a case when the turn just answered asked for a person or was the second
        fallback in a row; the citizen's reply then, else None."""
        events = await _events(agent, sender)
        reason = trigger(events)
        if reason is None:
            return None
        said = transcript(events)
        while said and said[-1][0] == "bot":  # this turn's replies: the citizen gets this one instead
            said.pop()
        return self.open_case(channel, sender, reason, said)

    async def hand_over(self, agent: Any, channel: str, sender: str,
                        reason: str = REASON_LOW_RATING) -> Reply:
        """The entry point for other handlers (a low rating): opens a case with the conversation
        so far and returns what to tell the citizen."""
        return self.open_case(channel, sender, reason, transcript(await _events(agent, sender)))

    def open_case(self, channel: str, sender: str, reason: str,
                  conversation: Sequence[tuple[str, str]]) -> Reply:
        """Opens a case and posts it to the staff group, in one transaction; if one is open
        already, it stays the one."""
        now = self.clock()
        with Session(self.engine) as session, session.begin():
            if self._open_row(session, channel, sender) is not None:
                return Reply(self.phrases["handover.already"])
            case = CaseRow(channel=channel, sender=sender, opened_at=now, reason=reason,
                           staff_channel=self.staff_channel, staff_chat=self.staff_chat, last_activity_at=now)
            session.add(case)
            session.flush()
            lines = [f"{self.phrases['staff.citizen' if who == 'user' else 'staff.bot']}: "
                     f"{_shorter(text)}" for who, text in conversation]
            text = self.phrases["staff.case"].format(
                case=case.id, channel=channel, sender=mask_numbers(sender),
                reason=self.phrases[f"staff.reason.{reason}"] if f"staff.reason.{reason}" in self.phrases
                else reason, opened=_local(now), conversation="\n".join(lines) or "-")
            self._post(session, case.id, text, now)
            case_id = case.id
        logger.info("handover: case %s opened for %s (%s)", case_id, channel, reason)
        if self.hours.is_open(now):
            return Reply(self.phrases["handover.opened"])
        return Reply(self.phrases["handover.opened_later"].format(when=self.when(now)))

    def waiting(self, channel: str, sender: str) -> bool:
        """True while a case of this citizen is open; one that timed out is closed now."""
        self.close_expired(only=(channel, sender))
        with Session(self.engine) as session:
            return self._open_row(session, channel, sender) is not None

    def append(self, channel: str, sender: str, text: str) -> bool:
        """Posts a citizen's message to their open case; False if none is open."""
        now = self.clock()
        with Session(self.engine) as session, session.begin():
            case = self._open_row(session, channel, sender)
            if case is None:
                return False
            case.last_activity_at = now
            self._post(session, case.id, self.phrases["staff.more"].format(case=case.id, text=_shorter(text)),
                       now)
        return True

    def stopped(self, channel: str, sender: str) -> None:
        """The citizen sent STOP: their open case closes, and staff are told."""
        with Session(self.engine) as session, session.begin():
            case = self._open_row(session, channel, sender)
            if case is not None:
                self._close(session, case, BY_STOP, self.phrases["staff.closed.stop"].format(case=case.id))

    # -------------------------------------------------------------- staff side

    def on_staff(self, message: Message) -> str:
        """Handles one stored staff message: relay, close, or nothing; marks it answered in the
        same transaction. Returns what was done (``relayed``, ``closed``, ``not_relayed``, ``none``)."""
        staff = message.meta.get(STAFF_META) or {}
        now = self.clock()
        pages: list[str] | None = None
        with Session(self.engine) as session, session.begin():
            session.execute(update(InboundRow).where(InboundRow.id == message.id).values(state="answered"))
            command, argument = _command(message.text)
            case = self._case_of(session, message.channel, message.sender, staff.get("reply_to"), argument)
            if case is None:
                logger.info("handover: staff message %s is not about a case", message.id)
                return "none"
            if command in CLOSE_COMMANDS:
                if case.closed_at is not None:
                    notice = self.phrases["staff.already_closed"].format(case=case.id)
                    self._post(session, case.id, notice, now)
                    return "none"
                self._close(session, case, BY_STAFF, self.phrases["staff.closed.staff"].format(
                    case=case.id, author=staff.get("author") or "-"))
                return "closed"
            if command is not None:
                return "none"  # another command: not for the citizen
            refusal = self._refusal(session, case)
            if refusal is not None:
                self._post(session, case.id, self.phrases[refusal].format(case=case.id), now)
                return "not_relayed"
            case.last_activity_at = now
            relay = Reply(self.phrases["handover.staff_says"].format(text=message.text))
            rendered = render(relay, case.channel)
            self._queue(session, case.channel, case.sender, rendered, {"handover_case": case.id}, now)
            pages = [page for r in rendered for page in r.more]
            channel, sender = case.channel, case.sender
        if channel == "sms":
            self.store.set_pages(channel, sender, pages)
        return "relayed"

    # -------------------------------------------------------------- timeout, erasure

    def close_expired(self, only: tuple[str, str] | None = None) -> int:
        """Closes cases with no message for ``timeout_seconds``; citizen and staff are told."""
        cutoff = self.clock() - self.timeout_seconds
        closed = 0
        with Session(self.engine) as session, session.begin():
            query = select(CaseRow).where(CaseRow.closed_at.is_(None), CaseRow.last_activity_at <= cutoff)
            if only is not None:
                query = query.where(CaseRow.channel == only[0], CaseRow.sender == only[1])
            for case in session.execute(query).scalars().all():
                self._close(session, case, BY_TIMEOUT, self.phrases["staff.closed.timeout"].format(
                    case=case.id, hours=f"{self.timeout_seconds / 3600:g}"))
                closed += 1
        return closed

    def forget(self, sender: str, channel: str | None = None) -> dict[str, int]:
        """Deletes a citizen's cases and what was posted about them; rows deleted per table."""
        return forget_cases(self.store, sender, channel)

    def cases(self) -> list[Case]:
        with Session(self.engine) as session:
            rows = session.execute(select(CaseRow).order_by(CaseRow.id)).scalars()
            return [Case(r.id, r.channel, r.sender, r.reason, r.opened_at, r.closed_at) for r in rows]

    def when(self, now: float) -> str:
        """The next opening in words, e.g. ``7:30 thứ Hai 7/12``."""
        opening = self.hours.next_opening(now)
        return self.phrases["handover.when"].format(
            time=f"{opening.hour}:{opening.minute:02d}", weekday=self.phrases[f"weekday.{opening.weekday()}"],
            date=f"{opening.day}/{opening.month}")

    # -------------------------------------------------------------- inside a transaction

    def _open_row(self, session: Session, channel: str, sender: str) -> CaseRow | None:
        return session.execute(select(CaseRow).where(
            CaseRow.channel == channel, CaseRow.sender == sender, CaseRow.closed_at.is_(None))
            .order_by(CaseRow.id.desc())).scalars().first()

    def _case_of(self, session: Session, channel: str, chat: str, reply_to: str | None,
                 number: str | None) -> CaseRow | None:
        """The case a staff message is about: the one its reply threads to, else ``/dong 12``'s."""
        if reply_to is not None:
            case_id = session.execute(select(PostRow.case_id).join(
                OutboundRow, OutboundRow.id == PostRow.outbound_id).where(
                OutboundRow.channel == channel, OutboundRow.recipient == chat,
                OutboundRow.platform_message_id == reply_to)).scalars().first()
            if case_id is not None:
                return session.get(CaseRow, case_id)
        if number is not None and number.lstrip("#").isdigit():
            case = session.get(CaseRow, int(number.lstrip("#")))
            if case is not None and case.staff_channel == channel and case.staff_chat == chat:
                return case
        return None

    def _refusal(self, session: Session, case: CaseRow) -> str | None:
        """Why a staff reply must not reach the citizen (a phrase key), or None."""
        if case.closed_at is not None:
            return "staff.already_closed"
        if session.get(OptOutRow, (case.channel, case.sender)) is not None:
            return "staff.opted_out"
        return None

    def _close(self, session: Session, case: CaseRow, by: str, notice: str) -> None:
        now = self.clock()
        case.closed_at, case.closed_by = now, by
        self._post(session, case.id, notice, now)
        if by == BY_STOP or session.get(OptOutRow, (case.channel, case.sender)) is not None:
            return
        phrase = "handover.timeout" if by == BY_TIMEOUT else "handover.closed"
        self._queue(session, case.channel, case.sender, render(Reply(self.phrases[phrase]), case.channel),
                    {"handover_case": case.id}, now)
        logger.info("handover: case %s closed (%s)", case.id, by)

    def _post(self, session: Session, case_id: int, text: str, now: float) -> None:
        """Queues ``text`` to the staff group, threaded under the case's first post once sent."""
        first = session.execute(select(OutboundRow.platform_message_id).join(
            PostRow, PostRow.outbound_id == OutboundRow.id).where(PostRow.case_id == case_id)
            .order_by(OutboundRow.id)).scalars().first()
        meta: dict[str, Any] = {"handover_case": case_id}
        if first is not None:
            meta[REPLY_TO_META] = first
        for outbound_id in self._queue(session, self.staff_channel, self.staff_chat,
                                       render(Reply(text), self.staff_channel), meta, now):
            session.add(PostRow(outbound_id=outbound_id, case_id=case_id))

    def _queue(self, session: Session, channel: str, recipient: str, messages: Sequence[Rendered],
               meta: Mapping[str, Any], now: float) -> list[int]:
        """Adds outbox rows (numbers masked, as every stored text); their ids."""
        rows = [OutboundRow(
            inbound_id=None, channel=channel, recipient=recipient,
            payload=json.dumps({"text": mask_numbers(m.text),
                                "buttons": [[mask_numbers(t), p] for t, p in m.buttons]}, ensure_ascii=False),
            meta=json.dumps(dict(meta)), state="pending", attempts=0, in_flight=0,
            next_attempt_at=now, created_at=now) for m in messages]
        session.add_all(rows)
        session.flush()
        return [int(row.id) for row in rows]


def forget_cases(store: Store, sender: str, channel: str | None = None) -> dict[str, int]:
    """Deletes ``sender``'s cases (on ``channel``, or on all), their posts to the staff group and
    those posts' outbox rows, in one transaction; rows deleted per table."""
    create_tables(Base.metadata, store.engine)  # two workers may start at once
    with Session(store.engine) as session, session.begin():
        query = select(CaseRow.id).where(CaseRow.sender == sender)
        if channel is not None:
            query = query.where(CaseRow.channel == channel)
        ids = list(session.execute(query).scalars())
        posts = list(session.execute(select(PostRow.outbound_id).where(PostRow.case_id.in_(ids))).scalars())
        return {
            OutboundRow.__tablename__ + " (staff group)": session.execute(
                delete(OutboundRow).where(OutboundRow.id.in_(posts))).rowcount,
            PostRow.__tablename__: session.execute(delete(PostRow).where(PostRow.case_id.in_(ids))).rowcount,
            CaseRow.__tablename__: session.execute(delete(CaseRow).where(CaseRow.id.in_(ids))).rowcount,
        }


# ------------------------------------------------------------------ reading the tracker

async def _events(agent: Any, sender: str) -> list[Any]:
    tracker = await agent.tracker_store.retrieve(sender) if agent is not None else None
    return list(tracker.events) if tracker is not None else []


def trigger(events: Sequence[Any]) -> str | None:
    """Why the last turn hands over: the citizen asked for a person, or it was the second
    fallback of a row (the fourth, the sixth...: a handed-over pair is not counted twice).
    A message without words (sent as ``/nlu_fallback``) does not count as a fallback."""
    from rasa.shared.core.events import UserUttered

    said = [event for event in events if isinstance(event, UserUttered)]
    if not said:
        return None
    if (said[-1].intent or {}).get("name") == ASK_HUMAN_INTENT:
        return REASON_ASKED
    run = 0
    for event in reversed(said):
        if (event.intent or {}).get("name") != FALLBACK_INTENT or (event.text or "").startswith("/"):
            break
        run += 1
    return REASON_FALLBACK if run and run % 2 == 0 else None


def transcript(events: Sequence[Any], limit: int = TRANSCRIPT_MESSAGES) -> list[tuple[str, str]]:
    """The last ``limit`` messages as ``("user" | "bot", text)``."""
    from rasa.shared.core.events import BotUttered, UserUttered

    lines = [("user" if isinstance(e, UserUttered) else "bot", e.text) for e in events
             if isinstance(e, (UserUttered, BotUttered)) and e.text]
    return lines[-limit:]


def _shorter(text: str) -> str:
    text = mask_numbers(" ".join(text.split()))
    return text if len(text) <= TRANSCRIPT_LINE_CHARS else text[:TRANSCRIPT_LINE_CHARS - 1] + "…"


def _local(at: float) -> str:
    return dt.datetime.fromtimestamp(at, LOCAL_TIME).strftime("%H:%M %d/%m/%Y")


def _command(text: str) -> tuple[str | None, str | None]:
    """``/dong@OurBot 12`` -> ``("dong", "12")``; not a command -> ``(None, None)``."""
    if not text.startswith("/"):
        return None, None
    words = text[1:].split()
    if not words:
        return None, None
    return search_key(words[0].split("@", 1)[0]), (words[1] if len(words) > 1 else None)


@dataclass
class HandoverLoop:
    """Closes timed-out cases every ``every`` seconds, beside the worker."""

    handover: Handover
    every: float = CHECK_EVERY_SECONDS

    async def run(self) -> None:
        while True:
            try:
                self.handover.close_expired()
            except Exception:  # noqa: BLE001 - a database hiccup: try again next time
                logger.exception("handover timeout check failed")
            await asyncio.sleep(self.every)
