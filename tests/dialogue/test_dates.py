"""Dates as typed, read against an injected today (a Wednesday)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.dialogue.dates import ReadDate, in_words, read_date, read_event

TODAY = dt.date(2026, 12, 2)
D = dt.date

# (typed, expected date, or "invalid", or None for no date)
TABLE = [
    ("con tôi sinh ngày 3/11", D(2026, 11, 3)),
    ("con toi sinh ngay 3/11", D(2026, 11, 3)),
    ("bé sinh 03/11/2026", D(2026, 11, 3)),
    ("be sinh 3-11-26", D(2026, 11, 3)),
    ("3.11", D(2026, 11, 3)),
    ("ngày 3 tháng 11", D(2026, 11, 3)),
    ("mùng 3 tháng 11", D(2026, 11, 3)),
    ("mung 3 thang 11 nam 2025", D(2025, 11, 3)),
    ("mồng 3 tháng 11, năm 2026", D(2026, 11, 3)),
    ("be sinh ngay 20/11", D(2026, 11, 20)),
    ("toi muon nhan tin nhac lich di lam khai sinh cho con, be sinh ngay 20/11", D(2026, 11, 20)),
    ("bé mới sinh hôm qua", D(2026, 12, 1)),
    ("be moi sinh hom qua", D(2026, 12, 1)),
    ("ông mất sáng nay", D(2026, 12, 2)),
    ("ong mat sang nay", D(2026, 12, 2)),
    ("hôm nay", D(2026, 12, 2)),
    ("bà mất tối qua", D(2026, 12, 1)),
    ("hom kia", D(2026, 11, 30)),
    ("tuần trước", D(2026, 11, 25)),
    ("tuan truoc be moi sinh", D(2026, 11, 25)),
    ("bé sinh được 5 ngày rồi", D(2026, 11, 27)),
    ("cach day 10 ngay", D(2026, 11, 22)),
    ("mùng 1", D(2026, 12, 1)),
    ("ngày 25", D(2026, 11, 25)),
    ("ngày mai", D(2026, 12, 3)),  # the future: the bot asks again
    ("5/12", D(2026, 12, 5)),  # a little ahead, no year: stays in the future
    ("20/12/2026", D(2026, 12, 20)),
    ("31/2", "invalid"),
    ("3/13", "invalid"),
    ("khai sinh cần giấy tờ gì", None),
    ("mất bao lâu thì có", None),
    ("thủ tục 1.001193", None),
    ("60 ngày", None),
]


@pytest.mark.parametrize("typed, expected", TABLE, ids=[t for t, _ in TABLE])
def test_read_date(typed, expected):
    found = read_date(typed, TODAY)
    if expected == "invalid":
        assert found == ReadDate(invalid=True)
    elif expected is None:
        assert found == ReadDate() and not found.found
    else:
        assert found == ReadDate(expected)


def test_a_date_without_year_far_ahead_is_last_year():
    assert read_date("20/12", D(2027, 1, 5)).date == D(2026, 12, 20)
    assert read_date("mùng 28", D(2027, 1, 5)).date == D(2026, 12, 28)


@pytest.mark.parametrize("typed, event", [
    ("con tôi sinh ngày 3/11", "sinh"), ("bé mới sinh hôm qua", "sinh"),
    ("ông mất sáng nay", "mat"), ("ong mat sang nay", "mat"), ("bố tôi qua đời hôm qua", "mat"),
    ("nguoi nha moi mat ngay 1/12", "mat"), ("lam khai tu cho me, me mat 30/11", "mat"),
    ("tôi bị mất giấy tờ", None), ("làm mất bao lâu", None), ("hôm qua", None),
])
def test_read_event(typed, event):
    assert read_event(typed) == event


def test_in_words():
    assert in_words(D(2026, 11, 3)) == "ngày 3 tháng 11 năm 2026"
