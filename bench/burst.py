"""A burst from one sender: 200 Telegram updates in a few seconds through the real server.

Runs ``bot serve``'s app (ServerThread, 127.0.0.1 only) with a stub engine and a Telegram
connector whose sends are recorded instead of calling the Bot API, posts the updates from a few
client threads, and prints the acknowledgement latency, the time to the last reply and whether
the replies came in the order the updates were sent.

    PYTHONPATH=. python bench/burst.py [--updates 200] [--clients 4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bot.contract import Rendered
from bot.serving.store import Store
from connectors.telegram import TelegramConnector
from tests.connectors.harness import ServerThread, request
from tests.stub_engine import StubEngine

SECRET = "burst-secret"
CHAT = 5550001234


class RecordedTelegram(TelegramConnector):
    async def start(self) -> None:
        self.replies: list[tuple[float, str]] = []
        self.lock = threading.Lock()

    async def send(self, recipient: str, message: Rendered, meta: Mapping[str, Any]) -> str | None:
        with self.lock:
            self.replies.append((time.perf_counter(), message.text))
        return None


def update(n: int) -> bytes:
    return json.dumps({"update_id": 100_000 + n, "message": {
        "message_id": n, "date": int(time.time()), "chat": {"id": CHAT, "type": "private"},
        "from": {"id": CHAT, "is_bot": False, "first_name": "An"}, "text": f"cau hoi {n}"}}).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4, help="concurrent connections, as Telegram's")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        connector = RecordedTelegram("7000000001:AAH-bench", SECRET)
        store = Store.sqlite(Path(tmp) / "bot.db")
        with ServerThread(StubEngine(), store, {"telegram": connector}) as server:
            url = f"{server.url}/webhooks/telegram/webhook"
            headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
            # Telegram delivers one chat's updates in order: each client takes every k-th update
            # and waits for its answer, so the order the server stores them in is the sent order
            # up to the interleaving of the connections.
            sequence = threading.Lock()
            next_update = iter(range(args.updates))
            sent_order: list[int] = []
            latencies: list[float] = []

            def client() -> None:
                while True:
                    with sequence:
                        n = next(next_update, None)
                        if n is None:
                            return
                        sent_order.append(n)
                        started = time.perf_counter()
                        status = request(url, update(n), headers).status
                        latencies.append(time.perf_counter() - started)
                    assert status == 200, status

            began = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                for _ in range(args.clients):
                    pool.submit(client)
            acked = time.perf_counter()
            deadline = time.monotonic() + 120
            while len(connector.replies) < args.updates and time.monotonic() < deadline:
                time.sleep(0.01)
            replies = list(connector.replies)
        answered = [int(text.rsplit(" ", 1)[1]) for _, text in replies]
        latencies.sort()
        quantile = statistics.quantiles(latencies, n=100)
        print(f"updates {args.updates} over {args.clients} connections, one chat")
        print(f"all acknowledged in {acked - began:.2f} s")
        print(f"ack latency ms: p50 {quantile[49] * 1000:.1f}  p95 {quantile[94] * 1000:.1f}  "
              f"max {latencies[-1] * 1000:.1f}")
        print(f"replies {len(replies)}; last reply {replies[-1][0] - began:.2f} s after the first post")
        print(f"in order: {answered == sent_order}; duplicates: {len(answered) - len(set(answered))}")


if __name__ == "__main__":
    main()
