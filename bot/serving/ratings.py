"""Ratings: the citizen says whether an answer helped, right after it.

An answer about a procedure's aspect or an FAQ entry (a ``Reply`` with ``rate`` set) is offered
for rating the way the channel allows: two buttons on Telegram, Zalo and the terminal; on SMS a
short line asking for ``1`` or ``2``, added only when the answer has no numbered options of its
own and the line adds no SMS part. The offer is remembered (``rating_prompts``) until the
sender's next message, whatever it is: a rating is accepted only as that message, caught before
the NLU like the opt-out keywords; anything else goes to the NLU as usual.

Tables (their own metadata, in the same database file as ``bot.serving.store``):

- ``ratings``: ``id``, ``rated_at`` (naive UTC), ``channel``, ``sender``, ``procedure``,
  ``aspect`` (an aspect name, or ``faq:<id>``), ``score`` (1 useful, 2 not useful) and
  ``answer``, the rated answer's text with citizens' numbers masked. ``bot report`` reads it.
- ``rating_prompts``: the offer waiting for the sender's next message, one per channel and sender.

A "not useful" rating gets the way to reach a person; a ``LowRatingHook`` given to the
conversation is told of it first and may answer instead (a direct handover).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Column, DateTime, Integer, String, Text, bindparam, delete, insert, select
from sqlalchemy.orm import Session, declarative_base

from bot.contract import Button, Reply, Topic, fits_callback_data, sms_parts
from bot.contract.redact import mask_numbers
from bot.render import paginate_sms, sms_text
from bot.serving.database import create_tables
from bot.serving.store import Store, delete_rows, write
from bot.text import search_key

Base = declarative_base()

USEFUL, NOT_USEFUL = 1, 2
# What a tapped button sends back (Telegram callback_data, Zalo's hidden query): ASCII, far under
# Telegram's 64 bytes, and never something a citizen types.
PAYLOADS = {"/rating_useful": USEFUL, "/rating_not_useful": NOT_USEFUL}
DIGITS = {"1": USEFUL, "2": NOT_USEFUL}  # typed: SMS shows them, the terminal numbers the buttons


class RatingRow(Base):
    __tablename__ = "ratings"
    id = Column(Integer, primary_key=True, autoincrement=True)
    rated_at = Column(DateTime, nullable=False, index=True)  # naive, UTC
    channel = Column(String(16), nullable=False)
    sender = Column(String(128), nullable=False, index=True)
    procedure = Column(String(64), nullable=True)
    aspect = Column(String(128), nullable=True)
    score = Column(Integer, nullable=False)
    answer = Column(Text, nullable=False)  # numbers masked


class PromptRow(Base):
    __tablename__ = "rating_prompts"
    channel = Column(String(16), primary_key=True)
    sender = Column(String(128), primary_key=True)
    procedure = Column(String(64), nullable=True)
    aspect = Column(String(128), nullable=True)
    answer = Column(Text, nullable=False)  # numbers masked
    offered_at = Column(DateTime, nullable=False)


# Asked and taken at every turn: statements built once, run on a connection (no ORM session).
_prompts = PromptRow.__table__
_PROMPT_KEY = (_prompts.c.channel == bindparam("b_channel"), _prompts.c.sender == bindparam("b_sender"))
_PROMPT = select(_prompts.c.procedure, _prompts.c.aspect, _prompts.c.answer).where(*_PROMPT_KEY)
_DROP_PROMPT = delete(_prompts).where(*_PROMPT_KEY)
_NEW_PROMPT = insert(_prompts)


@dataclass(frozen=True)
class Prompt:
    """An answer offered for rating, waiting for the sender's next message."""

    procedure: str | None
    aspect: str | None
    answer: str


@dataclass(frozen=True)
class Rated:
    """A stored rating: what the low-rating hook and tests see."""

    id: int
    rated_at: dt.datetime
    channel: str
    sender: str
    procedure: str | None
    aspect: str | None
    score: int
    answer: str

    @property
    def low(self) -> bool:
        return self.score == NOT_USEFUL


# Told of every "not useful" rating before the citizen is answered; the replies it returns are
# sent instead of the default line (how to reach a person), None keeps that line. For a handover
# on a low rating.
LowRatingHook = Callable[[Rated], Awaitable[Sequence[Reply] | None]]


def score_of(text: str) -> int | None:
    """1 or 2 when ``text`` is a rating (a button's payload, or the digit alone), else None."""
    if text.strip() in PAYLOADS:
        return PAYLOADS[text.strip()]
    return DIGITS.get(search_key(text))


def rating_buttons(phrases: Mapping[str, str]) -> tuple[Button, ...]:
    return (Button(phrases["rating.useful"], "/rating_useful"),
            Button(phrases["rating.not_useful"], "/rating_not_useful"))


def with_offer(reply: Reply, channel: str, phrases: Mapping[str, str]) -> Reply | None:
    """``reply`` with the offer to rate it as ``channel`` shows it, or None when it cannot be
    offered there: the reply has options of its own (``1``/``2`` must keep choosing them), or on
    SMS the line would add a part or a page."""
    if reply.rate is None or reply.buttons:
        return None
    if channel == "sms":
        offered = replace(reply, text=f"{reply.text.rstrip()}\n{phrases['rating.ask_sms']}")
        before, after = paginate_sms(sms_text(reply)), paginate_sms(sms_text(offered))
        if len(before) == 1 and len(after) == 1 and sms_parts(after[0]) == sms_parts(before[0]):
            return offered
        return None
    buttons = rating_buttons(phrases)
    if channel == "telegram" and not all(fits_callback_data(b.payload) for b in buttons):
        return None
    return replace(reply, buttons=buttons)


def _utc(clock: Callable[[], float]) -> dt.datetime:
    return dt.datetime.fromtimestamp(clock(), dt.timezone.utc).replace(tzinfo=None)


class Ratings:
    """The ``ratings`` and ``rating_prompts`` tables."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.engine = store.engine
        self.clock = clock
        create_tables(Base.metadata, self.engine)  # two workers may start at once

    def ask(self, channel: str, sender: str, topic: Topic, answer: str) -> None:
        """Remembers that ``answer`` was offered for rating: the sender's next message may rate it.
        Written with the turn's answer when a turn is being answered (``store.turn_writes``)."""
        key = {"b_channel": channel, "b_sender": sender}
        row = {"channel": channel, "sender": sender, "procedure": topic.procedure, "aspect": topic.aspect,
               "answer": mask_numbers(answer), "offered_at": _utc(self.clock)}

        def step(connection: Any) -> None:  # the sender's one offer, replaced
            connection.execute(_DROP_PROMPT, key)
            connection.execute(_NEW_PROMPT, row)

        write(self.engine, step)

    def take(self, channel: str, sender: str) -> Prompt | None:
        """The offer waiting for this message, removed: only the next message can rate. The
        removal is written with the turn's answer when a turn is being answered."""
        key = {"b_channel": channel, "b_sender": sender}
        with self.engine.connect() as connection:
            row = connection.execute(_PROMPT, key).first()
        if row is None:
            return None
        write(self.engine, lambda connection: connection.execute(_DROP_PROMPT, key))
        return Prompt(row.procedure, row.aspect, row.answer)

    def record(self, channel: str, sender: str, prompt: Prompt, score: int) -> Rated:
        """Stores the rating and removes its offer, at once: a turn cut after this is not rated
        twice when its message is answered again."""
        row = RatingRow(rated_at=_utc(self.clock), channel=channel, sender=sender,
                        procedure=prompt.procedure, aspect=prompt.aspect, score=score,
                        answer=mask_numbers(prompt.answer))
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            session.add(row)
            session.execute(_DROP_PROMPT, {"b_channel": channel, "b_sender": sender})
        return _rated(row)

    def rated(self, channel: str | None = None, sender: str | None = None) -> list[Rated]:
        """Stored ratings, oldest first."""
        query = select(RatingRow).order_by(RatingRow.id)
        if channel is not None:
            query = query.where(RatingRow.channel == channel)
        if sender is not None:
            query = query.where(RatingRow.sender == sender)
        with Session(self.engine) as session:
            return [_rated(row) for row in session.execute(query).scalars()]

    def forget(self, sender: str, channel: str | None = None) -> dict[str, int]:
        """Deletes a sender's ratings and waiting offer (on ``channel``, or on all); rows per table."""
        return delete_rows(self.engine, ((RatingRow, RatingRow.sender), (PromptRow, PromptRow.sender)),
                           sender, channel)


def _rated(row: RatingRow) -> Rated:
    return Rated(row.id, row.rated_at, row.channel, row.sender, row.procedure, row.aspect,
                 row.score, row.answer)


async def answer_rating(ratings: Ratings, phrases: Mapping[str, str], channel: str, sender: str,
                        text: str, prompt: Prompt | None,
                        on_low_rating: LowRatingHook | None = None) -> list[Reply] | None:
    """Stores the rating ``text`` gives ``prompt`` and thanks the citizen; None when ``text`` is
    no rating of it (it goes to the NLU). A button tapped under an older answer is not stored."""
    score = score_of(text)
    if score is None:
        return None
    if prompt is None:
        if text.strip() in PAYLOADS:
            return [Reply(phrases["rating.late"])]
        return None
    rated = ratings.record(channel, sender, prompt, score)
    if not rated.low:
        return [Reply(phrases["rating.thanks"])]
    if on_low_rating is not None:
        instead = await on_low_rating(rated)
        if instead is not None:
            return list(instead)
    return [Reply(phrases["rating.thanks_low"])]


def offer_rating(ratings: Ratings, phrases: Mapping[str, str], channel: str, sender: str,
                 replies: list[Reply]) -> list[Reply]:
    """``replies`` with the rating offered on the last one when it is a rateable answer and no
    reply of the turn offers options (a menu, a question); the offer is remembered."""
    if not replies or any(reply.buttons for reply in replies):
        return replies
    last = replies[-1]
    offered = with_offer(last, channel, phrases)
    if offered is None or last.rate is None:
        return replies
    ratings.ask(channel, sender, last.rate, last.text)
    return [*replies[:-1], offered]
