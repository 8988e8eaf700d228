"""Every fact names its source and checked date; schema errors still point at the line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.catalogue import check_catalogue, load_catalogue, load_file
from bot.catalogue.loading import check_file
from bot.cli import main
from tests.paths import REPO

MINIMAL = (REPO / "tests" / "data" / "minimal_procedure.yaml").read_text(encoding="utf-8")


def write(tmp_path: Path, text: str, name: str = "thu_tuc_mau.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_default_source_is_inherited_and_overridden(tmp_path):
    text = MINIMAL.replace("  text: Trong 60 ngày.\n", "  text: Trong 60 ngày.\n  checked: 2026-12-01\n")
    text = text.replace("    - text: Tờ khai.\n", "    - text: Tờ khai.\n      source: [luat, cong]\n")
    proc, errors = load_file(write(tmp_path, text))
    assert errors == []
    assert proc.codes == ("9.999999",) and proc.code == "9.999999"
    assert proc.where.sourcing.sources == ("cong",)  # the first source is the default
    assert proc.where.sourcing.checked == dt.date(2026, 11, 22)
    assert proc.fee.sourcing.sources == ("luat",)
    assert proc.deadline.sourcing.checked == dt.date(2026, 12, 1)
    assert proc.documents[0].sourcing.sources == ("luat", "cong")
    assert proc.documents[1].sourcing.sources == ("cong",)
    assert proc.faq[0].sourcing.sources == ("cong",)
    assert proc.steps_sourcing.sources == ("cong",)
    # an unverified fact claims no source it did not name; its note says why
    assert proc.processing_time.sourcing.sources == ()
    portal, law = proc.sources
    assert (portal.kind, portal.ref) == ("portal", "9.999999") and "dichvucong.gov.vn" in portal.url
    assert (law.kind, law.ref, law.article) == ("law", "Luật mẫu", "Điều 1")


# (what the staff member did, replace this, with this, expected line, field, words in the fix)
MISTAKES = [
    ("unknown source id", "  source: luat\n", "  source: luat_moi\n", 22, "fee.source", "cong, luat"),
    ("source with no kind", "    law: Luật mẫu\n", "", 62, "sources[2]", "article"),
    ("law without article", "    article: Điều 1\n", "", 62, "sources[2]", "article:"),
    ("portal without its url", "    url: https://dichvucong", "    url: https://example", 59,
     "sources[1]", "dichvucong.gov.vn"),
    ("typo in a source key", "    article: Điều 1", "    artcle: Điều 1", 64, "sources[2].artcle",
     "article"),
    ("missing checked date", "checked: 2026-11-22\n", "", 2, "checked", "checked:"),
    ("bad fact date", "  text: Trong 60 ngày.\n", "  text: Trong 60 ngày.\n  checked: 31/12/2026\n",
     27, "deadline.checked", "2026-12-02"),
    ("old single code", 'codes: ["9.999999"]', 'code: "9.999999"', 3, "code", "codes"),
    ("duplicate source id", "  - id: luat", "  - id: cong", 58, "sources", "khác nhau"),
]


@pytest.mark.parametrize("old,new,line,field,fix", [m[1:] for m in MISTAKES],
                         ids=[m[0] for m in MISTAKES])
def test_source_mistake_is_located_with_a_fix(tmp_path, old, new, line, field, fix):
    assert old in MINIMAL
    path = write(tmp_path, MINIMAL.replace(old, new, 1))
    proc, errors = load_file(path)
    assert proc is None and errors, "the mistake was not reported"
    first = errors[0]
    assert (first.line, first.field) == (line, field), str(first)
    assert fix in first.fix, str(first)


DRAFT = MINIMAL.replace("checked: 2026-11-22\n", "checked: 2026-11-22\ndraft: true\n").replace(
    "summary: Thủ tục dùng để kiểm thử trình kiểm tra.", "summary: " + "Rất dài. " * 30)


def test_draft_length_problems_are_warnings_and_drafts_never_answer(tmp_path, capsys):
    report = check_file(write(tmp_path, DRAFT), today=dt.date(2026, 12, 3))
    assert report.errors == [] and report.procedure.draft
    # the length problem is only a warning in a draft; so is the unverified fact without a reason
    assert [w.field for w in report.warnings] == ["draft", "summary", "processing_time"]
    published = tmp_path / "published"
    published.mkdir()
    assert load_file(write(published, DRAFT.replace("draft: true", "draft: false")))[0] is None
    write(tmp_path, MINIMAL.replace("thu_tuc_mau", "thu_tuc_khac").replace("9.999999", "9.999998")
          .replace("MAU", "KHAC"), "thu_tuc_khac.yaml")
    everything, warnings = check_catalogue(tmp_path)
    assert {p.id for p in everything} == {"thu_tuc_mau", "thu_tuc_khac"}
    assert any(w.field == "aliases" for w in warnings)  # the draft's clash waits for publishing
    assert [p.id for p in load_catalogue(tmp_path)] == ["thu_tuc_khac"]
    assert main(["validate", "--procedures", str(tmp_path)]) == 0
    printed = capsys.readouterr()
    assert "Cảnh báo:" in printed.err and "Bản nháp, chưa dùng để trả lời: 1 (thu_tuc_mau)" in printed.out
