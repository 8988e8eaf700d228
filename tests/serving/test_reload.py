"""Reload without downtime: a real server under traffic switches catalogue, or refuses to.

The session model is loaded again with a changed catalogue (the answers come from the catalogue
at load time), in a temporary copy of the project; no second model is trained. Traffic goes
through the Telegram webhook to a fake Bot API on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.project import Project
from bot.serving.engine import Engine
from bot.serving.reload import RELOAD_ROUTE, Reloader, authorized, listen_for_sighup, mount_reload, swapper
from bot.serving.server import AnsweringReloader, build_app
from bot.serving.store import Store
from connectors.telegram import TelegramConnector
from connectors.telegram.connector import SECRET_HEADER
from tests.connectors.harness import ServerThread, request, wait_until
from tests.connectors.telegram.fake_telegram import FakeTelegram
from tests.paths import REPO

TOKEN = "7000000001:AAH-fake_token_Zq3xVb9LmN2pRt5sW8yK1cD"
SECRET = "webhook-secret_4f9a2c71e8b35d06"
ADMIN = "admin-token_7c1e55b0a9d24f38"
SENDERS = (5553000001, 5553000002, 5553000003, 5553000004)
# (payload typed by the citizen, the heading its answer starts with): one answer per message, and
# a different heading for each, so the order of the answers shows the order of the questions.
QUESTIONS = (
    ('/ask_fee{"procedure":"khai_tu"}', "Khai tử – Lệ phí:"),
    ('/ask_documents{"procedure":"khai_tu"}', "Khai tử – Giấy tờ cần mang:"),
    ('/ask_where{"procedure":"khai_tu"}', "Khai tử – Nộp ở đâu:"),
    ('/ask_time{"procedure":"khai_tu"}', "Khai tử – Bao lâu thì có kết quả:"),
)
FEE = "Gia đình người có công, hộ nghèo, người khuyết tật cũng được miễn."
# as long as before: the khai_tu fee check in tests/conversations/ allows 3 SMS, which it fills
NEW_FEE = "Quá hạn nộp 8.000 đồng; gia đình có công, hộ nghèo, khuyết tật được miễn."
SIGHUP_FEE = "Quá hạn nộp 9.000 đồng; gia đình có công, hộ nghèo, khuyết tật được miễn."
TOO_LONG = " Người nộp quá hạn mang theo giấy tờ chứng minh lý do nộp muộn, nếu có, để cán bộ xem xét."
WINDOW = 2 * len(SENDERS)  # messages in flight at most: traffic all along, a bounded backlog
RELOAD_TIMEOUT = 180.0  # loading a model and running the checks, on a busy machine


def copy_project(root: Path) -> Project:
    for folder in ("procedures", "flows", "tests/conversations"):
        shutil.copytree(REPO / folder, root / folder)
    return Project.locate(root)


def edit(project: Project, name: str, old: str, new: str) -> None:
    path = project.procedures / f"{name}.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, (name, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


class Traffic(threading.Thread):
    """Citizens writing in turn, each cycling through QUESTIONS, until stopped; at most WINDOW
    messages unanswered at any time."""

    def __init__(self, webhook: str, answered: Callable[[], int]) -> None:
        super().__init__(daemon=True)
        self.webhook = webhook
        self.answered = answered
        self.sent: list[tuple[int, int, float]] = []  # (chat, question index, when posted)
        self.statuses: list[int] = []
        self._halt = threading.Event()

    def post(self, chat: int, index: int) -> None:
        update_id = 900000 + len(self.sent)
        body = {"update_id": update_id, "message": {
            "message_id": update_id, "date": 1732471201, "text": QUESTIONS[index][0],
            "from": {"id": chat, "is_bot": False, "first_name": "Lan"},
            "chat": {"id": chat, "first_name": "Lan", "type": "private"}}}
        headers = {"Content-Type": "application/json", SECRET_HEADER: SECRET}
        self.statuses.append(request(self.webhook, json.dumps(body).encode(), headers).status)
        self.sent.append((chat, index, time.monotonic()))

    def run(self) -> None:
        turn = 0
        while not self._halt.is_set():
            for chat in SENDERS:
                self.post(chat, turn % len(QUESTIONS))
            turn += 1
            while len(self.sent) - self.answered() >= WINDOW and not self._halt.is_set():
                time.sleep(0.02)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=30)


def reload_call(url: str, token: str | None = ADMIN) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    answer = request(url + RELOAD_ROUTE, b"", headers, method="POST", timeout=RELOAD_TIMEOUT)
    return answer.status, json.loads(answer.body or b"{}")


def answers_by_chat(fake: FakeTelegram) -> dict[int, list[tuple[str, float]]]:
    by_chat: dict[int, list[tuple[str, float]]] = {chat: [] for chat in SENDERS}
    for call in fake.sent():
        by_chat[int(call.params["chat_id"])].append((call.params["text"], call.at))
    return by_chat


@pytest.mark.slow  # a server under traffic, the model loaded three times: 30 s and more
def test_reload_under_traffic(full_model, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="bot.serving.reload")
    project = copy_project(tmp_path / "project")
    live = tmp_path / "bot.db"  # conversations, inbox and outbox, as bot serve keeps them
    store = Store.sqlite(live)
    with FakeTelegram(TOKEN) as fake:
        telegram = TelegramConnector.from_credentials(
            {"token": TOKEN, "secret_token": SECRET, "base_url": fake.base_url})
        server = ServerThread(Engine.load(full_model, live, project), store, {"telegram": telegram})
        # as bot serve wires it: the candidate is checked and swapped in on the answering loop
        reloader = AnsweringReloader(Reloader(project, full_model, live, swapper(server.app)),
                                     server.app.ctx.answering)
        mount_reload(server.app, reloader, ADMIN)
        with server:
            traffic = Traffic(f"{server.url}/webhooks/telegram/webhook", lambda: len(fake.sent()))
            traffic.start()
            try:
                wait_until(lambda: len(fake.sent()) >= 2 * len(SENDERS), 60)
                edit(project, "khai_tu", FEE, NEW_FEE)
                started = time.monotonic()
                status, body = reload_call(server.url)
                reloaded = time.monotonic()
                assert (status, body["reloaded"]) == (200, True), body
                posted = len(traffic.sent)
                wait_until(lambda: len(traffic.sent) >= posted + 2 * len(QUESTIONS) * len(SENDERS), 60)
            finally:
                traffic.stop()
            wait_until(lambda: len(fake.sent()) >= len(traffic.sent), 120)
            time.sleep(1.5)  # a duplicate answer would be sent by now
            assert set(traffic.statuses) == {200}

            # --- every message answered exactly once, in order per sender
            by_chat = answers_by_chat(fake)
            for chat in SENDERS:
                asked = [(index, at) for c, index, at in traffic.sent if c == chat]
                said = by_chat[chat]
                assert len(said) == len(asked), chat
                for (index, _), (text, _) in zip(asked, said, strict=True):
                    assert text.startswith(QUESTIONS[index][1]), (chat, index, text)

                # --- fee answers: old before the reload began, new after it returned, never back
                fees = [(at, text) for (index, at), (text, _) in zip(asked, said, strict=True) if index == 0]
                assert any(at < started and "8.000" not in text for at, text in fees), chat
                assert all("8.000" in text for at, text in fees if at > reloaded), chat
                news = ["8.000" in text for _, text in fees]
                assert news == sorted(news), f"{chat}: answers went back to the old catalogue"
            assert any("reloaded: now answering with" in r.getMessage() for r in caplog.records)
            # the old engine kept answering while the new one was loaded and checked
            assert any(started < at < reloaded for said in by_chat.values() for _, at in said)

            # --- refused: a check in tests/conversations/ fails (the fee no longer fits 3 SMS), or
            # the catalogue is invalid
            edit(project, "khai_tu", NEW_FEE, NEW_FEE + TOO_LONG)
            caplog.clear()
            status, body = reload_call(server.url)
            assert (status, body["reloaded"]) == (409, False)
            assert "conversation checks failed" in body["reason"], body
            assert "le-phi-khai-tu (sms): dài 4 tin SMS, quá 3" in body["reason"]
            refused = [r.getMessage() for r in caplog.records if "reload refused" in r.getMessage()]
            assert len(refused) == 1 and "\n" not in refused[0]

            (project.procedures / "khai_tu.yaml").write_text("id: [khai_tu\n", encoding="utf-8")
            status, body = reload_call(server.url)
            assert (status, body["reloaded"]) == (409, False)
            assert body["reason"].startswith("catalogue invalid")
            shutil.copy(REPO / "procedures" / "khai_tu.yaml", project.procedures / "khai_tu.yaml")
            edit(project, "khai_tu", FEE, SIGHUP_FEE)

            # the reloaded engine still answers, with the catalogue it was checked with
            count = len(fake.sent())
            traffic.post(SENDERS[0], 0)
            wait_until(lambda: len(fake.sent()) > count, 30)
            assert "8.000" in fake.sent()[-1].params["text"]

            # --- no or wrong token: refused before anything is loaded
            assert reload_call(server.url, token=None)[0] == 401
            assert reload_call(server.url, token=ADMIN + "x")[0] == 401

            # --- SIGHUP reloads too
            previous = signal.getsignal(signal.SIGHUP)
            try:
                assert listen_for_sighup(server.loop, reloader)
                caplog.clear()
                os.kill(os.getpid(), signal.SIGHUP)
                wait_until(lambda: any("reloaded:" in r.getMessage() for r in caplog.records),
                           RELOAD_TIMEOUT)
            finally:
                signal.signal(signal.SIGHUP, previous)
            count = len(fake.sent())
            traffic.post(SENDERS[1], 0)
            wait_until(lambda: len(fake.sent()) > count, 30)
            assert "9.000" in fake.sent()[-1].params["text"]


def test_admin_route_absent_without_token():
    from sanic import Sanic

    Sanic.test_mode = True
    engine = SimpleNamespace(agent=None, phrases={}, reminders=None)
    for token, present in ((None, False), ("", False), (ADMIN, True)):
        app = build_app(engine, Store("sqlite://"), {}, name=f"bot_reload_{present}_{token or 'none'}")
        mount_reload(app, Reloader(Project.locate(REPO), Path("none.tar.gz"), Path("none.db"),
                                   swapper(app)), token)
        paths = {route.path.strip("/") for route in app.router.routes}
        assert (RELOAD_ROUTE.strip("/") in paths) == present


@pytest.mark.parametrize("header, ok", [
    (f"Bearer {ADMIN}", True),
    (f"bearer {ADMIN}", True),
    (f"Bearer {ADMIN}x", False),
    (f"Basic {ADMIN}", False),
    (ADMIN, False),
    ("", False),
    (None, False),
])
def test_authorized(header, ok):
    assert authorized(header, ADMIN) is ok


HUNG_UP = 7
STAND_IN = ("import signal, sys, time\n"
            f"signal.signal(signal.SIGHUP, lambda *_: sys.exit({HUNG_UP}))\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)\n")


def test_forwarded_reload_hangs_up_every_answering_process(tmp_path):
    """``bot serve --workers N``: the admin route passes the reload on to each answering process
    as SIGHUP and answers 202; without the token it answers 401 and signals nobody."""
    from bot.cli.serve import Answerer, mount_forwarded_reload
    from tests.stub_engine import StubEngine

    # stand-ins for answering processes: each exits with HUNG_UP on SIGHUP (its own handler, so a
    # SIGHUP ignored by the test's parent, as under nohup, does not matter)
    sleepers = [subprocess.Popen([sys.executable, "-c", STAND_IN], stdout=subprocess.PIPE, text=True)
                for _ in range(2)]
    answerers = [Answerer(process, socket.socket()) for process in sleepers]
    try:
        assert all(process.stdout.readline() == "ready\n" for process in sleepers)
        server = ServerThread(StubEngine(), Store.sqlite(tmp_path / "bot.db"), {})
        mount_forwarded_reload(server.app, answerers, ADMIN)
        with server:
            refused = request(f"{server.url}{RELOAD_ROUTE}", b"", {"Authorization": "Bearer wrong"})
            assert refused.status == 401
            assert all(process.poll() is None for process in sleepers)
            accepted = request(f"{server.url}{RELOAD_ROUTE}", b"", {"Authorization": f"Bearer {ADMIN}"})
            assert accepted.status == 202
            assert "2 answering processes" in json.loads(accepted.body)["reason"]
            for process in sleepers:
                assert process.wait(timeout=10) == HUNG_UP
    finally:
        for answerer in answerers:
            answerer.wake.close()
            if answerer.process.poll() is None:
                answerer.process.kill()
                answerer.process.wait(timeout=10)
