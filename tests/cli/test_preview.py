"""``bot preview``: every answer as each channel shows it; ``--changed`` against the last commit."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bot.catalogue import load_catalogue
from bot.cli import main
from bot.contract import is_gsm7
from bot.dialogue.preview import UNVERIFIED_MARK
from tests.paths import REPO

FEE_BEFORE = "Gia đình người có công, hộ nghèo, người khuyết tật cũng được miễn."
FEE_AFTER = FEE_BEFORE + " Quá hạn nộp 8.000 đồng."


def blocks(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("== ")]


@pytest.mark.parametrize("channel, expect, forbid", [
    ("sms", ["tin SMS", "Khai tu - Le phi:"], ["Khai tử"]),
    ("zalo", ["Khai tử – Lệ phí:"], ["tin SMS"]),
    ("telegram", ["Khai tử – Lệ phí:"], ["tin SMS"]),
    ("cli", ["Khai tử – Lệ phí:"], ["tin SMS"]),
])
def test_every_answer_on_one_channel(capsys, channel, expect, forbid):
    assert main(["--root", str(REPO), "preview", "khai_tu", "--channel", channel]) == 0
    out = capsys.readouterr().out
    headings = blocks(out)
    assert len(headings) == 7 + len(load_catalogue(REPO / "procedures").get("khai_tu").faq)
    assert all(f"· {channel}" in h for h in headings)
    for phrase in expect:
        assert phrase in out
    for phrase in forbid:
        assert phrase not in out
    # khai_tu's processing time is not verified: staff must see it on the heading
    assert any("(processing_time)" in h and UNVERIFIED_MARK in h for h in headings)
    if channel == "sms":
        body = out.split("\n", 1)[1]
        texts = [line for line in body.splitlines() if line and not line.startswith("== ")
                 and "câu trả lời có thông tin" not in line and "trang sau" not in line]
        assert all(is_gsm7(t) for t in texts)


def test_one_aspect_on_every_channel(capsys):
    assert main(["--root", str(REPO), "preview", "khai_sinh", "--aspect", "fee"]) == 0
    headings = blocks(capsys.readouterr().out)
    assert [h.split(" · ")[2].split(" ")[0] for h in headings] == ["sms", "zalo", "telegram", "cli"]


@pytest.mark.parametrize("argv, message, known", [
    (["preview", "khai_sinhh"], "Không có thủ tục 'khai_sinhh'. Các thủ tục hiện có: ", "khai_tu"),
    (["preview", "khai_sinh", "--aspect", "gia"], "không có câu trả lời 'gia'", "processing_time"),
])
def test_unknown_procedure_or_aspect_lists_the_known_ones(capsys, argv, message, known):
    assert main(["--root", str(REPO), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and known in err


def copy_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(REPO / "procedures", root / "procedures")
    (root / "flows").mkdir()
    shutil.copy(REPO / "flows" / "phrases.yml", root / "flows" / "phrases.yml")
    return root


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid", *args],
                   cwd=root, check=True, capture_output=True)


def test_changed_shows_exactly_the_edited_fee(tmp_path, capsys):
    root = copy_project(tmp_path)
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "catalogue")
    assert main(["--root", str(root), "preview", "--changed"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "Không có thay đổi"

    path = root / "procedures" / "khai_tu.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(FEE_BEFORE) == 1
    path.write_text(text.replace(FEE_BEFORE, FEE_AFTER), encoding="utf-8")
    assert main(["--root", str(root), "preview", "--changed", "--channel", "sms", "--channel", "zalo"]) == 0
    out = capsys.readouterr().out
    olds = [line for line in out.splitlines() if line.startswith("--- ")]
    assert olds == ["--- đã lưu (HEAD): khai_tu fee (sms)", "--- đã lưu (HEAD): khai_tu fee (zalo)"]
    assert "+Mien phi neu dang ky trong 15 ngay" in out and "Qua han nop 8.000 dong." in out
    assert "+Miễn phí nếu đăng ký trong 15 ngày" in out
    removed = [line for line in out.splitlines() if line.startswith("-") and not line.startswith("---")]
    assert removed and all("15 ngay" in line or "15 ngày" in line for line in removed)
    assert out.splitlines()[-1] == "2 câu trả lời thay đổi."


def test_changed_outside_git_says_so(tmp_path, capsys):
    root = copy_project(tmp_path)
    assert main(["--root", str(root), "preview", "--changed"]) == 2
    assert "không nằm trong một kho git" in capsys.readouterr().err
