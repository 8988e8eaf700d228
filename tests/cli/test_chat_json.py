"""`bot chat --channel sms --json`: the scripted mode staff and tests drive."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.contract import SMS_MAX_PARTS, is_gsm7, sms_parts
from tests.paths import REPO

pytestmark = pytest.mark.slow  # `bot chat` in a subprocess loads the model: about 10 s


def run_chat(full_model: Path, db: Path, lines: list[str]) -> list[dict]:
    env = dict(os.environ, BOT_ROOT=str(REPO), RASA_TELEMETRY_ENABLED="false")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--channel", "sms", "--json",
         "--out", str(full_model.parent), "--name", full_model.name.removesuffix(".tar.gz"),
         "--db", str(db)],
        input="\n".join(lines) + "\n", capture_output=True, text=True, cwd=REPO, env=env,
        timeout=300, check=True)
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


CONVERSATION = [
    {"sender": "0912000001", "text": "dang ky khai sinh can giay to gi"},
    {"sender": "0912000002", "text": "ket hon"},
    {"sender": "0912000001", "text": "nop o dau"},
    {"sender": "0912000002", "text": "le phi bn"},
]
MALFORMED = ["not json", '{"text": "no sender"}', '{"sender": "1", "text": "menu"}']


@pytest.fixture(scope="module")
def outputs(full_model, tmp_path_factory) -> list[dict]:
    """One `bot chat` run for both tests (each run loads the model: about 10 s); the senders differ."""
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
