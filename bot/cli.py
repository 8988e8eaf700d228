"""The ``bot`` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot import __version__
from bot.catalogue import CatalogueInvalid, load_catalogue


def _validate(args: argparse.Namespace) -> int:
    try:
        catalogue = load_catalogue(args.procedures)
    except CatalogueInvalid as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"Có {len(exc.errors)} lỗi. Sửa các lỗi trên rồi chạy lại: bot validate",
              file=sys.stderr)
        return 1
    print(f"Hợp lệ: {len(catalogue)} thủ tục ({', '.join(p.id for p in catalogue)}).")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bot", description=__doc__)
    parser.add_argument("--version", action="version", version=f"bot {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check procedures/*.yaml against the schema")
    validate.add_argument("--procedures", type=Path, default=Path("procedures"))
    validate.set_defaults(run=_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
