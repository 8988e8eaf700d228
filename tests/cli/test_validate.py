"""``bot validate``: warnings a staff member can act on, ``--strict`` for CI, ``--max-age``."""

from __future__ import annotations

import pytest

from bot.cli import main
from tests.catalogue.test_advice import CLEAN, line_of, write
from tests.paths import REPO

# Four papers of about 140 characters: the documents answer needs more than 3 SMS.
LONG_PAPERS = "".join(
    f"    - text: Giấy tờ số {n} mang theo khi đi nộp hồ sơ, bản chính hoặc bản sao có chứng thực, "
    "kèm bản photo để cán bộ đối chiếu tại bộ phận một cửa của xã.\n" for n in range(1, 5))
LONG = CLEAN.replace("    - text: Tờ khai.\n", "    - text: Tờ khai.\n" + LONG_PAPERS)


def validate(tmp_path, *options: str) -> int:
    """``bot validate`` on ``tmp_path``; dates count as fresh unless ``--max-age`` is given, so a
    case about something else still holds once the fixture's date is months old."""
    age = () if "--max-age" in options else ("--max-age", "100000")
    return main(["--root", str(REPO), "validate", "--procedures", str(tmp_path), *age, *options])


def test_an_answer_over_three_sms_is_named_with_its_line(tmp_path, capsys):
    path = write(tmp_path, LONG)
    assert validate(tmp_path) == 0
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("Cảnh báo:")]
    assert len(warnings) == 1, err
    expected = f"Cảnh báo: {path}:{line_of(path, 'documents:')}: documents: câu trả lời qua SMS cần"
    assert warnings[0].startswith(expected), warnings[0]
    assert "quá 3 tin" in warnings[0] and "sms_parts:" in warnings[0]
    assert "bot preview thu_tuc_mau --channel sms --aspect documents" in warnings[0]


def test_staff_can_accept_a_long_documents_list_and_a_stale_acceptance_warns(tmp_path, capsys):
    write(tmp_path, LONG.replace("documents:\n", "documents:\n  sms_parts: 9\n"))
    assert validate(tmp_path, "--strict") == 0
    write(tmp_path, LONG.replace("documents:\n", "documents:\n  sms_parts: 4\n"))
    assert validate(tmp_path, "--strict") == 1  # the list grew past what staff accepted
    assert "(đã chấp nhận 4)" in capsys.readouterr().err
    path = write(tmp_path, CLEAN.replace("documents:\n", "documents:\n  sms_parts: 4\n"))
    assert validate(tmp_path) == 0
    err = capsys.readouterr().err
    assert f"{path}:{line_of(path, 'documents:')}: documents.sms_parts:" in err
    assert "xóa dòng sms_parts" in err


def test_strict_turns_every_warning_into_an_error(tmp_path, capsys):
    path = write(tmp_path, CLEAN.replace("  text: Miễn phí.", "  text: Có thu lệ phí."))
    assert validate(tmp_path) == 0
    out = capsys.readouterr()
    assert f"Cảnh báo: {path}:" in out.err and "Hợp lệ: 1 thủ tục" in out.out
    assert validate(tmp_path, "--strict") == 1
    out = capsys.readouterr()
    assert f"\n{path}:{line_of(path, 'Có thu lệ phí')}: fee.text: " in "\n" + out.err
    assert "Có 1 lỗi" in out.err and "--strict" in out.err and "Hợp lệ" not in out.out


def test_max_age_is_an_option(tmp_path, capsys):
    write(tmp_path, CLEAN.replace("checked: 2026-11-22", "checked: 2026-01-02"))
    assert validate(tmp_path, "--strict", "--max-age", "100000") == 0
    assert validate(tmp_path, "--strict", "--max-age", "30") == 1
    assert "quá 30 ngày" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        validate(tmp_path, "--max-age", "hai")


def test_the_shipped_catalogue_passes_strict(capsys):
    assert main(["--root", str(REPO), "validate", "--strict"]) == 0, capsys.readouterr().err
    out = capsys.readouterr()
    assert "Cảnh báo" not in out.err and "Hợp lệ: 45 thủ tục" in out.out
