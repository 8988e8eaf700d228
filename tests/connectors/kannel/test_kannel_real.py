"""SMS end to end through a real Kannel: fakesmsc (the phone network) -> bearerbox -> smsbox ->
get-url -> ``bot serve``'s app -> outbox -> sendsms -> smsbox -> bearerbox -> fakesmsc, with the
delivery report coming back to the app.

Needs Debian's ``kannel`` and ``kannel-extras`` (``apt-get install -y kannel kannel-extras``);
fails when they are missing, unless ``SKIP_KANNEL=1`` asks to skip. Every process the test starts
is stopped by its PID (SIGTERM, then SIGKILL after a bound), even when a test fails.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import IO, Any
from urllib.parse import unquote_plus, unquote_to_bytes

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.contract import SMS_MAX_PARTS, is_gsm7, septets
from bot.render import SMS_MORE_HINT
from bot.serving.store import OutboundRow, Store
from connectors.kannel import KannelConnector
from connectors.kannel.protocol import MAX_SEPTETS
from tests.connectors.harness import LOOPBACK, ServerThread, free_port, wait_until

BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")
FAKESMSC = Path("/usr/lib/kannel/test/fakesmsc")  # in kannel-extras, not on PATH
INSTALL = "apt-get install -y kannel kannel-extras"
TEMPLATE = Path(__file__).with_name("kannel.conf.in")

START_SECONDS = 10.0  # bearerbox and smsbox listen within about 0.2 s (observed; docs/channels/sms.md)
REPLY_SECONDS = 30.0  # the engine answers in well under a second; Kannel relays in milliseconds
STOP_SECONDS = 10.0  # bearerbox took about 2 s to stop on SIGTERM here
SHORT_NUMBER = "8088"  # global-sender in kannel.conf.in, and the number citizens write to


pytestmark = [pytest.mark.kannel,
              pytest.mark.skipif(os.environ.get("SKIP_KANNEL") == "1",
                                 reason="SKIP_KANNEL=1: the real Kannel test is skipped on request")]


@pytest.fixture(scope="session", autouse=True)
def _kannel_installed() -> None:
    """Checked before the session's engine is trained (autouse fixtures of a scope come first)."""
    _require_kannel()


def _require_kannel() -> None:
    missing = [str(path) for path in (BEARERBOX, SMSBOX, FAKESMSC) if not os.access(path, os.X_OK)]
    if missing:
        pytest.fail(f"Kannel is not installed ({', '.join(missing)} missing): run `{INSTALL}` "
                    "(Debian), or set SKIP_KANNEL=1 to skip this test on purpose", pytrace=False)


class Processes:
    """Every process the test starts, so each can be stopped by its PID."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []

    def start(self, args: Sequence[str], output: IO[bytes] | int, **popen: Any) -> subprocess.Popen:
        process = subprocess.Popen([str(arg) for arg in args], stdout=output, stderr=subprocess.STDOUT,
                                   **popen)
        self.started.append(process)
        return process

    @staticmethod
    def stop(process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(STOP_SECONDS)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()

    def stop_all(self) -> None:
        for process in reversed(self.started):
            self.stop(process)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((LOOPBACK, port)) == 0


def _log_count(path: Path, text: str) -> int:
    return path.read_text(encoding="utf-8", errors="replace").count(text) if path.exists() else 0


@dataclass(frozen=True)
class Sms:
    """A message fakesmsc received, its concatenated parts joined."""

    sender: str
    recipient: str
    text: str
    parts: int


_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[\d+\] \[\d+\] \w+: (.*)$")
_GOT = re.compile(r"^Got message \d+: <(.*)>$")
_TEXT = re.compile(r"^(\S+) (\S+) text (.*)$")
_PART = re.compile(r"^(\S+) (\S+) udh (\S+) data (\S*)$")


def assemble(lines: Sequence[str]) -> list[Sms]:
    """The messages in fakesmsc's output (``Got message N: <from to type data>``, logged at DEBUG).

    Single messages come as ``text`` with the text raw, so a newline in it starts a new ``Got
    message`` line without a header: it continues the text before. Concatenated parts come as
    ``udh <UDH> data <text>``, both URL-encoded; the UDH is ``05 00 03 ref total seq``.
    """
    messages: list[Sms] = []
    pending: dict[tuple[str, str, int], dict[int, str]] = {}
    for line in lines:
        log = _LOG_LINE.match(line)
        got = _GOT.match(log.group(1)) if log else None
        if got is None:
            continue
        content = got.group(1)
        if part := _PART.match(content):
            sender, recipient, udh, data = part.groups()
            header = unquote_to_bytes(udh)
            key, total, seq = (sender, recipient, header[3]), header[4], header[5]
            pending.setdefault(key, {})[seq] = unquote_plus(data)
            if len(pending[key]) == total:
                texts = pending.pop(key)
                messages.append(Sms(sender, recipient, "".join(texts[n] for n in sorted(texts)), total))
        elif single := _TEXT.match(content):
            messages.append(Sms(single.group(1), single.group(2), single.group(3), 1))
        elif messages and messages[-1].parts == 1:
            last = messages[-1]
            messages[-1] = Sms(last.sender, last.recipient, f"{last.text}\n{content}", 1)
    return messages


class Handset:
    """fakesmsc in interactive mode: one MO per stdin line, every MT it gets in its output.

    fakesmsc reads stdin in chunks and takes only the first line of a chunk, so each MO waits
    for fakesmsc's ``sent message`` before the next is written.
    """

    def __init__(self, processes: Processes, smsc_port: int, log: Path) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._log = log.open("w", encoding="utf-8")
        self.process = processes.start([FAKESMSC, "-H", LOOPBACK, "-r", str(smsc_port)], subprocess.PIPE,
                                        stdin=subprocess.PIPE)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            with self._lock:
                self.lines.append(line)
            self._log.write(line + "\n")
            self._log.flush()

    def _count(self, text: str) -> int:
        with self._lock:
            return sum(text in line for line in self.lines)

    def send(self, sender: str, text: str, receiver: str = SHORT_NUMBER) -> None:
        assert self.process.stdin is not None
        before = self._count("fakesmsc: sent message")
        self.process.stdin.write(f"{sender} {receiver} text {text}\n".encode())
        self.process.stdin.flush()
        wait_until(lambda: self._count("fakesmsc: sent message") > before, timeout=START_SECONDS)

    def received(self, recipient: str) -> list[Sms]:
        with self._lock:
            lines = list(self.lines)
        return [sms for sms in assemble(lines) if sms.recipient == recipient]

    def wait_for(self, recipient: str, count: int) -> list[Sms]:
        wait_until(lambda: len(self.received(recipient)) >= count, timeout=REPLY_SECONDS)
        return self.received(recipient)


@dataclass
class Stack:
    run_dir: Path
    store: Store
    processes: Processes
    smsc_port: int


@pytest.fixture(scope="module")
def stack(request, engine, tmp_path_factory) -> Stack:
    """bearerbox and smsbox on 127.0.0.1, and bot serve's app with the Kannel connector."""
    run_dir = tmp_path_factory.mktemp("kannel")
    processes = Processes()
    running: list[ServerThread] = []

    def stop() -> None:
        """Kannel first: smsbox keeps connections to the app open, which would hold its shutdown."""
        try:
            processes.stop_all()
        finally:
            for server in running:
                server.__exit__(None, None, None)

    request.addfinalizer(stop)
    ports = {name: free_port() for name in ("admin_port", "smsbox_port", "smsc_port", "sendsms_port")}
    store = Store.sqlite(run_dir / "messages.db")
    username, password, secret = "bot", secrets.token_hex(12), secrets.token_hex(16)
    connector = KannelConnector(
        username=username, password=password, shared_secret=secret,
        sendsms_url=f"http://{LOOPBACK}:{ports['sendsms_port']}/cgi-bin/sendsms")
    server = ServerThread(engine, store, {"sms": connector})
    connector.public_url = server.url  # where Kannel sends delivery reports
    config = run_dir / "kannel.conf"
    config.write_text(Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        ports, run_dir=run_dir, admin_password=secrets.token_hex(8), username=username,
        password=password, secret=secret, app_url=server.url), encoding="utf-8")

    running.append(server.__enter__())
    with (run_dir / "bearerbox.out").open("wb") as output:
        processes.start([BEARERBOX, "-v", "1", config], output, cwd=run_dir)
    wait_until(lambda: _listening(ports["smsbox_port"]) and _listening(ports["smsc_port"]),
               timeout=START_SECONDS)
    with (run_dir / "smsbox.out").open("wb") as output:
        processes.start([SMSBOX, "-v", "1", config], output, cwd=run_dir)
    wait_until(lambda: _listening(ports["sendsms_port"])
               and _log_count(run_dir / "smsbox.log", "Connected to bearerbox"), timeout=START_SECONDS)
    return Stack(run_dir, store, processes, ports["smsc_port"])


@pytest.fixture
def handset(stack: Stack, request) -> Handset:
    connected = "Fakesmsc client connected"
    before = _log_count(stack.run_dir / "bearerbox.log", connected)
    phone = Handset(stack.processes, stack.smsc_port, stack.run_dir / f"fakesmsc-{request.node.name}.out")
    request.addfinalizer(lambda: stack.processes.stop(phone.process))
    wait_until(lambda: _log_count(stack.run_dir / "bearerbox.log", connected) > before, timeout=START_SECONDS)
    return phone


def _rows(store: Store, recipient: str) -> list[tuple[str, str | None, str]]:
    with Session(store.engine) as session:
        rows = session.execute(select(OutboundRow).where(OutboundRow.recipient == recipient)
                               .order_by(OutboundRow.id)).scalars()
        return [(r.state, r.delivery, json.loads(r.payload)["text"]) for r in rows]


def _answered(store: Store, recipient: str, count: int = 1) -> list[tuple[str, str | None, str]]:
    """The recipient's outbound rows once at least ``count`` exist and all are sent (the replies
    to one message are queued together)."""
    rows = _rows(store, recipient)
    return rows if len(rows) >= count and all(state == "sent" for state, _, _ in rows) else []


def _fits(sms: Sms) -> bool:
    return is_gsm7(sms.text) and septets(sms.text) <= MAX_SEPTETS and sms.parts <= SMS_MAX_PARTS


def test_question_by_sms_is_answered_through_kannel_with_a_delivery_report(stack, handset):
    phone = "84912345678"
    handset.send(phone, "dang ky khai sinh can giay to gi")
    rows = wait_until(lambda: _answered(stack.store, phone), timeout=REPLY_SECONDS)
    replies = handset.wait_for(phone, len(rows))
    assert [sms.text for sms in replies] == [text for _, _, text in rows]  # what the phone got
    assert any("Giay to" in sms.text for sms in replies)
    assert all(sms.sender == SHORT_NUMBER and _fits(sms) for sms in replies)
    wait_until(lambda: {delivery for _, delivery, _ in _rows(stack.store, phone)} == {"delivered"},
               timeout=REPLY_SECONDS)


def test_them_brings_the_next_page_over_kannel(stack, handset):
    phone = "84987654321"
    # the national form is the same citizen; so do lan dau's papers still take 4 SMS: paged
    handset.send("0987654321", "lam so do lan dau can giay to gi")
    first = handset.wait_for(phone, len(wait_until(lambda: _answered(stack.store, phone),
                                                   timeout=REPLY_SECONDS)))
    assert any(sms.text.endswith(SMS_MORE_HINT) for sms in first)
    handset.send(phone, "THEM")
    rows = wait_until(lambda: _answered(stack.store, phone, len(first) + 1), timeout=REPLY_SECONDS)
    replies = handset.wait_for(phone, len(rows))
    assert [sms.text for sms in replies] == [text for _, _, text in rows]
    assert replies[-1].text not in [sms.text for sms in first] and all(_fits(sms) for sms in replies)


def test_mo_redelivered_by_kannel_is_answered_once(stack, handset, monkeypatch):
    """The first request is stored but answered 503 (a database hiccup after the write), so
    smsbox retries it (``http-request-retry``) with the same message id."""
    phone = "84977000111"
    stored: list[bool] = []
    accept_group = stack.store.accept_group  # every webhook is stored through it (bot/serving/intake.py)

    def flaky_accept_group(messages: Any) -> list[bool]:
        outcome = accept_group(messages)
        stored.extend(outcome)
        if len(stored) == 1:
            raise OperationalError("INSERT INTO inbound", None, Exception("database is locked"))
        return outcome

    monkeypatch.setattr(stack.store, "accept_group", flaky_accept_group)
    handset.send(phone, "le phi dang ky khai sinh")
    rows = wait_until(lambda: _answered(stack.store, phone), timeout=REPLY_SECONDS)
    handset.wait_for(phone, len(rows))
    wait_until(lambda: len(stored) >= 2, timeout=REPLY_SECONDS)  # http-queue-delay = 1 s
    time.sleep(1.5)  # a second answer would come within this
    assert stored[:2] == [True, False]  # the retry was recognised, not stored again
    assert [sms.text for sms in handset.received(phone)] == [text for _, _, text in rows]
    assert [(state, text) for state, _, text in _rows(stack.store, phone)] == [
        (state, text) for state, _, text in rows]  # no second answer queued
