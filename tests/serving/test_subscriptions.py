"""Opt-out keywords: exact, any case, with or without diacritics; not the cancel words."""

from __future__ import annotations

import pytest

from bot.serving.subscriptions import keyword


@pytest.mark.parametrize("typed, expected", [
    ("STOP", "out"), ("stop", "out"), (" Stop! ", "out"), ("TU CHOI", "out"), ("Từ chối", "out"),
    ("HUY DANG KY", "out"), ("huỷ đăng ký", "out"), ("Hủy đăng ký", "out"),
    ("BAT DAU", "in"), ("bắt đầu", "in"),
    # the guided flow's cancel words, and longer messages, are not opt-outs
    ("THOI", None), ("thôi", None), ("cancel", None), ("huy", None), ("dung lai", None),
    ("stop di", None), ("huy nhac", None), ("bat dau lai", None), ("tu choi ho so thi sao", None),
])
def test_keywords(typed, expected):
    assert keyword(typed) == expected
