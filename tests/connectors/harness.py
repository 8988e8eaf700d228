"""Runs ``bot serve``'s app in a background thread on 127.0.0.1, for webhook-to-platform tests,
and serves the platform fakes on 127.0.0.1.

Network guard: tests talk to 127.0.0.1 only; ``no_outside_network`` makes any other connect fail.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOOPBACK = "127.0.0.1"

# The server's worker in these tests: the production backoff schedule (2, 10, 60, 300, 1800 s)
# scaled down ten times, and a shorter idle poll, so a retry takes a fraction of a second.
BACKOFF_SECONDS = (0.2, 1.0, 6.0, 30.0, 180.0)
POLL_SECONDS = 0.1
WORKER_OPTIONS: Mapping[str, Any] = {"backoff_seconds": BACKOFF_SECONDS, "poll_seconds": POLL_SECONDS}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


class LoopbackServer:
    """An HTTP server on 127.0.0.1 at a port the system picks, served from a daemon thread.

    The platform fakes answer through it; ``stop`` returns once the serving thread is gone.
    """

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer((LOOPBACK, 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def wait_until(condition: Callable[[], Any], timeout: float = 20.0, step: float = 0.05) -> Any:
    """Polls ``condition`` until it is truthy; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


@dataclass
class HttpAnswer:
    status: int
    body: bytes


def request(url: str, body: bytes | None = None, headers: Mapping[str, str] | None = None,
            method: str | None = None, timeout: float = 10.0) -> HttpAnswer:
    """One HTTP request to 127.0.0.1; 4xx and 5xx come back as answers, not exceptions."""
    assert url.startswith(f"http://{LOOPBACK}:"), url
    req = urllib.request.Request(url, data=body, headers=dict(headers or {}), method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            return HttpAnswer(answer.status, answer.read())
    except urllib.error.HTTPError as error:
        return HttpAnswer(error.code, error.read())


class ServerThread:
    """The real app (webhooks, inbox, outbox) on its own event loop in a daemon thread, with the
    short worker timing of ``WORKER_OPTIONS`` unless ``worker_options`` says otherwise;
    ``handover``: the handover's ``HandoverSettings``."""

    def __init__(self, engine: Any, store: Any, connectors: Mapping[str, Any],
                 worker_options: Mapping[str, Any] = WORKER_OPTIONS, handover: Any = None) -> None:
        from sanic import Sanic

        from bot.serving.server import build_app

        Sanic.test_mode = True  # without it a second app in one process fails in Sanic's touchup

        self.port = free_port()
        self.app = build_app(engine, store, connectors, name=f"bot_test_{self.port}",
                             worker_options=worker_options, handover=handover)
        self.loop = asyncio.new_event_loop()
        self._server: Any = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def __enter__(self) -> ServerThread:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self.loop)
        future.result(timeout=30)
        return self

    async def _start(self) -> None:
        self._server = await self.app.create_server(host=LOOPBACK, port=self.port,
                                                    return_asyncio_server=True, access_log=False)
        await self._server.startup()
        await self._server.after_start()

    async def _stop(self) -> None:
        await self._server.before_stop()
        self._server.close()
        await self._server.wait_closed()
        await self._server.after_stop()

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
