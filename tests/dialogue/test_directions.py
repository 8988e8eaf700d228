"""Address replies: what the citizen reads about old and new units, and that SMS keeps it short."""

from __future__ import annotations

import pytest

from bot.address import AddressBook
from bot.dialogue.actions import answers
from bot.dialogue.directions import Directions
from bot.render import render
from bot.text import search_key


@pytest.fixture(scope="module")
def guide() -> Directions:
    book = answers()
    return Directions(AddressBook.load(), book.catalogue, book.phrases)


EXPLAIN = [
    ("xã Ia Phí, huyện Chư Păh, tỉnh Gia Lai",
     ["nay là xã Ia Phí, tỉnh Gia Lai", "không phải lên huyện Chư Păh"]),
    ("P.1 TP Tra Vinh", ["phường Trà Vinh, tỉnh Vĩnh Long"]),
    ("thị trấn Cầu Ngang, huyện Cầu Ngang, tỉnh Trà Vinh", ["xã Cầu Ngang, tỉnh Vĩnh Long"]),
    ("xã Yên Định, huyện Bắc Mê, tỉnh Hà Giang", ["đã được chia", "Xã Minh Ngọc", "Xã Ngọc Đường"]),
    ("thôn Nà Sáng, xã Yên Định, huyện Bắc Mê, tỉnh Hà Giang", ["đã được chia"]),
    ("ha giang", ["Hà Giang nay thuộc tỉnh Tuyên Quang", "xã, phường nào"]),
    ("phuong 1", ["chưa nhận ra"]),
]


@pytest.mark.parametrize("text, expected", EXPLAIN)
def test_explain_says_the_current_unit_or_asks(guide, text, expected):
    replies, _ = guide.explain(guide.read(text))
    said = search_key(" ".join(r.text + " " + " ".join(b.title for b in r.buttons) for r in replies))
    for phrase in expected:
        assert search_key(phrase) in said, said


@pytest.mark.parametrize("text", [t for t, _ in EXPLAIN])
def test_address_replies_fit_three_sms_parts(guide, text):
    replies, _ = guide.explain(guide.read(text))
    for reply in replies:
        (sms,) = render(reply, "sms")
        assert sms.more == (), sms.text


def test_split_buttons_pick_a_unit_with_short_ascii_payloads(guide):
    replies, unit = guide.explain(guide.read("xa yen dinh huyen bac me ha giang"))
    assert unit is None
    for button in replies[0].buttons:
        assert button.payload.isascii() and len(button.payload.encode()) <= 64
        code = button.payload.split('"')[3]
        chosen, picked = guide.chosen(code)
        assert picked is not None and picked.ward in button.title
        assert "Bạn ở" in chosen[0].text


@pytest.mark.parametrize("procedure, expected", [
    ("khai_sinh", "Trung tâm Phục vụ hành chính công của xã Ia Phí, tỉnh Gia Lai"),
    ("thuong_tru", "Công an xã Ia Phí, tỉnh Gia Lai"),
    ("bhyt_tre_em", "Bảo hiểm xã hội tỉnh Gia Lai"),
    ("lien_thong_khai_sinh", "VNeID"),
])
def test_office_is_named_for_the_current_commune(guide, procedure, expected):
    _, unit = guide.explain(guide.read("xa ia phi huyen chu pah gia lai"))
    assert expected in guide.office(guide.catalogue.get(procedure), unit)


@pytest.mark.parametrize("text, expected", [
    ("xa moi ia phi gom nhung xa cu nao", ["được lập từ", "Ia Ka", "Ia Nhin"]),
    ("tinh vinh long moi gom nhung tinh nao", ["Bến Tre", "Trà Vinh", "Vĩnh Long"]),
    ("xa abcxyz gom nhung xa nao", ["chưa nhận ra"]),
])
def test_sources(guide, text, expected):
    said = guide.sources(text).text
    for phrase in expected:
        assert phrase in said, said
