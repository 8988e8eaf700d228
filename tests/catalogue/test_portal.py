"""``bot import``: a portal record becomes a draft that validates and never answers."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from bot.catalogue import load_catalogue
from bot.catalogue.loading import check_file
from bot.catalogue.portal import procedure_id
from bot.cli import main
from tests.paths import REPO

DATA = REPO / "tests" / "data"
RECORD = DATA / "portal_record_two_cases.json"
MINIMAL = DATA / "minimal_procedure.yaml"


@pytest.fixture
def root(tmp_path):
    (tmp_path / "procedures").mkdir()
    shutil.copy(MINIMAL, tmp_path / "procedures" / "thu_tuc_mau.yaml")
    return tmp_path


def run(root, *args):
    return main(["--root", str(root), "import", *map(str, args)])


def test_the_draft_validates_as_a_draft_and_never_answers(root, capsys):
    assert run(root, RECORD) == 0
    path = root / "procedures" / "dang_ky_nuoi_ong_mat.yaml"
    assert "0 lỗi" in capsys.readouterr().out
    report = check_file(path)
    assert report.errors == [] and report.procedure.draft
    assert report.warnings[0].field == "draft"
    assert [p.id for p in load_catalogue(root / "procedures")] == ["thu_tuc_mau"]
    assert main(["--root", str(root), "validate"]) == 0
    assert "Bản nháp, chưa dùng để trả lời: 1 (dang_ky_nuoi_ong_mat)" in capsys.readouterr().out


def test_fields_map_from_the_record(root):
    assert run(root, RECORD) == 0
    proc = check_file(root / "procedures" / "dang_ky_nuoi_ong_mat.yaml").procedure
    assert proc.codes == ("9.000001",) and proc.name == "Thủ tục đăng ký nuôi ong mật"
    assert proc.office == "ubnd_xa" and "Trung tâm Phục vụ hành chính công xã" in proc.where.text
    assert proc.processing_time.text == "Nộp trực tiếp - 5 ngày làm việc; Nộp trực tuyến - 3 ngày làm việc."
    assert proc.fee.text == "Nộp trực tiếp - 20.000 đồng; Nộp trực tuyến - 10.000 đồng."
    assert "20.000 đồng/lần" in proc.fee.note
    assert [d.text for d in proc.documents] == [
        "Tờ khai nuôi ong (bắt buộc; bản chính - 1; mẫu - Mau 01-NO.docx)",
        "Sơ đồ vườn (bản sao - 2)",
        "Hợp đồng thuê đất (bắt buộc; bản chính - 1; bản sao - 1)",
    ]
    (question,) = proc.guide
    assert [o.label for o in question.options] == ["Nuôi ong trong vườn nhà", "Nuôi ong trên đất thuê"]
    assert proc.documents[2].when == {"truong_hop": ("truong_hop_2",)}
    assert proc.steps == ("Bước 1: Nộp tờ khai tại xã.", "Bước 2: Cán bộ kiểm tra vườn.",
                          "Bước 3: Nhận giấy xác nhận.")
    assert proc.result.text == "Giấy xác nhận nuôi ong"
    assert proc.legal_basis == ("Luật Chăn nuôi số 32/2018/QH14", "99/2026/NĐ-CP")
    assert proc.online_level == "mot_phan" and proc.who.text == "Công dân Việt Nam"
    assert not proc.deadline.verified  # the portal has no deadline: never invented
    (source,) = proc.sources
    assert (source.kind, source.ref) == ("portal", "9.000001")
    assert source.url.startswith("https://dichvucong.gov.vn/") and source.url.endswith("=9.000001")
    assert proc.checked == dt.date(2026, 4, 15)
    for fact in (proc.where, proc.fee, proc.processing_time, proc.result, *proc.documents):
        assert fact.sourcing.sources == ("cong",) and fact.sourcing.checked == proc.checked


def test_malformed_record_is_a_clear_error_with_exit_code_2(root, tmp_path, capsys):
    assert run(root, DATA / "portal_record_malformed.json") == 2
    err = capsys.readouterr().err
    assert "không phải hồ sơ thủ tục" in err and "executionMethods" in err and "Traceback" not in err
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert run(root, broken) == 2
    assert "không phải JSON" in capsys.readouterr().err
    assert run(root, tmp_path / "missing.json") == 2
    assert list((root / "procedures").glob("*.yaml")) == [root / "procedures" / "thu_tuc_mau.yaml"]


def test_never_overwrites_without_force_and_out_names_the_id(root, tmp_path, capsys):
    assert run(root, RECORD) == 0
    path = root / "procedures" / "dang_ky_nuoi_ong_mat.yaml"
    path.write_text("# sửa tay\n", encoding="utf-8")
    assert run(root, RECORD) == 1
    assert "Không ghi đè" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == "# sửa tay\n"
    assert run(root, RECORD, "--force") == 0
    assert check_file(path).errors == []
    out = tmp_path / "nuoi_ong.yaml"
    assert run(root, RECORD, "--out", out) == 0
    assert check_file(out).procedure.id == "nuoi_ong"
    assert not list(tmp_path.glob(".nuoi_ong.yaml.*")), "the temporary file was left behind"


def test_id_is_ascii_and_folded():
    assert procedure_id("Thủ tục Đăng ký khai sinh") == "dang_ky_khai_sinh"
    assert procedure_id("Cấp, cấp đổi, cấp lại thẻ căn cước cho người từ đủ 14 tuổi trở lên") == (
        "cap_cap_doi_cap_lai_the_can_cuoc_cho")
