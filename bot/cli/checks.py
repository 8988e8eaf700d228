"""``bot test-conversations``: the conversation checks staff write, run against the trained model.

The model is the current one, retrained first when the catalogue changed (as ``bot chat`` does).
The conversations go to a throwaway database, never to ``var/bot.db``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

from bot.cli.model import current_model, model_options
from bot.cli.quiet import library_output, quiet
from bot.project import Project


def add_commands(commands: Any) -> None:
    test = commands.add_parser("test-conversations",
                               help="run conversation checks (default: tests/conversations/*.yml)")
    test.add_argument("files", nargs="*", type=Path, metavar="FILE")
    model_options(test)
    test.set_defaults(run=run_test_conversations)


def conversations_folder(project: Project) -> Path:
    return project.root / "tests" / "conversations"


def run_test_conversations(args: argparse.Namespace, project: Project) -> int:
    from bot.serving.checks import CasesInvalid, case_files, load_cases, run_cases, summary
    from bot.serving.engine import Engine
    from bot.serving.store import Store

    files = args.files or case_files(conversations_folder(project))
    if not files:
        print(f"Không có tệp kiểm tra nào trong {conversations_folder(project)}.", file=sys.stderr)
        return 2
    try:
        cases = load_cases(files)
    except CasesInvalid as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"Có {len(exc.errors)} lỗi trong tệp kiểm tra. Sửa rồi chạy lại.", file=sys.stderr)
        return 2
    quiet()
    model = current_model(args, project)
    if model is None:
        return 1
    print(f"Chạy {len(cases)} trường hợp với mô hình {model}...", flush=True)
    with tempfile.TemporaryDirectory(prefix="bot-checks-") as folder:
        with library_output():
            engine = Engine.load(model, Path(folder) / "tracker.db", project)
        outcomes = asyncio.run(run_cases(engine, Store.sqlite(Path(folder) / "pages.db"), cases))
    for outcome in outcomes:
        if not outcome.passed:
            print(outcome.line())
    print(summary(outcomes))
    return 0 if all(o.passed for o in outcomes) else 1
