"""``bot serve --workers 2``: the web server's process only stores webhooks; two answering
processes, started by it, share the database.

The web server wakes the answering processes through a socket each; they claim conversations in
the database, so every message is answered once and in order whichever process takes it, and
both answer some. Stopping ``bot serve`` stops its answering processes, and so does killing it.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from bot.cli.serve import ANSWERING_NICENESS
from tests.connectors.harness import wait_until
from tests.connectors.telegram.fake_telegram import FakeTelegram
from tests.serve_process import QUESTIONS, TOKEN, telegram_update
from tests.serving.test_crash import Server

MAX_NICENESS = 19  # Linux: the lowest priority a process can lower itself to
SENDERS = 12
START_SECONDS = 400.0  # two processes loading the model at once, on two busy cores
STOP_SECONDS = 90.0


class Workers(Server):
    """``bot serve --workers 2`` on the crash test's Telegram set-up. Both answering processes
    finish their turn on SIGTERM (up to 30 s each on a busy machine), so the stop waits longer."""

    def __init__(self, tmp: Path, model: Path, fake: FakeTelegram) -> None:
        super().__init__(tmp, model, fake)
        self.extra_args = ("--workers", "2")
        self.stop_seconds = STOP_SECONDS

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


def _wait_started(server: Workers, children: list[int]) -> None:
    """Until every answering process has logged its start; fails at once, with the log, when one
    stops before, and with the log on a timeout (a start that stalls shows where)."""

    def started() -> bool:
        log = server.log.read_text(errors="replace")
        done = [f"answering process {child} started" in log for child in children]
        for child, ok in zip(children, done, strict=True):
            assert ok or not _gone(child), \
                f"answering process {child} stopped before starting:\n{server.log_tail(60)}"
        return all(done)

    try:
        wait_until(started, START_SECONDS, 0.2)
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n{server.log_tail(60)}") from None


@pytest.mark.slow  # bot serve and its answering process each load the model
@pytest.mark.parametrize("stop", ["SIGTERM", "SIGKILL"])
def test_two_answering_processes_answer_each_message_once_in_order(full_model, tmp_path, stop):
    with FakeTelegram(TOKEN) as fake:
        server = Workers(tmp_path, full_model, fake)
        try:
            server.start()
            children = server.children()
            assert len(children) == 2
            _wait_started(server, children)
            # the answering yields the CPU to the web process, whose webhooks a platform waits for
            web = os.getpriority(os.PRIO_PROCESS, server.process.pid)
            lowered = min(web + ANSWERING_NICENESS, MAX_NICENESS)
            assert [os.getpriority(os.PRIO_PROCESS, child) for child in children] == [lowered] * 2
            updates = [(1000 + n, 7000 + n % SENDERS, QUESTIONS[n // SENDERS]) for n in range(SENDERS * 3)]
            for update_id, chat, text in updates:
                assert server.post(telegram_update(update_id, chat, text))

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
