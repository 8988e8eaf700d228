"""``bot import``: a draft procedure file from one National Public Service Portal record."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from bot.catalogue.loading import check_file
from bot.catalogue.portal import RecordInvalid, draft, with_id, write_new
from bot.catalogue.schema import ID_PATTERN
from bot.project import Project

MALFORMED = 2


def add_commands(commands: Any) -> None:
    command = commands.add_parser("import", help="draft procedures/<id>.yaml from a portal record (JSON)")
    command.add_argument("record", type=Path, help="the record, as the portal serves it")
    command.add_argument("--out", type=Path, default=None,
                         help="where to write (default: procedures/<id>.yaml, id from the name)")
    command.add_argument("--force", action="store_true", help="replace the file if it exists")
    command.set_defaults(run=run_import)


def run_import(args: argparse.Namespace, project: Project) -> int:
    """0 when written; 1 when the file exists (no --force); 2 when the record is unreadable."""
    try:
        record = json.loads(args.record.read_text(encoding="utf-8"))
        ident, text = draft(record)
    except OSError as exc:
        print(f"Không đọc được tệp {args.record}: {exc.strerror or exc}", file=sys.stderr)
        return MALFORMED
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"{args.record}: không phải JSON hợp lệ ({exc}).", file=sys.stderr)
        return MALFORMED
    except RecordInvalid as exc:
        print(f"{args.record}: không phải hồ sơ thủ tục của Cổng Dịch vụ công: {exc}.", file=sys.stderr)
        return MALFORMED
    out = args.out or project.procedures / f"{ident}.yaml"
    if args.out is not None and out.stem != ident:
        if not re.match(ID_PATTERN, out.stem):
            print(f"Tên tệp '{out.name}' không dùng làm id được: chỉ chữ thường không dấu, số, gạch dưới.",
                  file=sys.stderr)
            return 1
        text = with_id(text, ident, out.stem)
    try:
        write_new(out, text, force=args.force)
    except FileExistsError:
        print(f"{out} đã có. Không ghi đè; dùng --out để ghi tệp khác hoặc --force để thay.",
              file=sys.stderr)
        return 1
    report = check_file(out)
    print(f"Đã viết bản nháp {out} ({len(report.warnings)} điểm cần viết lại, "
          f"{len(report.errors)} lỗi). Chạy: bot validate")
    for problem in report.errors:
        print(problem, file=sys.stderr)
    return 0
