"""Dates as citizens type them, and whether a birth or a death is meant; pure functions.

``read_date`` finds one calendar date in a message: ``3/11``, ``03/11/2026``, ``3-11``,
``ngày 3 tháng 11``, ``mùng 3 tháng 11 năm 2026``, ``mùng 3`` (this month), and relative words
(``hôm nay``, ``sáng nay``, ``hôm qua``, ``hôm kia``, ``tuần trước``, ``3 ngày trước``), typed with
or without diacritics. Relative dates are read against ``today``, which the caller passes in (the
local date in Asia/Ho_Chi_Minh), so the function is deterministic and tested by a table.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from bot.text import fold

# A date written without a year is this year's, unless that is more than this far ahead: then it
# is last year's ("20/12" typed on 5 January). A date a little ahead stays in the future, and the
# bot asks about it instead of guessing.
FUTURE_WITHOUT_YEAR_DAYS = 183

_NUMERIC = re.compile(r"(?<![\d/.-])(\d{1,2})\s*[/.-]\s*(\d{1,2})(?:\s*[/.-]\s*(\d{4}|\d{2}))?(?![\d/.-])")
_WORDS = re.compile(r"\b(?:(?:ngay|mung|mong)\s+)?(\d{1,2})\s+(?:thang|th)\s+(\d{1,2})"
                    r"(?:\s*,?\s*nam\s+(\d{4}|\d{2}))?\b")
_DAY_ONLY = re.compile(r"\b(?:ngay|mung|mong)\s+(\d{1,2})\b(?!\s*(?:ngay|thang|tuan|gio|tieng|phut))")
_DAYS_AGO = re.compile(r"\b(?:cach day\s+)?(\d{1,2})\s+ngay\s+(?:truoc|roi)\b"
                       r"|\bcach day\s+(\d{1,2})\s+ngay\b")
_RELATIVE = (  # folded phrase -> days before today; longest phrases first where they overlap
    (re.compile(r"\bhom kia\b"), 2),
    (re.compile(r"\b(?:hom|toi|dem|sang|trua|chieu)\s+qua\b"), 1),
    (re.compile(r"\btuan\s+(?:truoc|roi)\b"), 7),
    (re.compile(r"\b(?:hom|sang|trua|chieu|toi|dem)\s+nay\b"), 0),
    (re.compile(r"\bngay\s+mai\b"), -1),
)

_BIRTH = re.compile(r"\b(?:sinh|chao doi|ra doi|de be|be de|de con)\b")
_DEATH = re.compile(r"\b(?:qua doi|tu tran|ta the|khai tu|bao tu|chung tu|mat som|ngu luon)\b"
                    r"|\b(?:da|moi|vua|ong|ba|bo|me|cha|chong|vo|cu|bac|chu|co|di|anh|chi|em|con"
                    r"|nguoi than|nguoi nha)\s+(?:da\s+|moi\s+|vua\s+)?mat\b"
                    r"|\bmat\s+(?:ngay|hom|sang|toi|dem|trua|chieu|tuan|mung|luc|vao|\d)")


@dataclass(frozen=True)
class ReadDate:
    """What ``read_date`` found: a date, an impossible one (``31/2``: ``invalid``), or nothing."""

    date: dt.date | None = None
    invalid: bool = False

    @property
    def found(self) -> bool:
        return self.date is not None or self.invalid


def _year(year: str | None) -> int | None:
    if year is None:
        return None
    return 2000 + int(year) if len(year) == 2 else int(year)


def _make(day: int, month: int, year: int | None, today: dt.date) -> ReadDate:
    try:
        if year is not None:
            return ReadDate(dt.date(year, month, day))
        candidate = dt.date(today.year, month, day)
    except ValueError:
        if year is None and month == 2 and day == 29:  # 29/2 without a year: the last leap year's
            return _make(day, month, today.year - (today.year % 4 or 4), today)
        return ReadDate(invalid=True)
    if (candidate - today).days > FUTURE_WITHOUT_YEAR_DAYS:
        return _make(day, month, today.year - 1, today)
    return ReadDate(candidate)


def _this_month(day: int, today: dt.date) -> ReadDate:
    """``mùng 3`` alone: this month's 3rd, or last month's when this month's is still ahead."""
    month, year = today.month, today.year
    if day > today.day:
        month, year = (month - 1, year) if month > 1 else (12, year - 1)
    try:
        return ReadDate(dt.date(year, month, day))
    except ValueError:
        return ReadDate(invalid=True)


def read_date(text: str, today: dt.date) -> ReadDate:
    """The first date ``text`` names, read against ``today``; ``ReadDate()`` when there is none."""
    folded = " ".join(fold(text).lower().split())
    for pattern in (_WORDS, _NUMERIC):
        match = pattern.search(folded)
        if match:
            return _make(int(match.group(1)), int(match.group(2)), _year(match.group(3)), today)
    match = _DAYS_AGO.search(folded)
    if match:
        return ReadDate(today - dt.timedelta(days=int(match.group(1) or match.group(2))))
    for pattern, days_before in _RELATIVE:
        if pattern.search(folded):
            return ReadDate(today - dt.timedelta(days=days_before))
    match = _DAY_ONLY.search(folded)
    if match:
        return _this_month(int(match.group(1)), today)
    return ReadDate()


def read_event(text: str) -> str | None:
    """``"mat"`` when ``text`` speaks of a death, ``"sinh"`` of a birth, else None (the values of
    ``deadline.counted_from`` in the procedure files)."""
    folded = " ".join(re.sub(r"[^\w\s/]", " ", fold(text).lower()).split())
    if _DEATH.search(folded):
        return "mat"
    if _BIRTH.search(folded):
        return "sinh"
    return None


def in_words(date: dt.date) -> str:
    """``ngày 3 tháng 11 năm 2026``: a date said back so that day and month cannot be swapped."""
    return f"ngày {date.day} tháng {date.month} năm {date.year}"
