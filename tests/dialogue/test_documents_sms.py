"""Every documents list read over plain SMS (issue 12): few SMS, and no paper lost on the way."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.catalogue import load_catalogue
from bot.contract import SMS_MAX_PARTS, sms_parts
from bot.dialogue import actions
from bot.dialogue.answers import CASE_SEPARATOR, Answers
from bot.dialogue.phrases import load_phrases
from bot.dialogue.preview import preview
from bot.render import render, to_gsm7
from tests.paths import PROJECT

BOOK = Answers(load_catalogue(PROJECT.procedures), load_phrases(PROJECT.phrases))
PROCEDURES = list(BOOK.catalogue)

# A documents answer costs at most SMS_MAX_PARTS SMS, pages read with THEM included: 3 parts of
# 153 GSM-7 characters (bot/contract/limits.py), what a rural citizen on a basic phone reads without
# asking for more. A list longer than that which differs by case gives the papers every case needs
# and asks which case applies; each case's papers come in a follow-up of its own.
DOCUMENTS_MAX_SMS = SMS_MAX_PARTS

# Lists that cannot fit DOCUMENTS_MAX_SMS without dropping a fact, the SMS each takes, and why.
# Staff accept the same count in the file (``documents.sms_parts``), so a longer list warns.
LONGER_DOCUMENTS = {
    # 5 papers every case needs (two of them the foreign parent's), 3 notes (consular
    # legalisation, surrogacy, the parents' marriage looked up by the commune), 4 cases; the guide
    # already has its 3 questions, so no case is left to move a paper into.
    "khai_sinh_bien_gioi": 5,
    # 4 papers every case needs (household land, optional papers, representation) and the advice to
    # ask first, then 4 cases of the land's origin and buildings.
    "dat_dai_lan_dau": 4,
    # 4 papers every couple needs, two of them about the foreign partner, and the legalisation and
    # copies note; its one case (by post) moves a single paper out of the list.
    "ket_hon_bien_gioi": 4,
}


def sms_pages(reply) -> list[str]:
    (sms,) = render(reply, "sms")
    return [sms.text, *sms.more]


def follow_ups(proc) -> list:
    """The replies the options of a documents answer lead to: one per case."""
    found = [BOOK.documents_case(f"{proc.id}{CASE_SEPARATOR}{option.id}") for _, option in BOOK.cases(proc)]
    assert all(found), "every case a documents answer offers has its papers"
    return [reply for _, reply in found]


@pytest.mark.parametrize("proc", PROCEDURES, ids=[p.id for p in PROCEDURES])
def test_the_documents_answer_fits_the_sms_limit(proc):
    reply = BOOK.documents(proc)
    limit = LONGER_DOCUMENTS.get(proc.id, DOCUMENTS_MAX_SMS)
    assert sum(sms_parts(page) for page in sms_pages(reply)) <= limit
    assert proc.documents_sms_parts == LONGER_DOCUMENTS.get(proc.id, 0), "the file accepts the same count"
    for follow_up in follow_ups(proc) if reply.buttons else ():
        pages = sms_pages(follow_up)
        assert len(pages) == 1 and sms_parts(pages[0]) <= DOCUMENTS_MAX_SMS, pages
        assert follow_up.text.startswith(proc.short_name) and follow_up.rate is not None


@pytest.mark.parametrize("proc", PROCEDURES, ids=[p.id for p in PROCEDURES])
def test_every_paper_of_the_file_is_in_the_answer_or_its_follow_up(proc):
    reply = BOOK.documents(proc)
    read = [to_gsm7(reply.numbered())] + [to_gsm7(r.numbered()) for r in
                                          (follow_ups(proc) if reply.buttons else [])]
    for doc in proc.documents:
        assert any(to_gsm7(doc.text) in text for text in read), doc.text
    if proc.documents_note:
        assert to_gsm7(proc.documents_note) in read[0]


@pytest.mark.parametrize("proc", [p for p in PROCEDURES if BOOK.cases(p)], ids=lambda p: p.id)
def test_cases_are_asked_only_when_the_whole_list_is_too_long(proc):
    reply = BOOK.documents(proc)
    if not reply.buttons:  # fits as a whole: each case's papers stay in the list, with their case
        assert all(d.text in reply.text for d in proc.documents)
        assert BOOK.phrases["when"].split("{")[0] in reply.text
        return
    common = [d for d in proc.documents if not d.when]
    assert all(d.text in reply.text for d in common)
    assert not any(d.text in reply.text for d in proc.documents if d.when)
    assert [b.title for b in reply.buttons] == [o.label for _, o in BOOK.cases(proc)]
    assert all(b.payload.startswith('/ask_documents{"case":') for b in reply.buttons)


def test_a_case_picked_gives_only_its_papers_under_its_label():
    proc = BOOK.catalogue.get("khai_sinh")
    reply = BOOK.documents(proc)
    assert [b.title for b in reply.buttons] == [
        "Sinh ở bệnh viện, trạm y tế", "Sinh ở nhà", "Nộp trực tuyến trên VNeID"]
    found = BOOK.documents_case("khai_sinh.o_nha")
    assert found is not None
    picked, home = found
    assert picked is proc
    assert home.text.splitlines()[0] == "Khai sinh – Giấy tờ thêm nếu sinh ở nhà:"
    assert "làm chứng" in home.text and "chứng sinh" not in home.text
    assert BOOK.documents_case("khai_sinh.khong_co") is None
    assert BOOK.documents_case("khong_co.o_nha") is None


def run(action, text: str, intent: str, entities: list[dict], slots: dict) -> tuple[str, dict]:
    """Runs one of our Rasa actions as the engine would; the citizen's reply and the slots set."""
    tracker = Tracker("citizen", slots, {"text": text, "intent": {"name": intent}, "entities": entities},
                      [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    with actions.using({"answers": BOOK, "directions": None}):
        events = action.run(dispatcher, tracker, {})
    said = "\n".join(m.get("text") or "" for m in dispatcher.messages)
    set_slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    return said, set_slots


def test_a_digit_or_a_button_picks_a_case_and_gets_its_papers():
    asked, slots = run(actions.ActionAnswer(), "khai sinh can giay to gi", "ask_documents",
                       [{"entity": "procedure", "value": "khai_sinh"}], {"procedure": "khai_sinh"})
    assert BOOK.phrases["documents.cases"] in asked and "làm chứng" not in asked
    assert slots["options"] == [b.payload for b in BOOK.documents(BOOK.catalogue.get("khai_sinh")).buttons]
    # SMS: the citizen answers 2 ("Sinh ở nhà")
    by_digit, after = run(actions.ActionChooseOption(), "2", "choose_option",
                          [{"entity": "number", "value": "2"}], {**slots, "procedure": "khai_sinh"})
    assert by_digit.startswith("Khai sinh – Giấy tờ thêm nếu sinh ở nhà:") and "làm chứng" in by_digit
    assert after["procedure"] == "khai_sinh" and after["options"] is None
    # Telegram, Zalo: the button's payload, parsed by Rasa into the case entity
    by_button, _ = run(actions.ActionAnswer(), '/ask_documents{"case":"khai_sinh.o_nha"}', "ask_documents",
                       [{"entity": "case", "value": "khai_sinh.o_nha"}], {"procedure": "tam_tru"})
    assert by_button == by_digit


def test_staff_preview_shows_each_case_after_the_list():
    proc = BOOK.catalogue.get("thuong_tru")
    shown = preview(BOOK, proc, ["sms"], "documents")
    assert [s.key for s in shown] == ["documents"] + [f"documents.{o.id}" for _, o in BOOK.cases(proc)]
    assert all(s.sms <= DOCUMENTS_MAX_SMS for s in shown)
    assert [s.key for s in preview(BOOK, proc, ["sms"], shown[1].key)] == [shown[1].key]


@pytest.mark.parametrize("text,intent,told", [
    ("de o nha thi sao", "inform_procedure", "Khai sinh – Giấy tờ thêm nếu sinh ở nhà:"),
    ("sinh o benh vien thi can giay gi", "ask_documents", "Khai sinh – Giấy tờ thêm nếu sinh ở bệnh viện"),
    ("nop qua vneid thi sao", "inform_procedure", "Khai sinh – Giấy tờ thêm nếu nộp trực tuyến"),
])
def test_a_case_told_in_words_after_the_question_gets_its_papers(text, intent, told):
    proc = BOOK.catalogue.get("khai_sinh")
    options = [b.payload for b in BOOK.documents(proc).buttons]
    said, _ = run(actions.ActionAnswer(), text, intent, [], {"procedure": "khai_sinh", "options": options})
    assert said.startswith(told)
    # with no case question pending, the same words get the whole answer as before
    said, _ = run(actions.ActionAnswer(), text, "ask_documents", [], {"procedure": "khai_sinh"})
    assert said.startswith("Khai sinh – Giấy tờ cần mang:")
