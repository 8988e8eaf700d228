"""Answers what the inbox holds and sends what the outbox holds, in the background.

Webhooks only store messages (``accept``); the inbox loop answers them through the engine, one
conversation at a time and in arrival order, and queues the replies in the same transaction that
marks the message answered. The outbox loop sends them with retries and backoff. Both loops start
from the database, so after a crash a restart finishes whatever was accepted and not answered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.contract import Connector, Delivery, Event, Inbound, Rendered, Reply, SendError, StaffMessage
from bot.render import render
from bot.serving.conversation import Conversation
from bot.serving.engine import Engine
from bot.serving.handover import STAFF_META, Handover
from bot.serving.store import Message, Outgoing, Store

logger = logging.getLogger(__name__)

BACKOFF_SECONDS = (2.0, 10.0, 60.0, 300.0, 1800.0)  # then the message is marked failed
POLL_SECONDS = 0.5  # backstop when no wake-up arrives
FORGET_EVERY_SECONDS = 3600.0  # how often answered inbound ids older than the dedup window go


def backoff(attempts: int, retry_after: float | None,
            schedule: Sequence[float] = BACKOFF_SECONDS) -> float | None:
    """Seconds before the next try after ``attempts`` failures, or None when it is time to give up."""
    if attempts > len(schedule):
        return None
    return max(schedule[attempts - 1], retry_after or 0.0)


@dataclass
class Worker:
    store: Store
    engine: Engine
    connectors: Mapping[str, Connector]
    clock: Callable[[], float] = time.time
    backoff_seconds: Sequence[float] = BACKOFF_SECONDS  # tests shorten these two
    poll_seconds: float = POLL_SECONDS
    handover: Handover | None = None  # staff answer handed-over conversations; None: off
    _conversations: dict[str, Conversation] = field(init=False)
    _busy: set[tuple[str, str]] = field(default_factory=set, init=False)
    _sending: set[tuple[str, str]] = field(default_factory=set, init=False)
    _inbox_wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _outbox_wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _tasks: set[asyncio.Task] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        self._conversations = {name: Conversation(self.engine, self.store, connector.channel, self.handover)
                               for name, connector in self.connectors.items()}

    def use_engine(self, engine: Engine) -> None:
        """Answers with ``engine`` from the next turn on; a turn in progress ends with the old one."""
        self.engine = engine
        for conversation in self._conversations.values():
            conversation.engine = engine

    async def accept(self, events: list[Event]) -> None:
        """Stores webhook events before the platform is acknowledged; duplicates are dropped."""
        for event in events:
            if isinstance(event, Inbound):
                if not self.store.accept(event.channel, event.platform_id, event.sender, event.text,
                                         dict(event.meta), now=self.clock()):
                    logger.info("%s: duplicate %s dropped", event.channel, event.platform_id)
            elif isinstance(event, Delivery):
                self.store.record_delivery(event.outbound_id, event.status)
            elif isinstance(event, StaffMessage):
                staff = {STAFF_META: {"reply_to": event.reply_to, "author": event.author}}
                if not self.store.accept(event.channel, event.platform_id, event.chat, event.text, staff,
                                         now=self.clock()):
                    logger.info("%s: duplicate %s dropped", event.channel, event.platform_id)
        self._inbox_wake.set()

    async def run_inbox(self) -> None:
        forgotten_at = 0.0
        while True:
            if self.clock() - forgotten_at >= FORGET_EVERY_SECONDS:
                forgotten_at = self.clock()
                self.store.forget_old_inbound(now=forgotten_at)
            self._inbox_wake.clear()
            groups: dict[tuple[str, str], list[Message]] = {}
            for message in self.store.pending_inbound():
                key = (message.channel, message.sender)
                if key not in self._busy:
                    groups.setdefault(key, []).append(message)
            for key, messages in groups.items():
                self._busy.add(key)
                self._spawn(self._answer_all(key, messages))
            await _wait(self._inbox_wake, self.poll_seconds)

    async def run_outbox(self) -> None:
        while True:
            self._outbox_wake.clear()
            now = self.clock()
            waiting = self.store.blocked_recipients(now)
            groups: dict[tuple[str, str], list[Outgoing]] = {}
            for message in self.store.due_outbound(now):
                key = (message.channel, message.recipient)
                if key not in self._sending and key not in waiting:
                    groups.setdefault(key, []).append(message)
            for key, messages in groups.items():
                self._sending.add(key)
                self._spawn(self._send_all(key, messages))
            await _wait(self._outbox_wake, self.poll_seconds)

    def start(self) -> None:
        """Starts both loops; whatever the database holds from before a crash is handled first."""
        self._spawn(self.run_inbox())
        self._spawn(self.run_outbox())

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coroutine: object) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_all(self, key: tuple[str, str], messages: list[Message]) -> None:
        try:
            for message in messages:
                await self._answer(message)
        finally:
            self._busy.discard(key)
            self._inbox_wake.set()
            self._outbox_wake.set()

    async def _answer(self, message: Message) -> None:
        connector = self.connectors.get(message.channel)
        if connector is None:  # the channel was switched off since the message arrived
            logger.warning("%s: message %s waits: channel is off", message.channel, message.id)
            return
        if STAFF_META in message.meta:  # a staff member's reply in the staff group
            if self.handover is not None:
                self.handover.on_staff(message)
            else:
                self.store.answer(message.id, message.channel, message.sender, [], now=self.clock())
            return
        inbound = Inbound(message.channel, str(message.id), message.sender, message.text, message.meta)
        try:
            await connector.before_reply(inbound)
        except SendError as exc:
            logger.warning("%s: before_reply failed: %s", message.channel, exc.reason)
        try:
            rendered = await self._conversations[message.channel].handle(message.sender, message.text)
        except Exception:  # noqa: BLE001 - one failing turn must not stop every conversation
            logger.exception("%s: answering message %s failed", message.channel, message.id)
            rendered = render(Reply(self.engine.phrases["error.internal"]), connector.channel)
        self.store.answer(message.id, message.channel, message.sender,
                          [(r.text, r.buttons) for r in rendered], meta=message.meta,
                          now=self.clock())

    async def _send_all(self, key: tuple[str, str], messages: list[Outgoing]) -> None:
        try:
            for message in messages:
                if not await self._send(message):
                    break  # later messages wait for this one's retry: order is kept
        finally:
            self._sending.discard(key)
            self._outbox_wake.set()

    async def _send(self, message: Outgoing) -> bool:
        connector = self.connectors.get(message.channel)
        if connector is None:
            return False
        meta = {**message.meta, "outbound_id": message.id}
        if message.in_flight:
            logger.warning("%s: outbound %s was being sent when the server stopped; sending again",
                           message.channel, message.id)
        self.store.mark_in_flight(message.id)
        try:
            platform_id = await connector.send(message.recipient, Rendered(message.text, message.buttons),
                                               meta)
        except SendError as exc:
            delay = None
            if exc.retryable:
                delay = backoff(message.attempts + 1, exc.retry_after, self.backoff_seconds)
            if delay is None:
                logger.warning("%s: outbound %s failed for good (%s): %s", message.channel, message.id,
                               exc.kind.value, exc.reason)
                self.store.mark_failed(message.id, exc.reason, exc.kind.value)
                return True
            logger.info("%s: outbound %s retry in %.0f s (%s): %s", message.channel, message.id, delay,
                        exc.kind.value, exc.reason)
            self.store.mark_retry(message.id, exc.reason, self.clock() + delay, exc.kind.value)
            return False
        self.store.mark_sent(message.id, platform_id, now=self.clock())
        return True


async def _wait(event: asyncio.Event, timeout: float) -> None:
    """Waits for ``event`` or ``timeout``. Not ``asyncio.wait_for``: on Python 3.10 it can swallow a
    cancel that arrives as the event fires (bpo-42130), and ``Worker.stop`` would wait forever."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=timeout)
    finally:
        waiter.cancel()
