"""``bot validate``: the catalogue checked as staff need it, in Vietnamese."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.catalogue import Catalogue, CatalogueInvalid, load_catalogue
from bot.project import Project


def procedures_option(command: argparse.ArgumentParser) -> None:
    command.add_argument("--procedures", type=Path, default=None,
                         help="the folder of procedure files (default: procedures/ under the root)")


def add_commands(commands: Any) -> None:
    validate = commands.add_parser("validate", help="check procedures/*.yaml against the schema")
    procedures_option(validate)
    validate.set_defaults(run=run_validate)


def validated(project: Project) -> Catalogue | None:
    """The catalogue, or None after printing every error with its file, line, field and fix."""
    try:
        catalogue = load_catalogue(project.procedures)
    except CatalogueInvalid as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"Có {len(exc.errors)} lỗi. Sửa các lỗi trên rồi chạy lại: bot validate",
              file=sys.stderr)
        return None
    print(f"Hợp lệ: {len(catalogue)} thủ tục ({', '.join(p.id for p in catalogue)}).")
    return catalogue


def run_validate(_args: argparse.Namespace, project: Project) -> int:
    return 0 if validated(project) is not None else 1
