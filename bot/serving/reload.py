"""Switching the running assistant to a new model or catalogue without stopping it.

After ``bot train``, ``bot serve`` is told to reload by SIGHUP or by ``POST /admin/reload`` with
``Authorization: Bearer <BOT_ADMIN_TOKEN>`` (the route exists only when the token is set). The
candidate engine is loaded beside the running one, on a throwaway conversation database, and must
pass every check in ``tests/conversations/`` before it answers anyone; then the worker's engine
reference is swapped between two turns: a turn in progress ends with the old engine, the next one
starts with the new, and the inbox and outbox stay in the database, so no message is dropped,
answered twice or out of order. A catalogue that fails validation, a missing model or a failed
check leaves the running engine in place, and the log says why in one line.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import shutil
import signal
import tempfile
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.catalogue import CatalogueInvalid, load_catalogue
from bot.project import Project
from bot.serving.checks import CasesInvalid, case_files, load_cases, run_cases
from bot.serving.engine import Engine
from bot.serving.store import Store

logger = logging.getLogger(__name__)

ADMIN_TOKEN_VARIABLE = "BOT_ADMIN_TOKEN"
RELOAD_ROUTE = "/admin/reload"


@dataclass(frozen=True)
class Outcome:
    reloaded: bool
    reason: str


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


@dataclass
class Reloader:
    """Builds, checks and installs a candidate engine; ``use`` puts it in service."""

    project: Project
    model: Path  # the archive ``bot train`` replaces
    database: Path | str  # the live conversations (a SQLite file or a URL), which the new engine takes over
    use: Callable[[Engine], None]
    checks: Path | None = None  # folder of case files; default: tests/conversations under the root
    load_engine: Callable[[Path, Path, Project], Engine] = Engine.load
    redis: str | None = None  # Rasa's lock store, as the running engine has it (REDIS_URL)
    _lock: asyncio.Lock | None = field(default=None, init=False)
    _tasks: set[asyncio.Task] = field(default_factory=set, init=False)

    @property
    def checks_folder(self) -> Path:
        return self.checks or self.project.root / "tests" / "conversations"

    async def reload(self) -> Outcome:
        """Reloads unless one is running already; logs and returns what happened."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        if self._lock.locked():
            return self._refused("a reload is already in progress")
        async with self._lock:
            try:
                return await self._reload()
            except Exception as exc:  # noqa: BLE001 - whatever breaks, the running engine stays
                logger.debug("reload failed", exc_info=True)
                return self._refused(f"{type(exc).__name__}: {exc}")

    def spawn(self) -> None:
        """Starts a reload in the background (from a signal handler, through the loop)."""
        task = asyncio.ensure_future(self.reload())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _refused(self, reason: str) -> Outcome:
        reason = _one_line(reason)
        logger.warning("reload refused, the running model stays: %s", reason)
        return Outcome(False, reason)

    async def _reload(self) -> Outcome:
        try:
            catalogue = load_catalogue(self.project.procedures)
        except CatalogueInvalid as exc:
            return self._refused(f"catalogue invalid ({len(exc.errors)} errors; run bot validate); "
                                 f"first: {exc.errors[0]}")
        if not self.model.exists():
            return self._refused(f"no model at {self.model}; run bot train")
        try:
            cases = load_cases(case_files(self.checks_folder))
        except CasesInvalid as exc:
            return self._refused(f"conversation checks malformed ({len(exc.errors)} errors); "
                                 f"first: {exc.errors[0]}")
        scratch = Path(tempfile.mkdtemp(prefix="bot-reload-"))
        try:
            loop = asyncio.get_running_loop()
            candidate = await loop.run_in_executor(
                None, self.load_engine, self.model, scratch / "tracker.db", self.project)
            outcomes = await run_cases(candidate, Store.sqlite(scratch / "pages.db"), cases)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        failed = [o for o in outcomes if not o.passed]
        if failed:
            return self._refused(f"{len(failed)} of {len(outcomes)} conversation checks failed; "
                                 f"first: {failed[0].line()}")
        candidate.attach_database(self.database, self.redis)
        self.use(candidate)
        reason = (f"now answering with {self.model.name} and {len(catalogue)} procedures; "
                  f"{len(outcomes)} conversation checks passed")
        logger.info("reloaded: %s", reason)
        return Outcome(True, reason)


def authorized(header: str | None, token: str) -> bool:
    """``Authorization: Bearer <token>``, compared in constant time."""
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def listen_for_sighup(loop: asyncio.AbstractEventLoop, reloader: Reloader) -> bool:
    """SIGHUP starts a reload on ``loop``; only the main thread can set it (False elsewhere)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGHUP"):
        return False
    signal.signal(signal.SIGHUP, lambda *_: loop.call_soon_threadsafe(reloader.spawn))
    return True


def mount_admin(app: Any, token: str | None, on_start: Callable[[Any], None],
                on_post: Callable[[], Awaitable[tuple[dict[str, Any], int]]]) -> None:
    """``on_start(loop)`` once the server runs (where SIGHUP is taken); ``POST /admin/reload``,
    only when ``token`` is set, refused without it and answered with what ``on_post`` returns."""
    from sanic import response

    @app.listener("after_server_start")
    async def started(_app: Any, loop: Any) -> None:
        on_start(loop)

    if not token:
        return

    @app.post(RELOAD_ROUTE)
    async def reload(request: Any) -> Any:
        if not authorized(request.headers.get("authorization"), token):
            return response.json({"error": "unauthorized"}, status=401,
                                 headers={"WWW-Authenticate": "Bearer"})
        body, status = await on_post()
        return response.json(body, status=status)


def mount_reload(app: Any, reloader: Reloader, token: str | None) -> None:
    """SIGHUP once the server runs; ``POST /admin/reload`` only when ``token`` is set."""
    def on_start(loop: Any) -> None:
        if listen_for_sighup(loop, reloader):
            logger.info("reload on SIGHUP%s", f" or POST {RELOAD_ROUTE}" if token else "")

    async def on_post() -> tuple[dict[str, Any], int]:
        outcome = await reloader.reload()
        return {"reloaded": outcome.reloaded, "reason": outcome.reason}, 200 if outcome.reloaded else 409

    mount_admin(app, token, on_start, on_post)


def swapper(app: Any) -> Callable[[Engine], None]:
    """Puts an engine in service in ``app`` (built by ``bot.serving.server.build_app``)."""
    def use(engine: Engine) -> None:
        app.ctx.worker.use_engine(engine)
        app.ctx.agent = engine.agent
    return use
