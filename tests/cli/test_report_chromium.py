"""``bot report --html`` rendered by Debian's Chromium, headless: the figures are in the page as a
browser builds it, and a screenshot is taken (scripts/chromium-packages.sh installs Chromium)."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_report import NUMBERS, TURNS, add_ratings, fill, report

pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")
PHONE_WIDTH = 412  # CSS pixels of a common Android phone
TIMEOUT_SECONDS = 120


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI") or os.environ.get("BOT_REQUIRE_CHROMIUM"):  # scripts/test.sh sets it
            pytest.fail("chromium is missing although scripts/test.sh installed it "
                        "(scripts/chromium-packages.sh)")
        pytest.skip("chromium is not installed and cannot be here: run scripts/chromium-packages.sh")
    return found


def run_chromium(page: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           *extra, page.as_uri()], capture_output=True, text=True,
                          timeout=TIMEOUT_SECONDS, cwd=tmp_path, check=True)


@pytest.fixture
def page(tmp_path) -> Path:
    db = tmp_path / "bot.db"
    fill(db, TURNS)
    add_ratings(db, [
        ("2027-01-14 09:00:00.000000", "sms", "84911222333", "khai_sinh", "fee", 1, "Lệ phí: miễn"),
        ("2027-01-14 10:00:00.000000", "zalo", "zu1", "ket_hon", "where", 2, "Nộp ở UBND xã")])
    path = tmp_path / "report.html"
    assert report(["--db", str(db), "--html", str(path)]) == 0
    return path


def test_the_rendered_page_shows_the_figures(page, tmp_path):
    dom = run_chromium(page, tmp_path, "--dump-dom").stdout
    assert re.search(r'<b id="total">13</b>', dom) and re.search(r'<b id="unanswered">10</b>', dom)
    assert dom.count('class="bar ok"') >= 5 and dom.count('class="bar bad"') >= 5
    for label in ("Đăng ký khai sinh", "Đăng ký kết hôn", "Lệ phí", "Telegram", "không hiểu câu hỏi",
                  "dk ks can j", "Nộp ở UBND xã", "13/01", "14/01", "15/01"):
        assert label in dom, label
    assert "<script" not in dom.lower()  # the citizen's <script> stayed text
    assert "&lt;script&gt;" in dom
    for number in NUMBERS:
        assert number not in dom


def test_a_screenshot_at_phone_width(page, tmp_path):
    shot = tmp_path / "report.png"
    run_chromium(page, tmp_path, f"--screenshot={shot}", f"--window-size={PHONE_WIDTH},2400")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (PHONE_WIDTH, 2400)
    assert len(data) > 20_000  # a blank page compresses to a few kilobytes
    keep = os.environ.get("BOT_REPORT_SCREENSHOT")  # where to copy it, to look at it
    if keep:
        shutil.copy(shot, keep)
