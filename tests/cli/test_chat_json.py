"""`bot chat --channel sms --json`: the scripted mode staff and tests drive."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.contract import SMS_MAX_PARTS, is_gsm7, sms_parts
from tests.paths import REPO

pytestmark = pytest.mark.slow  # `bot chat` loads the model


def run_chat(full_model: Path, db: Path, lines: list[str]) -> list[dict]:
    """``bot chat`` in this process, its stdin and stdout the given lines and a buffer: a process
    of its own would import Rasa again, most of the command's cost (about 15 s of CPU)."""
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out):
        patch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
        code = main(["--root", str(REPO), "chat", "--channel", "sms", "--json",
                     "--out", str(full_model.parent), "--name", full_model.name.removesuffix(".tar.gz"),
                     "--db", str(db)])
    assert code == 0, out.getvalue()[-3000:]
    return [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]


CONVERSATION = [
    {"sender": "0912000001", "text": "dang ky khai sinh can giay to gi"},
    {"sender": "0912000002", "text": "ket hon"},
    {"sender": "0912000001", "text": "nop o dau"},
    {"sender": "0912000002", "text": "le phi bn"},
]
MALFORMED = ["not json", '{"text": "no sender"}', '{"sender": "1", "text": "menu"}']


@pytest.fixture(scope="module")
def outputs(full_model, tmp_path_factory) -> list[dict]:
    """One `bot chat` run for both tests (each run loads the model); the senders differ."""
    lines = [json.dumps(i) for i in CONVERSATION] + MALFORMED
    return run_chat(full_model, tmp_path_factory.mktemp("chat") / "bot.db", lines)


def test_one_json_line_per_input_keeping_each_senders_conversation(outputs):
    inputs, outputs = CONVERSATION, outputs[:len(CONVERSATION)]
    assert [o["sender"] for o in outputs] == [i["sender"] for i in inputs]
    texts = [" ".join(r["text"] for r in o["replies"]).lower() for o in outputs]
    assert "khai sinh" in texts[2] and "ket hon" in texts[3]
    for output in outputs:
        for reply in output["replies"]:
            assert is_gsm7(reply["text"])
            assert sms_parts(reply["text"]) <= SMS_MAX_PARTS
            assert reply["buttons"] == []


def test_malformed_json_lines_get_an_error_line_not_a_crash(outputs):
    outputs = outputs[len(CONVERSATION):]
    assert [("error" in o) for o in outputs] == [True, True, False]
    assert "1. " in outputs[2]["replies"][0]["text"]
