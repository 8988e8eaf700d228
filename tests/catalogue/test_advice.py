"""Warnings that teach: a valid file that still misleads citizens gets one warning per problem,
with the file, the line, the field and what to do, in Vietnamese."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.catalogue import CatalogueInvalid, check_catalogue
from bot.catalogue.advice import alias_key
from bot.nlu.segmenter import load_abbreviations
from tests.paths import REPO

TODAY = dt.date(2026, 12, 3)
MINIMAL = (REPO / "tests" / "data" / "minimal_procedure.yaml").read_text(encoding="utf-8")
# The minimal file with the reason its unverified fact needs: it draws no warning at all.
CLEAN = MINIMAL.replace("  text: Trong ngày.\n  verified: false\n",
                        "  text: Trong ngày.\n  verified: false\n  note: Chưa đối chiếu được văn bản.\n")
# A second procedure, whose file sorts after the first: cross-file warnings land on it.
OTHER = (CLEAN.replace("thu_tuc_mau", "thu_tuc_sau").replace("9.999999", "9.999998")
         .replace("MAU", "KHAC").replace("  - thủ tục mẫu\n  - giấy mẫu\n",
                                         "  - thủ tục khác\n  - giấy khác\n"))


def write(folder: Path, text: str, name: str = "thu_tuc_mau.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the only line of ``path`` holding ``needle``."""
    found = [n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in text]
    assert len(found) == 1, (needle, found)
    return found[0]


def test_the_clean_file_draws_no_warning(tmp_path):
    write(tmp_path, CLEAN)
    write(tmp_path, OTHER, "thu_tuc_sau.yaml")
    assert check_catalogue(tmp_path, today=TODAY)[1] == []


# (case, replace this in CLEAN, with this, the line holding this text, field, words of the problem,
#  words of the fix)
CASES = [
    ("file date older than 180 days", "checked: 2026-11-22", "checked: 2025-01-02",
     "checked: 2025-01-02", "checked", "2025-01-02 đã cách đây 700 ngày",
     "đối chiếu lại các thông tin đó với nguồn"),
    ("a fact's own old date", "  source: luat\n", "  source: luat\n  checked: 2026-01-02\n",
     "checked: 2026-01-02", "fee.checked", "dùng cho: fee", "sửa ngày ở dòng này"),
    ("unverified fact without a reason", "  note: Chưa đối chiếu được văn bản.\n", "",
     "processing_time:", "processing_time", "không có nguồn", "ghi lý do vào note:"),
    ("unverified documents without a reason comment", "        noi_sinh: o_nha\nfee:",
     "        noi_sinh: o_nha\n  verified: false\nfee:", "documents:", "documents", "không có nguồn",
     "một dòng '# ...'"),
    ("draft not rewritten", "checked: 2026-11-22\n", "checked: 2026-11-22\ndraft: true\n",
     "draft: true", "draft", "bản nháp", "xóa dòng draft: true"),
    ("FAQ phrased only with diacritics", "      - cau hoi hai\n", "      - câu hỏi hai\n",
     "    questions:", "faq[1].questions", "đều có dấu", "ví dụ: - cau hoi mot"),
    ("fee without an amount", "  text: Miễn phí.", "  text: Có thu lệ phí.", "Có thu lệ phí",
     "fee.text", "không ghi số tiền", "not_stated_by:"),
    ("deadline without days", "  text: Trong 60 ngày.", "  text: Làm càng sớm càng tốt.",
     "càng sớm", "deadline.text", "không ghi số ngày", "days: 60"),
]


@pytest.mark.parametrize("old,new,needle,field,problem,fix", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_each_problem_gets_exactly_its_warning(tmp_path, old, new, needle, field, problem, fix):
    assert old in CLEAN
    path = write(tmp_path, CLEAN.replace(old, new, 1))
    _, warnings = check_catalogue(tmp_path, today=TODAY)
    assert len(warnings) == 1, "\n".join(map(str, warnings))
    (warning,) = warnings
    assert (warning.path, warning.line, warning.field) == (path, line_of(path, needle), field), str(warning)
    assert problem in warning.problem and fix in warning.fix, str(warning)
    assert str(warning).startswith(f"{path}:{warning.line}: {field}: ")


# Ways the file says what its source does not: each silences the warning above.
SILENCED = [
    ("fee stated as free", "  text: Miễn phí.", "  text: Không thu lệ phí."),
    ("fee with an amount", "  text: Miễn phí.", "  text: 20.000 đồng nộp trực tiếp."),
    ("fee set by the provincial council", "  text: Miễn phí.",
     "  text: Lệ phí do Hội đồng nhân dân (HĐND) tỉnh quy định, hỏi TTPVHCC của xã."),
    ("fee the source does not state", "  text: Miễn phí.", "  text: Có thu lệ phí.\n  not_stated_by: cong"),
    ("deadline days as a field", "  text: Trong 60 ngày.",
     "  text: Làm sớm sau khi sinh.\n  days: 60\n  counted_from: sinh"),
    ("deadline the sources do not state", "  text: Trong 60 ngày.",
     "  text: Không có thời hạn.\n  not_stated_by: [cong, luat]"),
    ("documents' reason in a comment", "        noi_sinh: o_nha\nfee:",
     "        noi_sinh: o_nha\n  # Chưa đối chiếu được hồ sơ.\n  verified: false\nfee:"),
]


@pytest.mark.parametrize("old,new", [s[1:] for s in SILENCED], ids=[s[0] for s in SILENCED])
def test_an_explicit_statement_draws_no_warning(tmp_path, old, new):
    assert old in CLEAN
    write(tmp_path, CLEAN.replace(old, new, 1))
    assert check_catalogue(tmp_path, today=TODAY)[1] == []


def test_not_stated_by_must_name_a_source_of_the_file(tmp_path):
    path = write(tmp_path, CLEAN.replace("  text: Miễn phí.", "  text: Có thu.\n  not_stated_by: cong_an"))
    with pytest.raises(CatalogueInvalid) as raised:
        check_catalogue(tmp_path, today=TODAY)
    (error,) = raised.value.errors
    assert (error.line, error.field) == (line_of(path, "not_stated_by"), "fee.not_stated_by")
    assert "cong, luat" in error.fix


def test_the_age_limit_is_configurable(tmp_path):
    write(tmp_path, CLEAN)  # checked 2026-11-22: 11 days before TODAY
    assert check_catalogue(tmp_path, max_age=11, today=TODAY)[1] == []
    (warning,) = check_catalogue(tmp_path, max_age=10, today=TODAY)[1]
    assert warning.field == "checked" and "quá 10 ngày" in warning.problem


def test_one_old_date_is_one_warning_listing_the_facts_that_use_it(tmp_path):
    path = write(tmp_path, CLEAN.replace("checked: 2026-11-22", "checked: 2025-01-02"))
    (warning,) = check_catalogue(tmp_path, today=TODAY)[1]
    assert warning.line == line_of(path, "checked: 2025-01-02")
    for fact in ("where", "fee", "deadline", "processing_time", "documents", "steps", "faq[1]"):
        assert fact in warning.problem


# (case, the other procedure's alias, whether a warning is expected and its words)
ALIASES = [
    ("same once request words are dropped", "làm giấy mẫu", "trùng với 'giấy mẫu'"),
    ("same once chat spelling is expanded", "dk thu tuc mau", "trùng với 'đăng ký thủ tục mẫu'"),
    ("one letter apart", "giấy mẫy", "gần giống 'giấy mẫu'"),
    ("one alias starts the other", "giấy mẫus", None),
    ("short ones one letter apart", "giấy", None),
]


@pytest.mark.parametrize("alias,expected", [a[1:] for a in ALIASES], ids=[a[0] for a in ALIASES])
def test_aliases_the_nlu_would_confuse(tmp_path, alias, expected):
    write(tmp_path, CLEAN.replace("  - giấy mẫu\n", "  - giấy mẫu\n  - đăng ký thủ tục mẫu\n"))
    other = write(tmp_path, OTHER.replace("  - giấy khác\n", f"  - giấy khác\n  - {alias}\n"),
                  "thu_tuc_sau.yaml")
    warnings = check_catalogue(tmp_path, today=TODAY)[1]
    if expected is None:
        assert warnings == []
        return
    (warning,) = warnings
    assert (warning.path, warning.line, warning.field) == (other, line_of(other, f"- {alias}"), "aliases")
    assert expected in warning.problem and "thu_tuc_mau.yaml" in warning.problem
    assert "xóa tên gọi" in warning.fix


def test_alias_key_folds_expands_and_drops_request_words():
    abbreviations = load_abbreviations()
    assert alias_key("Làm giấy KS", abbreviations) == alias_key("giay khai sinh", abbreviations)
    assert alias_key("căn cước", abbreviations) == "can cuoc"  # "can" is not a request word


def test_a_code_shared_on_purpose_is_said_so(tmp_path):
    write(tmp_path, CLEAN)
    other = write(tmp_path, OTHER.replace("9.999998", "9.999999"), "thu_tuc_sau.yaml")
    (warning,) = check_catalogue(tmp_path, today=TODAY)[1]
    assert (warning.path, warning.line, warning.field) == (other, line_of(other, "codes:"), "codes")
    assert "shares_code_with: thu_tuc_mau" in warning.fix
    write(tmp_path, OTHER.replace("9.999998", "9.999999").replace(
        'codes: ["9.999999"]\n', 'codes: ["9.999999"]\nshares_code_with: thu_tuc_mau\n'), "thu_tuc_sau.yaml")
    assert check_catalogue(tmp_path, today=TODAY)[1] == []
