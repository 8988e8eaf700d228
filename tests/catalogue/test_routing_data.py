"""The data that routes a question: situations told instead of a name, menu groups, and the
procedures we do not cover. Staff mistakes in them get the file, the line and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.catalogue import CatalogueInvalid, check_catalogue, load_catalogue
from tests.paths import REPO

MINIMAL = (REPO / "tests" / "data" / "minimal_procedure.yaml").read_text(encoding="utf-8")
NOT_COVERED = """checked: 2026-12-02
procedures:
  - id: ho_chieu
    name: Cấp hộ chiếu phổ thông
    code: "1.001456"
    aliases: [hộ chiếu, làm hộ chiếu]
"""


def folder(tmp_path: Path, procedure: str = MINIMAL, not_covered: str | None = NOT_COVERED) -> Path:
    (tmp_path / "thu_tuc_mau.yaml").write_text(procedure, encoding="utf-8")
    if not_covered is not None:
        (tmp_path / "_chua_ho_tro.yaml").write_text(not_covered, encoding="utf-8")
    return tmp_path


def with_keys(extra: str) -> str:
    return MINIMAL.replace("sms_keyword: MAU\n", f"sms_keyword: MAU\n{extra}")


def test_events_group_and_not_covered_load(tmp_path):
    catalogue = load_catalogue(folder(tmp_path, with_keys("group: ho_tich\nevents:\n  - mới sinh\n")))
    (proc,) = catalogue
    assert (proc.group, proc.events) == ("ho_tich", ("mới sinh",))
    (entry,) = catalogue.not_covered
    assert entry.url.endswith("ma_thu_tuc=1.001456") and entry.aliases == ("hộ chiếu", "làm hộ chiếu")


WITH_QUALIFIERS = NOT_COVERED + """    qualifiers:
      thu_tuc_mau: [nước ngoài, hộ gia đình]
"""


def test_a_procedure_not_covered_may_refine_one_we_cover(tmp_path):
    from bot.build.generate import qualifier_tables
    from bot.nlu.entities import qualifier_table

    catalogue = load_catalogue(folder(tmp_path, not_covered=WITH_QUALIFIERS))
    (entry,) = catalogue.not_covered
    assert entry.qualifiers == (("thu_tuc_mau", ("nước ngoài", "hộ gia đình")),)
    assert qualifier_table("thu_tuc_mau", "ho_chieu") in qualifier_tables(catalogue)


def test_a_procedure_without_group_is_in_the_other_group(tmp_path):
    (proc,) = load_catalogue(folder(tmp_path, not_covered=None))
    assert proc.group == "khac"


# (mistake, procedure text, not-covered text, file, field, words of the fix)
MISTAKES = [
    ("unknown group", with_keys("group: giay_to\n"), NOT_COVERED, "thu_tuc_mau.yaml", "group",
     "cu_tru"),
    ("event that is a name", with_keys("events:\n  - thủ tục mẫu\n"), NOT_COVERED, "thu_tuc_mau.yaml",
     "events", "không phải tên thủ tục"),
    ("name we cover listed as not covered", MINIMAL, NOT_COVERED.replace("[hộ chiếu,", "[thủ tục mẫu,"),
     "_chua_ho_tro.yaml", "procedures[1].aliases", "đã có tệp riêng"),
    ("code in the wrong shape", MINIMAL, NOT_COVERED.replace('"1.001456"', '"1001456"'),
     "_chua_ho_tro.yaml", "procedures[1].code", "1.001456"),
    ("refines a procedure that does not exist", MINIMAL,
     WITH_QUALIFIERS.replace("thu_tuc_mau:", "khai_sinh:"), "_chua_ho_tro.yaml",
     "procedures[1].qualifiers.khai_sinh", "tên tệp"),
    ("qualifier word too long", MINIMAL, WITH_QUALIFIERS.replace("nước ngoài", "rất " * 12),
     "_chua_ho_tro.yaml", "procedures[1].qualifiers", "từ đặc trưng"),
    ("entry without aliases", MINIMAL, NOT_COVERED.replace("    aliases: [hộ chiếu, làm hộ chiếu]\n", ""),
     "_chua_ho_tro.yaml", "procedures[1].aliases", ""),
]


@pytest.mark.parametrize(("procedure", "not_covered", "file", "field", "fix"), [m[1:] for m in MISTAKES],
                         ids=[m[0] for m in MISTAKES])
def test_mistake_is_located_with_a_fix(tmp_path, procedure, not_covered, file, field, fix):
    with pytest.raises(CatalogueInvalid) as raised:
        check_catalogue(folder(tmp_path, procedure, not_covered))
    located = [e for e in raised.value.errors if e.path.name == file and e.field == field]
    assert located, [str(e) for e in raised.value.errors]
    assert located[0].line > 0 and fix in located[0].fix


def test_the_shipped_list_of_procedures_not_covered_has_official_codes():
    catalogue = load_catalogue(REPO / "procedures")
    assert len(catalogue.not_covered) >= 10
    assert sum(1 for entry in catalogue.not_covered if entry.url) >= 8
