"""``bot chat``: the assistant in a terminal, or scripted one JSON line per message."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from bot.cli.model import current_model, model_options
from bot.cli.quiet import quiet
from bot.project import Project


def add_commands(commands: Any) -> None:
    chat = commands.add_parser("chat", help="talk to the assistant in the terminal")
    chat.add_argument("--channel", choices=("cli", "telegram", "zalo", "sms"), default="cli")
    chat.add_argument("--json", action="store_true",
                      help='read {"sender", "text"} lines from stdin, write one JSON line each')
    chat.add_argument("--sender", default="terminal")
    chat.add_argument("--db", type=Path, default=None, help="default: var/bot.db")
    model_options(chat)
    chat.add_argument("--retrain", action="store_true")
    chat.set_defaults(run=run_chat)


def run_chat(args: argparse.Namespace, project: Project) -> int:
    from bot.serving.conversation import Conversation
    from bot.serving.engine import Engine
    from bot.serving.store import Store

    quiet()
    model = current_model(args, project, retrain=args.retrain)
    if model is None:
        return 1
    db = args.db or project.database
    conversation = Conversation(Engine.load(model, db, project), Store.sqlite(db), args.channel)
    asyncio.run(_loop(conversation, args))
    return 0


async def _loop(conversation: Any, args: argparse.Namespace) -> None:
    if not args.json:
        print(f"Kênh: {args.channel}. Gõ câu hỏi (Ctrl-D để thoát).", flush=True)
    for line in sys.stdin:
        if args.json:
            try:
                request = json.loads(line)
                sender, text = str(request["sender"]), str(request.get("text") or "")
            except (ValueError, KeyError, TypeError, AttributeError):
                print(json.dumps({"error": "expected {\"sender\": ..., \"text\": ...}"}), flush=True)
                continue
            replies = await conversation.handle(sender, text)
            print(json.dumps({"sender": sender, "replies": [
                {"text": r.text, "buttons": [{"title": t, "payload": p} for t, p in r.buttons]}
                for r in replies]}, ensure_ascii=False), flush=True)
        else:
            for reply in await conversation.handle(args.sender, line):
                print(f"bot> {reply.text}")
                for index, (title, _) in enumerate(reply.buttons, start=1):
                    print(f"     [{index}] {title}")
            print(flush=True)
