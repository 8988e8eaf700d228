"""Replies as each channel shows them; SMS in particular."""

from __future__ import annotations

import pytest

from bot.contract import (
    SMS_MAX_PARTS,
    SMS_MORE_KEYWORD,
    SMS_PART_SEPTETS,
    TELEGRAM_MAX_TEXT,
    ZALO_MAX_TEXT,
    is_gsm7,
    septets,
    sms_parts,
)
from bot.contract.reply import Button, Reply
from bot.render import paginate_sms, render, to_gsm7

BIRTH = Reply(
    "Khai sinh – Lệ phí: miễn phí nếu đăng ký đúng hạn (trong 60 ngày).",
    (Button("Giấy tờ cần mang", "/ask_documents"), Button("Nộp ở đâu", "/ask_where")),
)


@pytest.mark.parametrize(("text", "gsm7"), [
    ("Le phi 70.000 dong @ $ \n", True), ("{[~]}|^€\\", True), ("Lệ phí", False), ("Đ", False),
    ("70.000₫", False), ("", True),
])
def test_is_gsm7(text, gsm7):
    assert is_gsm7(text) is gsm7


def test_sms_is_plain_gsm7_with_numbered_options():
    (rendered,) = render(BIRTH, "sms")
    assert rendered.text == (
        "Khai sinh - Le phi: mien phi neu dang ky dung han (trong 60 ngay).\n"
        "1. Giay to can mang\n2. Nop o dau"
    )
    assert rendered.buttons == () and rendered.more == ()
    assert is_gsm7(rendered.text)


@pytest.mark.parametrize("text,expected", [
    ("Đường đến UBND xã", "Duong den UBND xa"),
    ("giá `50k` ≥ 20k", "gia ?50k? ? 20k"),
    ("[ghi chú]", "[ghi chu]"),
])
def test_to_gsm7(text, expected):
    assert to_gsm7(text) == expected


def test_to_gsm7_keeps_exactly_the_gsm7_characters_of_the_folded_text():
    """Every character of the first planes, and some beyond, folded then kept or made '?' one by
    one as the alphabet says."""
    from bot.text import fold

    text = "".join(chr(c) for c in range(1, 0x3000)) + "\U0001F600\U0001F44D\t\r\n"
    folded = fold(text).replace("\t", " ")
    assert to_gsm7(text) == "".join(ch if is_gsm7(ch) else "?" for ch in folded)


@pytest.mark.parametrize("text,parts", [
    ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3), ("[" * 80, 1),
    ("[" * 81, 2),
])
def test_sms_parts(text, parts):
    assert sms_parts(text) == parts


def test_long_answer_is_paged_within_three_parts_and_nothing_is_lost():
    words = [f"giay{i}" for i in range(400)]
    text = " ".join(words)
    pages = paginate_sms(text)
    assert len(pages) > 2
    for page in pages:
        assert septets(page) <= SMS_MAX_PARTS * SMS_PART_SEPTETS
        assert sms_parts(page) <= SMS_MAX_PARTS
    for page in pages[:-1]:
        assert page.endswith(f"(Nhan {SMS_MORE_KEYWORD} de xem tiep)")
    joined = " ".join(p.replace(f"\n(Nhan {SMS_MORE_KEYWORD} de xem tiep)", "") for p in pages)
    assert joined.split() == words


def test_render_sms_keeps_the_rest_for_later():
    (rendered,) = render(Reply("Giấy tờ: " + "bản sao giấy tờ, " * 60), "sms")
    assert rendered.more
    assert sms_parts(rendered.text) <= SMS_MAX_PARTS


@pytest.mark.parametrize("channel", ["telegram", "zalo"])
def test_app_channels_keep_diacritics_and_buttons(channel):
    (rendered,) = render(BIRTH, channel)
    assert rendered.text == BIRTH.text
    assert rendered.buttons == (("Giấy tờ cần mang", "/ask_documents"), ("Nộp ở đâu", "/ask_where"))


@pytest.mark.parametrize("channel,limit", [("telegram", TELEGRAM_MAX_TEXT), ("zalo", ZALO_MAX_TEXT)])
def test_long_app_replies_are_split_and_buttons_stay_on_the_last(channel, limit):
    words = [f"giấy{i}" for i in range(1500)]
    messages = render(Reply(" ".join(words), BIRTH.buttons), channel)
    assert len(messages) > 1 and all(len(m.text) <= limit for m in messages)
    assert " ".join(m.text for m in messages).split() == words
    assert [bool(m.buttons) for m in messages] == [False] * (len(messages) - 1) + [True]


def test_zalo_with_more_than_five_options_numbers_them_instead():
    many = Reply("Chọn thủ tục:", tuple(Button(f"Thủ tục {i}", f"/p{i}") for i in range(9)))
    (rendered,) = render(many, "zalo")
    assert rendered.buttons == () and "9. Thủ tục 8" in rendered.text


def test_telegram_payload_over_64_bytes_falls_back_to_numbers():
    long = Reply("Chọn:", (Button("A", "/inform_procedure{" + "x" * 70 + "}"),))
    (rendered,) = render(long, "telegram")
    assert rendered.buttons == () and "1. A" in rendered.text


def test_unknown_channel_is_an_error():
    with pytest.raises(ValueError, match="unknown channel"):
        render(BIRTH, "fax")


def test_telegram_limits_are_those_of_the_bot_api_as_python_telegram_bot_states_them():
    from telegram.constants import InlineKeyboardButtonLimit, MessageLimit

    from bot.contract import TELEGRAM_MAX_CALLBACK_BYTES, TELEGRAM_MAX_TEXT

    assert TELEGRAM_MAX_TEXT == MessageLimit.MAX_TEXT_LENGTH
    assert TELEGRAM_MAX_CALLBACK_BYTES == InlineKeyboardButtonLimit.MAX_CALLBACK_DATA



HINT = f"\n(Nhan {SMS_MORE_KEYWORD} de xem tiep)"


def _line(word: str, count: int) -> str:
    return " ".join([word] * count)


@pytest.mark.parametrize("lines,cut_at_line,total", [
    # carried over whole, the "b" line makes page two 2 SMS (5 in all); cut at a word, 4
    ((_line("a", 150), _line("b", 100), _line("c", 10)), False, 4),
    # carried over whole, it costs nothing more: the page ends at the line break
    ((_line("a", 200), _line("b", 50), _line("c", 5)), True, 4),
])
def test_a_page_ends_at_a_line_unless_a_word_saves_an_sms(lines, cut_at_line, total):
    text = "\n".join(lines)
    pages = paginate_sms(text)
    assert len(pages) == 2 and all(sms_parts(page) <= SMS_MAX_PARTS for page in pages)
    assert pages[0].removesuffix(HINT).endswith("a") is cut_at_line
    assert sum(map(sms_parts, pages)) == total
    assert " ".join(page.removesuffix(HINT) for page in pages).split() == text.split()
