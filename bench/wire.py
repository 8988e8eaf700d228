"""A lean HTTP/1.1 client for the benchmarks: keep-alive connections over asyncio streams.

The benchmarks run on the same two cores as the server they measure, so the client's CPU per
request is taken from the server. httpx spends about 1 ms of CPU on a request (its models, the
h11 state machine, the pool's bookkeeping; docs/benchmarks.md, "Acknowledgement, session 9"); this
client writes the request's bytes and reads the status line, the headers and a ``Content-Length``
body, nothing else. It still behaves as a platform does: one TCP connection per request in
flight, opened when none is idle, kept alive and reused afterwards.

Only what the benchmarks send and receive is supported: ``GET`` and ``POST`` (a JSON body or
bytes) to ``http://host:port``, answers with a ``Content-Length`` (chunked bodies are refused
with ``WireError``). The calls and the response follow httpx's names (``post(url, json=...,
headers=...)``, ``.status_code``, ``.text``, ``.json()``), so a harness can take either client.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class WireError(OSError):
    """The server's answer could not be read as HTTP/1.1 with a Content-Length."""


@dataclass
class Response:
    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)


_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Client:
    """Keep-alive connections per ``host:port``, at most ``limit`` open at once per origin;
    ``timeout`` bounds each request (connecting included), seconds."""

    def __init__(self, limit: int = 100, timeout: float = 60.0) -> None:
        self.limit = limit
        self.timeout = timeout
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._slots: dict[tuple[str, int], asyncio.Semaphore] = {}
        self.opened = 0  # connections opened, for the reports

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for _, writer in connections:
                writer.close()
        self._idle.clear()

    async def get(self, url: str, headers: Mapping[str, str] | None = None) -> Response:
        return await self.request("GET", url, b"", headers)

    async def post(self, url: str, json: Any = None, content: bytes | str | None = None,
                   headers: Mapping[str, str] | None = None) -> Response:
        extra = dict(headers or {})
        if json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False).encode()
            extra.setdefault("Content-Type", "application/json")
        else:
            body = content.encode() if isinstance(content, str) else (content or b"")
        return await self.request("POST", url, body, extra)

    async def request(self, method: str, url: str, body: bytes = b"",
                      headers: Mapping[str, str] | None = None) -> Response:
        parts = urlsplit(url)
        origin = (parts.hostname or "127.0.0.1", parts.port or 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = [f"{method} {target} HTTP/1.1", f"Host: {origin[0]}:{origin[1]}",
                f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in (headers or {}).items()]
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        slots = self._slots.setdefault(origin, asyncio.Semaphore(self.limit))
        async with slots:
            return await asyncio.wait_for(self._exchange(origin, payload), self.timeout)

    async def _exchange(self, origin: tuple[str, int], payload: bytes) -> Response:
        idle = self._idle.setdefault(origin, [])
        while idle:  # a kept-alive connection the server may have closed meanwhile: tried once
            connection = idle.pop()
            try:
                return await self._send(origin, connection, payload)
            except (ConnectionError, asyncio.IncompleteReadError):
                connection[1].close()
        connection = await asyncio.open_connection(*origin)
        self.opened += 1
        return await self._send(origin, connection, payload)

    async def _send(self, origin: tuple[str, int], connection: _Connection, payload: bytes) -> Response:
        reader, writer = connection
        try:
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            status, length, close = _head(head)
            content = await reader.readexactly(length) if length else b""
        except BaseException:
            writer.close()
            raise
        if close:
            writer.close()
        else:
            self._idle[origin].append(connection)
        return Response(status, content)


def _head(head: bytes) -> tuple[int, int, bool]:
    """Status, Content-Length and whether the server closes the connection, from the headers."""
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ", 2)[1])
    except (IndexError, ValueError):
        raise WireError(f"not an HTTP status line: {lines[0]!r}") from None
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding":
            raise WireError("chunked answers are not supported")
        elif name == "connection":
            close = value.strip().lower() == "close"
    return status, length, close
