"""``bot serve`` and ``bot outbox``: the channels' webhooks, and what is waiting to be sent."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.cli.model import current_model, model_options, model_path
from bot.cli.quiet import quiet, quiet_warnings
from bot.project import Project


def add_commands(commands: Any) -> None:
    serve = commands.add_parser(
        "serve", help="run the webhooks of the configured channels; SIGHUP reloads after bot train")
    serve.add_argument("--credentials", type=Path, default=None, help="default: credentials.yml")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5005)
    serve.add_argument("--db", type=Path, default=None,
                       help="a SQLite file; default: $DATABASE_URL, else var/bot.db")
    serve.add_argument("--workers", type=int, default=1,
                       help="answering processes sharing the database (default 1; 2 on two cores)")
    serve.add_argument("--answer-only", action="store_true", help=argparse.SUPPRESS)
    serve.add_argument("--wake-fd", type=int, default=None, help=argparse.SUPPRESS)
    model_options(serve)
    serve.set_defaults(run=run_serve)

    outbox = commands.add_parser("outbox", help="what the outbox holds; replies that failed for good")
    outbox.add_argument("--db", type=Path, default=None,
                        help="a SQLite file; default: $DATABASE_URL, else var/bot.db")
    outbox.add_argument("--failed", type=int, default=20, help="how many failed replies to list")
    outbox.set_defaults(run=run_outbox)


def run_serve(args: argparse.Namespace, project: Project) -> int:
    """Settings first, each with what it cheaply needs, so that a wrong one stops the command in
    about a second with the setting named: the environment's (``BOT_LEASE_SECONDS``,
    ``DATABASE_URL``, ``REDIS_URL``), then those read with Rasa's channel stack imported (the
    connectors', ``BOT_RETENTION_DAYS``, ``HANDOVER_*``), then the database reached; the
    catalogue and the model only after all of them."""
    from bot.contract import ConfigError
    from bot.serving.database import checked_url, redis_parts, redis_url, shown

    quiet_warnings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not 1 <= args.workers <= MAX_WORKERS:
        print(f"--workers: cần từ 1 đến {MAX_WORKERS}", file=sys.stderr)
        return 2
    try:
        db, redis = checked_url(database(args, project)), redis_url()
        if redis:
            redis_parts(redis)
        lease = lease_seconds()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    from sqlalchemy.exc import OperationalError

    from bot.contract import redact
    from bot.serving.channels import load_connectors
    from bot.serving.handover import settings_from_env
    from bot.serving.retention import retention_days
    from bot.serving.store import Store

    credentials = args.credentials or project.credentials
    try:
        retention_days()  # BOT_RETENTION_DAYS: a wrong value stops here, not in the worker
        connectors = load_connectors(credentials)
        handover = settings_from_env(os.environ)
        store = Store(db)  # before the model: a database that cannot be reached fails at once
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except OperationalError as exc:  # the server is down, refuses us, or the file cannot be opened
        print(f"{shown(db)}: không kết nối được cơ sở dữ liệu ({type(exc.orig).__name__}); "
              f"kiểm tra DATABASE_URL và máy chủ", file=sys.stderr)
        return 2
    from bot.serving.engine import Engine
    from bot.serving.reload import ADMIN_TOKEN_VARIABLE, Reloader, mount_reload, swapper
    from bot.serving.server import LISTEN_BACKLOG, AnsweringReloader, build_answering, build_app, build_web
    from bot.serving.worker import waker

    quiet()
    for ours in ("bot", "connectors"):  # quiet() may set the libraries' loggers' levels
        logging.getLogger(ours).setLevel(logging.INFO)
    admin_token = os.environ.get(ADMIN_TOKEN_VARIABLE) or None
    redact.install([*(secret for c in connectors.values() for secret in c.secrets()),
                    *([admin_token] if admin_token else [])])
    if not connectors:
        print(f"{credentials}: no channel is configured; see README.md, 'Connecting the channels'.",
              file=sys.stderr)
    model = current_model(args, project)
    if model is None:
        return 1
    options: dict[str, Any] = {"lease_seconds": lease}
    if args.workers > 1:  # a turn holds its process's CPU: claim few, leave the rest to the others
        options["max_conversations"] = SHARED_CONVERSATIONS
    if args.answer_only:
        engine = Engine.load(model, db, project, redis=redis)
        answering = build_answering(engine, store, connectors, options, handover)
        reloader = Reloader(project, model_path(args, project), db, answering.worker.use_engine, redis=redis)
        return answer_only(answering, reloader, args.wake_fd)
    others: list[Answerer] = []
    if args.workers == 1:  # one process: the answering in a thread beside the web server
        engine = Engine.load(model, db, project, redis=redis)
        app = build_app(engine, store, connectors, worker_options=options, handover=handover)
        # SIGHUP, or POST /admin/reload when BOT_ADMIN_TOKEN is set: the model bot train rebuilt
        # and the catalogue as it is now, once the checks in tests/conversations/ pass.
        reloader = Reloader(project, model_path(args, project), db, swapper(app), redis=redis)
        mount_reload(app, AnsweringReloader(reloader, app.ctx.answering), admin_token)
        drain_on_stop_signals(app, app.ctx.worker)
    else:  # the web server alone here, without the model; each answering process loads its own
        others = start_answerers(args.workers)
        app = build_web(connectors, web_accept(store, [waker(other.wake) for other in others]))
        mount_forwarded_reload(app, others, admin_token)

        @app.listener("after_server_stop")
        async def stop_others(_app: Any, loop: Any) -> None:
            await loop.run_in_executor(None, stop_answerers, others)

    print(f"Serving {', '.join(sorted(connectors)) or 'no channel'} on http://{args.host}:{args.port}"
          f" (database {shown(db)}, locks {'in Redis' if redis else 'in this process'}, "
          f"{args.workers} answering process{'es' if args.workers > 1 else ''})", flush=True)
    try:
        app.run(host=args.host, port=args.port, workers=1, access_log=False, motd=False,
                backlog=LISTEN_BACKLOG)
    finally:
        stop_answerers(others)
    return 0


def drain_on_stop_signals(app: Any, worker: Any) -> None:
    """On SIGTERM or SIGINT the worker drains at once (``Worker.drain``), from the signal handler:
    Sanic's own handler stops the server through its event loop, which under load reaches the
    worker's stop seconds later (9 s measured at 200 conversations, docs/benchmarks.md, "Scale-out,
    session 9"). Installed once the server runs, beside Sanic's: its loop still learns of the
    signal through its wake-up descriptor and calls its own handler."""

    @app.listener("after_server_start")
    async def install(_app: Any, _loop: Any) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop_signal, lambda *_: worker.drain())


def web_accept(store: Any, notify: list[Callable[[], None]]) -> Callable[[list[Any]], Awaitable[None]]:
    """The web process's ``accept``: stores the events, then wakes the answering processes."""
    import time

    from bot.serving.intake import GroupCommit

    intake = GroupCommit(store)

    async def accept(events: list[Any]) -> None:
        await intake.store_events(events, time.time())
        for wake in notify:
            wake()

    return accept


def mount_forwarded_reload(app: Any, answerers: list[Answerer], token: str | None) -> None:
    """SIGHUP, or ``POST /admin/reload`` when ``token`` is set, is passed on to every answering
    process as SIGHUP; each loads and checks the new model on its own and logs the outcome, so
    the route answers 202 without waiting for it."""
    from bot.serving.reload import mount_admin

    def forward() -> int:
        for answerer in answerers:
            answerer.hang_up()
        return len(answerers)

    async def on_post() -> tuple[dict[str, Any], int]:
        count = forward()
        return {"reloaded": None, "reason": f"{count} answering processes reload on their own; "
                "each logs the outcome"}, 202

    def on_start(_loop: Any) -> None:
        if threading.current_thread() is threading.main_thread():  # where signals can be taken
            signal.signal(signal.SIGHUP, lambda *_: forward())

    mount_admin(app, token, on_start, on_post)


MAX_WORKERS = 8
# Conversations one answering process claims at once beside others: turns run one after the
# other in a process (the model holds its CPU), so a larger share only makes the others idle.
SHARED_CONVERSATIONS = 4
STOP_SECONDS = 30.0  # an answering process that has not stopped by then is killed
# CPU priority an answering process lowers itself by once its model is loaded (os.nice): the web
# process's work is short and a platform waits for it, a turn's is long and waits in a queue
# anyway, so on a core shared by both the scheduler gives the webhook the CPU first.
ANSWERING_NICENESS = 10


@dataclass
class Answerer:
    """An answering process started by ``bot serve --workers N``, and the web side of its
    wake-up socket."""

    process: subprocess.Popen
    wake: socket.socket

    def hang_up(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGHUP)


def start_answerers(count: int) -> list[Answerer]:
    """``count`` answering processes: this command again with ``--answer-only``, each with its end
    of a wake-up socket; they load the model while this process loads its own."""
    from bot.serving.worker import wake_pair

    answerers = []
    for _ in range(count):
        web, answering = wake_pair()
        command = [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())",
                   *sys.argv[1:], "--answer-only", "--wake-fd", str(answering.fileno())]
        process = subprocess.Popen(command, pass_fds=[answering.fileno()])
        answering.close()
        answerers.append(Answerer(process, web))
    return answerers


def stop_answerers(answerers: list[Answerer]) -> None:
    """SIGTERM, then SIGKILL after ``STOP_SECONDS``; each finishes or gives up its turns first."""
    for answerer in answerers:
        if answerer.process.poll() is None:
            answerer.process.terminate()
    for answerer in answerers:
        try:
            answerer.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            answerer.process.kill()
            answerer.process.wait()
        answerer.wake.close()


def answer_only(answering: Any, reloader: Any, wake_fd: int | None) -> int:
    """An answering process: the worker's loops without a web server, until SIGTERM or SIGINT, or
    until the ``bot serve`` that started it is gone; SIGHUP reloads."""
    from bot.serving.worker import listen_for_wakeups

    stopping = threading.Event()
    os.nice(ANSWERING_NICENESS)
    answering.start()
    loop = answering.loop
    if wake_fd is not None:
        sock = socket.socket(fileno=wake_fd)

        async def listen() -> None:
            listen_for_wakeups(sock, answering.worker, stopping.set)

        asyncio.run_coroutine_threadsafe(listen(), loop).result()

    def stop(*_: Any) -> None:
        answering.worker.drain()
        stopping.set()

    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, stop)
    signal.signal(signal.SIGHUP, lambda *_: loop.call_soon_threadsafe(reloader.spawn))
    print(f"answering process {os.getpid()} started", flush=True)
    while not stopping.wait(1.0):
        pass
    answering.stop()
    return 0


LEASE_VARIABLE = "BOT_LEASE_SECONDS"


def lease_seconds() -> float:
    """How long a worker's claim on a conversation outlives the worker (``BOT_LEASE_SECONDS``,
    default ``bot.serving.worker.LEASE_SECONDS``): after a crash, the delay before another
    ``bot serve`` takes its conversations over."""
    from bot.contract import ConfigError

    given = os.environ.get(LEASE_VARIABLE, "").strip()
    if not given:
        from bot.serving.worker import LEASE_SECONDS

        return LEASE_SECONDS
    try:
        lease = float(given)
    except ValueError:
        lease = 0.0
    if not 1.0 <= lease <= 3600.0:
        raise ConfigError(f"{LEASE_VARIABLE}: cần một số giây từ 1 đến 3600, ví dụ 30")
    return lease


def database(args: argparse.Namespace, project: Project) -> str:
    """The database's URL: ``--db`` (a SQLite file), else ``DATABASE_URL``, else var/bot.db."""
    from bot.serving.database import configured_url, database_url

    return database_url(args.db) if args.db else configured_url(project.database)


def existing_database(args: argparse.Namespace, project: Project) -> str | None:
    """The database a command reads, as ``database`` picks it; None, said why, if it is a SQLite
    file that does not exist yet."""
    from bot.serving.database import DATABASE_URL_VARIABLE

    db = args.db or project.database
    if args.db or not os.environ.get(DATABASE_URL_VARIABLE, "").strip():
        if not db.exists():
            print(f"{db}: no database yet (bot serve creates it)", file=sys.stderr)
            return None
    return database(args, project)


def run_outbox(args: argparse.Namespace, project: Project) -> int:
    from bot.contract.redact import mask_numbers
    from bot.serving.store import Store

    db = existing_database(args, project)
    if db is None:
        return 1
    store = Store(db)
    counts = store.outbound_counts()
    print("outbox: " + (", ".join(f"{state} {n}" for state, n in sorted(counts.items())) or "empty"))
    failures = store.failure_counts()
    if failures:
        print("failed for good, by kind: " + ", ".join(
            f"{channel} {kind} {n}" for (channel, kind), n in sorted(failures.items())))
    for failed in store.failed_outbound(args.failed):
        print(f"  failed #{failed.id} {failed.channel} to {mask_numbers(failed.recipient)} after "
              f"{failed.attempts} tries ({failed.kind}): {failed.reason}")
    return 0
