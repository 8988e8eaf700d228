"""Micro-benchmark of the webhook intake: N webhooks arriving at once, stored one transaction
each on the event loop (as before the group commit) or through ``bot.serving.intake.GroupCommit``.

Each webhook holds one Telegram message from one of 20 senders; its latency runs from the burst's
start to the moment its coroutine returns (when the web server would answer the platform). With
``--busy``, a thread commits small transactions on the same database meanwhile, as the answering
does (tracker, outbox), so the intake competes for SQLite's write lock.

    PYTHONPATH=. .venv/bin/python bench/accept.py [--sizes 1 10 50 200] [--repeat 5] [--busy]
    PYTHONPATH=. .venv/bin/python bench/accept.py --url postgresql://bot:pw@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bot.contract import Inbound  # noqa: E402
from bot.serving.intake import GroupCommit  # noqa: E402
from bot.serving.store import Store  # noqa: E402

SENDERS = 20
IDS = itertools.count(1)


def quantile(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def burst(size: int, store_one: Callable[[Inbound], Awaitable[object]]) -> list[float]:
    """Latency of each of ``size`` webhooks started together, seconds."""
    start = time.perf_counter()

    async def one(n: int) -> float:
        update = next(IDS)
        await store_one(Inbound("telegram", str(update), str(5550000000 + n % SENDERS), f"cau hoi {update}"))
        return time.perf_counter() - start

    return list(await asyncio.gather(*(one(n) for n in range(size))))


def one_by_one(store: Store) -> Callable[[Inbound], Awaitable[object]]:
    """Before the group commit: each webhook's own transaction, on the loop."""
    async def store_one(message: Inbound) -> object:
        return store.accept(message.channel, message.platform_id, message.sender, message.text)
    return store_one


def grouped(intake: GroupCommit) -> Callable[[Inbound], Awaitable[object]]:
    async def store_one(message: Inbound) -> object:
        return await intake.store_events([message], time.time())
    return store_one


def busy_writer(store: Store, stop: threading.Event) -> None:
    """Small transactions at the normal (not durable) setting, as the answering commits them."""
    while not stop.is_set():
        with store.engine.begin() as connection:
            connection.execute(text("UPDATE inbound SET handled_by = 'bench' WHERE id = 1"))
        time.sleep(0.002)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50, 200])
    parser.add_argument("--repeat", type=int, default=5, help="bursts per size and variant (alternating)")
    parser.add_argument("--busy", action="store_true", help="another thread commits meanwhile")
    parser.add_argument("--url", default=None, help="a database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(args.url) if args.url else Store.sqlite(Path(tmp) / "bench.db")
        store.accept("telegram", "0", "1", "first")
        stop = threading.Event()
        if args.busy:
            threading.Thread(target=busy_writer, args=(store, stop), daemon=True).start()
        print(f"database {store.engine.dialect.name}, busy writer {'on' if args.busy else 'off'}, "
              f"{args.repeat} bursts each (medians of the bursts' figures)")
        print("| webhooks at once | variant | ack p50 | ack p95 | ack p99 | last | commits |")
        print("|---|---|---|---|---|---|---|")
        try:
            for size in args.sizes:
                figures: dict[str, list[tuple[float, float, float, float, float]]] = {"one by one": [],
                                                                                       "group commit": []}
                for _ in range(args.repeat):
                    latencies = asyncio.run(burst(size, one_by_one(store)))
                    figures["one by one"].append((*_quantiles(latencies), size))
                    intake = GroupCommit(store)
                    latencies = asyncio.run(burst(size, grouped(intake)))
                    figures["group commit"].append((*_quantiles(latencies), intake.commits))
                for variant, rows in figures.items():
                    med = [statistics.median(r[i] for r in rows) for i in range(5)]
                    print(f"| {size} | {variant} | {med[0] * 1000:.1f} ms | {med[1] * 1000:.1f} ms | "
                          f"{med[2] * 1000:.1f} ms | {med[3] * 1000:.1f} ms | {med[4]:.0f} |", flush=True)
        finally:
            stop.set()


def _quantiles(latencies: list[float]) -> tuple[float, float, float, float]:
    return quantile(latencies, 50), quantile(latencies, 95), quantile(latencies, 99), max(latencies)


if __name__ == "__main__":
    main()
