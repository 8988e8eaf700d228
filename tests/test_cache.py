"""What a start keeps in var/cache (bot/cache.py): the catalogue checked and the address gazetteer
indexed are read back on the next start, and a change to a procedure file is answered at once."""

from __future__ import annotations

import shutil

import pytest

from bot.cache import cached
from bot.catalogue import CatalogueInvalid
from bot.dialogue import actions
from bot.dialogue.answers import Answers
from bot.project import Project
from tests.paths import PROJECT

FEE = "Miễn phí nếu đăng ký đúng hạn (trong 60 ngày từ ngày sinh)."


@pytest.fixture
def project(tmp_path) -> Project:
    shutil.copytree(PROJECT.procedures, tmp_path / "procedures")
    shutil.copytree(PROJECT.flows, tmp_path / "flows")
    return Project.locate(tmp_path)


def fee_of_khai_sinh(project: Project) -> str:
    answers = actions.load(project)["answers"]
    return answers.aspect(answers.catalogue.get("khai_sinh"), "fee").text


def test_the_second_start_reads_the_checked_catalogue_and_an_edit_is_answered_at_once(project, monkeypatch):
    assert FEE in fee_of_khai_sinh(project)
    assert [p.name.split("-")[0] for p in project.cache.glob("*.pickle")] == ["catalogue"]

    built = []
    monkeypatch.setattr(Answers, "faq_index", staticmethod(lambda catalogue: built.append(1) or []))
    assert FEE in fee_of_khai_sinh(project)
    assert built == []  # read back, not checked again

    path = project.procedures / "khai_sinh.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(FEE, "Miễn phí, mọi trường hợp."),
                    encoding="utf-8")
    assert "Miễn phí, mọi trường hợp." in fee_of_khai_sinh(project)
    assert built == [1]
    assert len(list(project.cache.glob("catalogue-*.pickle"))) == 1  # the older one is gone


def test_an_invalid_catalogue_stops_every_start_even_after_a_valid_one_was_kept(project):
    fee_of_khai_sinh(project)
    path = project.procedures / "khai_sinh.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("fee:", "fees:", 1), encoding="utf-8")
    for _ in range(2):
        with pytest.raises(CatalogueInvalid) as raised:
            actions.load(project)
        assert any(error.path.name == "khai_sinh.yaml" for error in raised.value.errors)


@pytest.mark.parametrize("damage", [b"", b"not a pickle", b"\x80\x05garbage"])
def test_a_damaged_cache_file_is_built_again(tmp_path, damage):
    (tmp_path / "thing-abc.pickle").write_bytes(damage)
    assert cached(tmp_path, "thing", "abc", lambda: {"built": True}) == {"built": True}
    assert cached(tmp_path, "thing", "abc", lambda: {"built": False}) == {"built": True}


def test_a_folder_that_cannot_be_written_only_costs_the_time(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert cached(blocked / "cache", "thing", "abc", lambda: 42) == 42
    assert cached(None, "thing", "abc", lambda: 43) == 43


def test_the_address_gazetteer_is_indexed_once_then_read_back_when_an_address_is_first_read(
        tmp_path, monkeypatch):
    from bot.address import AddressBook, book

    monkeypatch.setattr(book, "_cache_folder", [tmp_path])
    first = AddressBook(book._kept_gazetteer)
    assert list(tmp_path.glob("*.pickle")) == []  # nothing built before an address is read
    assert first.find("toi o xa ia phi huyen chu pah gia lai").unit.ward == "Xã Ia Phí"
    assert [p.name.split("-")[0] for p in tmp_path.glob("*.pickle")] == ["gazetteer"]

    class Unbuildable(book.Gazetteer):
        def __init__(self) -> None:
            raise AssertionError("indexed again")

    monkeypatch.setattr(book, "Gazetteer", Unbuildable)
    again = AddressBook(book._kept_gazetteer)
    assert again.find("xa ia phi, gia lai").unit.ward == "Xã Ia Phí"
