"""``bot serve``: Rasa's web server (Sanic) with our connectors, the inbox, the outbox, the
reminder loop and, when a channel has a staff group, the handover's timeout loop.

Rasa's HTTP API is never mounted: only the channels' webhooks and ``/health``. The web server's
event loop only stores webhooks and answers them; the answering (inbox, model, outbox, reminders,
handover) runs on a loop of its own in a thread (``bot.serving.worker.Answering``), so a platform
gets its acknowledgement whatever the backlog.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from bot.contract import Connector, Event
from bot.serving.engine import Engine
from bot.serving.handover import Handover, HandoverLoop, HandoverSettings
from bot.serving.reload import Outcome, Reloader
from bot.serving.reminders import ReminderLoop, composer
from bot.serving.store import Store
from bot.serving.worker import Answering, Worker

# Connections the listening socket holds before the server accepts them (Sanic's default: 100).
# A platform opens many at once after a pause (Telegram up to setWebhook's max_connections, 40 by
# default, 100 at most; an SMS gateway one per message), and a busy server accepts late: past the
# backlog the kernel drops the connection and the client's TCP retries after 1, 3, then 7 s, which
# made the webhook ack p95 of 200 conversations 7-9 s (docs/benchmarks.md, "Acknowledgement,
# session 8"). The kernel caps it at net.core.somaxconn (4096 on current Linux).
LISTEN_BACKLOG = 1024


def build_app(engine: Engine, store: Store, connectors: Mapping[str, Connector], name: str = "bot",
              worker_options: Mapping[str, Any] | None = None,
              handover: HandoverSettings | None = None) -> Any:
    """The Sanic app: one webhook blueprint per connector, worker loops started with the server.

    ``worker_options`` are passed on to ``Worker`` (tests shorten its backoff and polling); without
    them the worker keeps its production timing. ``handover``: working hours and timeout of the
    handover to staff, which is on when a connector has a staff chat (defaults when None).
    """
    answering = build_answering(engine, store, connectors, worker_options, handover)
    worker = answering.worker
    app = build_web(connectors, worker.accept, name)
    app.ctx.worker = worker
    app.ctx.answering = answering
    app.ctx.agent = engine.agent

    @app.listener("after_server_start")
    async def start(_app: Any, loop: Any) -> None:
        await loop.run_in_executor(None, answering.start)

    @app.listener("before_server_stop")
    async def stop(_app: Any, loop: Any) -> None:
        await loop.run_in_executor(None, answering.stop)

    return app


def build_web(connectors: Mapping[str, Connector], accept: Callable[[list[Event]], Awaitable[None]],
              name: str = "bot") -> Any:
    """The Sanic app without the answering: one webhook blueprint per connector, whose events go
    to ``accept``, and ``/health``. ``bot serve --workers N`` runs it alone in the web process."""
    from rasa.core.channels.channel import register
    from sanic import Sanic, response

    app = Sanic(name, configure_logging=False)
    app.config.REQUEST_MAX_SIZE = max((c.max_body_bytes for c in connectors.values()), default=65536)
    app.config.KEEP_ALIVE_TIMEOUT = 5
    app.ctx.accept = accept
    register(list(connectors.values()), app, route="/webhooks/")

    @app.get("/health")
    async def health(_request: Any) -> Any:
        return response.json({"ok": True, "channels": sorted(connectors)})

    return app


def build_answering(engine: Engine, store: Store, connectors: Mapping[str, Connector],
                    worker_options: Mapping[str, Any] | None = None,
                    handover: HandoverSettings | None = None) -> Answering:
    """The worker with the reminder loop and, when a connector has a staff chat, the handover's
    timeout loop beside it, not started (``build_app``'s arguments)."""
    options = dict(worker_options or {})
    staff = Handover.configured(store, engine.phrases, ((n, c.staff_chat()) for n, c in connectors.items()),
                                handover or HandoverSettings(), options.get("clock", time.time))
    worker = Worker(store, engine, connectors, handover=staff, **options)
    reminder_loop = _reminder_loop(engine, connectors, worker.clock)
    beside = ([reminder_loop.run] if reminder_loop is not None else []) + (
        [HandoverLoop(staff).run] if staff is not None else [])
    return Answering(worker, beside)


class AnsweringReloader:
    """A ``bot.serving.reload.Reloader`` whose reloads run on the answering loop: the candidate's
    checks run the model there, beside the turns, and the engine is swapped between two turns of
    that loop; the web server's loop only waits for the outcome."""

    def __init__(self, reloader: Reloader, answering: Answering,
                 also: Sequence[Callable[[], None]] = ()) -> None:
        self.reloader = reloader
        self.answering = answering
        self.also = also  # called at each reload: tells the other answering processes (SIGHUP)
        self._tasks: set[asyncio.Task] = set()

    async def reload(self) -> Outcome:
        for tell in self.also:
            tell()
        return await self.answering.call(self.reloader.reload())

    def spawn(self) -> None:
        task = asyncio.ensure_future(self.reload())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _reminder_loop(engine: Engine, connectors: Mapping[str, Connector],
                   clock: Callable[[], float]) -> ReminderLoop | None:
    """Due reminders go to the outbox from beside the worker, on the worker's clock."""
    from bot.dialogue import actions

    if engine.reminders is None:
        return None
    return ReminderLoop(engine.reminders, composer(actions.answers()), set(connectors), clock=clock)
