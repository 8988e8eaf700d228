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
    serve.add_argument("--db", type=Path, default=None, help="default: var/bot.db")
    model_options(serve)
    serve.set_defaults(run=run_serve)

    outbox = commands.add_parser("outbox", help="what the outbox holds; replies that failed for good")
    outbox.add_argument("--db", type=Path, default=None, help="default: var/bot.db")
    outbox.add_argument("--failed", type=int, default=20, help="how many failed replies to list")
    outbox.set_defaults(run=run_outbox)


def run_serve(args: argparse.Namespace, project: Project) -> int:
    from bot.contract import ConfigError, redact
    from bot.serving.channels import load_connectors
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
        handover = settings_from_env(os.environ)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
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
    db = args.db or project.database
    app = build_app(Engine.load(model, db, project), Store.sqlite(db), connectors, handover=handover)
    # SIGHUP, or POST /admin/reload when BOT_ADMIN_TOKEN is set: the model bot train rebuilt
    # and the catalogue as it is now, once the checks in tests/conversations/ pass.
    mount_reload(app, Reloader(project, model_path(args, project), db, swapper(app)), admin_token)
    print(f"Serving {', '.join(sorted(connectors)) or 'no channel'} on http://{args.host}:{args.port}",
          flush=True)
    app.run(host=args.host, port=args.port, workers=1, access_log=False, motd=False)
    return 0


def existing_database(args: argparse.Namespace, project: Project) -> Path | None:
    """The database a command reads (``--db``, else var/bot.db); None, said why, if none yet."""
    db = args.db or project.database
    if not db.exists():
        print(f"{db}: no database yet (bot serve creates it)", file=sys.stderr)
        return None
    return db


def run_outbox(args: argparse.Namespace, project: Project) -> int:
    from bot.contract.redact import mask_numbers
    from bot.serving.store import Store

    db = existing_database(args, project)
    if db is None:
        return 1
    store = Store.sqlite(db)
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
