"""``bot serve`` and ``bot outbox``: the channels' webhooks, and what is waiting to be sent."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from bot.cli.model import current_model, model_options, model_path
from bot.cli.quiet import quiet
from bot.project import Project


def add_commands(commands: Any) -> None:
    serve = commands.add_parser(
        "serve", help="run the webhooks of the configured channels; SIGHUP reloads after bot train")
    serve.add_argument("--credentials", type=Path, default=None, help="default: credentials.yml")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5005)
    serve.add_argument("--db", type=Path, default=None,
                       help="a SQLite file; default: $DATABASE_URL, else var/bot.db")
    model_options(serve)
    serve.set_defaults(run=run_serve)

    outbox = commands.add_parser("outbox", help="what the outbox holds; replies that failed for good")
    outbox.add_argument("--db", type=Path, default=None,
                        help="a SQLite file; default: $DATABASE_URL, else var/bot.db")
    outbox.add_argument("--failed", type=int, default=20, help="how many failed replies to list")
    outbox.set_defaults(run=run_outbox)


def run_serve(args: argparse.Namespace, project: Project) -> int:
    from sqlalchemy.exc import OperationalError

    from bot.contract import ConfigError, redact
    from bot.serving.retention import retention_days

    try:
        retention_days()  # BOT_RETENTION_DAYS: a wrong value stops here, not in the worker
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    from bot.serving.channels import load_connectors
    from bot.serving.database import checked_url, redis_parts, redis_url, shown
    from bot.serving.engine import Engine
    from bot.serving.handover import settings_from_env
    from bot.serving.reload import ADMIN_TOKEN_VARIABLE, Reloader, mount_reload, swapper
    from bot.serving.server import build_app
    from bot.serving.store import Store

    quiet()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for ours in ("bot", "connectors"):  # Rasa set up the root logger first: basicConfig did nothing
        logging.getLogger(ours).setLevel(logging.INFO)
    credentials = args.credentials or project.credentials
    try:
        connectors = load_connectors(credentials)
        lease = lease_seconds()
        db, redis = checked_url(database(args, project)), redis_url()
        if redis:
            redis_parts(redis)
        store = Store(db)  # before the model: a database that cannot be reached fails at once
        handover = settings_from_env(os.environ)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except OperationalError as exc:  # the server is down, refuses us, or the file cannot be opened
        print(f"{shown(db)}: không kết nối được cơ sở dữ liệu ({type(exc.orig).__name__}); "
              f"kiểm tra DATABASE_URL và máy chủ", file=sys.stderr)
        return 2
    admin_token = os.environ.get(ADMIN_TOKEN_VARIABLE) or None
    redact.install([*(secret for c in connectors.values() for secret in c.secrets()),
                    *([admin_token] if admin_token else [])])
    if not connectors:
        print(f"{credentials}: no channel is configured; see README.md, 'Connecting the channels'.",
              file=sys.stderr)
    model = current_model(args, project)
    if model is None:
        return 1
    engine = Engine.load(model, db, project, redis=redis)
    app = build_app(engine, store, connectors, worker_options={"lease_seconds": lease}, handover=handover)
    # SIGHUP, or POST /admin/reload when BOT_ADMIN_TOKEN is set: the model bot train rebuilt
    # and the catalogue as it is now, once the checks in tests/conversations/ pass.
    mount_reload(app, Reloader(project, model_path(args, project), db, swapper(app), redis=redis),
                 admin_token)
    print(f"Serving {', '.join(sorted(connectors)) or 'no channel'} on http://{args.host}:{args.port}"
          f" (database {shown(db)}, locks {'in Redis' if redis else 'in this process'})", flush=True)
    app.run(host=args.host, port=args.port, workers=1, access_log=False, motd=False)
    return 0


LEASE_VARIABLE = "BOT_LEASE_SECONDS"


def lease_seconds() -> float:
    """How long a worker's claim on a conversation outlives the worker (``BOT_LEASE_SECONDS``,
    default ``bot.serving.worker.LEASE_SECONDS``): after a crash, the delay before another
    ``bot serve`` takes its conversations over."""
    from bot.contract import ConfigError
    from bot.serving.worker import LEASE_SECONDS

    given = os.environ.get(LEASE_VARIABLE, "").strip()
    if not given:
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
