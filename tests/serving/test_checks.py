"""Conversation checks staff write (tests/conversations/*.yml): the files, the judge, the command."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.serving.checks import Case, CasesInvalid, case_files, judge, load_cases, run_case, summary
from bot.serving.store import Store
from tests.paths import REPO

PROJECT_CASES = load_cases(case_files(REPO / "tests" / "conversations"))


def write(tmp_path: Path, text: str, name: str = "cases.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- The project's own cases, against the session model -------------------------------------------

@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> Store:
    return Store.sqlite(tmp_path_factory.mktemp("checks") / "pages.db")


@pytest.mark.parametrize("case", PROJECT_CASES, ids=[c.id for c in PROJECT_CASES])
def test_project_case(engine, event_loop_session, pages, case):
    outcome = event_loop_session.run_until_complete(run_case(engine, pages, case))
    assert outcome.passed, outcome.line()


def test_every_procedure_has_an_sms_fee_or_documents_case():
    from bot.catalogue import load_catalogue
    from bot.text import search_key

    sms = [c for c in PROJECT_CASES if c.channel == "sms" and c.gsm7 and c.max_segments == 3]
    for proc in load_catalogue(REPO / "procedures"):
        names = {search_key(a) for a in proc.aliases} | {search_key(proc.short_name)}
        assert any(any(n in search_key(" ".join(c.turns)) for n in names) for c in sms), proc.id


# --- Malformed files: file, case and what is wrong, in Vietnamese ---------------------------------

@pytest.mark.parametrize("text, message", [
    ("- id: a\n  channel: fax\n  turns: [xin chao]\n  any: [chao]\n",
     "trường hợp 'a': 'channel' phải là một trong sms, zalo, telegram, cli"),
    ("- channel: sms\n  turns: [xin chao]\n  any: [chao]\n", "trường hợp thứ 1: thiếu 'id'"),
    ("- id: a\n  channel: sms\n  turns: []\n  any: [chao]\n", "trường hợp 'a': 'turns' phải là danh sách"),
    ("- id: a\n  channel: sms\n  turns: [xin chao]\n  anyy: [chao]\n", "trường hợp 'a': trường lạ 'anyy'"),
    ("- id: a\n  channel: zalo\n  turns: [xin chao]\n  max_segments: 3\n",
     "trường hợp 'a': 'max_segments' chỉ dùng cho channel: sms"),
    ("- id: a\n  channel: sms\n  turns: [xin chao]\n  max_segments: ba\n",
     "trường hợp 'a': 'max_segments' phải là số nguyên dương"),
    ("- id: a\n  channel: sms\n  turns: [xin chao]\n  gsm7: co\n",
     "trường hợp 'a': 'gsm7' chỉ ghi true hoặc false"),
    ("- id: a\n  channel: sms\n  turns: [xin chao]\n", "trường hợp 'a': không kiểm tra gì"),
    ("- id: a\n  channel: sms\n  turns: [x]\n  any: [a]\n- id: a\n  channel: sms\n  turns: [x]\n  any: [a]\n",
     "trường hợp 'a': 'id' bị trùng"),
    ("- id: a\n  channel: sms\n   turns: [x]\n", "dòng 3 sai cú pháp YAML"),
    ("id: a\nchannel: sms\n", "tệp phải là một danh sách trường hợp"),
])
def test_malformed_case_is_named(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(CasesInvalid) as raised:
        load_cases([path])
    assert any(str(path) in e and message in e for e in raised.value.errors), raised.value.errors


def test_malformed_file_exits_2_before_any_model(tmp_path, capsys):
    path = write(tmp_path, "- id: le-phi\n  channel: sms\n  turns: [le phi]\n  any: 5\n")
    assert main(["--root", str(REPO), "test-conversations", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: trường hợp 'le-phi': 'any' phải là một danh sách cụm từ" in err


# --- The judge ---------------------------------------------------------------------------------

CASE = Case("c", "sms", ("le phi",), any=("Miễn phí",), none=("200.000",), gsm7=True, max_segments=1)


@pytest.mark.parametrize("said, problem", [
    ("Khai sinh - Le phi: Mien phi.", None),
    ("Khai sinh - Le phi: 200.000 dong, mien phi", "có cụm bị cấm ['200.000']"),
    ("Khai sinh - Le phi: 100.000 dong", "không có cụm nào trong any ['Miễn phí']"),
    ("Lệ phí: miễn phí", "có ký tự ngoài GSM-7"),
    ("mien phi " + "x" * 200, "dài 2 tin SMS, quá 1"),
])
def test_judge(said, problem):
    outcome = judge(CASE, [(said, ())])
    assert outcome.passed == (problem is None)
    if problem:
        assert problem in outcome.line() and said in outcome.line()


def test_pages_behind_them_count():
    outcome = judge(CASE, [("mien phi", ("trang hai 200.000",))])
    assert outcome.problems == ("có cụm bị cấm ['200.000']", "dài 2 tin SMS, quá 1")


def test_summary_line():
    assert summary([judge(CASE, [("mien phi", ())]), judge(CASE, [("x", ())])]) == "1 passed, 1 failed"


# --- The command, on the session model (no training) ------------------------------------------

def test_command_reports_each_failure_and_the_count(full_model, tmp_path, capsys):
    path = write(tmp_path, """
- id: dung
  channel: sms
  turns: [ket hon co mat phi ko]
  any: [khong mat le phi]
- id: sai
  channel: sms
  turns: [ket hon co mat phi ko]
  none: [khong mat le phi]
""")
    argv = ["--root", str(REPO), "test-conversations", "--out", str(full_model.parent),
            "--name", full_model.name.removesuffix(".tar.gz"), str(path)]
    assert main(argv) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "1 passed, 1 failed"
    failures = [line for line in lines if line.startswith("SAI ")]
    assert len(failures) == 1 and "cases.yml: sai (sms): có cụm bị cấm ['khong mat le phi']" in failures[0]
    assert "Bot trả lời: 'Ket hon" in failures[0]
