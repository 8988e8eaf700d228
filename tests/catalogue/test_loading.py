"""Staff mistakes in procedure YAML get the file, the line, the field and a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.catalogue import CatalogueInvalid, load_catalogue, load_file
from bot.cli import main
from tests.paths import REPO

DATA = REPO / "tests" / "data"
MINIMAL = (DATA / "minimal_procedure.yaml").read_text(encoding="utf-8")


def write(tmp_path: Path, text: str, name: str = "thu_tuc_mau.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_procedure_loads(tmp_path):
    proc, errors = load_file(write(tmp_path, MINIMAL))
    assert errors == []
    assert proc.id == "thu_tuc_mau"
    assert proc.processing_time.verified is False
    assert proc.fee.verified is True
    assert proc.documents[1].when == {"noi_sinh": ("o_nha",)}
    assert proc.question("noi_sinh").options[1].words == ("o nha", "tai nha")


# (what the staff member did, replace this, with this, expected line, field, words in the fix)
MISTAKES = [
    ("typo in a key", "fee:\n  text: Miễn phí.", "fee:\n  txt: Miễn phí.", 21, "fee.txt", "text"),
    ("missing required", "deadline:\n  text: Trong 60 ngày.\n", "", 2, "deadline", "deadline:"),
    ("tab indentation", "  text: Giấy mẫu.", "\ttext: Giấy mẫu.", 38, "(cú pháp YAML)", "Tab"),
    ("unquoted colon", "summary: Thủ tục", "summary: Lưu ý: thủ tục", 10, "(cú pháp YAML)",
     "ngoặc kép"),
    ("unknown office", "office: ubnd_xa", "office: ubnd_huyen", 13, "where.office", "cong_an_xa"),
    ("bad code", 'codes: ["9.999999"]', "codes: [9.99]", 3, "codes[1]", "1.001193"),
    ("id differs from file", "id: thu_tuc_mau", "id: khac", 2, "id", "thu_tuc_mau"),
    ("when names unknown option", "noi_sinh: o_nha", "noi_sinh: tren_troi", 19,
     "documents.items[2].when.noi_sinh", "o_nha"),
    ("too few faq phrasings", "      - câu hỏi ba\n", "", 41, "faq[1].questions", "thêm mục"),
    ("bad date", "checked: 2026-11-22", "checked: hôm qua", 65, "checked", "2026-12-02"),
    ("verified not boolean", "  verified: false", "  verified: chua", 29,
     "processing_time.verified", "false"),
    ("duplicate key", "short_name: Mẫu\n", "short_name: Mẫu\nshort_name: Mẫu 2\n", 6,
     "short_name", "xóa"),
    ("text too long for SMS", "answer: Câu trả lời.", "answer: " + "rất dài " * 60, 45,
     "faq[1].answer", "ngắn"),
]


@pytest.mark.parametrize("old,new,line,field,fix", [m[1:] for m in MISTAKES],
                         ids=[m[0] for m in MISTAKES])
def test_mistake_is_located_with_a_fix(tmp_path, old, new, line, field, fix):
    assert old in MINIMAL
    path = write(tmp_path, MINIMAL.replace(old, new, 1))
    proc, errors = load_file(path)
    assert proc is None
    reported = "\n".join(map(str, errors))
    expected = [e for e in errors if (e.path, e.line, e.field) == (path, line, field) and fix in e.fix]
    assert expected, f"no error at line {line}, field {field} with {fix!r} in its fix:\n{reported}"
    assert str(expected[0]).startswith(f"{path}:{line}: {field}: ")
    # one mistake, one place: no error points anywhere else in the file
    assert {(e.path, e.line) for e in errors} == {(path, line)}, reported


def test_not_utf8_is_reported(tmp_path):
    path = tmp_path / "thu_tuc_mau.yaml"
    path.write_bytes(MINIMAL.encode("cp1258", errors="replace"))
    _, errors = load_file(path)
    assert errors and "UTF-8" in str(errors[0])


def test_alias_shared_by_two_procedures_is_refused(tmp_path):
    write(tmp_path, MINIMAL)
    other = (MINIMAL.replace("thu_tuc_mau", "thu_tuc_khac").replace("9.999999", "9.999998")
             .replace("sms_keyword: MAU", "sms_keyword: KHAC").replace("giấy mẫu", "giấy khác"))
    write(tmp_path, other.replace("  - thủ tục mẫu", "  - THU TUC MAU"), "thu_tuc_khac.yaml")
    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(tmp_path)
    (error,) = caught.value.errors
    assert (error.field, error.line) == ("aliases", 8)
    assert "tên gọi" in error.problem and error.fix


def test_validate_command_exit_codes(tmp_path, capsys):
    write(tmp_path, MINIMAL)
    assert main(["validate", "--procedures", str(tmp_path)]) == 0
    assert "Hợp lệ: 1 thủ tục" in capsys.readouterr().out
    write(tmp_path, MINIMAL.replace("office: ubnd_xa", "office: huyen"))
    assert main(["validate", "--procedures", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "thu_tuc_mau.yaml:13: where.office" in err
    assert main(["validate", "--procedures", str(tmp_path / "empty")]) == 1


def test_shipped_catalogue_is_valid_and_complete():
    catalogue = load_catalogue(REPO / "procedures")
    assert {p.id for p in catalogue} >= {
        "khai_sinh", "thuong_tru", "bhyt_tre_em", "lien_thong_khai_sinh", "khai_tu",
        "lien_thong_khai_tu", "dat_dai_lan_dau", "ket_hon", "can_cuoc"}
    for proc in catalogue:
        assert len(proc.faq) >= 3, proc.id
        assert proc.guide, proc.id


def test_a_code_shared_by_two_files_is_a_warning_not_an_error(tmp_path, capsys):
    write(tmp_path, MINIMAL)
    second = (MINIMAL.replace("thu_tuc_mau", "thu_tuc_hai").replace("sms_keyword: MAU", "sms_keyword: HAI")
              .replace("thủ tục mẫu", "thủ tục hai").replace("giấy mẫu", "giấy hai"))
    write(tmp_path, second, "thu_tuc_hai.yaml")
    assert main(["validate", "--procedures", str(tmp_path)]) == 0
    printed = capsys.readouterr()
    assert "Cảnh báo" in printed.err and "cũng dùng cho" in printed.err and "Hợp lệ: 2 thủ tục" in printed.out
