"""``bot validate``: the catalogue checked as staff need it, in Vietnamese."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.catalogue import Catalogue, CatalogueInvalid, check_catalogue
from bot.project import Project


def procedures_option(command: argparse.ArgumentParser) -> None:
    command.add_argument("--procedures", type=Path, default=None,
                         help="the folder of procedure files (default: procedures/ under the root)")


def add_commands(commands: Any) -> None:
    validate = commands.add_parser("validate", help="check procedures/*.yaml against the schema")
    procedures_option(validate)
    validate.set_defaults(run=run_validate)


def validated(project: Project) -> Catalogue | None:
    """The published catalogue (drafts are left out: they never answer), or None after printing
    every error with its file, line, field and fix. Warnings (drafts' problems) are printed too."""
    try:
        catalogue, warnings = check_catalogue(project.procedures)
    except CatalogueInvalid as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"Có {len(exc.errors)} lỗi. Sửa các lỗi trên rồi chạy lại: bot validate",
              file=sys.stderr)
        return None
    for warning in warnings:
        print(f"Cảnh báo: {warning}", file=sys.stderr)
    published = tuple(p for p in catalogue if not p.draft)
    drafts = [p.id for p in catalogue if p.draft]
    print(f"Hợp lệ: {len(published)} thủ tục ({', '.join(p.id for p in published)}).")
    if drafts:
        print(f"Bản nháp, chưa dùng để trả lời: {len(drafts)} ({', '.join(drafts)}).")
    return Catalogue(published, catalogue.not_covered)


def run_validate(_args: argparse.Namespace, project: Project) -> int:
    """Exit 1 on any error; drafts are accepted (exit 0) with their warnings printed."""
    return 0 if validated(project) is not None else 1
