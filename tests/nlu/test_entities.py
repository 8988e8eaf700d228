"""Procedure names learnt from annotated examples, found again however they are typed."""

from __future__ import annotations

from functools import partial

import pytest
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.entities import LemmaEntityExtractor
from bot.nlu.segmenter import Segmenter
from tests.nlu import messages

# "làm khai sinh" is one learnt word, so in the second example the annotated span begins inside
# a word: only the first example may teach a name.
SEGMENTER = Segmenter({("lam", "khai", "sinh"), ("bo", "mat")})  # "bố mất": one learnt word


tokenized = partial(messages.tokenized, SEGMENTER)  # (text, [(span, value)], entity)


@pytest.fixture(scope="module")
def extractor(tmp_path_factory: pytest.TempPathFactory) -> LemmaEntityExtractor:
    component, _ = messages.new_extractor(tmp_path_factory.mktemp("model"))
    component.train(TrainingData([
        tokenized("đăng ký kết hôn cần gì", [("đăng ký kết hôn", "ket_hon")]),
        tokenized("làm khai sinh cho bé ở đâu", [("khai sinh cho bé", "khai_sinh")]),
        tokenized("thẻ BHYT cho bé", [("thẻ BHYT", "bhyt_tre_em")]),
        tokenized("mất sổ đỏ thì sao", [("mất sổ đỏ", "cap_lai_so_do")]),
        tokenized("bố mất cần giấy gì", [("bố mất", "khai_tu")], "procedure_event"),
        tokenized("mới mất", [("mới mất", "khai_tu")], "procedure_event"),
        tokenized("giấy báo tử", [("báo tử", "khai_tu")]),
        tokenized("đám cưới", [("đám cưới", "ket_hon")], "procedure_event"),
        tokenized("mới sinh", [("mới sinh", "khai_sinh")], "procedure_event"),
        tokenized("để lại đất", [("để lại đất", "thua_ke_dat")], "procedure_event"),
        tokenized("mua đất", [("mua đất", "chuyen_nhuong_dat|mua_ban_nha")], "procedure_event"),
        tokenized("làm hộ chiếu", [("hộ chiếu", "ho_chieu")], "other_procedure"),
    ]))
    return component


@pytest.mark.parametrize(("text", "expected"), [
    ("dang ky ket hon o dau", {"ket_hon"}),
    ("DANG KY KET HON", {"ket_hon"}),
    ("the bhyt cho be", {"bhyt_tre_em"}),
    # no pattern "cho bé" was learnt from the span that began inside "làm_khai_sinh"
    ("the bhyt cho be lay o dau", {"bhyt_tre_em"}),
    ("thuong tru cho be", set()),
    ("chon so 3", set()),
])
def test_procedures_found(extractor: LemmaEntityExtractor, text: str, expected: set[str]) -> None:
    message = tokenized(text)
    extractor.process([message])
    assert {e["value"] for e in message.get("entities") if e["entity"] == "procedure"} == expected


def test_a_digit_is_an_option_number(extractor: LemmaEntityExtractor) -> None:
    message = tokenized("chon so 3")
    extractor.process([message])
    assert [(e["entity"], e["value"]) for e in message.get("entities")] == [("number", "3")]


def _found(extractor: LemmaEntityExtractor, text: str) -> set[tuple[str, str]]:
    message = tokenized(text)
    extractor.process([message])
    return {(e["entity"], e["value"]) for e in message.get("entities")}


@pytest.mark.parametrize(("text", "expected"), [
    # a told situation leads to its procedure, its words a few apart at most
    ("bo toi vua mat hom qua can giay gi", {("procedure_told", "khai_tu")}),
    ("bố mất rồi", {("procedure_told", "khai_tu")}),
    ("bo toi o que lau roi gio da mat", set()),  # too far apart to be one phrase
    # a name always wins over a story, even when the story's words overlap it
    ("me toi moi mat so do", {("procedure", "cap_lai_so_do")}),
    ("bo mat, dang ky ket hon lai", {("procedure", "ket_hon")}),
    # two situations, or one that fits two procedures: every candidate, for the bot to ask
    ("bo mat de lai dat cho toi", {("procedure_told", "khai_tu"), ("procedure_told", "thua_ke_dat")}),
    ("mua dat cua hang xom", {("procedure_told", "chuyen_nhuong_dat"), ("procedure_told", "mua_ban_nha")}),
    # a procedure we do not cover is its own entity, never one of ours
    ("lam ho chieu can gi", {("other_procedure", "ho_chieu")}),
    # words folded onto a name ("báo từ chối" is no "báo tử")
    ("giay bao tu cua ong mat roi", {("procedure", "khai_tu")}),
    ("ho so bi bao tu choi roi", set()),
    # an event denied ("chưa làm đám cưới") gives way to another event; alone it is kept
    ("chua lam dam cuoi ma con moi sinh", {("procedure_told", "khai_sinh")}),
    ("hai dua chua lam dam cuoi", {("procedure_told", "ket_hon")}),
])
def test_stories_and_names(extractor: LemmaEntityExtractor, text: str,
                           expected: set[tuple[str, str]]) -> None:
    assert _found(extractor, text) == expected


@pytest.mark.parametrize("order", [("procedure_event", "procedure"), ("procedure", "procedure_event")])
def test_words_annotated_as_a_name_and_a_situation_are_the_name(tmp_path, order) -> None:
    """An author annotated "tài khoản định danh mức 2" as a situation, staff list it as a name:
    whichever example comes first, the name is found beside another one ("thẻ căn cước")."""
    component, _ = messages.new_extractor(tmp_path)
    component.train(TrainingData(
        [tokenized("tài khoản định danh mức 2", [("tài khoản định danh mức 2", "vneid_muc_2")], kind)
         for kind in order] + [tokenized("thẻ căn cước", [("thẻ căn cước", "can_cuoc")])]))
    message = tokenized("mới đổi thẻ căn cước, tài khoản định danh mức 2 bao lâu thì dùng được")
    component.process([message])
    assert {e["value"] for e in message.get("entities") if e["entity"] == "procedure"} >= {"vneid_muc_2"}
