"""``bot serve``: Rasa's web server (Sanic) with our connectors, the inbox, the outbox, the
reminder loop and, when a channel has a staff group, the handover's timeout loop.

Rasa's HTTP API is never mounted: only the channels' webhooks and ``/health``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from bot.contract import Connector
from bot.serving.engine import Engine
from bot.serving.handover import Handover, HandoverLoop, HandoverSettings
from bot.serving.reminders import ReminderLoop, composer
from bot.serving.store import Store
from bot.serving.worker import Worker


def build_app(engine: Engine, store: Store, connectors: Mapping[str, Connector], name: str = "bot",
              worker_options: Mapping[str, Any] | None = None,
              handover: HandoverSettings | None = None) -> Any:
    """The Sanic app: one webhook blueprint per connector, worker loops started with the server.

    ``worker_options`` are passed on to ``Worker`` (tests shorten its backoff and polling); without
    them the worker keeps its production timing. ``handover``: working hours and timeout of the
    handover to staff, which is on when a connector has a staff chat (defaults when None).
    """
    from rasa.core.channels.channel import register
    from sanic import Sanic, response

    app = Sanic(name, configure_logging=False)
    app.config.REQUEST_MAX_SIZE = max((c.max_body_bytes for c in connectors.values()), default=65536)
    app.config.KEEP_ALIVE_TIMEOUT = 5
    options = dict(worker_options or {})
    staff = Handover.configured(store, engine.phrases, ((n, c.staff_chat()) for n, c in connectors.items()),
                                handover or HandoverSettings(), options.get("clock", time.time))
    worker = Worker(store, engine, connectors, handover=staff, **options)
    app.ctx.worker = worker
    reminder_loop = _reminder_loop(engine, connectors, worker.clock)
    app.ctx.accept = worker.accept
    app.ctx.agent = engine.agent
    register(list(connectors.values()), app, route="/webhooks/")

    @app.get("/health")
    async def health(_request: Any) -> Any:
        return response.json({"ok": True, "channels": sorted(connectors)})

    @app.listener("after_server_start")
    async def start(_app: Any, _loop: Any) -> None:
        for connector in connectors.values():
            await connector.start()
        worker.start()
        if reminder_loop is not None:
            app.ctx.reminder_task = asyncio.ensure_future(reminder_loop.run())
        if staff is not None:
            app.ctx.handover_task = asyncio.ensure_future(HandoverLoop(staff).run())

    @app.listener("before_server_stop")
    async def stop(_app: Any, _loop: Any) -> None:
        for task in (getattr(app.ctx, "reminder_task", None), getattr(app.ctx, "handover_task", None)):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await worker.stop()
        for connector in connectors.values():
            await connector.close()

    return app


def _reminder_loop(engine: Engine, connectors: Mapping[str, Connector],
                   clock: Callable[[], float]) -> ReminderLoop | None:
    """Due reminders go to the outbox from beside the worker, on the worker's clock."""
    from bot.dialogue import actions

    if engine.reminders is None:
        return None
    return ReminderLoop(engine.reminders, composer(actions.answers()), set(connectors), clock=clock)
