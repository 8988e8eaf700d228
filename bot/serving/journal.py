"""The turn journal: one row per answered message, so staff see what citizens could not get answered.

Table ``turns`` (its own metadata, in the same database file as ``bot.serving.store``): time (naive
UTC), channel, sender (for ``bot forget`` only; the report never shows it whole), outcome, intent
and confidence, the procedure and aspect when known, and the citizen's text with numbers masked
(``bot.contract.redact.mask_numbers``). Rows older than the retention period are deleted by
``bot.serving.retention``.

The outcome is read from the turn's events on the tracker, i.e. from what the dialogue did:

- ``fallback``: the classifier was not sure enough (``nlu_fallback``, the help line), a number
  picked none of the options offered (the menu again), or the turn failed (the apology);
- ``out_of_scope``: not something we answer (the apology and the list of what we can do);
- ``not_covered``: a procedure we do not cover (the honest reply with where to ask);
- ``clarification``: the question needs a procedure and none was known, so the citizen was asked
  "which procedure?" with options;
- ``low_confidence``: answered, but with an intent confidence under ``LOW_CONFIDENCE``;
- ``answered``: everything else.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, DateTime, Float, Integer, String, Text, insert
from sqlalchemy.orm import declarative_base

from bot.contract.redact import mask_numbers
from bot.dialogue.answers import ASPECT_INTENTS, OTHER_ENTITY
from bot.serving.database import create_tables
from bot.serving.store import Store, delete_rows, held_writes

logger = logging.getLogger(__name__)

Base = declarative_base()

ANSWERED, FALLBACK, CLARIFICATION = "answered", "fallback", "clarification"
OUT_OF_SCOPE, NOT_COVERED, LOW_CONFIDENCE_OUTCOME = "out_of_scope", "not_covered", "low_confidence"
OUTCOMES = (ANSWERED, LOW_CONFIDENCE_OUTCOME, CLARIFICATION, NOT_COVERED, OUT_OF_SCOPE, FALLBACK)
UNANSWERED = tuple(o for o in OUTCOMES if o != ANSWERED)

# The NLU's FallbackClassifier sends everything under 0.4 to the help line (config.yml); an answer
# given between that and this confidence is counted apart, for staff to check it was the right one.
LOW_CONFIDENCE = 0.6
FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTIONS = ("action_default_fallback", "utter_help")
OUT_OF_SCOPE_INTENT = "out_of_scope"
CHOOSE_OPTION_INTENT = "choose_option"
# Intents whose answer needs a procedure: with none known the dialogue asks which one.
NEEDS_PROCEDURE = (*ASPECT_INTENTS, "guide", "faq", "inform_procedure")
MAX_TEXT_CHARS = 1000  # as bot.serving.engine.MAX_INPUT_CHARS


class TurnRow(Base):
    __tablename__ = "turns"
    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(DateTime, nullable=False, index=True)  # naive UTC
    channel = Column(String(16), nullable=False)
    sender = Column(String(128), nullable=False, index=True)
    outcome = Column(String(16), nullable=False)
    intent = Column(String(64), nullable=True)
    confidence = Column(Float, nullable=True)
    procedure = Column(String(64), nullable=True)
    aspect = Column(String(32), nullable=True)
    text = Column(Text, nullable=False)  # numbers masked


@dataclass(frozen=True)
class Turn:
    """What one turn did, read from the tracker."""

    outcome: str
    intent: str | None = None
    confidence: float | None = None
    procedure: str | None = None
    aspect: str | None = None


# The tracker the turn being handled saved last (set by the tracker store's ``save``): reading it
# back from the database would cost more with every turn of a long conversation.
_saved: ContextVar[dict[str, Any] | None] = ContextVar("bot_journal_saved", default=None)


@contextmanager
def watching() -> Iterator[dict[str, Any]]:
    """Around one turn: ``["tracker"]`` of what it yields is the tracker the turn saved."""
    holder: dict[str, Any] = {}
    token = _saved.set(holder)
    try:
        yield holder
    finally:
        _saved.reset(token)


def saved(tracker: Any) -> None:
    """Called by the tracker store after it saved ``tracker``."""
    holder = _saved.get()
    if holder is not None:
        holder["tracker"] = tracker


def utc_naive(epoch: float) -> dt.datetime:
    """An epoch second as the naive UTC datetime the tables keep."""
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).replace(tzinfo=None)


def _split_turn(tracker: Any) -> tuple[list[Any], list[Any]]:
    """The events before the latest turn, and those of it (from the last user message on)."""
    from rasa.shared.core.events import UserUttered

    events = list(tracker.events)
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], UserUttered):
            return events[:index], events[index:]
    return events, []


def _picked(before: list[Any], entities: list[dict[str, Any]]) -> bool:
    """Whether a typed digit picked one of the options offered before (else the menu came back)."""
    from rasa.shared.core.events import SlotSet

    options = next((e.value for e in reversed(before) if isinstance(e, SlotSet) and e.key == "options"),
                   None) or []
    number = next((e.get("value") for e in entities if e.get("entity") == "number"), None)
    try:
        return 1 <= int(str(number)) <= len(options)
    except ValueError:
        return False


def read_turn(tracker: Any) -> Turn:
    """The outcome, intent, confidence, procedure and aspect of the tracker's latest turn."""
    from rasa.shared.core.events import ActionExecuted, SlotSet

    latest = tracker.latest_message
    intent = (latest.intent or {}).get("name") if latest else None
    confidence = (latest.intent or {}).get("confidence") if latest else None
    entities = (latest.entities or []) if latest else []
    before, events = _split_turn(tracker)
    actions = {e.action_name for e in events if isinstance(e, ActionExecuted)}
    slots: dict[str, Any] = {}
    for done in events:
        if isinstance(done, SlotSet):
            slots[done.key] = done.value
    named = next((e.get("value") for e in entities if e.get("entity") == "procedure"), None)
    procedure = slots.get("procedure") or named
    aspect = ASPECT_INTENTS.get(intent or "") or slots.get("aspect")
    other = any(e.get("entity") == OTHER_ENTITY for e in entities)
    if intent == FALLBACK_INTENT or actions & set(FALLBACK_ACTIONS):
        outcome = FALLBACK
    elif other and "procedure" in slots and slots["procedure"] is None:
        outcome = NOT_COVERED  # the not-covered reply clears the procedure under discussion
    elif intent == OUT_OF_SCOPE_INTENT or "action_out_of_scope" in actions:
        outcome = OUT_OF_SCOPE
    elif intent in NEEDS_PROCEDURE and not procedure and slots.get("options"):
        outcome = CLARIFICATION
    elif intent == CHOOSE_OPTION_INTENT and not _picked(before, entities):
        outcome = FALLBACK  # a number with nothing to pick from: the menu again
    elif confidence is not None and confidence < LOW_CONFIDENCE:
        outcome = LOW_CONFIDENCE_OUTCOME
    else:
        outcome = ANSWERED
    return Turn(outcome, intent, None if confidence is None else float(confidence),
                str(procedure) if procedure else None, str(aspect) if aspect else None)


# built once: SQLAlchemy's compiled cache then skips building and compiling it at every turn
_INSERT_TURN = insert(TurnRow.__table__)


def _insert_apart(connection: Any, row: dict[str, Any]) -> None:
    """Inserts a turn record inside the answer's transaction, in a savepoint: a failure is
    logged and rolled back alone (the journal is for staff; the reply goes out regardless)."""
    try:
        with connection.begin_nested():
            connection.execute(_INSERT_TURN, row)
    except Exception:  # noqa: BLE001 - never let the journal hold an answer back
        logger.exception("journal: turn not recorded")


class Journal:
    """Writes turn records; a failure to write is logged and never reaches the citizen."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.engine = store.engine  # kept connections on a SQLite file (bot.serving.database)
        self.clock = clock
        create_tables(Base.metadata, self.engine)  # two workers may start at once

    def close(self) -> None:
        """Closes the kept connections (a reloaded engine gets a journal on the live database)."""
        self.engine.dispose()

    async def after_turn(self, tracker: Any, tracker_store: Any, channel: str | None, sender: str,
                         text: str, failed: bool = False) -> None:
        """Records the turn just handled for ``sender`` from its ``tracker`` (read back from the
        store when the turn saved none that ``watching`` saw); a failed turn (the citizen got the
        apology) is a fallback."""
        turn = Turn(FALLBACK)
        if not failed:
            try:
                if tracker is None or tracker.sender_id != sender:
                    tracker = await tracker_store.retrieve(sender)
                turn = read_turn(tracker) if tracker is not None else turn
            except Exception:  # noqa: BLE001 - never let the journal break a reply
                logger.exception("journal: turn of %s not read", mask_numbers(sender))
                return
        self.record(self.clock(), channel, sender, text, turn)

    def record(self, at: float, channel: str | None, sender: str, text: str, turn: Turn) -> None:
        """Writes the record; with the turn's answer when a turn is being answered
        (``store.turn_writes``), in a savepoint of its transaction, so that a record that cannot
        be written never holds the answer back."""
        row = {"at": utc_naive(at), "channel": channel or "unknown", "sender": sender,
               "outcome": turn.outcome, "intent": turn.intent, "confidence": turn.confidence,
               "procedure": turn.procedure, "aspect": turn.aspect,
               "text": mask_numbers(text[:MAX_TEXT_CHARS])}
        held = held_writes(self.engine)
        if held is not None:
            held.steps.append(lambda connection: _insert_apart(connection, row))
            return
        try:
            with self.engine.begin() as connection:
                connection.execute(_INSERT_TURN, row)
        except Exception:  # noqa: BLE001 - the journal is for staff; the reply goes out regardless
            logger.exception("journal: turn not recorded")

    def forget(self, sender: str, channel: str | None = None) -> dict[str, int]:
        """Deletes a sender's turn records (on ``channel``, or on all); rows per table."""
        return delete_rows(self.engine, ((TurnRow, TurnRow.sender),), sender, channel)

    def rows(self, since: dt.datetime | None = None) -> Sequence[Any]:
        """Every turn record, oldest first, from ``since`` (naive UTC) on."""
        from sqlalchemy import select

        query = select(TurnRow.__table__).order_by(TurnRow.id)
        if since is not None:
            query = query.where(TurnRow.at >= since)
        with self.engine.connect() as connection:
            return connection.execute(query).all()
