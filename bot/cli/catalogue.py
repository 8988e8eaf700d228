"""``bot validate``: the catalogue checked as staff need it, in Vietnamese."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.catalogue import Catalogue, CatalogueError, CatalogueInvalid, check_catalogue
from bot.catalogue.advice import MAX_AGE_DAYS
from bot.project import Project


def procedures_option(command: argparse.ArgumentParser) -> None:
    command.add_argument("--procedures", type=Path, default=None,
                         help="the folder of procedure files (default: procedures/ under the root)")


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        days = -1
    if days < 1:
        raise argparse.ArgumentTypeError(f"'{value}' không phải số ngày (viết số nguyên dương, ví dụ 180)")
    return days


def add_commands(commands: Any) -> None:
    validate = commands.add_parser("validate", help="check procedures/*.yaml against the schema")
    procedures_option(validate)
    validate.add_argument("--strict", action="store_true",
                          help="every warning is an error (exit 1); CI runs this")
    validate.add_argument("--max-age", type=_days, default=MAX_AGE_DAYS, metavar="DAYS",
                          help=f"warn about facts checked more than DAYS days ago (default {MAX_AGE_DAYS})")
    validate.set_defaults(run=run_validate)


def _report_errors(errors: list[CatalogueError], again: str = "bot validate") -> None:
    for error in errors:
        print(error, file=sys.stderr)
    print(f"Có {len(errors)} lỗi. Sửa các lỗi trên rồi chạy lại: {again}", file=sys.stderr)


def validated(project: Project, max_age: int = MAX_AGE_DAYS, strict: bool = False,
              answers: bool = False) -> Catalogue | None:
    """The published catalogue (drafts are left out: they never answer), or None after printing
    every error with its file, line, field and fix. Warnings are printed too; with ``strict``
    they are errors. ``answers`` adds the answer-level check (an answer over 3 SMS)."""
    try:
        catalogue, warnings = check_catalogue(project.procedures, max_age)
    except CatalogueInvalid as exc:
        _report_errors(exc.errors)
        return None
    if answers and not project.phrases.exists():
        print(f"Không kiểm tra độ dài tin SMS: không có {project.phrases} (các câu cố định của bot).",
              file=sys.stderr)
    elif answers:
        from bot.dialogue.fit import sms_overflows
        from bot.dialogue.phrases import load_phrases

        warnings = warnings + sms_overflows(catalogue, load_phrases(project.phrases))
    if strict and warnings:
        _report_errors(warnings, "bot validate --strict")
        print("(--strict: mọi cảnh báo đều tính là lỗi)", file=sys.stderr)
        return None
    for warning in warnings:
        print(f"Cảnh báo: {warning}", file=sys.stderr)
    published = tuple(p for p in catalogue if not p.draft)
    drafts = [p.id for p in catalogue if p.draft]
    print(f"Hợp lệ: {len(published)} thủ tục ({', '.join(p.id for p in published)}).")
    if drafts:
        print(f"Bản nháp, chưa dùng để trả lời: {len(drafts)} ({', '.join(drafts)}).")
    if warnings:
        print(f"{len(warnings)} cảnh báo (xem ở trên); bot validate --strict coi chúng là lỗi.",
              file=sys.stderr)
    return Catalogue(published, catalogue.not_covered)


def run_validate(args: argparse.Namespace, project: Project) -> int:
    """Exit 1 on any error (with ``--strict``, on any warning too); drafts are accepted (exit 0)
    with their warnings printed."""
    catalogue = validated(project, args.max_age, args.strict, answers=True)
    return 0 if catalogue is not None else 1
