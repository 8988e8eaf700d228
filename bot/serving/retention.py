"""How long what citizens wrote is kept: ``BOT_RETENTION_DAYS`` (default 90 days).

Past that, ``purge`` deletes, in one transaction: turn records (``turns``), answered inbox rows,
outbox rows already sent or failed for good, the user and bot utterances in the conversation
tracker's ``events`` (slots such as a remembered commune stay), and ``ratings`` rows when that
table exists. Pending messages are never deleted: they still have to be answered or sent.
The serving worker runs it every hour; ``bot report`` runs it before reporting.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from sqlalchemy import MetaData, Table, delete, inspect
from sqlalchemy.engine import Engine as SqlEngine

from bot.contract import ConfigError
from bot.serving.engine import TRACKER_EVENTS_TABLE
from bot.serving.journal import TurnRow, utc_naive
from bot.serving.store import InboundRow, OutboundRow

RETENTION_VARIABLE = "BOT_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 90
DAY_SECONDS = 86400
TRACKER_TEXT_EVENTS = ("user", "bot")  # the event types that hold what was said
RATINGS_TABLE = "ratings"


def retention_days(env: Mapping[str, str] | None = None) -> float:
    """The retention period in days, from ``BOT_RETENTION_DAYS``; a typed error says the fix."""
    env = os.environ if env is None else env
    raw = (env.get(RETENTION_VARIABLE) or "").strip()
    if not raw:
        return DEFAULT_RETENTION_DAYS
    try:
        days = float(raw)
    except ValueError:
        days = -1.0
    if not days > 0:
        raise ConfigError(f"{RETENTION_VARIABLE}={raw!r}: cần một số ngày lớn hơn 0, ví dụ "
                          f"{RETENTION_VARIABLE}=90")
    return days


def purge(engine: SqlEngine, now: float, days: float) -> dict[str, int]:
    """Deletes stored citizen text older than ``days`` before ``now`` (epoch); rows per table."""
    cutoff = now - days * DAY_SECONDS
    present = set(inspect(engine).get_table_names())
    deleted: dict[str, int] = {}
    with engine.begin() as connection:
        if TurnRow.__tablename__ in present:
            deleted[TurnRow.__tablename__] = connection.execute(
                delete(TurnRow.__table__).where(TurnRow.at < utc_naive(cutoff))).rowcount
        if InboundRow.__tablename__ in present:
            deleted[InboundRow.__tablename__] = connection.execute(delete(InboundRow.__table__).where(
                InboundRow.state == "answered", InboundRow.received_at < cutoff)).rowcount
        if OutboundRow.__tablename__ in present:
            deleted[OutboundRow.__tablename__] = connection.execute(delete(OutboundRow.__table__).where(
                OutboundRow.state.in_(("sent", "failed")), OutboundRow.created_at < cutoff)).rowcount
        reflected = MetaData()
        if TRACKER_EVENTS_TABLE in present:
            events = Table(TRACKER_EVENTS_TABLE, reflected, autoload_with=connection)
            deleted[TRACKER_EVENTS_TABLE] = connection.execute(delete(events).where(
                events.c.type_name.in_(TRACKER_TEXT_EVENTS), events.c.timestamp < cutoff)).rowcount
        if RATINGS_TABLE in present:
            ratings = Table(RATINGS_TABLE, reflected, autoload_with=connection)
            deleted[RATINGS_TABLE] = connection.execute(delete(ratings).where(
                ratings.c.rated_at < utc_naive(cutoff))).rowcount
    return deleted
