"""``bot report``: unanswered questions grouped, counts, CSV and HTML; numbers never shown whole."""

from __future__ import annotations

import csv
import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.cli.report import run_report
from bot.serving.journal import Journal, Turn
from bot.serving.report import build, group_questions, question_key
from bot.serving.store import Store
from tests.paths import PROJECT

NOW = 1_800_000_000.0  # 2027-01-15 08:00 UTC
DAY = 86400.0
PHONE, CCCD, BHXH = "0912345678", "001099012345", "7912345678"
SCRIPT = "<script>alert('x')</script> khai sinh"


def report(argv: list[str], now: float = NOW) -> int:
    args = build_parser().parse_args(["report", *argv])
    return run_report(args, PROJECT, clock=lambda: now)


def fill(db: Path, turns: list[tuple[float, str, str, str, Turn]]) -> None:
    journal = Journal(Store.sqlite(db))
    for at, channel, sender, text, turn in turns:
        journal.record(at, channel, sender, text, turn)


FALLBACK = Turn("fallback", "nlu_fallback", 0.4)
TURNS = [
    (NOW - 2 * DAY, "sms", "84911222333", "dk ks can j", FALLBACK),
    (NOW - 2 * DAY, "telegram", "555", "ĐK KS cần j ?", FALLBACK),
    (NOW - 1 * DAY, "zalo", "zu1", "dk ks can j!!", FALLBACK),
    (NOW - 1 * DAY, "sms", "84911222444", f"so dt cua toi {PHONE} goi lai", FALLBACK),
    (NOW - 1 * DAY, "sms", "84911222555", "so dt cua toi 0987 654 321 goi lai", FALLBACK),
    (NOW - 1 * DAY, "telegram", "556", f"CCCD {CCCD} bi mat thi sao",
     Turn("out_of_scope", "out_of_scope", 0.9)),
    (NOW - 1 * DAY, "telegram", "557", f"ma bhxh {BHXH} tra cuu o dau",
     Turn("not_covered", "ask_where", 0.8)),
    (NOW - 1 * DAY, "zalo", "zu2", "le phi bao nhieu", Turn("clarification", "ask_fee", 0.9, None, "fee")),
    (NOW - 1 * DAY, "telegram", "558", SCRIPT, Turn("low_confidence", "inform_procedure", 0.5, "khai_sinh")),
    (NOW - 1 * DAY, "telegram", "559", "=HYPERLINK(\"http://x\")", FALLBACK),
    (NOW, "sms", "84911222333", "le phi khai sinh", Turn("answered", "ask_fee", 0.95, "khai_sinh", "fee")),
    (NOW, "zalo", "zu1", "giay to ket hon", Turn("answered", "ask_documents", 0.9, "ket_hon", "documents")),
    (NOW, "zalo", "zu1", "nop o dau", Turn("answered", "ask_where", 0.9, "ket_hon", "where")),
]
NUMBERS = [PHONE, "0987 654 321", CCCD, BHXH, "84911222333", "84911222444"]


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "bot.db"
    fill(path, TURNS)
    return path


# (questions as typed, how many groups they make)
GROUPING = [
    (["dk ks can j", "ĐK KS cần j ?", "dk ks can j!!", "Dk ks cần j"], 1),
    (["lam ho chieu o dau", "làm hộ chiếu ở đâu ạ", "lam ho chieu o dau a"], 1),
    ([f"sdt {PHONE} goi lai", "sdt 0987 654 321 goi lai", "sdt +84 912 345 678 goi lai"], 1),
    (["le phi khai sinh", "le phi ket hon"], 2),
    (["dk ks can j", "thu tuc tam tru"], 2),
]


class _Row:
    def __init__(self, text: str) -> None:
        self.text, self.outcome, self.channel, self.procedure = text, "fallback", "sms", None
        self.at = dt.datetime(2027, 1, 15)


@pytest.mark.parametrize("texts, groups", GROUPING)
def test_near_identical_questions_are_one_group(texts, groups):
    found = group_questions(_Row(t) for t in texts)
    assert len(found) == groups
    assert sum(g.count for g in found) == len(texts)


@pytest.mark.parametrize("text, key", [
    ("ĐK KS cần j ?", "dk ks can j"),
    (f"CCCD {CCCD}", "cccd #"),
    ("so 0912 345 678 a", "so # a"),
    ("goi +84 912 345 678", "goi #"),
    ("le phi 70.000 dong", "le phi # dong"),
])
def test_questions_are_grouped_folded_with_numbers_hidden(text, key):
    assert question_key(text) == key


def test_report_prints_groups_and_counts_in_vietnamese(db, capsys):
    assert report(["--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "Tổng số lượt hỏi: 13" in out and "chưa trả lời được 10" in out
    assert "     3  dk ks can j" in out  # three spellings, one group, the most typed one shown
    assert "không hiểu câu hỏi 3; SMS 1, Telegram 1, Zalo 1" in out
    assert "     2  so dt cua toi *******678 goi lai" in out
    assert "Đăng ký khai sinh" in out  # procedure names from the catalogue
    assert "Lệ phí" in out and "Giấy tờ cần mang" in out  # aspects as the phrases name them
    assert "Theo kênh" in out and "Theo ngày" in out
    assert "2027-01-13     2 / 2" in out and "2027-01-14     8 / 8" in out
    assert "2027-01-15     3 / 0" in out
    assert "chưa có đánh giá" in out
    assert "Chuyển cho cán bộ" not in out  # no handover table on this database


def test_no_number_of_a_citizen_reaches_text_csv_or_html(db, tmp_path, capsys):
    out_csv, out_html = tmp_path / "r.csv", tmp_path / "r.html"
    assert report(["--db", str(db), "--csv", str(out_csv), "--html", str(out_html)]) == 0
    texts = {"text": capsys.readouterr().out, "csv": out_csv.read_text(encoding="utf-8-sig"),
             "html": out_html.read_text(encoding="utf-8")}
    for name, text in texts.items():
        for number in NUMBERS:
            assert number not in text, (name, number)
    for name in ("csv", "html"):
        assert "*********345" in texts[name] and "*******678" in texts[name]  # masked forms stay


def test_html_escapes_what_citizens_typed(db, tmp_path):
    page = tmp_path / "r.html"
    assert report(["--db", str(db), "--html", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; khai sinh" in html
    for fetch in ("src=", "href=", "url(", "@import", "<link"):  # nothing to fetch from anywhere
        assert fetch not in html
    assert 'class="bar ok"' in html and 'class="bar bad"' in html
    assert '<b id="total">13</b>' in html and '<b id="unanswered">10</b>' in html


def test_csv_lists_groups_and_never_a_formula(db, tmp_path):
    out = tmp_path / "r.csv"
    assert report(["--db", str(db), "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0]["so_lan"] == "3" and rows[0]["cau_hoi"] == "dk ks can j"
    assert rows[0]["kenh"] == "SMS 1; Telegram 1; Zalo 1"
    formula = next(r for r in rows if "HYPERLINK" in r["cau_hoi"])
    assert formula["cau_hoi"].startswith("'=")


def test_since_keeps_later_days_only(db, capsys):
    assert report(["--db", str(db), "--since", "2027-01-15"]) == 0
    out = capsys.readouterr().out
    assert "Tổng số lượt hỏi: 3" in out and "2027-01-14" not in out
    assert report(["--db", str(db), "--since", "15/01/2027"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


RATINGS_DDL = ("CREATE TABLE ratings (id INTEGER PRIMARY KEY, rated_at DATETIME NOT NULL, "
               "channel VARCHAR(16), sender VARCHAR(128), procedure VARCHAR(64), aspect VARCHAR(32), "
               "score INTEGER NOT NULL, answer TEXT)")
HANDOVER_DDL = ("CREATE TABLE handover_cases (id INTEGER PRIMARY KEY, channel VARCHAR(16), "
                "sender VARCHAR(128), opened_at DATETIME NOT NULL, closed_at DATETIME, reason TEXT)")


def add_ratings(db: Path, rows: list[tuple]) -> None:
    """A ``ratings`` table in the shape the ratings feature writes, with ``rows`` in it."""
    with sqlite3.connect(db) as connection:
        connection.execute(RATINGS_DDL)
        connection.executemany(
            "INSERT INTO ratings (rated_at, channel, sender, procedure, aspect, score, answer) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


@pytest.mark.parametrize("ratings", [None, []], ids=["no table", "empty table"])
def test_no_ratings_says_so(db, capsys, tmp_path, ratings):
    if ratings is not None:
        with sqlite3.connect(db) as connection:
            connection.execute(RATINGS_DDL)
    page = tmp_path / "r.html"
    assert report(["--db", str(db), "--html", str(page)]) == 0
    assert "chưa có đánh giá" in capsys.readouterr().out
    assert '<p id="ratings">chưa có đánh giá</p>' in page.read_text(encoding="utf-8")


def test_ratings_per_procedure_and_answers_rated_not_useful(db, capsys, tmp_path):
    add_ratings(db, [
        ("2027-01-14 09:00:00.000000", "sms", "84911222333", "khai_sinh", "fee", 1, "Lệ phí: miễn"),
        ("2027-01-14 09:05:00.000000", "zalo", "zu1", "khai_sinh", "fee", 1, "Lệ phí: miễn"),
        ("2027-01-14 10:00:00.000000", "zalo", "zu1", "ket_hon", "where", 2, f"Nộp ở UBND xã; gọi {PHONE}"),
        ("2027-01-14 11:00:00.000000", "telegram", "555", None, None, 2, "<b>Menu</b>")])
    page = tmp_path / "r.html"
    assert report(["--db", str(db), "--html", str(page)]) == 0
    out = capsys.readouterr().out
    assert "chưa có đánh giá" not in out
    assert "   2 / 0    Đăng ký khai sinh" in out and "   0 / 1    Đăng ký kết hôn" in out
    assert "Nộp ở UBND xã; gọi *******678" in out and PHONE not in out
    html = page.read_text(encoding="utf-8")
    assert "Câu trả lời bị đánh giá không hữu ích" in html and "&lt;b&gt;Menu&lt;/b&gt;" in html
    assert PHONE not in html


def test_handover_cases_open_and_closed(db, capsys):
    with sqlite3.connect(db) as connection:
        connection.execute(HANDOVER_DDL)
        connection.executemany(
            "INSERT INTO handover_cases (channel, sender, opened_at, closed_at, reason) "
            "VALUES (?, ?, ?, ?, ?)",
            [("sms", "84911222333", "2027-01-14 09:00:00.000000", None, "muon gap can bo"),
             ("zalo", "zu1", "2027-01-13 09:00:00.000000", "2027-01-13 10:00:00.000000", "hoi dat dai")])
    assert report(["--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "Chuyển cho cán bộ: đang mở 1, đã đóng 1" in out
    assert "2027-01-14 09:00 SMS ********333: muon gap can bo" in out and "84911222333" not in out


def test_report_enforces_retention_and_purge_only_purges(db, capsys, monkeypatch):
    monkeypatch.setenv("BOT_RETENTION_DAYS", "1.5")
    assert report(["--db", str(db), "--purge"]) == 0
    out = capsys.readouterr().out
    assert "Đã xoá 2 bản ghi cũ hơn 1.5 ngày" in out and "Tổng số lượt" not in out
    monkeypatch.setenv("BOT_RETENTION_DAYS", "0.5")
    assert report(["--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "Đã xoá 8 bản ghi" in out and "Tổng số lượt hỏi: 3" in out
    monkeypatch.setenv("BOT_RETENTION_DAYS", "khong")
    assert report(["--db", str(db)]) == 2


def test_report_on_an_empty_journal(tmp_path, capsys):
    db = tmp_path / "bot.db"
    Store.sqlite(db)
    page = tmp_path / "r.html"
    assert report(["--db", str(db), "--html", str(page)]) == 0
    assert "Chưa có lượt hỏi nào." in capsys.readouterr().out
    assert '<b id="total">0</b>' in page.read_text(encoding="utf-8")
    assert build(Store.sqlite(db).engine).total == 0


def test_report_needs_a_database(tmp_path, capsys):
    assert report(["--db", str(tmp_path / "none.db")]) == 1
    assert "no database yet" in capsys.readouterr().err


def test_serve_stops_on_a_wrong_retention_period(tmp_path, capsys, monkeypatch):
    from bot.cli import main

    credentials = tmp_path / "credentials.yml"
    credentials.write_text("{}\n", encoding="utf-8")
    monkeypatch.setenv("BOT_RETENTION_DAYS", "ba thang")
    assert main(["serve", "--credentials", str(credentials), "--db", str(tmp_path / "bot.db")]) == 2
    assert "BOT_RETENTION_DAYS='ba thang': cần một số ngày lớn hơn 0" in capsys.readouterr().err


def test_forget_deletes_a_senders_turn_records(db, capsys):
    from bot.cli import main

    assert main(["forget", "84911222333", "--channel", "sms", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "turns 2" in out and "84911222333" not in out
    with sqlite3.connect(db) as connection:
        senders = {s for (s,) in connection.execute("SELECT sender FROM turns")}
    assert "84911222333" not in senders and "555" in senders


def test_cases_the_handover_stored_show_in_the_report(db, capsys):
    """The handover keeps its times as Unix floats: the report reads them as it reads datetimes."""
    from bot.dialogue.phrases import load_phrases
    from bot.serving.handover import REASON_ASKED, REASON_LOW_RATING, Handover, WorkingHours

    now = [NOW]
    desk = Handover(Store.sqlite(db), load_phrases(PROJECT.phrases), "telegram", "-1001",
                    WorkingHours.parse("T2-CN 00:00-24:00"), 3600.0, lambda: now[0])
    desk.open_case("sms", "84911222333", REASON_ASKED, [("user", f"goi {PHONE}")])
    desk.open_case("zalo", "zu1", REASON_LOW_RATING, [])
    now[0] = NOW + 2 * 3600.0
    assert desk.close_expired() == 2
    desk.open_case("telegram", "555", REASON_ASKED, [])
    assert report(["--db", str(db)], now=NOW + 2 * 3600.0) == 0
    out = capsys.readouterr().out
    assert "Chuyển cho cán bộ: đang mở 1, đã đóng 2" in out
    assert "555: asked" in out and "84911222333" not in out
