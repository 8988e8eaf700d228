"""``bot serve --workers 2``: the web server's process only stores webhooks; two answering
processes, started by it, share the database.

The web server wakes the answering processes through a socket each; they claim conversations in
the database, so every message is answered once and in order whichever process takes it, and
both answer some. Stopping ``bot serve`` stops its answering processes, and so does killing it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter

import pytest

from tests.connectors.harness import wait_until
from tests.connectors.telegram.fake_telegram import FakeTelegram
from tests.paths import REPO
from tests.serving.test_crash import QUESTIONS, SECRET, TOKEN, Server, _update

SENDERS = 12
START_SECONDS = 400.0  # two processes loading the model at once, on two busy cores
STOP_SECONDS = 90.0


class Workers(Server):
    """``bot serve --workers 2`` on the crash test's Telegram set-up."""

    def start(self) -> None:
        env = {**os.environ, "TG_TOKEN": TOKEN, "TG_SECRET": SECRET, "RASA_TELEMETRY_ENABLED": "false"}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--credentials", str(self.credentials),
                 "--port", str(self.port), "--db", str(self.db), "--out", str(self.model.parent),
                 "--name", self.model.name.removesuffix(".tar.gz"), "--workers", "2"],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._healthy, timeout=180, step=0.2)

    def stop(self) -> None:
        """SIGTERM; both answering processes finish their turn first (up to 30 s each on a busy
        machine), so the wait is longer than the crash test's."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def children(self) -> list[int]:
        path = f"/proc/{self.process.pid}/task/{self.process.pid}/children"
        with open(path, encoding="ascii") as file:
            return [int(pid) for pid in file.read().split()]


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as file:
            return file.read().split(")")[-1].split()[0] == "Z"  # a zombie has stopped
    except OSError:
        return True


@pytest.mark.slow  # bot serve and its answering process each load the model
@pytest.mark.parametrize("stop", ["SIGTERM", "SIGKILL"])
def test_two_answering_processes_answer_each_message_once_in_order(full_model, tmp_path, stop):
    with FakeTelegram(TOKEN) as fake:
        server = Workers(tmp_path, full_model, fake)
        try:
            server.start()
            children = server.children()
            assert len(children) == 2
            started = [f"answering process {child} started" for child in children]
            wait_until(lambda: all(s in server.log.read_text(errors="replace") for s in started),
                       START_SECONDS, 0.2)
            updates = [(1000 + n, 7000 + n % SENDERS, QUESTIONS[n // SENDERS]) for n in range(SENDERS * 3)]
            for update_id, chat, text in updates:
                assert server.post(_update(update_id, chat, text))

            def all_sent() -> bool:
                return server.rows("SELECT count(*) FROM outbound WHERE state = 'sent'")[0][0] >= len(updates)
            wait_until(all_sent, timeout=180, step=0.5)
            handled = Counter(by.split(":")[1] for (by,) in server.rows("SELECT handled_by FROM inbound"))
            assert set(handled) == {str(child) for child in children}, handled
            if stop == "SIGTERM":
                server.stop()
                assert server.process.returncode == 0
            else:
                server.kill()
            wait_until(lambda: all(_gone(child) for child in children), timeout=40, step=0.2)
        finally:
            server.stop()

        inbound = [i for (i,) in server.rows("SELECT id FROM inbound")]
        outbound = server.rows("SELECT recipient, inbound_id FROM outbound ORDER BY id")
        assert len(inbound) == len(updates) and {i for _, i in outbound} == set(inbound)  # all answered
        for chat in {str(c) for _, c, _ in updates}:  # each conversation's replies once, in its order
            queued = [i for r, i in outbound if r == chat]
            assert queued == sorted(queued)
            said = [call.params["text"] for call in fake.sent() if str(call.params["chat_id"]) == chat]
            assert len(said) == len(queued)
