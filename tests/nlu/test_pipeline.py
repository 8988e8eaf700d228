"""The trained pipeline understands text however it is typed.

The training data is accented; folding and abbreviation expansion happen inside the pipeline,
so the unaccented or abbreviated form of a message must be understood exactly as the accented one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.build.evaluate import load_examples
from bot.text import fold, has_diacritics

HELD_OUT = Path(__file__).parent.parent / "data" / "nlu_heldout.yml"


def summary(parsed: dict) -> tuple[str, set[tuple[str, str]]]:
    return parsed["intent"]["name"], {(e["entity"], e["value"]) for e in parsed["entities"]}


def test_unaccented_input_is_understood_like_accented(parse):
    accented = [text for text, _, _ in load_examples(HELD_OUT) if has_diacritics(text)]
    assert len(accented) >= 40
    differing = [t for t in accented if summary(parse(t)) != summary(parse(fold(t)))]
    assert differing == []


# (as typed in chat or SMS, the same message written out in full)
ABBREVIATED = [
    ("dk ks can j", "đăng ký khai sinh cần gì"),
    ("le phi lam cccd bn", "lệ phí làm căn cước công dân bao nhiêu"),
    ("the bhyt cho be ko mat tien a", "thẻ bảo hiểm y tế cho bé không mất tiền ạ"),
    ("DK THUONG TRU O DAU", "đăng ký thường trú ở đâu"),
    ("lam khai xinh mat bao lau", "làm khai sinh mất bao lâu"),
]


@pytest.mark.parametrize("typed,written", ABBREVIATED)
def test_abbreviations_are_understood_like_full_words(parse, typed, written):
    assert summary(parse(typed)) == summary(parse(written))


# (message, intent, procedure or None)
CASES = [
    ("dang ky khai sinh can giay to gi", "ask_documents", "khai_sinh"),
    ("lệ phí làm căn cước bao nhiêu", "ask_fee", "can_cuoc"),
    ("so do nop o dau", "ask_where", "dat_dai_lan_dau"),
    ("ket hon lam online duoc ko", "ask_online", "ket_hon"),
    ("khai tu trong bao nhieu ngay phai di dang ky", "ask_deadline", "khai_tu"),
    ("KS", "inform_procedure", "khai_sinh"),
    ("menu", "menu", None),
    ("0", "menu", None),
    ("stop", "cancel", None),
    ("hồ sơ", "ask_documents", None),
    # no word the assistant knows: the help line, not a guess
    ("hjkl uiop", "nlu_fallback", None),
    ("kkkkk", "nlu_fallback", None),
    # a story before the question does not make it a special case
    ("chao ad, nha e o thon 3 xa lam, gio muon dang ky ket hon thi can mang nhung giay to gi a",
     "ask_documents", "ket_hon"),
    ("toi lam ruong ca ngay it khi len xa, lam so do het bao nhieu tien", "ask_fee",
     "dat_dai_lan_dau"),
    # the consequence of being late is a question of its own, not the deadline
    ("de con duoc 3 thang moi di lam khai sinh thi co bi phat khong", "faq", "khai_sinh"),
    ("2", "choose_option", None),
    ("12", "choose_option", None),
    ("cam on ad", "thank", None),
    ("làm bằng lái xe cần giấy tờ gì", "out_of_scope", None),
]


@pytest.mark.parametrize("text,intent,procedure", CASES)
def test_typical_messages(parse, text, intent, procedure):
    parsed = parse(text)
    assert parsed["intent"]["name"] == intent
    found = {e["value"] for e in parsed["entities"] if e["entity"] == "procedure"}
    assert found == ({procedure} if procedure else set())


GENERIC = Path(__file__).parent.parent.parent / "nlu_data" / "generic.yml"


def test_a_message_typed_as_a_hand_written_example_gets_its_intent(parse):
    examples = load_examples(GENERIC)
    assert len(examples) > 300
    parsed = [(text, intent, parse(text)["intent"]["name"]) for text, intent, _ in examples]
    wrong = [(text, intent, got) for text, intent, got in parsed if got != intent]
    assert wrong == []

