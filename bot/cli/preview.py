"""``bot preview``: what a citizen reads for each answer of a procedure, and what an edit changed.

No model is needed: the answers come from the catalogue and the phrase book. ``--changed``
loads the procedure files of the last git commit (``git show HEAD:procedures/...`` into a
temporary folder) next to the working tree's and prints a diff of each answer that now reads
differently.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bot.cli.catalogue import procedures_option, validated
from bot.project import Project

CHANNEL_CHOICES = ("sms", "zalo", "telegram", "cli")


def add_commands(commands: Any) -> None:
    preview = commands.add_parser(
        "preview", help="every answer of a procedure as a channel shows it; --changed: what an edit changed")
    preview.add_argument("procedure", nargs="?", help="the procedure id, e.g. khai_sinh")
    preview.add_argument("--channel", action="append", choices=CHANNEL_CHOICES,
                         help="repeat for several (default: all four)")
    preview.add_argument("--aspect", help="only this answer: an aspect (fee, documents, ...) or a FAQ id")
    preview.add_argument("--changed", action="store_true",
                         help="only the answers that differ from the last git commit")
    procedures_option(preview)
    preview.set_defaults(run=run_preview)


def run_preview(args: argparse.Namespace, project: Project) -> int:
    from bot.dialogue.answers import Answers
    from bot.dialogue.phrases import load_phrases
    from bot.dialogue.preview import keys, preview

    channels = tuple(args.channel or CHANNEL_CHOICES)
    if args.changed:
        return run_changed(project, channels)
    if not args.procedure:
        print("Hãy ghi mã thủ tục, ví dụ: bot preview khai_sinh (hoặc bot preview --changed).",
              file=sys.stderr)
        return 2
    catalogue = validated(project)
    if catalogue is None:
        return 1
    answers = Answers(catalogue, load_phrases(project.phrases))
    proc = catalogue.get(args.procedure)
    if proc is None:
        print(f"Không có thủ tục '{args.procedure}'. Các thủ tục hiện có: "
              f"{', '.join(p.id for p in catalogue)}.", file=sys.stderr)
        return 2
    shown = preview(answers, proc, channels, args.aspect)
    if not shown:
        print(f"Thủ tục {proc.id} không có câu trả lời '{args.aspect}'. Có thể chọn: "
              f"{', '.join(k.removeprefix('faq:') for k in keys(answers, proc))}.", file=sys.stderr)
        return 2
    for item in shown:
        print(item.heading())
        print(item.text)
        print()
    unverified = sorted({item.label for item in shown if not item.verified})
    if unverified:
        print(f"{len(unverified)} câu trả lời có thông tin chưa xác minh (đánh dấu {'[CHƯA XÁC MINH]'}).")
    return 0


class NotInGit(Exception):
    """The procedures folder is not in a git checkout with a commit (message in Vietnamese)."""


def _git(cwd: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NotInGit(f"Không chạy được lệnh git: {exc}") from exc
    if done.returncode != 0:
        raise NotInGit(done.stderr.decode("utf-8", "replace").strip())
    return done.stdout


def committed_procedures(procedures: Path, into: Path) -> int:
    """Writes the procedure files of the last commit (HEAD) into ``into``; returns how many."""
    folder = procedures if procedures.is_dir() else procedures.parent
    try:
        top = Path(_git(folder, "rev-parse", "--show-toplevel").decode().strip()).resolve()
    except NotInGit as exc:
        raise NotInGit(f"Thư mục {procedures} không nằm trong một kho git, nên không biết bản đã lưu "
                       f"lần trước để so sánh ({exc}).") from exc
    relative = procedures.resolve().relative_to(top).as_posix()
    try:
        names = _git(top, "ls-tree", "--name-only", "HEAD", f"{relative}/").decode().split("\n")
    except NotInGit as exc:
        raise NotInGit("Kho git chưa có lần lưu (commit) nào để so sánh. Hãy lưu một lần trước: "
                       f"git commit ({exc}).") from exc
    count = 0
    for name in names:
        if name.endswith(".yaml"):
            (into / Path(name).name).write_bytes(_git(top, "show", f"HEAD:{name}"))
            count += 1
    return count


def run_changed(project: Project, channels: tuple[str, ...]) -> int:
    from bot.catalogue import CatalogueInvalid, load_catalogue
    from bot.dialogue.answers import Answers
    from bot.dialogue.phrases import load_phrases
    from bot.dialogue.preview import changes

    phrases = load_phrases(project.phrases)
    with tempfile.TemporaryDirectory(prefix="bot-preview-") as folder:
        try:
            committed_procedures(project.procedures, Path(folder))
        except NotInGit as exc:
            print(exc, file=sys.stderr)
            return 2
        try:
            before = load_catalogue(Path(folder))
        except CatalogueInvalid as exc:
            print(f"Bản đã lưu lần trước (HEAD) có {len(exc.errors)} lỗi nên không so sánh được; "
                  f"lỗi đầu tiên: {exc.errors[0]}", file=sys.stderr)
            return 1
    catalogue = validated(project)
    if catalogue is None:
        return 1
    diffs = changes(Answers(before, phrases), Answers(catalogue, phrases), channels)
    for diff in diffs:
        print(diff)
        print()
    print(f"{len(diffs)} câu trả lời thay đổi." if diffs else "Không có thay đổi")
    return 0
