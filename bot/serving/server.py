"""``bot serve``: Rasa's web server (Sanic) with our connectors, the inbox, the outbox and the
reminder loop.

Rasa's HTTP API is never mounted: only the channels' webhooks and ``/health``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from bot.contract import Connector
from bot.serving.engine import Engine
from bot.serving.reminders import ReminderLoop, composer
from bot.serving.store import Store
from bot.serving.worker import Worker


def build_app(engine: Engine, store: Store, connectors: Mapping[str, Connector], name: str = "bot",
              worker_options: Mapping[str, Any] | None = None) -> Any:
    """The Sanic app: one webhook blueprint per connector, worker loops started with the server.

    ``worker_options`` are passed on to ``Worker`` (tests shorten its backoff and polling); without
    them the worker keeps its production timing.
    """
    from rasa.core.channels.channel import register
    from sanic import Sanic, response

    app = Sanic(name, configure_logging=False)
    app.config.REQUEST_MAX_SIZE = max((c.max_body_bytes for c in connectors.values()), default=65536)
    app.config.KEEP_ALIVE_TIMEOUT = 5
    worker = Worker(store, engine, connectors, **(worker_options or {}))
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

    @app.listener("before_server_stop")
    async def stop(_app: Any, _loop: Any) -> None:
        task = getattr(app.ctx, "reminder_task", None)
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
