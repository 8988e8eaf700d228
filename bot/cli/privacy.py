"""``bot forget``: deletes everything stored about one citizen (the right to erasure).

Our tables (inbound, outbound, pending pages, reminders, opt-outs, turn records, ratings,
handover cases and what was posted to staff about them) and the conversation tracker's events live
in the same database (``bot serve --db``, or ``DATABASE_URL``). The sender is given as stored: the
Telegram chat id, the Zalo user id, or the phone number as the SMS channel writes it
(``84912345678``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.cli.serve import existing_database
from bot.project import Project


def add_commands(commands: Any) -> None:
    forget = commands.add_parser("forget", help="delete everything stored about one sender")
    forget.add_argument("sender", help="chat id, Zalo user id or phone number (84912345678)")
    forget.add_argument("--channel", default=None, help="only this channel's rows (telegram, zalo, sms); "
                        "the tracker's events are kept per sender id and go in every case")
    forget.add_argument("--db", type=Path, default=None, help="default: var/bot.db")
    forget.set_defaults(run=run_forget)


def run_forget(args: argparse.Namespace, project: Project) -> int:
    from bot.contract.redact import mask_numbers
    from bot.serving.engine import TRACKER_EVENTS_TABLE, forget_conversation
    from bot.serving.handover import forget_cases
    from bot.serving.journal import Journal
    from bot.serving.ratings import Ratings
    from bot.serving.reminders import Reminders
    from bot.serving.store import Store

    db = existing_database(args, project)
    if db is None:
        return 1
    store = Store(db)
    deleted = store.forget(args.sender, args.channel)
    deleted.update(Reminders(store).forget(args.sender, args.channel))
    deleted.update(Journal(store).forget(args.sender, args.channel))
    deleted.update(Ratings(store).forget(args.sender, args.channel))
    deleted.update(forget_cases(store, args.sender, args.channel))
    deleted[TRACKER_EVENTS_TABLE] = forget_conversation(db, args.sender)
    who = mask_numbers(args.sender) + (f" ({args.channel})" if args.channel else "")
    if not any(deleted.values()):
        print(f"forget {who}: nothing stored")
        return 0
    print(f"forget {who}: " + ", ".join(f"{table} {count}" for table, count in deleted.items()))
    return 0
