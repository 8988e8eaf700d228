"""Leftover Telex keys: (typed syllable, what the segmenter compares)."""

import pytest

from bot.nlu.keystrokes import untelex
from bot.nlu.segmenter import Segmenter, load_abbreviations

CASES = [
    # Telex with the input method off
    ("caanf", "can"),
    ("nhuwngx", "nhung"),
    ("nhwngx", "nhung"),
    ("giaasy", "giay"),
    ("tow", "to"),
    ("gif", "gi"),
    ("lamf", "lam"),
    ("ddi", "di"),
    ("ddawng", "dang"),
    ("kys", "ky"),
    ("khoong", "khong"),
    ("tw", "tu"),
    # chat abbreviations and plain syllables stay as typed
    ("ks", "ks"),
    ("dk", "dk"),
    ("j", "j"),
    ("ko", "ko"),
    ("bnhiu", "bnhiu"),
    ("duoc", "duoc"),
    ("wa", "wa"),
    # not Vietnamese once the keys are gone, or two tone keys: not Telex
    ("thanks", "thanks"),
    ("cafe", "cafe"),
    ("off", "off"),
    ("vneid", "vneid"),
    ("online", "online"),
    ("bhyt", "bhyt"),
    ("cccd", "cccd"),
    ("2025", "2025"),
]


@pytest.mark.parametrize(("typed", "expected"), CASES)
def test_untelex(typed: str, expected: str) -> None:
    assert untelex(typed) == expected


def test_a_message_typed_with_telex_off_reads_as_the_folded_message() -> None:
    segmenter = Segmenter()
    typed = [w.lemma for w in segmenter.segment("lamf ks caanf nhuwngx giaasy tow gif")]
    assert typed == [w.lemma for w in segmenter.segment("làm ks cần những giấy tờ gì")]


def test_abbreviations_win_over_telex() -> None:
    # "cax" is chat spelling for "công an xã", not Telex for "cả"
    segmenter = Segmenter()
    for typed, canonical in load_abbreviations().items():
        assert tuple(s for w in segmenter.segment(" ".join(typed)) for s in w.syllables) == canonical
