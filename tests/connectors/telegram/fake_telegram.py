"""A stand-in for the Telegram Bot API on 127.0.0.1 that records every call.

It answers ``/bot<token>/<method>`` for getMe, sendMessage, answerCallbackQuery, setWebhook,
deleteWebhook and getWebhookInfo, with parameters as JSON, form-urlencoded or multipart bodies
(or a query string), as the real API accepts them. A wrong token gets 401 like the real API.
``fail_next`` makes the next calls of a method answer with the errors Telegram gives: 429 with
``retry_after``, 403 for a bot blocked by the user, 400, or an HTML 502 from the front proxy.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.connectors.harness import LoopbackServer

MAX_TEXT = 4096  # sendMessage text, Bot API
MAX_CALLBACK_BYTES = 64  # InlineKeyboardButton.callback_data, Bot API

BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "Thủ tục", "username": "thutuc_test_bot",
            "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}

Answer = tuple[int, str, bytes]  # status, content type, body


@dataclass(frozen=True)
class Call:
    """One request the fake received: the method, its decoded parameters and the status answered."""

    method: str
    params: dict[str, Any]
    status: int
    at: float  # time.monotonic() when it arrived


def _error(status: int, description: str, **parameters: Any) -> Answer:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return status, "application/json", json.dumps(body).encode()


def _failure(status: int, retry_after: int) -> Answer:
    if status == 429:
        return _error(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)
    if status == 403:
        return _error(403, "Forbidden: bot was blocked by the user")
    if status == 400:
        return _error(400, "Bad Request: chat not found")
    if status == 502:  # Telegram's front proxy answers with HTML, not JSON
        return 502, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    return _error(status, "Internal Server Error")


def _ok(result: Any) -> Answer:
    return 200, "application/json", json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode()


def decode_params(content_type: str, body: bytes, query: str) -> dict[str, Any]:
    """Parameters from a query string and a JSON, form-urlencoded or multipart body."""
    params: dict[str, Any] = dict(urllib.parse.parse_qsl(query))
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" and body:
        params.update(json.loads(body.decode("utf-8")))
    elif media_type == "application/x-www-form-urlencoded":
        params.update(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    elif media_type == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        for part in parsed.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name:
                content = part.get_payload(decode=True) or b""
                params[name] = content.decode("utf-8") if part.get_filename() is None else content
    if isinstance(params.get("reply_markup"), str):
        params["reply_markup"] = json.loads(params["reply_markup"])
    return params


class FakeTelegram:
    """The fake API in a daemon thread; ``base_url`` is what the connector is configured with."""

    def __init__(self, token: str) -> None:
        self.token = token
        self._calls: list[Call] = []
        self._failures: dict[str, list[tuple[int, int]]] = {}
        self._lock = threading.Lock()
        self._next_message_id = 100
        self.webhook: dict[str, Any] = {}
        self._http = LoopbackServer(_handler(self))

    @property
    def url(self) -> str:
        return self._http.url

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    def __enter__(self) -> FakeTelegram:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.stop()

    def fail_next(self, method: str, status: int, count: int = 1, retry_after: int = 1) -> None:
        """The next ``count`` calls of ``method`` answer with ``status`` (429, 403, 400, 502...)."""
        with self._lock:
            self._failures.setdefault(method, []).extend([(status, retry_after)] * count)

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def sent(self) -> list[Call]:
        """The sendMessage calls that succeeded."""
        return [c for c in self.calls("sendMessage") if c.status == 200]

    def answer(self, path: str, content_type: str, body: bytes) -> Answer:
        parsed = urllib.parse.urlsplit(path)
        prefix, _, method = parsed.path.rpartition("/")
        if not prefix.startswith("/bot"):
            return _error(404, "Not Found")
        try:
            params = decode_params(content_type, body, parsed.query)
        except (ValueError, UnicodeDecodeError):
            return _error(400, "Bad Request: can't parse request body")
        if prefix != f"/bot{self.token}":
            status, kind, payload = _error(401, "Unauthorized")
        else:
            status, kind, payload = self._dispatch(method, params)
        with self._lock:
            self._calls.append(Call(method, params, status, time.monotonic()))
        return status, kind, payload

    def _dispatch(self, method: str, params: dict[str, Any]) -> Answer:
        handler: Callable[[dict[str, Any]], Answer] | None = {
            "getMe": lambda _p: _ok(BOT_USER),
            "sendMessage": self._send_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": lambda _p: _ok({"url": self.webhook.get("url", ""),
                                              "has_custom_certificate": False, "pending_update_count": 0}),
        }.get(method)
        if handler is None:
            return _error(404, "Not Found")
        with self._lock:
            queue = self._failures.get(method)
            failure = queue.pop(0) if queue else None
        if failure is not None:
            return _failure(*failure)
        return handler(params)

    def _send_message(self, params: dict[str, Any]) -> Answer:
        text = str(params.get("text") or "")
        if "chat_id" not in params:
            return _error(400, "Bad Request: chat_id is empty")
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            return _error(400, "Bad Request: message is too long")
        for row in (params.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if len(str(button.get("callback_data", "")).encode()) > MAX_CALLBACK_BYTES:
                    return _error(400, "Bad Request: BUTTON_DATA_INVALID")
        with self._lock:
            self._next_message_id += 1
            message_id = self._next_message_id
        chat_id = str(params["chat_id"])
        chat = {"id": int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id, "type": "private"}
        return _ok({"message_id": message_id, "from": BOT_USER, "chat": chat, "date": int(time.time()),
                    "text": text})

    def _answer_callback_query(self, params: dict[str, Any]) -> Answer:
        if not params.get("callback_query_id"):
            return _error(400, "Bad Request: query is too old and response timeout expired "
                               "or query ID is invalid")
        return _ok(True)

    def _set_webhook(self, params: dict[str, Any]) -> Answer:
        self.webhook = {k: params[k] for k in ("url", "secret_token", "allowed_updates") if k in params}
        return _ok(True)

    def _delete_webhook(self, _params: dict[str, Any]) -> Answer:
        self.webhook = {}
        return _ok(True)


def _handler(fake: FakeTelegram) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, kind, payload = fake.answer(self.path, self.headers.get("Content-Type") or "", body)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _reply

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
            """Silent: the request line holds the token."""

    return Handler
