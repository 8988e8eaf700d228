"""Answers what the inbox holds and sends what the outbox holds, in the background.

Webhooks only store messages (``accept``); the inbox loop answers them through the engine, one
conversation at a time and in arrival order, and queues the replies in the same transaction that
marks the message answered. The outbox loop sends them with retries and backoff. Both loops start
from the database, so after a crash a restart finishes whatever was accepted and not answered.

Several workers (``bot serve`` processes, on one machine or several) can share one database: a
worker claims a conversation in the database (``Store.claim``, with a lease) before answering its
messages or sending its replies, renews its claims every third of the lease from a thread while
its loops turn, and releases them when done. A killed worker's claims expire after
``lease_seconds`` and another worker takes the conversation over from the first unanswered
message or unsent reply.

Exactly once, and where it is only at least once: a message is marked answered in the same
transaction that queues its replies, and only while its worker still holds the claim, so its
replies are queued once; the turn's other writes (Rasa's tracker events, the turn record, the
rating offer, SMS pages) are held until that transaction and committed in it
(``bot.serving.store.turn_writes``). A reply is marked ``in_flight`` before the platform is
called and ``sent`` after; a worker killed between the platform's acceptance and that update leaves
it ``in_flight``, and the worker that takes over sends it again (platforms offer no idempotency
key): the citizen may receive that one reply twice, never zero times. Likewise a worker killed in
the middle of a turn leaves its message unanswered and nothing of its turn written: it is answered
again by the next worker, once, from the same tracker.

A worker stopped the usual way (SIGTERM: a deploy, ``kill PID``, systemd, Docker) leaves no such
window: ``Worker.stop`` takes no new claim, lets each turn and each send in progress end and be
recorded (at most ``STOP_GRACE_SECONDS``), then releases every claim it holds at once, so the other
workers take its conversations over at their next poll instead of after the lease. ``bot serve``
calls ``Worker.drain`` from the signal handler itself, so that a busy event loop does not delay it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.contract import Connector, Event, Inbound, Rendered, Reply, SendError
from bot.render import render
from bot.serving.conversation import Conversation
from bot.serving.engine import Engine
from bot.serving.handover import STAFF_META, Handover
from bot.serving.intake import GroupCommit
from bot.serving.retention import purge, retention_days
from bot.serving.store import INBOX, OUTBOX, ClaimLost, Message, Outgoing, Store, turn_writes

logger = logging.getLogger(__name__)
T = TypeVar("T")

BACKOFF_SECONDS = (2.0, 10.0, 60.0, 300.0, 1800.0)  # then the message is marked failed
POLL_SECONDS = 0.5  # backstop when no wake-up arrives
FORGET_EVERY_SECONDS = 3600.0  # how often answered inbound ids older than the dedup window go,
# and citizen text older than the retention period (bot.serving.retention)
# How long a claim on a conversation outlives a worker that stops renewing it (killed, or its
# machine gone): the delay before another worker takes that conversation over.
LEASE_SECONDS = 30.0
# Conversations one worker answers at once; the rest are left to the other workers (or to this
# one's next round), so that traffic spreads over the workers instead of the first one grabbing all.
MAX_CONVERSATIONS = 32
HUNG_LEASES = 4  # loops that did not turn for this many leases: the worker is stuck, let go
# On a stop (SIGTERM), how long the turns and sends in progress may take to end before they are
# cut; a cut send is sent again by another worker (at least once), a cut turn answered again.
STOP_GRACE_SECONDS = 10.0


def this_host() -> str:
    """The host part of a worker id."""
    return socket.gethostname()[:40]


def new_worker_id() -> str:
    """This process, as claims name it: host, process id and a random part (a reused pid on a
    restarted machine must not inherit the claims of the killed process)."""
    return f"{this_host()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (signal 0 checks without sending)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


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
    retention_days: float = field(default_factory=retention_days)  # BOT_RETENTION_DAYS
    lease_seconds: float = LEASE_SECONDS
    max_conversations: int = MAX_CONVERSATIONS
    worker_id: str = field(default_factory=new_worker_id)
    handover: Handover | None = None  # staff answer handed-over conversations; None: off
    _conversations: dict[str, Conversation] = field(init=False)
    _intake: GroupCommit = field(init=False)  # the webhooks' group commit, on the web server's loop
    _busy: set[tuple[str, str]] = field(default_factory=set, init=False)
    _sending: set[tuple[str, str]] = field(default_factory=set, init=False)
    _inbox_wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _outbox_wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _tasks: set[asyncio.Task] = field(default_factory=set, init=False)
    _scanners: list[asyncio.Task] = field(default_factory=list, init=False)  # the two loops
    _draining: bool = field(default=False, init=False)  # stopping: no new claim, no next message
    _stopping: threading.Event = field(default_factory=threading.Event, init=False)
    _heartbeat_thread: threading.Thread | None = field(default=None, init=False)
    _alive_at: float = field(default=0.0, init=False)  # time.monotonic() of the loops' last round
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False)  # where the loops run
    # called after each accepted webhook, from the web server's thread: wakes answering processes
    notify: list[Callable[[], None]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self._intake = GroupCommit(self.store)
        self._conversations = {name: Conversation(self.engine, self.store, connector.channel, self.handover)
                               for name, connector in self.connectors.items()}

    def use_engine(self, engine: Engine) -> None:
        """Answers with ``engine`` from the next turn on; a turn in progress ends with the old one.
        Called from another thread, the swap is done on the worker's own loop, between two turns."""
        loop = self._loop
        if loop is not None and not loop.is_closed() and not _running_on(loop):
            loop.call_soon_threadsafe(self.use_engine, engine)
            return
        self.engine = engine
        for conversation in self._conversations.values():
            conversation.engine = engine

    async def accept(self, events: list[Event]) -> None:
        """Stores webhook events before the platform is acknowledged, grouped with the webhooks
        arriving meanwhile into one commit (``bot.serving.intake``); duplicates are dropped."""
        await self._intake.store_events(events, self.clock())
        self.wake()
        for notify in self.notify:
            notify()

    def wake(self) -> None:
        """Wakes the inbox loop, from any thread (the webhooks run on the web server's loop, the
        worker's loops on a loop of their own: ``Answering``)."""
        loop = self._loop
        if loop is None or _running_on(loop):
            self._inbox_wake.set()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._inbox_wake.set)

    async def run_inbox(self) -> None:
        forgotten_at = 0.0
        while True:
            self._inbox_wake.clear()
            self._alive_at = time.monotonic()
            try:
                if self.clock() - forgotten_at >= FORGET_EVERY_SECONDS:
                    forgotten_at = self.clock()
                    self.store.forget_old_inbound(now=forgotten_at)
                    try:
                        purge(self.store.engine, forgotten_at, self.retention_days)
                    except Exception:  # noqa: BLE001 - answering goes on; the next hour tries again
                        logger.exception("retention: old messages not deleted")
                now = self.clock()
                for key in self.store.waiting_senders(now):
                    if self._draining or len(self._busy) >= self.max_conversations:
                        break
                    if key not in self._busy and self.store.claim(INBOX, *key, self.worker_id, now,
                                                                  self.lease_seconds):
                        self._busy.add(key)
                        self._spawn(self._answer_all(key))
            except Exception:  # noqa: BLE001 - the database is away: try again at the next poll
                logger.exception("inbox: scanning for messages failed")
            await _wait(self._inbox_wake, self.poll_seconds)

    async def run_outbox(self) -> None:
        while True:
            self._outbox_wake.clear()
            self._alive_at = time.monotonic()
            try:
                now = self.clock()
                skip = self.store.blocked_recipients(now) | self.store.held_claims(OUTBOX, now)
                keys = dict.fromkeys((m.channel, m.recipient) for m in self.store.due_outbound(now))
                for key in keys:
                    if self._draining:
                        break
                    if key not in self._sending and key not in skip and self.store.claim(
                            OUTBOX, *key, self.worker_id, now, self.lease_seconds):
                        self._sending.add(key)
                        self._spawn(self._send_all(key))
            except Exception:  # noqa: BLE001 - the database is away: try again at the next poll
                logger.exception("outbox: scanning for replies failed")
            await _wait(self._outbox_wake, self.poll_seconds)

    def _heartbeat(self) -> None:
        """Renews this worker's claims every third of the lease, from a thread of its own: a turn
        that keeps the event loop busy (the model runs on it) does not let the claims lapse. A
        worker whose loops stopped turning for ``HUNG_LEASES`` leases stops renewing, so that its
        conversations are taken over."""
        while not self._stopping.wait(self.lease_seconds / 3):
            if time.monotonic() - self._alive_at > HUNG_LEASES * self.lease_seconds:
                continue
            try:
                self.store.renew_claims(self.worker_id, self.clock(), self.lease_seconds)
            except Exception:  # noqa: BLE001 - the database is away: the claims may lapse
                logger.exception("renewing claims failed")

    def start(self) -> None:
        """Starts the loops on the running event loop; whatever the database holds from before a
        crash is handled first."""
        self._loop = asyncio.get_event_loop()
        self._alive_at = time.monotonic()
        try:
            released = self.store.release_claims_of_dead_processes(this_host(), process_alive)
        except Exception:  # noqa: BLE001 - the database is away: the leases run out by themselves
            logger.exception("releasing the claims of stopped processes failed")
        else:
            if released:
                logger.info("released %d claims of stopped processes of this machine", released)
        self._draining = False
        self._scanners = [self._spawn(self.run_inbox()), self._spawn(self.run_outbox())]
        self._stopping.clear()
        self._heartbeat_thread = threading.Thread(target=self._heartbeat, name="claims-heartbeat",
                                                  daemon=True)
        self._heartbeat_thread.start()

    def drain(self) -> None:
        """From now on no new claim and, in each conversation, no next message or reply: what is in
        progress ends and its claim is released. Callable from any thread, a signal handler too:
        a busy event loop may reach ``stop`` seconds after the signal, the tasks see this at their
        next step."""
        self._draining = True

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Hands back what this worker holds: no new claim from now on, each turn and send in
        progress ends and is recorded (those still running after ``grace`` seconds are cut), then
        every claim is released at once, so the other workers need not wait for the lease."""
        self.drain()
        for task in self._scanners:
            task.cancel()
        await asyncio.gather(*self._scanners, return_exceptions=True)
        started = time.monotonic()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        cut = list(self._tasks)
        for task in cut:
            task.cancel()
        await asyncio.gather(*cut, return_exceptions=True)
        self._stopping.set()
        if self._heartbeat_thread is not None:
            self._heartbeat_thread.join(timeout=10)
        try:
            released = self.store.release_all(self.worker_id)
        except Exception:  # noqa: BLE001 - the database is away: the leases run out by themselves
            logger.exception("releasing this worker's claims failed")
            released = 0
        logger.info("stopped in %.1f s: %d turns or sends cut, %d claims left released",
                    time.monotonic() - started, len(cut), released)

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _answer_all(self, key: tuple[str, str]) -> None:
        """Answers one claimed conversation's messages in order, including those that arrive
        meanwhile, then releases the claim."""
        try:
            answered = True
            while answered:
                answered = False
                for message in self.store.pending_inbound(channel=key[0], sender=key[1]):
                    if self._draining or not await self._answer(message):
                        return
                    answered = True
                self._outbox_wake.set()
        except ClaimLost as exc:
            logger.warning("%s: %s; this worker stops answering that conversation", key[0], exc)
        finally:
            self._busy.discard(key)
            await self._release(INBOX, key)
            self._inbox_wake.set()
            self._outbox_wake.set()

    async def _release(self, kind: str, key: tuple[str, str]) -> None:
        try:
            self.store.release(kind, *key, self.worker_id)
        except Exception:  # noqa: BLE001 - the lease runs out by itself
            logger.exception("%s: releasing a claim failed", key[0])

    async def _answer(self, message: Message) -> bool:
        """Answers one message; False when it has to wait (its channel is off)."""
        connector = self.connectors.get(message.channel)
        if connector is None:  # the channel was switched off since the message arrived
            logger.warning("%s: message %s waits: channel is off", message.channel, message.id)
            return False
        if STAFF_META in message.meta:  # a staff member's reply in the staff group
            if self.handover is not None:
                self.handover.on_staff(message)
            else:
                self.store.answer(message.id, message.channel, message.sender, [], now=self.clock(),
                                  worker=self.worker_id)
            return True
        inbound = Inbound(message.channel, str(message.id), message.sender, message.text, message.meta)
        try:
            await connector.before_reply(inbound)
        except SendError as exc:
            logger.warning("%s: before_reply failed: %s", message.channel, exc.reason)
        with turn_writes(self.store.engine) as writes:  # the turn's writes, committed with its answer
            try:
                rendered = await self._conversations[message.channel].handle(message.sender, message.text)
            except Exception:  # noqa: BLE001 - one failing turn must not stop every conversation
                logger.exception("%s: answering message %s failed", message.channel, message.id)
                rendered = render(Reply(self.engine.phrases["error.internal"]), connector.channel)
            try:
                self._store_answer(message, rendered)
            except ClaimLost:
                raise
            except Exception:  # noqa: BLE001 - a write of the turn failed: the apology, without them
                if not writes.steps:
                    raise
                logger.exception("%s: the writes of message %s's turn failed", message.channel, message.id)
                writes.open = False  # the apology goes without them, as after a failed turn
                self._store_answer(message, render(Reply(self.engine.phrases["error.internal"]),
                                                   connector.channel))
        return True

    def _store_answer(self, message: Message, rendered: list[Rendered]) -> None:
        self.store.answer(message.id, message.channel, message.sender,
                          [(r.text, r.buttons) for r in rendered], meta=message.meta,
                          now=self.clock(), worker=self.worker_id)

    async def _send_all(self, key: tuple[str, str]) -> None:
        """Sends one claimed recipient's due replies in order, then releases the claim."""
        try:
            sent = True
            while sent:
                sent = False
                for message in self.store.outbox_of(*key, self.clock()):
                    if self._draining or not await self._send(message):
                        return  # later messages wait for this one's retry: order is kept
                    sent = True
        except ClaimLost as exc:
            logger.warning("%s: %s; this worker stops sending to that recipient", key[0], exc)
        finally:
            self._sending.discard(key)
            await self._release(OUTBOX, key)
            self._outbox_wake.set()

    async def _send(self, message: Outgoing) -> bool:
        connector = self.connectors.get(message.channel)
        if connector is None:
            return False
        meta = {**message.meta, "outbound_id": message.id}
        if message.in_flight:
            logger.warning("%s: outbound %s was being sent when the server stopped; sending again",
                           message.channel, message.id)
        self.store.mark_in_flight(message.id, self.worker_id)
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


class Answering:
    """The worker's loops, the connectors' clients and the loops beside them (reminders, handover)
    on an event loop of their own, in a thread.

    The web server's loop then only validates a webhook, stores it (``Worker.accept``, a group
    commit on a writer thread, ``bot.serving.intake``) and answers the platform: a turn of the
    model never delays an acknowledgement by more than the interpreter's switch interval. The
    connectors' clients (httpx, PTB) are created and closed on this loop, the only one that sends.
    """

    def __init__(self, worker: Worker, beside: Sequence[Callable[[], Awaitable[None]]] = ()) -> None:
        self.worker = worker
        self.beside = beside  # further loops to run next to the worker's, cancelled on stop
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="answering", daemon=True)
        self._tasks: list[asyncio.Future] = []

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def start(self, timeout: float = 120.0) -> None:
        """Starts the thread, the connectors and the loops; returns once they run."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout)

    async def _start(self) -> None:
        for connector in self.worker.connectors.values():
            await connector.start()
        self.worker.start()
        self._tasks = [asyncio.ensure_future(run()) for run in self.beside]

    def stop(self, timeout: float = 60.0) -> None:
        """Stops the loops (``Worker.stop``: the turns and sends in progress end first, a turn still
        running after the grace is cut and its message answered again by another worker or at the
        next start), closes the connectors, ends the thread."""
        if not self._thread.is_alive():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(timeout)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)

    async def _stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.worker.stop()
        for connector in self.worker.connectors.values():
            await connector.close()

    async def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Runs ``coroutine`` on the answering loop and waits for it from the caller's loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))


def wake_pair() -> tuple[socket.socket, socket.socket]:
    """A connected pair for wake-ups from the web server's process to an answering process:
    the web side's end (non-blocking) and the answering side's end. Sequenced packets: the
    answering side also learns at once when the web server's process is gone (end of file)."""
    web, answering = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    web.setblocking(False)
    return web, answering


def waker(sock: socket.socket) -> Callable[[], None]:
    """Sends one wake-up; never blocks: a full buffer means wake-ups are pending already, and an
    answering process that is gone is woken by nobody (its conversations' claims expire)."""
    def wake() -> None:
        with contextlib.suppress(OSError):
            sock.send(b"w")
    return wake


def listen_for_wakeups(sock: socket.socket, worker: Worker, gone: Callable[[], None]) -> None:
    """On the running loop: each wake-up from the web server wakes ``worker``'s inbox loop;
    ``gone`` is called once when the web server's process has closed its end."""
    loop = asyncio.get_running_loop()
    sock.setblocking(False)

    def readable() -> None:
        try:
            data = sock.recv(64)
            while data:
                data = sock.recv(64)
        except (BlockingIOError, InterruptedError):
            worker.wake()
            return
        except OSError:
            pass
        loop.remove_reader(sock.fileno())
        gone()

    loop.add_reader(sock.fileno(), readable)


def _running_on(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


async def _wait(event: asyncio.Event, timeout: float) -> None:
    """Waits for ``event`` or ``timeout``. Not ``asyncio.wait_for``: on Python 3.10 it can swallow a
    cancel that arrives as the event fires (bpo-42130), and ``Worker.stop`` would wait forever."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=timeout)
    finally:
        waiter.cancel()
