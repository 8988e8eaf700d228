"""``bot serve`` as a real process, its Telegram channel pointed at a fake Bot API on 127.0.0.1.

For the tests that kill a server mid-traffic (tests/serving/test_crash.py: one server killed and
restarted; tests/serving/test_scaleout_load.py: two workers on one database, one killed), which
need a process of its own to kill: the in-process ``ServerThread`` of tests/connectors/harness.py
cannot be killed with SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.connectors.harness import free_port, request, wait_until
from tests.connectors.telegram.fake_telegram import FakeTelegram
from tests.paths import REPO

TOKEN = "123456:crash-test-token"
SECRET = "crash-test-secret"
QUESTIONS = ["le phi khai sinh bao nhieu", "dang ky ket hon o dau", "thuong tru mat bao lau",
             "cccd lam online duoc ko", "khai tu can giay to gi"]
START_TIMEOUT = 420.0  # seconds: importing Rasa and loading the model, on a machine busy with other work


def telegram_update(update_id: int, chat: int, text: str) -> bytes:
    """A Telegram webhook update: one text message from a private chat."""
    return json.dumps({"update_id": update_id, "message": {
        "message_id": update_id, "date": 1764000000, "text": text,
        "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": False, "first_name": "Dân"}}}).encode()


class ServeProcess:
    """One ``bot serve`` process; ``start`` may be called again after ``kill`` (same port, same
    database). ``db``: a SQLite file passed as ``--db``; ``env``: more variables (``DATABASE_URL``,
    ``REDIS_URL``...)."""

    def __init__(self, tmp: Path, model: Path, fake: FakeTelegram, name: str = "serve",
                 db: Path | None = None, env: Mapping[str, str] | None = None) -> None:
        self.port = free_port()
        self.model = model
        self.db = db
        self.log = tmp / f"{name}.log"
        self.credentials = tmp / f"{name}-credentials.yml"
        self.credentials.write_text(
            "connectors.telegram.TelegramConnector:\n"
            "  token: ${TG_TOKEN}\n  secret_token: ${TG_SECRET}\n"
            f"  base_url: {fake.base_url}\n", encoding="utf-8")
        self.env = {**os.environ, "TG_TOKEN": TOKEN, "TG_SECRET": SECRET, "RASA_TELEMETRY_ENABLED": "false",
                    **(env or {})}
        self.process: subprocess.Popen | None = None
        self.extra_args: Sequence[str] = ()  # more options of ``bot serve`` (``--workers 2``)
        self.stop_seconds = 20.0  # how long a SIGTERM may take before the process is killed

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/telegram/webhook"

    def launch(self) -> None:
        """Starts the process without waiting for it (two workers load their models side by side)."""
        database = ["--db", str(self.db)] if self.db else []
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--credentials", str(self.credentials),
                 "--port", str(self.port), *database, "--out", str(self.model.parent),
                 "--name", self.model.name.removesuffix(".tar.gz"), *self.extra_args],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def start(self) -> None:
        """Starts the process and waits until it answers ``/health``."""
        self.launch()
        self.wait_healthy()

    def wait_healthy(self) -> None:
        wait_until(self.healthy, timeout=START_TIMEOUT, step=0.2)

    def healthy(self) -> bool:
        assert self.process.poll() is None, self.log.read_text(errors="replace")[-3000:]
        try:
            return request(f"http://127.0.0.1:{self.port}/health", timeout=1).status == 200
        except OSError:
            return False

    def post(self, body: bytes) -> bool:
        """True when the server acknowledged the update with 200."""
        try:
            answer = request(self.webhook, body, {"Content-Type": "application/json",
                                                  "X-Telegram-Bot-Api-Secret-Token": SECRET}, timeout=5)
        except OSError:
            return False
        return answer.status == 200

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def pause(self) -> None:
        """Stops the process where it is (SIGSTOP): it claims nothing until ``resume``."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def log_tail(self, lines: int = 30) -> str:
        """The end of the process's output, for a failing test's message."""
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=self.stop_seconds)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
