"""A stand-in for Kannel's smsbox on 127.0.0.1: sendsms, delivery reports and MO requests.

It answers as Debian's Kannel 1.4.5 did (docs/channels/sms.md, protocol facts): 202
``0: Accepted for delivery``, 403 ``Authorization failed for sendsms`` for a wrong password;
answers queued with ``answer_next`` come first. After accepting a message with a dlr-url it calls
that URL once per status in ``dlr_statuses`` that dlr-mask asks for, as bearerbox does, with
``%d`` the status and ``%A`` the SMSC's answer. ``mo_query`` builds the query Kannel's get-url
sends for an MO. The real Kannel is exercised in ``test_kannel_real.py``.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from tests.connectors.harness import LOOPBACK, LoopbackServer

SENDSMS_PATH = "/cgi-bin/sendsms"
SMSC_ANSWERS = {8: "ACK/", 1: ""}  # what bearerbox's fake SMSC put in %A (observed)


def mo_query(secret: str, sender: str, text: str, *, receiver: str = "8088", message_id: str | None = None,
             ts: str | None = None, coding: str = "0", charset: str = "UTF-8", smsc: str = "FAKE1") -> str:
    """The query of the get-url in docs/channels/sms.md, filled in as smsbox does."""
    fields = [("secret", secret), ("from", sender), ("to", receiver), ("text", text), ("smsc", smsc)]
    fields += [(name, value) for name, value in (("id", message_id), ("ts", ts)) if value is not None]
    fields += [("coding", coding), ("charset", charset)]
    return urlencode(fields)


@dataclass(frozen=True)
class SendsmsCall:
    """One recorded sendsms request: its decoded query parameters."""

    params: dict[str, str]

    @property
    def to(self) -> str:
        return self.params.get("to", "")

    @property
    def text(self) -> str:
        return self.params.get("text", "")


class FakeKannel:
    """sendsms on a free port of 127.0.0.1, in a daemon thread; use as a context manager."""

    def __init__(self, username: str = "bot", password: str = "botpw",
                 dlr_statuses: Iterable[int] = (8, 1), delay: float = 0.0) -> None:
        self.username, self.password = username, password
        self.dlr_statuses = tuple(dlr_statuses)
        self.delay = delay  # seconds before answering, to make a client time out
        self.calls: list[SendsmsCall] = []
        self.dlrs: list[tuple[int, int]] = []  # (status, HTTP status of our answer)
        self._failures: list[tuple[int, str]] = []
        self._lock = threading.Lock()
        self._http = LoopbackServer(self._handler())

    @property
    def url(self) -> str:
        return f"{self._http.url}{SENDSMS_PATH}"

    def answer_next(self, status: int, body: str) -> None:
        """The next sendsms call gets this answer, whatever it asks."""
        with self._lock:
            self._failures.append((status, body))

    def __enter__(self) -> FakeKannel:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.stop()

    def _answer(self, params: dict[str, str]) -> tuple[int, str]:
        with self._lock:
            self.calls.append(SendsmsCall(params))
            if self._failures:
                return self._failures.pop(0)
        if params.get("username") != self.username or params.get("password") != self.password:
            return 403, "Authorization failed for sendsms"
        if not params.get("to"):
            return 400, "Empty receiver number not allowed, rejected"
        return 202, "0: Accepted for delivery"

    def _report(self, params: dict[str, str]) -> None:
        url, mask = params.get("dlr-url"), int(params.get("dlr-mask") or 0)
        if not url:
            return
        for status in self.dlr_statuses:
            if not status & mask:
                continue
            answer = quote(SMSC_ANSWERS.get(status, ""), safe="")
            target = url.replace("%d", str(status)).replace("%A", answer)
            assert target.startswith(f"http://{LOOPBACK}:"), target
            try:
                with urllib.request.urlopen(target, timeout=5) as answer:
                    code = answer.status
            except urllib.error.HTTPError as error:
                code = error.code
            with self._lock:
                self.dlrs.append((status, code))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                parts = urlsplit(self.path)
                if parts.path != SENDSMS_PATH:
                    self._reply(404, "Unknown service")
                    return
                params = dict(parse_qsl(parts.query, keep_blank_values=True))
                if fake.delay:
                    time.sleep(fake.delay)
                status, body = fake._answer(params)
                self._reply(status, body)
                if status == 202:
                    threading.Thread(target=fake._report, args=(params,), daemon=True).start()

            def _reply(self, status: int, body: str) -> None:
                data = body.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
