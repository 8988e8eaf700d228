"""``qualifiers:``: the words that turn a general procedure's name into this one. Staff mistakes
in them get the file, the line, the field and a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.catalogue import CatalogueInvalid, load_catalogue, load_file
from tests.paths import REPO

MINIMAL = (REPO / "tests" / "data" / "minimal_procedure.yaml").read_text(encoding="utf-8")
GENERAL = (MINIMAL.replace("thu_tuc_mau", "thu_tuc_chung").replace("9.999999", "9.999998")
           .replace("sms_keyword: MAU", "sms_keyword: CHUNG").replace("thủ tục mẫu", "thủ tục chung")
           .replace("giấy mẫu", "giấy chung"))
LINE = 7  # where the block goes: right after sms_keyword (line 6)


def with_qualifiers(block: str) -> str:
    return MINIMAL.replace("sms_keyword: MAU\n", f"sms_keyword: MAU\n{block}")


def folder(tmp_path: Path, procedure: str) -> Path:
    (tmp_path / "thu_tuc_mau.yaml").write_text(procedure, encoding="utf-8")
    (tmp_path / "thu_tuc_chung.yaml").write_text(GENERAL, encoding="utf-8")
    return tmp_path


def test_qualifiers_load_per_general_procedure(tmp_path):
    catalogue = load_catalogue(folder(tmp_path, with_qualifiers(
        "qualifiers:\n  thu_tuc_chung:\n    - bị rách\n    - người Lào\n")))
    assert catalogue.get("thu_tuc_mau").qualifiers == (("thu_tuc_chung", ("bị rách", "người Lào")),)
    assert catalogue.get("thu_tuc_chung").qualifiers == ()


@pytest.mark.parametrize(("block", "field", "fix"), [
    ("qualifiers:\n  khong_co:\n    - bị rách\n", "qualifiers.khong_co", "id của một thủ tục"),
    ("qualifiers:\n  thu_tuc_mau:\n    - bị rách\n", "qualifiers.thu_tuc_mau", "chung hơn"),
], ids=["unknown procedure", "refines itself"])
def test_a_qualifier_must_refine_another_procedure(tmp_path, block, field, fix):
    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(folder(tmp_path, with_qualifiers(block)))
    (error,) = caught.value.errors
    assert (error.path.name, error.line, error.field) == ("thu_tuc_mau.yaml", LINE, field)
    assert fix in error.fix


@pytest.mark.parametrize(("block", "field", "fix"), [
    ("qualifiers:\n  - bị rách\n", "qualifiers", "procedures/README.md"),
    ("qualifiers:\n  thu_tuc_chung: []\n", "qualifiers", "bị rách"),
    ("qualifiers:\n  Thủ tục chung:\n    - bị rách\n", "qualifiers", "khai_sinh"),
    ("qualifiers:\n  thu_tuc_chung:\n    - " + "rất dài " * 8 + "\n", "qualifiers", "một hai từ"),
], ids=["a list instead of a mapping", "no word", "a name instead of an id", "a sentence"])
def test_malformed_qualifiers_are_located_with_a_fix(tmp_path, block, field, fix):
    path = tmp_path / "thu_tuc_mau.yaml"
    path.write_text(with_qualifiers(block), encoding="utf-8")
    proc, errors = load_file(path)
    assert proc is None
    (error,) = errors
    assert (error.line, error.field) == (LINE, field)
    assert fix in error.fix, error
