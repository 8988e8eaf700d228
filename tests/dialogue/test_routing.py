"""Menus that hold at dozens of procedures, and the honest reply for a procedure we lack."""

from __future__ import annotations

import dataclasses

import pytest

from bot.catalogue import Catalogue, load_catalogue
from bot.contract import sms_parts
from bot.dialogue.answers import MENU_FLAT_MAX, Answers
from bot.dialogue.phrases import load_phrases
from bot.render import render
from tests.paths import PROJECT

SHIPPED = load_catalogue(PROJECT.procedures)
PHRASES = load_phrases(PROJECT.phrases)


def many(count: int) -> Catalogue:
    """A catalogue of ``count`` procedures, copies of the shipped ones under new ids."""
    base = list(SHIPPED)
    procedures = tuple(dataclasses.replace(base[i % len(base)], id=f"p{i}", short_name=f"Thủ tục {i}")
                       for i in range(count))
    return Catalogue(procedures, SHIPPED.not_covered)


def payloads(reply) -> list[str]:
    return [b.payload for b in reply.buttons]


def test_a_short_catalogue_lists_every_procedure():
    book = Answers(many(MENU_FLAT_MAX), PHRASES)
    assert len(book.menu().buttons) == MENU_FLAT_MAX
    assert all('"procedure"' in p for p in payloads(book.menu()))


@pytest.mark.parametrize("intent", ["inform_procedure", "ask_fee"])
def test_a_long_catalogue_asks_the_group_first_then_lists_its_procedures(intent):
    catalogue = many(45)
    book = Answers(catalogue, PHRASES)
    first = book.menu() if intent == "inform_procedure" else book.which_procedure(intent)
    groups = {p.group for p in catalogue}
    assert len(first.buttons) == len(groups)
    assert all(p.startswith(f'/{intent}{{"group":') for p in payloads(first))
    group = sorted(groups)[0]
    second = book.menu(group) if intent == "inform_procedure" else book.which_procedure(intent, group)
    assert {b.payload for b in second.buttons} == {
        f'/{intent}{{"procedure":"{p.id}"}}' for p in catalogue if p.group == group}
    for reply in (first, second):  # every step fits three SMS
        (sms,) = render(reply, "sms")
        assert sms_parts(sms.text) <= 3 and not sms.more


def test_a_story_that_fits_two_procedures_asks_which():
    book = Answers(SHIPPED, PHRASES)
    two = [SHIPPED.get("khai_tu"), SHIPPED.get("lien_thong_khai_tu")]
    reply = book.which_of("ask_documents", two)
    assert payloads(reply) == ['/ask_documents{"procedure":"khai_tu"}',
                               '/ask_documents{"procedure":"lien_thong_khai_tu"}']


@pytest.mark.parametrize("entry", SHIPPED.not_covered, ids=lambda e: e.id)
def test_a_procedure_we_lack_gets_where_to_ask_and_no_facts(entry):
    reply = Answers(SHIPPED, PHRASES).not_covered(entry)
    assert entry.name in reply.text and "UBND xã" in reply.text
    assert (entry.url in reply.text) if entry.url else "dichvucong.gov.vn" in reply.text
    assert not any(p.fee.text in reply.text for p in SHIPPED)
    (sms,) = render(reply, "sms")
    assert sms_parts(sms.text) <= 3 and not sms.more
