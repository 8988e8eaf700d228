"""``bot report``: what citizens asked and could not get answered (for staff, in Vietnamese).

Reads the turn journal in the serving database (``--db``, default var/bot.db); first deletes what
is older than the retention period (``BOT_RETENTION_DAYS``, default 90), so a report never shows
expired text. ``--purge`` does only that.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

from bot.cli.serve import existing_database
from bot.project import Project


def add_commands(commands: Any) -> None:
    report = commands.add_parser(
        "report", help="câu hỏi chưa trả lời được, số lượt theo thủ tục, nội dung, kênh, ngày; đánh giá")
    report.add_argument("--since", default=None, metavar="YYYY-MM-DD",
                        help="chỉ tính từ ngày này (giờ UTC)")
    report.add_argument("--csv", type=Path, default=None, metavar="FILE",
                        help="ghi các nhóm câu hỏi chưa trả lời được ra tệp CSV (UTF-8)")
    report.add_argument("--html", type=Path, default=None, metavar="FILE",
                        help="ghi một trang HTML có biểu đồ, xem được không cần mạng")
    report.add_argument("--top", type=int, default=20, help="số nhóm câu hỏi được liệt kê")
    report.add_argument("--purge", action="store_true",
                        help="chỉ xoá dữ liệu quá thời hạn lưu (BOT_RETENTION_DAYS), không báo cáo")
    report.add_argument("--db", type=Path, default=None, help="default: var/bot.db")
    report.set_defaults(run=run_report)


def _names(project: Project) -> tuple[dict[str, str], dict[str, str]]:
    """Procedure names from the catalogue and aspect names from the phrases; ids if unreadable."""
    from bot.catalogue import CatalogueInvalid, load_catalogue
    from bot.dialogue.phrases import load_phrases

    try:
        procedures = {p.id: p.name for p in load_catalogue(project.procedures)}
    except (CatalogueInvalid, OSError):
        procedures = {}
    try:
        phrases = load_phrases(project.phrases)
    except OSError:
        phrases = {}
    aspects = {key.split(".", 1)[1]: value for key, value in phrases.items() if key.startswith("aspect.")}
    return procedures, aspects


def run_report(args: argparse.Namespace, project: Project, clock: Any = time.time) -> int:
    from bot.contract import ConfigError
    from bot.serving.report import build, to_csv, to_text
    from bot.serving.report_html import to_html
    from bot.serving.retention import purge, retention_days
    from bot.serving.store import Store

    since = None
    if args.since:
        try:
            since = dt.date.fromisoformat(args.since)
        except ValueError:
            print(f"--since {args.since}: cần một ngày dạng YYYY-MM-DD, ví dụ --since 2026-11-01",
                  file=sys.stderr)
            return 2
    try:
        days = retention_days()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    db = existing_database(args, project)
    if db is None:
        return 1
    engine = Store(db).engine
    now = clock()
    deleted = sum(purge(engine, now, days).values())
    if args.purge or deleted:
        print(f"Đã xoá {deleted} bản ghi cũ hơn {days:g} ngày (BOT_RETENTION_DAYS).")
    if args.purge:
        return 0
    procedures, aspects = _names(project)
    report = build(engine, since, max(args.top, 1), procedures, aspects)
    print(to_text(report), end="")
    if args.csv:
        args.csv.write_text(to_csv(report), encoding="utf-8-sig")
        print(f"Đã ghi {args.csv}")
    if args.html:
        generated = dt.datetime.fromtimestamp(now, dt.timezone.utc).replace(tzinfo=None)
        args.html.write_text(to_html(report, generated), encoding="utf-8")
        print(f"Đã ghi {args.html}")
    return 0
