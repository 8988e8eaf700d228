"""The assistant's engine: a Rasa agent with in-process actions and a SQL tracker store.

The tracker store lives in the same database as our tables (``bot.serving.database``: the SQLite
file by default, ``DATABASE_URL`` otherwise); with ``REDIS_URL`` set, Rasa's lock store is
``RedisLockStore``, so a conversation's turns never overlap across processes.

Rasa 3.6 open source runs custom actions only through an action endpoint; this endpoint hands
the request to rasa_sdk's executor in the same process, so a stopped action server can never
make the bot send a wrong reply. Rasa's ``RemoteAction`` needs only ``url``, ``kwargs`` and an
awaitable ``request`` of the endpoint it is given (rasa/core/actions/action.py, 3.6.21).

Every action response is still checked against Rasa's response schema
(``RemoteAction.action_response_format_spec``), but by ``ResponseValidator``, built once:
``jsonschema.validate``, which Rasa calls, checks the schema itself and builds a validator on every
call, and tries each event against all 23 event schemas of its ``oneOf``; that cost 165 ms per
action call on the loaded benchmark machine, against 11 ms for a prebuilt validator and under
1 ms for the event's own schema (``docs/benchmarks.md``, "Turn cost").
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from bot.contract import Button, Reply, Topic, clean
from bot.contract.redact import mask_numbers
from bot.dialogue.phrases import load_phrases
from bot.dialogue.reminding import ReminderDesk, desk_bound
from bot.project import Project
from bot.serving.database import database_url, is_sqlite_file, new_engine, redis_lock_store
from bot.serving.journal import Journal, saved, watching
from bot.serving.reminders import Reminders
from bot.serving.store import Store, held_writes
from bot.serving.turn_path import fast_event_types, run_graph_sequentially, sentence_features_only

MAX_INPUT_CHARS = 1000  # longer messages are cut: no citizen question needs more


class ResponseValidator:
    """Rasa's action response schema, checked with validators built once.

    The schema's events are a ``oneOf`` of 23 event schemas, each fixing ``event`` to one constant:
    an event whose ``event`` names one of them is checked against the common part and those of
    that name only, which accepts and rejects exactly what the whole ``oneOf`` does (the others
    fail on the constant). Anything else (not an object, an unknown event name) goes through the
    whole schema, for the same error Rasa would give."""

    def __init__(self) -> None:
        from jsonschema.validators import validator_for
        from rasa.core.actions.action import RemoteAction

        schema = RemoteAction.action_response_format_spec()
        self.whole = self._built(validator_for(schema), schema)
        events = schema["properties"]["events"]
        event = events["items"]
        common = {key: value for key, value in event.items() if key != "oneOf"}
        by_name: dict[str, list[dict[str, Any]]] = {}
        for variant in event["oneOf"]:
            by_name.setdefault(variant["properties"]["event"]["const"], []).append(variant)
        self.events = {name: self._built(validator_for(schema), {**common, "oneOf": variants})
                       for name, variants in by_name.items()}
        outer = {**schema, "properties": {**schema["properties"],
                                          "events": {key: value for key, value in events.items()
                                                     if key != "items"}}}
        self.outer = self._built(validator_for(schema), outer)

    @staticmethod
    def _built(cls: Any, schema: dict[str, Any]) -> Any:
        cls.check_schema(schema)
        return cls(schema)

    def validate(self, response: Any) -> None:
        """Raises ``jsonschema.ValidationError`` unless ``response`` fits Rasa's schema."""
        from jsonschema.exceptions import best_match

        checks = [(self.outer, response)]
        if isinstance(response, dict) and isinstance(response.get("events"), list):
            for event in response["events"]:
                name = event.get("event") if isinstance(event, dict) else None
                validator = self.events.get(name) if isinstance(name, str) else None
                if validator is None:
                    checks = [(self.whole, response)]
                    break
                checks.append((validator, event))
        for validator, instance in checks:
            error = best_match(validator.iter_errors(instance))
            if error is not None:
                raise error


@lru_cache(maxsize=1)
def response_validator() -> ResponseValidator:
    return ResponseValidator()


def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """``RemoteAction._validate_action_result`` of Rasa 3.6.21, with the prebuilt validator."""
    from jsonschema import ValidationError
    from rasa.shared.constants import DOCS_BASE_URL

    try:
        response_validator().validate(result)
    except ValidationError as e:
        e.message += (". Failed to validate Action server response from API, make sure your response "
                      f"from the Action endpoint is valid. For more information about the format visit "
                      f"{DOCS_BASE_URL}/custom-actions")
        raise e
    return True


def use_prebuilt_response_validator() -> None:
    """Makes every ``RemoteAction`` of this process check responses with ``response_validator``."""
    from rasa.core.actions.action import RemoteAction

    response_validator()
    RemoteAction._validate_action_result = _validate_action_result


class InProcessActionEndpoint:
    """Looks like ``rasa.utils.endpoints.EndpointConfig`` to ``RemoteAction``; runs rasa_sdk."""

    def __init__(self, module: str = "bot.dialogue.actions", desk: ReminderDesk | None = None) -> None:
        from rasa_sdk.executor import ActionExecutor

        use_prebuilt_response_validator()

        self.desk = desk  # the reminders this engine's actions schedule, list and cancel
        self.url = "in-process"
        self.kwargs: dict[str, Any] = {}
        self.executor = ActionExecutor()
        self.executor.register_package(module)

    async def request(self, method: str = "post", subpath: str | None = None, **kwargs: Any) -> Any:
        from rasa.utils.endpoints import ClientResponseError
        from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

        call = kwargs["json"]
        try:
            with desk_bound(self.desk):
                return await self.executor.run(call)
        except ActionExecutionRejection as exc:
            body = json.dumps({"action_name": exc.action_name, "error": exc.message})
            raise ClientResponseError(400, "rejected", body) from exc
        except ActionNotFoundException as exc:
            raise ClientResponseError(404, "not found", str(exc)) from exc


def contiguous_coefficients(agent: Any) -> int:
    """Stores each loaded linear classifier's coefficients column-major; how many were changed.

    scikit-learn predicts with ``X @ coef_.T``; scipy multiplies a sparse ``X`` by a dense matrix
    through its flat buffer, so a row-major ``coef_`` (as trained) is copied at every message: 25
    intents by 60928 features, 12 MB per parse, 10 ms of a parse's CPU against 6 ms without the
    copy (``docs/benchmarks.md``, "Turn cost, session 7"). The same numbers in another memory
    order: the same sums, the same predictions."""
    import numpy as np

    changed = 0
    nodes = getattr(getattr(getattr(agent, "processor", None), "graph_runner", None),
                    "_instantiated_nodes", {})  # Rasa 3.6.21's DaskGraphRunner
    for node in nodes.values():
        coef = getattr(getattr(getattr(node, "_component", None), "clf", None), "coef_", None)
        if isinstance(coef, np.ndarray) and coef.ndim == 2 and not coef.flags["F_CONTIGUOUS"]:
            node._component.clf.coef_ = np.asfortranarray(coef)
            changed += 1
    return changed


# The table Rasa's SQLTrackerStore keeps events in (SQLTrackerStore.SQLEvent, Rasa 3.6.21).
TRACKER_EVENTS_TABLE = "events"
SESSION_STARTED = "session_started"  # SessionStarted.type_name


def sql_tracker_store(database: Path | str) -> Any:
    """Conversations in the database (a SQLite file, or a URL): they survive a restart, even in
    the middle of a form.

    What the citizen and the bot said is stored with citizens' numbers masked; the NLU and the
    actions of the running turn still see the text as it came.
    """
    # a URL given as the host is used as it is (SQLTrackerStore.get_db_url, Rasa 3.6.21)
    store = _masking_tracker_store()(host=database_url(database))
    if is_sqlite_file(database_url(database)):
        keep_connections(store)
    return store


def keep_connections(store: Any) -> None:
    """Gives Rasa's SQL tracker store on a SQLite file our pooled engine (``new_engine``: kept
    connections, WAL, ``synchronous=NORMAL``): Rasa's own opens the file for every session."""
    from sqlalchemy.orm import sessionmaker

    rasas = store.engine
    store.engine = new_engine(str(rasas.url))
    store.sessionmaker = sessionmaker(bind=store.engine)
    rasas.dispose()


sqlite_tracker_store = sql_tracker_store  # the name before DATABASE_URL; other modules' tests use it


@dataclass
class HeldEvents:
    """A sender's tracker events held for the turn's answer (``bot.serving.store.turn_writes``):
    their ``(type_name, data)`` rows, and the tracker's length when it was last saved, which
    the next save of the same turn counts as already stored."""

    rows: list[tuple[str, str]] = field(default_factory=list)
    length: int = 0


class TrackerStatements:
    """The queries of Rasa's ``SQLTrackerStore`` (Rasa 3.6.21: ``_event_query``, ``save``) as Core
    statements built once: the same rows, selected and written without building an ORM query
    and a session for each turn (``docs/benchmarks.md``, "Turn cost, session 7")."""

    def __init__(self, table: Any) -> None:
        from rasa.shared.core.events import SessionStarted
        from sqlalchemy import bindparam, func, insert, or_, select

        sender = bindparam("b_sender")
        # the events of the latest conversation session: from its SessionStarted on, or all
        start = (select(func.max(table.c.timestamp))
                 .where(table.c.sender_id == sender, table.c.type_name == SessionStarted.type_name)
                 .scalar_subquery())
        session = (table.c.sender_id == sender) & or_(table.c.timestamp >= start, start.is_(None))
        self.events = select(table.c.data).where(session).order_by(table.c.id)
        self.count = select(func.count()).select_from(table).where(session)
        self.insert = insert(table)


def _masking_tracker_store() -> type:
    import itertools
    import os

    from rasa.core.tracker_store import POSTGRESQL_SCHEMA, SQLTrackerStore
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.shared.nlu.constants import INTENT_NAME_KEY

    class MaskingSQLTrackerStore(SQLTrackerStore):
        """Rasa's SQL tracker store; user and bot events are written with numbers masked. The
        latest session is read and new events written with prebuilt Core statements, one
        connection and one transaction each (Rasa's own path is kept for a PostgreSQL schema set
        by ``POSTGRESQL_SCHEMA``, which it checks on every session). While a worker answers a
        message (``bot.serving.store.turn_writes``) the new events are written with the answer,
        and read back by the same turn as if written already."""

        @cached_property
        def statements(self) -> TrackerStatements:
            return TrackerStatements(self.SQLEvent.__table__)

        @staticmethod
        def _rasas_path() -> bool:
            return bool(os.environ.get(POSTGRESQL_SCHEMA))

        def _additional_events(self, session: Any, tracker: Any) -> Any:
            return (masked_event(event) for event in super()._additional_events(session, tracker))

        async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> Any:
            if fetch_events_from_all_sessions or self._rasas_path():
                return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
            with self.engine.connect() as connection:
                data = [data for (data,) in connection.execute(self.statements.events,
                                                               {"b_sender": sender_id})]
            held = held_writes(self.engine)
            events = held.pending.get((TRACKER_EVENTS_TABLE, sender_id)) if held is not None else None
            if events and events.rows:  # this turn's events, held for its answer: read as written
                rows = events.rows
                starts = [i for i, (type_name, _) in enumerate(rows) if type_name == SESSION_STARTED]
                data = [d for _, d in rows[starts[-1]:]] if starts else data + [d for _, d in rows]
            if not self.domain or not data:
                return None
            return DialogueStateTracker.from_dict(sender_id, [json.loads(d) for d in data],
                                                  self.domain.slots)

        async def save(self, tracker: Any) -> None:
            if self._rasas_path():
                await super().save(tracker)
            else:
                await self.stream_events(tracker)
                held = held_writes(self.engine)
                if held is None:
                    with self.engine.begin() as connection:
                        stored = connection.execute(self.statements.count,
                                                    {"b_sender": tracker.sender_id}).scalar()
                        rows = self._rows(tracker, stored)
                        if rows:
                            connection.execute(self.statements.insert, rows)
                else:  # written with the turn's answer (bot.serving.store.turn_writes)
                    self._hold(held, tracker)
            saved(tracker)  # the turn's journal record reads it, not the database

        def _hold(self, held: Any, tracker: Any) -> None:
            key = (TRACKER_EVENTS_TABLE, tracker.sender_id)
            events = held.pending.get(key)
            if events is not None:  # saved before in this turn: what that save held counts as stored
                stored = events.length
            else:
                with self.engine.connect() as connection:
                    stored = connection.execute(self.statements.count,
                                                {"b_sender": tracker.sender_id}).scalar()
                events = held.pending[key] = HeldEvents()
            rows = self._rows(tracker, stored)
            events.length = len(tracker.events)
            if rows:
                events.rows.extend((row["type_name"], row["data"]) for row in rows)
                insert = self.statements.insert
                held.steps.append(lambda connection: connection.execute(insert, rows))

        @staticmethod
        def _rows(tracker: Any, stored: int) -> list[dict[str, Any]]:
            """The rows of the tracker's events from the ``stored``-th on, numbers masked."""
            rows = []
            for event in itertools.islice(tracker.events, stored, len(tracker.events)):
                data = masked_event(event).as_dict()
                rows.append({"sender_id": tracker.sender_id, "type_name": event.type_name,
                             "timestamp": data.get("timestamp"),
                             "intent_name": (data.get("parse_data") or {}).get("intent", {})
                             .get(INTENT_NAME_KEY),
                             "action_name": data.get("name"), "data": json.dumps(data)})
            return rows

    return MaskingSQLTrackerStore


def masked_event(event: Any) -> Any:
    """A user or bot utterance with ``mask_numbers`` applied to its texts and entity values; any
    other event as it is."""
    from rasa.shared.core.events import BotUttered, Event, UserUttered

    if not isinstance(event, (UserUttered, BotUttered)):
        return event
    data = event.as_dict()
    masked = json.loads(json.dumps(data))
    if isinstance(masked.get("text"), str):
        masked["text"] = mask_numbers(masked["text"])
    parse_data = masked.get("parse_data") or {}
    if isinstance(parse_data.get("text"), str):
        parse_data["text"] = mask_numbers(parse_data["text"])
    for entity in parse_data.get("entities") or []:
        if isinstance(entity, dict) and isinstance(entity.get("value"), str):
            entity["value"] = mask_numbers(entity["value"])
    return event if masked == data else Event.from_parameters(masked)


def forget_conversation(database: Path | str, sender: str) -> int:
    """Deletes the tracker's events of ``sender`` from the database; how many were deleted."""
    from sqlalchemy import inspect, text

    engine = new_engine(database_url(database))
    try:
        if not inspect(engine).has_table(TRACKER_EVENTS_TABLE):
            return 0
        with engine.begin() as connection:
            return connection.execute(text(f"DELETE FROM {TRACKER_EVENTS_TABLE} WHERE sender_id = :sender"),
                                      {"sender": sender}).rowcount
    finally:
        engine.dispose()


@dataclass
class Engine:
    """Loads a model once; turns one citizen message into channel-neutral replies."""

    agent: Any
    phrases: Mapping[str, str]
    loaded: dict[str, Any] | None = None  # the catalogue's replies, from bot.dialogue.actions.load
    reminders: Reminders | None = None  # reminders and opt-outs, in the same database
    journal: Journal | None = None  # one record per turn, for `bot report`

    @classmethod
    def load(cls, model: Path, database: Path | str, project: Project,
             clock: Callable[[], float] = time.time, redis: str | None = None) -> Engine:
        """``database``: a SQLite file or a SQLAlchemy URL; ``redis``: a Redis URL for Rasa's lock
        store (default: in memory, for one process)."""
        from bot.serving.lean import defer_tensorflow, predict_graph_only

        defer_tensorflow()  # before Rasa's agent: answering never needs TensorFlow (bot.serving.lean)
        from rasa.core.agent import Agent

        from bot.dialogue import actions

        loaded = actions.load(project)  # this engine's own: a candidate never changes the running one
        reminders = Reminders(Store(database_url(database)), clock)
        with predict_graph_only():
            agent = Agent.load(str(model), tracker_store=sql_tracker_store(database),
                               lock_store=redis_lock_store(redis) if redis else None,
                               action_endpoint=InProcessActionEndpoint(desk=reminders))
        contiguous_coefficients(agent)
        run_graph_sequentially(agent)
        fast_event_types()
        sentence_features_only()
        return cls(agent, load_phrases(project.phrases), loaded, reminders, Journal(reminders.store, clock))

    def attach_database(self, database: Path | str, redis: str | None = None) -> None:
        """Keeps conversations and reminders in ``database`` (a SQLite file or a URL) and locks
        conversations in ``redis`` from now on (a reload candidate is checked on a throwaway
        database, then attached to the live one)."""
        from rasa.core.tracker_store import FailSafeTrackerStore

        store = FailSafeTrackerStore(sql_tracker_store(database))
        store.domain = self.agent.domain
        self.agent.tracker_store = store
        self.agent.processor.tracker_store = store
        if redis:
            self.agent.lock_store = redis_lock_store(redis)
            self.agent.processor.lock_store = self.agent.lock_store
        if self.reminders is not None:
            self.reminders = Reminders(Store(database_url(database)), self.reminders.clock)
            self.agent.action_endpoint.desk = self.reminders
        if self.journal is not None:
            self.journal.close()
            self.journal = Journal(Store(database_url(database)), self.journal.clock)

    async def handle(self, sender: str, text: str, channel: str | None = None) -> list[Reply]:
        """The replies to one message; ``channel`` reaches the actions as message metadata."""
        from rasa.core.channels.channel import UserMessage

        from bot.dialogue import actions

        text = typed = clean(text)[:MAX_INPUT_CHARS]
        if not any(ch.isalnum() for ch in text):  # empty, emoji only, punctuation only
            text = "/nlu_fallback"
        message = UserMessage(text, sender_id=sender, input_channel=channel,
                              metadata={"channel": channel} if channel else None)
        try:
            with actions.using(self.loaded), watching() as turn:
                messages = await self.agent.handle_message(message) or []
        except Exception:
            if self.journal is not None:
                await self.journal.after_turn(None, None, channel, sender, typed, failed=True)
            raise
        if self.journal is not None:
            await self.journal.after_turn(turn.get("tracker"), self.agent.tracker_store, channel, sender,
                                          typed)
        return replies_of(messages)


def replies_of(messages: list[dict[str, Any]]) -> list[Reply]:
    """Rasa's collected messages as replies. A custom message ``{"rate": {procedure, aspect}}``
    (``bot.dialogue.actions.say``) is no reply of its own: it marks the reply before it as an
    answer the citizen may rate."""
    from bot.dialogue.actions import RATE_KEY

    replies: list[Reply] = []
    for m in messages:
        rate = (m.get("custom") or {}).get(RATE_KEY)
        if isinstance(rate, dict) and not m.get("text"):
            if replies:
                replies[-1] = replace(replies[-1], rate=Topic(rate.get("procedure"), rate.get("aspect")))
            continue
        replies.append(Reply(m.get("text") or "", tuple(Button(b["title"], b["payload"])
                                                        for b in m.get("buttons") or [])))
    return replies
