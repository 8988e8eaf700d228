"""The ``bot`` command: one module per command group, each a thin layer over the packages below.

- ``catalogue``: ``bot validate``
- ``portal``: ``bot import`` (a draft procedure file from a portal record)
- ``model``: ``bot train``, ``bot evaluate``
- ``chat``: ``bot chat``
- ``serve``: ``bot serve``, ``bot outbox``
- ``privacy``: ``bot forget``
- ``report``: ``bot report`` (what citizens could not get answered)
- ``preview``: ``bot preview``
- ``checks``: ``bot test-conversations``

The project root is resolved once here (``--root``, else ``BOT_ROOT``, else the current directory)
and every default path is taken under it. May import every ``bot`` package; nothing imports it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot import __version__
from bot.cli import catalogue, chat, checks, model, portal, preview, privacy, report, serve
from bot.project import Project

GROUPS = (catalogue, portal, preview, model, checks, chat, serve, privacy, report)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bot", description="Hướng dẫn thủ tục hành chính.")
    parser.add_argument("--version", action="version", version=f"bot {__version__}")
    parser.add_argument("--root", type=Path, default=None,
                        help="the project folder (default: $BOT_ROOT, else the current folder)")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    project = Project.locate(args.root, getattr(args, "procedures", None))
    return args.run(args, project)
