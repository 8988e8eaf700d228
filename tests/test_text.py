"""Folding and cleaning of Vietnamese text as citizens really type it."""

from __future__ import annotations

import unicodedata

import pytest

from bot.contract import clean
from bot.text import fold, has_diacritics, search_key

FOLD_CASES = [
    ("Đăng ký khai sinh", "Dang ky khai sinh"),
    ("ĐĂNG KÝ THƯỜNG TRÚ", "DANG KY THUONG TRU"),
    ("Ðăng ký", "Dang ky"),  # U+00D0, the look-alike of Đ
    (unicodedata.normalize("NFD", "Hộ khẩu"), "Ho khau"),  # decomposed keyboard input
    ("Lệ phí 20.000₫ – “miễn” …", 'Le phi 20.000d - "mien" ...'),
    ("bảo hiểm y tế trẻ em dưới 6 tuổi", "bao hiem y te tre em duoi 6 tuoi"),
    ("dang ky khai sinh", "dang ky khai sinh"),
]


@pytest.mark.parametrize("text,expected", FOLD_CASES)
def test_fold(text, expected):
    assert fold(text) == expected


def test_has_diacritics():
    assert has_diacritics("khai sinh cần gì")
    assert not has_diacritics("khai sinh can gi")


CLEAN_CASES = [
    ("", ""),
    ("  khai\x00 sinh  ", "khai sinh"),
    ("le phi\x07\x1b bao nhieu", "le phi bao nhieu"),
    ("a\u200bb", "a b"),
    ("dong 1\r\n\r\n  dong 2 ", "dong 1\ndong 2"),
    (unicodedata.normalize("NFD", "giấy tờ"), "giấy tờ"),
]


@pytest.mark.parametrize("text,expected", CLEAN_CASES)
def test_clean(text, expected):
    assert clean(text) == expected


def test_search_key_ignores_case_marks_and_punctuation():
    assert search_key("Giấy  khai-sinh!") == search_key("giay khai sinh") == "giay khai sinh"
