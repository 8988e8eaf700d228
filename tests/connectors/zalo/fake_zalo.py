"""A local stand-in for Zalo: signed webhook events, and the OA API on 127.0.0.1.

(a) ``signed``/``text_event``/``EventSender`` build events signed as Zalo signs them
    (SHA-256 of app_id + body + timestamp + OA secret key, docs/channels/zalo.md) and post them,
    retrying on non-200 as Zalo does, and duplicating on demand.
(b) ``FakeZalo`` serves ``/v3.0/oa/message/cs`` and ``/v4/oa/access_token``: it checks the
    ``access_token`` and ``secret_key`` headers, rotates tokens, refuses a refresh token used
    before, answers ``-216/-220/-230/-32`` (HTTP 200) on demand, refuses text over 2,000
    characters and records every call. Error codes outside docs/channels/zalo.md are the fake's own.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from tests.connectors.harness import HttpAnswer, LoopbackServer, request

APP_ID = "2954787539497488888"
OA_SECRET_KEY = "oa-secret-7HqZp2vXbN4kLm9RtYw3"
APP_SECRET_KEY = "app-secret-Qd8sFj3KzP1vNc6WxA0e"
OA_ID = "579745863508352884"
USER_ID = "2512523625412515"
MAX_TEXT = 2000  # developers-zns.goby.vn "gui-tin-nhan-van-ban"
ERROR_BAD_PARAMETER = -201  # hoangnd25 guide
ERROR_TOKEN_INVALID = -216
ERROR_TOKEN_EXPIRED = -220
ERROR_REFRESH_REFUSED = -14014  # the fake's own code for a used or unknown refresh token
ERROR_BAD_SECRET = -14012  # the fake's own code for a wrong secret_key header


def now_ms() -> str:
    return str(int(time.time() * 1000))


def text_event(text: str, msg_id: str | None = None, sender: str = USER_ID, timestamp: str | None = None,
               app_id: str = APP_ID, event_name: str = "user_send_text") -> dict[str, Any]:
    """A ``user_send_text`` event shaped as docs/channels/zalo.md gives it."""
    return {"app_id": app_id, "user_id_by_app": "5412361325115612", "event_name": event_name,
            "timestamp": timestamp or now_ms(), "sender": {"id": sender}, "recipient": {"id": OA_ID},
            "message": {"msg_id": msg_id or secrets.token_hex(16), "text": text}}


def signature(body: bytes, app_id: str, timestamp: str, secret: str = OA_SECRET_KEY) -> str:
    return hashlib.sha256(app_id.encode() + body + timestamp.encode() + secret.encode()).hexdigest()


def signed(event: dict[str, Any] | bytes, secret: str = OA_SECRET_KEY) -> tuple[bytes, dict[str, str]]:
    """The raw body and headers Zalo would post; app_id and timestamp are read from the event."""
    body = event if isinstance(event, bytes) else json.dumps(event, ensure_ascii=False).encode()
    fields = json.loads(body)
    mac = signature(body, str(fields["app_id"]), str(fields["timestamp"]), secret)
    return body, {"Content-Type": "application/json", "X-ZEvent-Signature": f"mac={mac}"}


@dataclass
class EventSender:
    """Posts events to our webhook as Zalo does: retried on non-200, duplicated on demand."""

    url: str
    retries: int = 0

    def post(self, body: bytes, headers: dict[str, str], times: int = 1) -> list[HttpAnswer]:
        answers = []
        for _ in range(times):
            for _attempt in range(self.retries + 1):
                answer = request(self.url, body, headers, method="POST")
                answers.append(answer)
                if answer.status == 200:
                    break
        return answers

    def send(self, event: dict[str, Any], times: int = 1) -> list[HttpAnswer]:
        return self.post(*signed(event), times=times)


@dataclass
class Call:
    """One request the fake received, and what it answered."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    answer: dict[str, Any]
    status: int = 200

    @property
    def user_id(self) -> str | None:
        return self.body.get("recipient", {}).get("user_id")

    @property
    def text(self) -> str | None:
        message = self.body.get("message", {})
        return message.get("text") or message.get("attachment", {}).get("payload", {}).get("text")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return self.body.get("message", {}).get("attachment", {}).get("payload", {}).get("buttons", [])

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.answer.get("error", 0) == 0


@dataclass
class FakeZalo:
    """The OA API and the OAuth token endpoint on one 127.0.0.1 port."""

    app_id: str = APP_ID
    app_secret_key: str = APP_SECRET_KEY
    access_token: str = field(default_factory=lambda: "AT-" + secrets.token_urlsafe(24))
    refresh_token: str = field(default_factory=lambda: "RT-" + secrets.token_urlsafe(24))
    delay_seconds: float = 0.0  # before answering a cs call
    refresh_delay_seconds: float = 0.0  # before answering a refresh (refresh_started is set first)
    refresh_started: threading.Event = field(default_factory=threading.Event)
    calls: list[Call] = field(default_factory=list)
    used_refresh_tokens: set[str] = field(default_factory=set)
    issued: list[tuple[str, str]] = field(default_factory=list)  # every pair ever handed out
    _expired: bool = False
    _errors: deque[int] = field(default_factory=deque)
    _http_errors: deque[int] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _http: LoopbackServer | None = None

    def __post_init__(self) -> None:
        self.issued.append((self.access_token, self.refresh_token))

    # ------------------------------------------------------------------ control

    @property
    def url(self) -> str:
        assert self._http is not None
        return self._http.url

    def expire_access_token(self) -> None:
        """The current access token answers -220 until the next refresh."""
        with self._lock:
            self._expired = True

    def fail_next(self, *codes: int) -> None:
        """The next cs calls answer these Zalo error codes (HTTP 200), one each."""
        with self._lock:
            self._errors.extend(codes)

    def fail_next_http(self, *statuses: int) -> None:
        with self._lock:
            self._http_errors.extend(statuses)

    @property
    def cs_calls(self) -> list[Call]:
        return [c for c in self.calls if c.path == "/v3.0/oa/message/cs"]

    @property
    def refresh_calls(self) -> list[Call]:
        return [c for c in self.calls if c.path == "/v4/oa/access_token"]

    @property
    def delivered(self) -> list[Call]:
        return [c for c in self.cs_calls if c.ok]

    def all_tokens(self) -> set[str]:
        return {token for pair in self.issued for token in pair}

    # ------------------------------------------------------------------ serving

    def __enter__(self) -> FakeZalo:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer, body = fake._answer(self.path, headers, raw)
                with fake._lock:  # recorded before answering: a caller that got its answer sees it
                    fake.calls.append(Call(self.path, headers, body, answer, status))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._http = LoopbackServer(Handler)
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._http is not None
        self._http.stop()

    def _answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any], dict]:
        if path == "/v3.0/oa/message/cs":
            try:
                body = json.loads(raw)
            except ValueError:
                return 200, _error(ERROR_BAD_PARAMETER, "body is not JSON"), {}
            if self.delay_seconds:
                time.sleep(self.delay_seconds)
            status, answer = self._cs(headers, body)
            return status, answer, body
        if path == "/v4/oa/access_token":
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            self.refresh_started.set()
            if self.refresh_delay_seconds:
                time.sleep(self.refresh_delay_seconds)
            return 200, self._refresh(headers, form), form
        return 404, {"error": -404, "message": "no such endpoint"}, {}

    def _cs(self, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self._http_errors:
                return self._http_errors.popleft(), {"message": "server error"}
            if headers.get("access_token") != self.access_token:
                return 200, _error(ERROR_TOKEN_INVALID, "Access token is invalid")
            if self._expired:
                return 200, _error(ERROR_TOKEN_EXPIRED, "Access token has expired")
            if self._errors:
                code = self._errors.popleft()
                return 200, _error(code, f"fake error {code}")
        message = body.get("message") or {}
        if not isinstance(body.get("recipient", {}).get("user_id"), str):
            return 200, _error(ERROR_BAD_PARAMETER, "recipient.user_id is required")
        template = message.get("attachment", {}).get("payload", {})
        text = message.get("text") if "text" in message else template.get("text")
        if not isinstance(text, str) or not text:
            return 200, _error(ERROR_BAD_PARAMETER, "text is required")
        if len(text) > MAX_TEXT:
            return 200, _error(ERROR_BAD_PARAMETER, f"text is longer than {MAX_TEXT} characters")
        return 200, {"error": 0, "message": "Success",
                     "data": {"message_id": secrets.token_hex(16), "user_id": body["recipient"]["user_id"]}}

    def _refresh(self, headers: dict[str, str], form: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            if headers.get("secret_key") != self.app_secret_key:
                return _oauth_error(ERROR_BAD_SECRET, "Invalid secret key")
            if form.get("app_id") != self.app_id or form.get("grant_type") != "refresh_token":
                return _oauth_error(ERROR_BAD_PARAMETER, "Invalid app_id or grant_type")
            given = form.get("refresh_token", "")
            if given in self.used_refresh_tokens or given != self.refresh_token:
                return _oauth_error(ERROR_REFRESH_REFUSED, "Invalid refresh token")
            self.used_refresh_tokens.add(given)
            self.access_token = "AT-" + secrets.token_urlsafe(24)
            self.refresh_token = "RT-" + secrets.token_urlsafe(24)
            self.issued.append((self.access_token, self.refresh_token))
            self._expired = False
            return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                    "expires_in": "90000"}


def _error(code: int, message: str) -> dict[str, Any]:
    return {"error": code, "message": message}


def _oauth_error(code: int, description: str) -> dict[str, Any]:
    return {"error": code, "error_name": description, "error_description": description}
