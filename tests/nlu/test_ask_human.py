"""Asking for a person is understood as typed, and does not take other intents' messages.

None of these messages is in the training data (``nlu_data/generic.yml``)."""

from __future__ import annotations

import pytest

ASKING = [
    "toi can gap can bo xa",
    "cho minh noi chuyen voi nguoi that di",
    "có nhân viên nào trả lời tôi không",
    "em muốn hỏi trực tiếp cán bộ ạ",
    "chuyen cho nguoi that giup em",
    "gap can bo tu phap",
]

NOT_ASKING = [
    ("xin chao can bo", "greet"),
    ("cảm ơn cán bộ nhiều nha", "thank"),
    ("can bo xa noi lam khai sinh can giay to gi", "ask_documents"),
    ("lam khai sinh o dau", "ask_where"),
]


@pytest.mark.parametrize("text", ASKING)
def test_asking_for_a_person(parse, text):
    assert parse(text)["intent"]["name"] == "ask_human"


@pytest.mark.parametrize("text, intent", NOT_ASKING)
def test_a_staff_member_mentioned_is_not_a_request_for_one(parse, text, intent):
    assert parse(text)["intent"]["name"] == intent
