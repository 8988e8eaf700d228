"""Our own tables (SQLAlchemy; SQLite by default).

- ``inbound``: every citizen message, stored before the platform is acknowledged and unique on
  the platform's id, so a redelivered webhook is recognised and not answered twice. On a SQLite
  file it is written with ``synchronous=FULL`` (``durable_engine``): it survives a power cut,
  which the other writes, at ``synchronous=NORMAL``, may not (``bot.serving.database``).
- ``outbound``: the outbox. Replies are queued in the same transaction that marks their message
  answered, then sent with retries; a final ``failed`` state stays visible.
- ``pending_pages``: the rest of a long SMS answer, sent when the citizen asks for more.
- ``claims``: which worker process answers a conversation's inbox, or sends a recipient's outbox,
  until when (``claimed_by``, ``claimed_until``). Several ``bot serve`` processes share one
  database (``bot.serving.database``): a claim is taken atomically, by a conditional ``UPDATE``
  checked by its row count or an ``INSERT`` on the primary key, so two workers never hold the
  same one; a worker renews its claims while it runs, and a killed worker's claims expire after
  their lease and are taken over. Answering a message and marking a reply in flight check, in
  the same transaction, that the claim is still held (``ClaimLost`` otherwise).

Each wake-up of the inbox loop reads only what it needs: the waiting conversations from the index
``ix_inbound_waiting`` (state, channel, sender, id), without reading messages' rows, and a claimed
conversation's next few messages; the outbox likewise through ``ix_outbound_queue``. Indexes a
newer version declares are added to an older database at start, like missing columns.

Every message text is stored with citizens' numbers masked (``bot.contract.redact.mask_numbers``:
ID card, social insurance and bank numbers, phones): only the sender's address (``sender``,
``recipient``) is kept whole, because a reply needs it. ``forget`` deletes a sender's rows.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    delete,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, declarative_base

from bot.contract import DEDUP_WINDOW_SECONDS
from bot.contract.redact import mask_numbers
from bot.errors import BotError
from bot.serving.database import create_tables, database_url, new_engine

Base = declarative_base()

# INSERT ... ON CONFLICT DO NOTHING where the database has it: a redelivered message is skipped
# without aborting the transaction it shares with the other messages of its group. As text: the
# dialects' on_conflict constructs are compiled anew at each execution in SQLAlchemy 1.4 (1 ms a
# row, measured), a text() statement once.
_UPSERT = ("sqlite", "postgresql")
_INBOUND_FIELDS = ("channel", "platform_id", "sender", "text", "meta", "state", "received_at")
_INBOUND_INTO = f"INSERT INTO inbound ({', '.join(_INBOUND_FIELDS)}) VALUES "
_INSERT_INBOUND = text(_INBOUND_INTO + "(" + ", ".join(f":{f}" for f in _INBOUND_FIELDS) + ")")
# A group's messages go in as multi-row statements of at most this many rows (7 values each: under
# the 999 bound values of SQLite builds before 3.32), returning the rows that were new: one
# statement instead of one a message (on PostgreSQL one round trip instead of one a message).
ROWS_PER_INSERT = 100


# The multi-row statements go to the driver as they are, with positional values: a text() of 700
# named values spent more CPU in SQLAlchemy's cache key (19% of the web process's samples in a
# burst of webhooks) and compiling than SQLite spent storing the rows (docs/benchmarks.md,
# "Acknowledgement, session 9").
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


@functools.lru_cache(maxsize=2 * ROWS_PER_INSERT)
def _insert_inbound_rows(count: int, placeholder: str) -> str:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING`` of ``count`` rows in the driver's own
    parameter style, built once per count."""
    row = "(" + ", ".join([placeholder] * len(_INBOUND_FIELDS)) + ")"
    return (f"{_INBOUND_INTO}{', '.join([row] * count)} ON CONFLICT (channel, platform_id) DO NOTHING "
            "RETURNING channel, platform_id")


def _inbound_row(message: Incoming) -> tuple[Any, ...]:
    """The values of ``_INBOUND_FIELDS``, in their order."""
    return (message.channel, message.platform_id, message.sender, mask_numbers(message.text),
            json.dumps(dict(message.meta)), "pending", message.received_at)


def _inbound_values(message: Incoming) -> dict[str, Any]:
    return dict(zip(_INBOUND_FIELDS, _inbound_row(message), strict=True))

Step = Callable[[Any], None]  # a write, given a connection inside a transaction


@dataclass
class TurnWrites:
    """The writes of the turn being answered (tracker events, turn record, rating offer, SMS
    pages), held until the transaction that marks its message answered and queues its replies
    (``Store.answer``): one commit a turn instead of one per table, and a worker killed before it
    leaves nothing of the turn behind, so the message is answered again from the same state.
    ``pending`` holds what a step will write, for readers of the same turn (the tracker store)."""

    url: str
    steps: list[Step] = field(default_factory=list)
    pending: dict[Any, Any] = field(default_factory=dict)
    open: bool = True

    def apply(self, connection: Any) -> None:
        """Runs the held steps, in order, on ``connection`` (inside the answer's transaction)."""
        self.open = False
        for step in self.steps:
            step(connection)


_turn_writes: ContextVar[TurnWrites | None] = ContextVar("bot_turn_writes", default=None)


def _url_of(engine: Any) -> str:
    return engine.url.render_as_string(hide_password=False)


@contextmanager
def turn_writes(engine: Any) -> Iterator[TurnWrites]:
    """Around one turn answered on ``engine``'s database: ``write`` holds the turn's writes there
    until ``Store.answer`` commits them with the answer."""
    writes = TurnWrites(_url_of(engine))
    token = _turn_writes.set(writes)
    try:
        yield writes
    finally:
        writes.open = False
        _turn_writes.reset(token)


def held_writes(engine: Any) -> TurnWrites | None:
    """The open turn's writes when they go to ``engine``'s database, else None."""
    writes = _turn_writes.get()
    if writes is None or not writes.open or writes.url != _url_of(engine):
        return None
    return writes


def write(engine: Any, step: Step) -> None:
    """Runs ``step`` in a transaction of its own, or holds it for the answer's transaction when a
    turn is being answered on the same database (``turn_writes``)."""
    writes = held_writes(engine)
    if writes is not None:
        writes.steps.append(step)
        return
    with engine.begin() as connection:
        step(connection)


INBOX, OUTBOX = "inbox", "outbox"  # what a claim is for: answering a sender, sending to a recipient


class ClaimLost(BotError):
    """This worker no longer holds the claim (its lease ran out and another worker took it over,
    or the message was answered meanwhile): it stops, the other worker carries on."""


class ClaimRow(Base):
    __tablename__ = "claims"
    kind = Column(String(8), primary_key=True)  # INBOX or OUTBOX
    channel = Column(String(16), primary_key=True)
    address = Column(String(128), primary_key=True)  # the sender, or the recipient
    claimed_by = Column(String(64), nullable=False)
    claimed_until = Column(Float, nullable=False)

class PendingPages(Base):
    __tablename__ = "pending_pages"
    channel = Column(String(16), primary_key=True)
    sender = Column(String(128), primary_key=True)
    pages = Column(Text, nullable=False)


class InboundRow(Base):
    __tablename__ = "inbound"
    __table_args__ = (UniqueConstraint("channel", "platform_id"),
                      Index("ix_inbound_waiting", "state", "channel", "sender", "id"))
    id = Column(Integer, primary_key=True, autoincrement=True)
    channel = Column(String(16), nullable=False)
    platform_id = Column(String(128), nullable=False)
    sender = Column(String(128), nullable=False, index=True)
    text = Column(Text, nullable=False)
    meta = Column(Text, nullable=False, default="{}")
    state = Column(String(16), nullable=False, default="pending", index=True)  # pending, answered
    received_at = Column(Float, nullable=False)
    handled_by = Column(String(64), nullable=True)  # the worker that answered it


class OutboundRow(Base):
    __tablename__ = "outbound"
    __table_args__ = (Index("ix_outbound_queue", "state", "channel", "recipient", "id"),)
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
    handled_by = Column(String(64), nullable=True)  # the worker that last called the platform


@dataclass(frozen=True)
class Message:
    """A stored inbound message waiting for an answer."""

    id: int
    channel: str
    sender: str
    text: str
    meta: dict[str, Any]


@dataclass(frozen=True)
class Incoming:
    """An inbound message to store (``Store.accept_group``), as a webhook brought it."""

    channel: str
    platform_id: str
    sender: str
    text: str
    meta: Mapping[str, Any]
    received_at: float


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


# The statements of every turn, built once. Executed on a Core connection, each is compiled once per
# engine (SQLAlchemy's compiled cache) and costs about a tenth of the same query built and run
# through an ORM session each time (1.3 ms against 0.1 ms of CPU for a claim's UPDATE, measured
# on a SQLite file; docs/benchmarks.md, "Turn cost, session 7"). Bound parameters are prefixed
# with ``b_``: an UPDATE refuses a parameter named like one of the table's columns.
_claims, _inbound, _outbound = ClaimRow.__table__, InboundRow.__table__, OutboundRow.__table__


def _b(name: str) -> Any:
    return bindparam(f"b_{name}")


_CLAIM_KEY = (_claims.c.kind == _b("kind"), _claims.c.channel == _b("channel"),
              _claims.c.address == _b("address"))
_TAKE_CLAIM = (update(_claims).where(*_CLAIM_KEY, or_(_claims.c.claimed_until < _b("now"),
                                                      _claims.c.claimed_by == _b("worker")))
               .values(claimed_by=_b("worker"), claimed_until=_b("until")))
_NEW_CLAIM = insert(_claims)
_RENEW_CLAIMS = (update(_claims).where(_claims.c.claimed_by == _b("worker"))
                 .values(claimed_until=_b("until")))
_RELEASE = delete(_claims).where(*_CLAIM_KEY, _claims.c.claimed_by == _b("worker"))
_RELEASE_ALL = delete(_claims).where(_claims.c.claimed_by == _b("worker"))
_HELD = select(_claims.c.channel, _claims.c.address).where(
    _claims.c.kind == _b("kind"), _claims.c.claimed_until >= _b("now"))
# a no-op UPDATE of the claim's row: the row count says whether it is held, and the row is locked
_HOLD = (update(_claims).where(*_CLAIM_KEY, _claims.c.claimed_by == _b("worker"))
         .values(claimed_by=_b("worker")))

_pages = PendingPages.__table__
_DROP_PAGES = delete(_pages).where(_pages.c.channel == _b("channel"), _pages.c.sender == _b("sender"))
_NEW_PAGES = insert(_pages)

_INBOUND_COLUMNS = (_inbound.c.id, _inbound.c.channel, _inbound.c.sender, _inbound.c.text, _inbound.c.meta)
_PENDING = (select(*_INBOUND_COLUMNS).where(_inbound.c.state == "pending")
            .order_by(_inbound.c.id).limit(_b("limit")))
_PENDING_OF = (select(*_INBOUND_COLUMNS).where(
    _inbound.c.state == "pending", _inbound.c.channel == _b("channel"), _inbound.c.sender == _b("sender"))
    .order_by(_inbound.c.id).limit(_b("limit")))
_WAITING = (select(_inbound.c.channel, _inbound.c.sender, func.min(_inbound.c.id).label("first"))
            .where(_inbound.c.state == "pending")
            .group_by(_inbound.c.channel, _inbound.c.sender).subquery())
_WAITING_SENDERS = (select(_WAITING.c.channel, _WAITING.c.sender).where(~select(_claims.c.address).where(
    _claims.c.kind == INBOX, _claims.c.channel == _WAITING.c.channel, _claims.c.address == _WAITING.c.sender,
    _claims.c.claimed_until >= _b("now")).exists()).order_by(_WAITING.c.first).limit(_b("limit")))
_MARK_ANSWERED = (update(_inbound).where(_inbound.c.id == _b("id"), _inbound.c.state == "pending")
                  .values(state="answered", handled_by=_b("worker")))
_QUEUE = insert(_outbound)

_OUTGOING_COLUMNS = (_outbound.c.id, _outbound.c.channel, _outbound.c.recipient, _outbound.c.payload,
                     _outbound.c.meta, _outbound.c.attempts, _outbound.c.in_flight,
                     _outbound.c.next_attempt_at)
_DUE = (select(*_OUTGOING_COLUMNS).where(_outbound.c.state == "pending",
                                         _outbound.c.next_attempt_at <= _b("now"))
        .order_by(_outbound.c.id).limit(_b("limit")))
_OUTBOX_OF = (select(*_OUTGOING_COLUMNS).where(
    _outbound.c.state == "pending", _outbound.c.channel == _b("channel"),
    _outbound.c.recipient == _b("recipient")).order_by(_outbound.c.id))
_BLOCKED = select(_outbound.c.channel, _outbound.c.recipient).where(
    _outbound.c.state == "pending", _outbound.c.next_attempt_at > _b("now"))
_OUTBOUND_ADDRESS = select(_outbound.c.channel, _outbound.c.recipient).where(_outbound.c.id == _b("id"))
_IN_FLIGHT = (update(_outbound).where(_outbound.c.id == _b("id"), _outbound.c.state == "pending")
              .values(in_flight=1, handled_by=_b("worker")))
_SET_OUTBOUND = update(_outbound).where(_outbound.c.id == _b("id"))  # the columns: as parameters
_TRIED = _SET_OUTBOUND.values(in_flight=0, attempts=_outbound.c.attempts + 1)


def _outgoing(row: Any) -> Outgoing:
    payload = json.loads(row.payload)
    return Outgoing(row.id, row.channel, row.recipient, payload["text"],
                    tuple(tuple(b) for b in payload["buttons"]), json.loads(row.meta), row.attempts,
                    bool(row.in_flight))


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


STALE_CLAIM_SECONDS = 3600.0  # claims left by killed workers are dropped after this
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


def _add_missing_indexes(engine: Any) -> None:
    """Creates the indexes newer versions declare on tables an older version created."""
    existing = inspect(engine)
    for table in Base.metadata.sorted_tables:
        present = {index["name"] for index in existing.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in present:
                try:
                    index.create(engine, checkfirst=True)
                # a worker starting at the same moment made it (PostgreSQL may say so either way)
                except (IntegrityError, OperationalError, ProgrammingError):
                    pass


class Store:
    def __init__(self, url: str) -> None:
        self.url = url  # the one database of this process: other modules put their tables there too
        self.engine = new_engine(url)
        # accepting a message must survive a power cut (bot.serving.database): its own engine
        self.durable_engine = new_engine(url, durable=True)
        create_tables(Base.metadata, self.engine)
        _add_missing_columns(self.engine)
        _add_missing_indexes(self.engine)

    @classmethod
    def sqlite(cls, path: Path) -> Store:
        return cls(database_url(path))

    # ----------------------------------------------------------------- claims

    def claim(self, kind: str, channel: str, address: str, worker: str, now: float,
              lease: float) -> bool:
        """Takes the claim on one conversation for ``lease`` seconds; False if another worker holds
        it. A free or expired claim is taken by a conditional UPDATE (one winner: the loser's
        UPDATE waits for the row and then no longer matches), a new one by an INSERT on the
        primary key (the loser gets an IntegrityError)."""
        try:
            with self.engine.begin() as connection:
                taken = connection.execute(_TAKE_CLAIM, {
                    "b_kind": kind, "b_channel": channel, "b_address": address, "b_now": now,
                    "b_worker": worker, "b_until": now + lease}).rowcount
                if not taken:  # in the same transaction: the UPDATE changed nothing to roll back
                    connection.execute(_NEW_CLAIM, {"kind": kind, "channel": channel, "address": address,
                                                    "claimed_by": worker, "claimed_until": now + lease})
        except IntegrityError:
            return False
        return True

    def renew_claims(self, worker: str, now: float, lease: float) -> int:
        """Extends every claim ``worker`` holds; how many it holds."""
        with self.engine.begin() as connection:
            return connection.execute(_RENEW_CLAIMS, {"b_worker": worker, "b_until": now + lease}).rowcount

    def release(self, kind: str, channel: str, address: str, worker: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(_RELEASE, {"b_kind": kind, "b_channel": channel, "b_address": address,
                                          "b_worker": worker})

    def release_all(self, worker: str) -> int:
        """Releases every claim ``worker`` holds (a worker stopping); how many it held."""
        with self.engine.begin() as connection:
            return connection.execute(_RELEASE_ALL, {"b_worker": worker}).rowcount

    def release_claims_of_dead_processes(self, host: str, alive: Callable[[int], bool]) -> int:
        """On SQLite only, where every worker runs on this machine: deletes the claims of this
        host's workers whose process is gone (killed, crashed), so that a restarted ``bot serve``
        answers their conversations at once instead of after the lease. On a shared database a
        worker of another machine could carry the same host name, so the lease decides there.
        How many claims were released."""
        if self.engine.dialect.name != "sqlite":
            return 0
        prefix = f"{host}:"
        with self.engine.begin() as connection:
            holders = [w for (w,) in connection.execute(select(_claims.c.claimed_by).distinct())]
            pids = {w: w.removeprefix(prefix).partition(":")[0] for w in holders
                    if w.startswith(prefix) and w.count(":") == 2}
            dead = [w for w, pid in pids.items() if pid.isdigit() and not alive(int(pid))]
            return sum(connection.execute(delete(_claims).where(_claims.c.claimed_by == w)).rowcount
                       for w in dead)

    def held_claims(self, kind: str, now: float) -> set[tuple[str, str]]:
        """The conversations some worker holds a live claim on."""
        with self.engine.connect() as connection:
            return {(c, a) for c, a in connection.execute(_HELD, {"b_kind": kind, "b_now": now})}

    @staticmethod
    def _hold(connection: Any, kind: str, channel: str, address: str, worker: str) -> None:
        """Inside a transaction: fails with ``ClaimLost`` unless ``worker`` still holds the claim.
        The UPDATE locks the claim's row until the transaction ends, so no takeover can slip in
        between this check and the transaction's other writes."""
        held = connection.execute(_HOLD, {"b_kind": kind, "b_channel": channel, "b_address": address,
                                          "b_worker": worker}).rowcount
        if not held:
            raise ClaimLost(f"{kind} claim on a {channel} conversation was taken over")

    def set_pages(self, channel: str, sender: str, pages: list[str]) -> None:
        """Keeps ``pages`` for the sender's ``THEM`` (none: forgets the earlier ones); written with
        the turn's answer when a turn is being answered (``turn_writes``)."""
        key = {"b_channel": channel, "b_sender": sender}
        row = ({"channel": channel, "sender": sender, "pages": json.dumps([mask_numbers(p) for p in pages])}
               if pages else None)

        def step(connection: Any) -> None:
            connection.execute(_DROP_PAGES, key)
            if row is not None:
                connection.execute(_NEW_PAGES, row)

        write(self.engine, step)

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
        received_at = time.time() if now is None else now
        return self.accept_group([Incoming(channel, platform_id, sender, text, meta or {}, received_at)])[0]

    def accept_group(self, messages: Sequence[Incoming]) -> list[bool]:
        """Stores ``messages`` in one durable transaction (one sync of the disk for all), in their
        order, numbers masked; for each, False if its platform id was already stored (earlier, or
        earlier in ``messages``). Any other error rolls the whole group back and is raised."""
        dialect = self.durable_engine.dialect.name
        if dialect in _UPSERT:
            return self._insert_group(messages)
        try:
            with self.durable_engine.begin() as connection:
                return [connection.execute(_INSERT_INBOUND, _inbound_values(message)).rowcount == 1
                        for message in messages]
        except IntegrityError:
            if len(messages) != 1:
                raise
            return [False]  # another database: the unique constraint refused the one message

    def _insert_group(self, messages: Sequence[Incoming]) -> list[bool]:
        """``accept_group`` on SQLite and PostgreSQL: multi-row inserts skipping known ids."""
        stored: list[bool] = []
        seen: set[tuple[str, str]] = set()
        placeholder = _PLACEHOLDERS[self.durable_engine.dialect.paramstyle]
        with self.durable_engine.begin() as connection:
            for start in range(0, len(messages), ROWS_PER_INSERT):
                chunk = messages[start:start + ROWS_PER_INSERT]
                values = tuple(value for message in chunk for value in _inbound_row(message))
                new = set(map(tuple, connection.exec_driver_sql(
                    _insert_inbound_rows(len(chunk), placeholder), values)))
                for message in chunk:  # a platform id twice in the group: only its first is new
                    key = (message.channel, message.platform_id)
                    stored.append(key in new and key not in seen)
                    seen.add(key)
        return stored

    def pending_inbound(self, limit: int = 20, channel: str | None = None,
                        sender: str | None = None) -> list[Message]:
        """Unanswered messages (of one sender, if given), oldest first (the order each conversation
        must be handled in)."""
        if channel is not None and sender is not None:
            query, values = _PENDING_OF, {"b_channel": channel, "b_sender": sender, "b_limit": limit}
        else:
            query, values = _PENDING, {"b_limit": limit}
        with self.engine.connect() as connection:
            return [Message(r.id, r.channel, r.sender, r.text, json.loads(r.meta))
                    for r in connection.execute(query, values)]

    def waiting_senders(self, now: float, limit: int = 200) -> list[tuple[str, str]]:
        """The (channel, sender) with unanswered messages that no worker has claimed, the longest
        waiting first."""
        with self.engine.connect() as connection:  # from the index alone: no message row is read
            return [(c, s) for c, s in connection.execute(_WAITING_SENDERS, {"b_now": now, "b_limit": limit})]

    def answer(self, inbound_id: int, channel: str, recipient: str,
               messages: Iterable[tuple[str, Sequence[tuple[str, str]]]],
               meta: dict[str, Any] | None = None, now: float | None = None,
               worker: str | None = None) -> None:
        """Marks a message answered and queues its replies (numbers masked), in one transaction.

        With ``worker``: only while it holds the sender's inbox claim and the message is still
        unanswered, else ``ClaimLost`` and nothing is written. The writes the turn held
        (``turn_writes``) are committed in the same transaction, before the replies."""
        now = time.time() if now is None else now
        meta_json = json.dumps(meta or {})
        rows = [{"inbound_id": inbound_id, "channel": channel, "recipient": recipient,
                 "payload": json.dumps({"text": mask_numbers(text), "buttons": [
                     [mask_numbers(title), payload] for title, payload in buttons]}, ensure_ascii=False),
                 "meta": meta_json, "state": "pending", "attempts": 0, "in_flight": 0,
                 "next_attempt_at": now, "created_at": now} for text, buttons in messages]
        with self.engine.begin() as connection:
            if worker is not None:
                self._hold(connection, INBOX, channel, recipient, worker)
            answered = connection.execute(_MARK_ANSWERED, {"b_id": inbound_id, "b_worker": worker}).rowcount
            if worker is not None and not answered:
                raise ClaimLost(f"{channel} message {inbound_id} was answered by another worker")
            held = held_writes(self.engine)
            if held is not None:
                held.apply(connection)
            if rows:
                connection.execute(_QUEUE, rows)

    def due_outbound(self, now: float | None = None, limit: int = 200) -> list[Outgoing]:
        """Pending outbound messages whose time has come, oldest first."""
        now = time.time() if now is None else now
        with self.engine.connect() as connection:
            return [_outgoing(r) for r in connection.execute(_DUE, {"b_now": now, "b_limit": limit})]

    def outbox_of(self, channel: str, recipient: str, now: float) -> list[Outgoing]:
        """One recipient's pending messages that may go now, oldest first: none while an older one
        waits for its retry, so that replies arrive in order."""
        with self.engine.connect() as connection:
            rows = connection.execute(_OUTBOX_OF, {"b_channel": channel, "b_recipient": recipient}).all()
        result = []
        for r in rows:
            if r.next_attempt_at > now:
                break
            result.append(_outgoing(r))
        return result

    def blocked_recipients(self, now: float | None = None) -> set[tuple[str, str]]:
        """Recipients with a pending message waiting for a retry: their later messages wait too,
        so a conversation's replies arrive in order."""
        now = time.time() if now is None else now
        with self.engine.connect() as connection:
            return {(c, r) for c, r in connection.execute(_BLOCKED, {"b_now": now})}

    def _update_outbound(self, outbound_id: int, statement: Any = _SET_OUTBOUND, **values: Any) -> int:
        """Sets ``values`` (and what ``statement`` sets) on one outbound row; the number of rows
        changed (0 or 1)."""
        with self.engine.begin() as connection:
            return connection.execute(statement, {"b_id": outbound_id, **values}).rowcount

    def mark_in_flight(self, outbound_id: int, worker: str | None = None) -> None:
        """Records that the platform is being called. With ``worker``: only while it holds the
        recipient's outbox claim and the message is still pending, else ``ClaimLost``."""
        with self.engine.begin() as connection:
            if worker is not None:
                row = connection.execute(_OUTBOUND_ADDRESS, {"b_id": outbound_id}).first()
                if row is None:
                    raise ClaimLost(f"outbound {outbound_id} is gone")
                self._hold(connection, OUTBOX, row.channel, row.recipient, worker)
            changed = connection.execute(_IN_FLIGHT, {"b_id": outbound_id, "b_worker": worker}).rowcount
            if worker is not None and not changed:
                raise ClaimLost(f"outbound {outbound_id} was sent by another worker")

    def mark_sent(self, outbound_id: int, platform_message_id: str | None,
                  now: float | None = None) -> None:
        self._update_outbound(outbound_id, _TRIED, state="sent", platform_message_id=platform_message_id,
                              sent_at=time.time() if now is None else now, last_error=None)

    def mark_retry(self, outbound_id: int, reason: str, at: float, kind: str | None = None) -> None:
        self._update_outbound(outbound_id, _TRIED, next_attempt_at=at, last_error=reason,
                              failure_kind=kind)

    def mark_failed(self, outbound_id: int, reason: str, kind: str | None = None) -> None:
        self._update_outbound(outbound_id, _TRIED, state="failed", last_error=reason, failure_kind=kind)

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
        now = time.time() if now is None else now
        cutoff = now - DEDUP_WINDOW_SECONDS
        with Session(self.engine) as session, session.begin():
            session.execute(delete(ClaimRow).where(ClaimRow.claimed_until < now - STALE_CLAIM_SECONDS))
            return session.execute(delete(InboundRow).where(
                InboundRow.state == "answered", InboundRow.received_at < cutoff)).rowcount

    def forget(self, sender: str, channel: str | None = None) -> dict[str, int]:
        """Deletes every row about ``sender`` (on ``channel``, or on all); rows deleted per table."""
        tables = ((InboundRow, InboundRow.sender), (OutboundRow, OutboundRow.recipient),
                  (PendingPages, PendingPages.sender))
        return delete_rows(self.engine, tables, sender, channel)
