"""The webhook intake: a group commit of the inbox, on a writer thread.

A webhook is acknowledged only once its messages are on disk (``Store.accept_group``: on a SQLite
file ``synchronous=FULL``, on PostgreSQL its own commit), and a commit costs a sync of the disk.
One transaction per webhook, run one after another on the web server's loop, made the 200th of
200 concurrent webhooks wait for 200 syncs (docs/benchmarks.md, "Acknowledgement, group commit").
Here the webhooks that arrive while a commit is in progress wait together and go into the next
single transaction: one sync for the group, each webhook answered after its group's commit
returned. The commits run on a writer thread, so the web server's loop keeps reading requests
while the disk syncs.

What a webhook is promised, as before the grouping:

- acknowledged means stored: its coroutine returns only after the commit that holds its messages;
- a redelivered platform id is refused (``False``), whether stored long ago, in an earlier group
  or earlier in the same group;
- a conversation's messages are stored in the order their webhooks reached ``store``;
- an error in one webhook's messages costs only that webhook: when a group's transaction fails,
  each of its webhooks is committed alone, so the others are stored and answered, and the one at
  fault gets the error (the connector answers 503, the platform sends it again).

The writer thread starts with the first webhook and ends after ``IDLE_SECONDS`` without one; a
process killed at any moment loses only webhooks that were not yet acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.contract import Delivery, Event, Inbound, StaffMessage
from bot.serving.handover import STAFF_META
from bot.serving.store import Incoming, Store

logger = logging.getLogger(__name__)

MAX_GROUP = 256  # webhooks in one transaction at most: bounds one commit's time and memory
IDLE_SECONDS = 2.0  # the writer thread ends after this long without a webhook (the next starts it)


@dataclass
class _Webhook:
    """One webhook's events waiting for the writer, and where to tell its caller the outcome."""

    events: Sequence[Event]
    now: float
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future
    messages: list[Incoming] = field(default_factory=list)

    def __post_init__(self) -> None:
        for event in self.events:
            if isinstance(event, Inbound):
                self.messages.append(Incoming(event.channel, event.platform_id, event.sender, event.text,
                                              dict(event.meta), self.now))
            elif isinstance(event, StaffMessage):
                staff = {STAFF_META: {"reply_to": event.reply_to, "author": event.author}}
                self.messages.append(Incoming(event.channel, event.platform_id, event.chat, event.text,
                                              staff, self.now))


class GroupCommit:
    """Stores webhooks' events (``store``) grouped into as few durable commits as the disk allows."""

    def __init__(self, store: Store, max_group: int = MAX_GROUP, idle_seconds: float = IDLE_SECONDS) -> None:
        self.store = store
        self.max_group = max_group
        self.idle_seconds = idle_seconds
        self._queue: deque[_Webhook] = deque()
        self._wake = threading.Condition()
        self._writer: threading.Thread | None = None
        self.commits = 0  # group transactions committed (each one sync of the disk), for benchmarks
        self._spell: list[tuple[int, float]] = []  # (webhooks, seconds) of each commit since the last idle

    async def store_events(self, events: Sequence[Event], now: float) -> list[bool]:
        """Stores one webhook's events; returns, once they are on disk, for each inbound or staff
        message in order whether it was new (False: a duplicate, dropped). Delivery reports are
        recorded after the messages. Raises what storing this webhook raised."""
        loop = asyncio.get_running_loop()
        webhook = _Webhook(events, now, loop, loop.create_future())
        with self._wake:
            self._queue.append(webhook)
            if self._writer is None:
                self._writer = threading.Thread(target=self._write, name="intake", daemon=True)
                self._writer.start()
            self._wake.notify()
        # shielded: a client that hangs up cancels its request, not the commit others share
        return await asyncio.shield(webhook.done)

    def _write(self) -> None:
        while True:
            with self._wake:
                if not self._queue:
                    self._wake.wait(self.idle_seconds)
                if not self._queue:
                    self._writer = None
                    self._report_spell()
                    return
                group = [self._queue.popleft() for _ in range(min(self.max_group, len(self._queue)))]
            self._commit(group)

    def _report_spell(self) -> None:
        """One log line per busy spell of the writer: how long its commits took (a commit that
        waits for the database's write lock shows here, not in the web server's CPU)."""
        spell, self._spell = self._spell, []
        if not spell:
            return
        seconds = sorted(s for _, s in spell)
        logger.info("inbox: %d webhooks in %d commits, commit median %.1f ms, p95 %.1f ms, max %.1f ms",
                    sum(n for n, _ in spell), len(spell), seconds[len(seconds) // 2] * 1000,
                    seconds[int(0.95 * (len(seconds) - 1))] * 1000, seconds[-1] * 1000)

    def _commit(self, group: list[_Webhook]) -> None:
        started = time.perf_counter()
        try:
            stored = self.store.accept_group([m for webhook in group for m in webhook.messages])
        except Exception as exc:  # noqa: BLE001 - decided per webhook below, and raised to its caller
            if len(group) == 1:
                _settle(group[0], error=exc)
                return
            logger.warning("inbox: a group of %d webhooks failed (%s); storing each alone",
                           len(group), type(exc).__name__)
            for webhook in group:
                self._commit([webhook])
            return
        self.commits += 1
        self._spell.append((len(group), time.perf_counter() - started))
        outcomes = iter(stored)
        for webhook in group:
            mine = [next(outcomes) for _ in webhook.messages]
            for message, new in zip(webhook.messages, mine, strict=True):
                if not new:
                    logger.info("%s: duplicate %s dropped", message.channel, message.platform_id)
            try:
                for event in webhook.events:
                    if isinstance(event, Delivery):
                        self.store.record_delivery(event.outbound_id, event.status)
            except Exception as exc:  # noqa: BLE001 - this webhook's caller gets it (503, sent again)
                _settle(webhook, error=exc)
                continue
            _settle(webhook, result=mine)


def _settle(webhook: _Webhook, result: list[bool] | None = None, error: BaseException | None = None) -> None:
    """Hands the outcome to the webhook's loop (the writer thread may not touch its future)."""
    def settle() -> None:
        if webhook.done.done():
            return
        if error is not None:
            webhook.done.set_exception(error)
        else:
            webhook.done.set_result(result)
    try:
        webhook.loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop is closed: nobody waits for this answer any more
        pass
