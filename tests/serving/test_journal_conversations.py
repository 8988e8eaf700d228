"""Real conversations through the trained engine: each turn is recorded with the outcome the
citizen saw, and ``bot report`` on that database shows them with numbers masked."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.cli import main
from bot.text import search_key

PHONE, CCCD, BHXH = "0912345678", "079203001234", "7912345678"
WHICH = "Bạn cần làm thủ tục thuộc nhóm nào?"  # the "which procedure?" question, groups first
HELP = "Tôi chưa hiểu ý bạn."
OUT_OF_SCOPE = "Xin lỗi, việc này tôi chưa hỗ trợ được."
NOT_COVERED = "tôi chưa hướng dẫn được"

# (channel, sender, what the citizen typed, what the reply says, outcome, procedure, aspect);
# UNANSWERED: whatever the model makes of it, the citizen got no answer and the record says so.
UNANSWERED = "not answered"
TURNS = [
    ("telegram", "j-tg-1", "dang ky khai sinh can giay to gi", "Giấy tờ", "answered", "khai_sinh",
     "documents"),
    ("telegram", "j-tg-1", "le phi bao nhieu", "Lệ phí", "answered", "khai_sinh", "fee"),
    ("sms", "84900000111", "le phi bao nhieu", WHICH, "clarification", None, "fee"),
    ("zalo", "j-zl-1", "lam ho chieu can giay to gi", NOT_COVERED, "not_covered", None, None),
    ("zalo", "j-zl-2", "😀😀", HELP, "fallback", None, None),
    ("telegram", "j-tg-2", f"sdt cua toi {PHONE}, cccd {CCCD}, ma bhxh {BHXH}", None, UNANSWERED, None,
     None),
    ("telegram", "j-tg-3", "<script>alert(1)</script>", None, UNANSWERED, None, None),
]


@pytest.fixture(scope="module")
def recorded(engine):
    replies = []
    for channel, sender, text, *_ in TURNS:
        replies.append(" ".join(r.text for r in asyncio.run(engine.handle(sender, text, channel))))
    with sqlite3.connect(engine.journal.engine.url.database) as connection:
        rows = connection.execute(
            "SELECT channel, sender, outcome, procedure, aspect, text, intent, confidence FROM turns "
            f"WHERE sender IN ({', '.join('?' * len(TURNS))}) ORDER BY id",
            [t[1] for t in TURNS]).fetchall()
    return replies, rows


def test_every_turn_is_recorded_with_what_the_citizen_saw(recorded):
    replies, rows = recorded
    assert len(rows) == len(TURNS)
    for (channel, sender, _, says, outcome, procedure, aspect), reply, row in zip(TURNS, replies, rows,
                                                                                   strict=True):
        assert row[:2] == (channel, sender)
        assert row[6] and row[7] is not None  # intent and confidence
        if outcome == UNANSWERED:
            assert row[2] != "answered", (sender, reply)
            continue
        assert says in reply, (sender, reply)
        assert row[2:5] == (outcome, procedure, aspect), (sender, reply)


def test_recorded_text_is_masked(recorded):
    _, rows = recorded
    numbers = next(r[5] for r in rows if r[1] == "j-tg-2")
    assert numbers == "sdt cua toi *******678, cccd *********234, ma bhxh *******678"
    assert next(r[5] for r in rows if r[1] == "j-zl-2") == "😀😀"  # as typed, not "/nlu_fallback"


def test_report_on_the_conversations_database(recorded, engine, tmp_path, capsys):
    db = engine.journal.engine.url.database
    page = tmp_path / "r.html"
    # the session's engine also records the other tests' turns: list every group, not the top 20
    assert main(["report", "--db", db, "--top", "1000", "--html", str(page),
                 "--csv", str(tmp_path / "r.csv")]) == 0
    out = capsys.readouterr().out
    assert "le phi bao nhieu" in out and "hỏi lại thủ tục nào" in out
    # grouped with near-identical questions other tests asked: its group shows a passport question
    assert "ho chieu" in search_key(out) and "thủ tục chưa hỗ trợ" in out
    html = page.read_text(encoding="utf-8")
    csv_text = (tmp_path / "r.csv").read_text(encoding="utf-8-sig")
    for text in (out, html, csv_text):
        for number in (PHONE, CCCD, BHXH):
            assert number not in text
    assert "<script>alert" not in html and "Đăng ký khai sinh" in html


def test_forget_deletes_the_turn_records(recorded, engine, capsys):
    db = engine.journal.engine.url.database
    assert main(["forget", "j-tg-1", "--db", db]) == 0
    assert "turns 2" in capsys.readouterr().out
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM turns WHERE sender = 'j-tg-1'").fetchone() == (0,)
