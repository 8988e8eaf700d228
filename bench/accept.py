"""Micro-benchmark of the webhook intake: N webhooks arriving at once, stored one transaction
each on the event loop (as before the group commit) or through ``bot.serving.intake.GroupCommit``.

Each webhook holds one Telegram message from one of 20 senders; its latency runs from the burst's
start to the moment its coroutine returns (when the web server would answer the platform). With
``--busy``, a thread commits small transactions on the same database meanwhile, as the answering
does (tracker, outbox), so the intake competes for SQLite's write lock.

With ``--http``, the whole web process instead: the webhook route (Telegram) and the intake of
``bot serve --workers N`` on a SQLite file, in a process of its own, and the bursts posted over
HTTP from this one (one connection per webhook, kept alive between bursts). Reported: the ack
quantiles at the client, the server's CPU per webhook (``/proc``), and the listen-queue overflows
counted by the kernel meanwhile (``TcpExtListenOverflows``, for the whole machine). With
``--busy-thread``, a thread of the web process spins in Python, as the answering thread of ``bot
serve`` without ``--workers`` does, so the webhooks wait for the interpreter lock
(``--switch-interval``: ``sys.setswitchinterval`` in the server, seconds).

    PYTHONPATH=. .venv/bin/python bench/accept.py [--sizes 1 10 50 200] [--repeat 5] [--busy]
    PYTHONPATH=. .venv/bin/python bench/accept.py --url postgresql://bot:pw@127.0.0.1:5432/bench
    PYTHONPATH=. .venv/bin/python bench/accept.py --http [--busy-thread] [--switch-interval 0.001]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
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
    parser.add_argument("--http", action="store_true", help="the web process over HTTP, not the intake alone")
    parser.add_argument("--busy-thread", action="store_true", help="with --http: a spinning thread beside")
    parser.add_argument("--switch-interval", type=float, default=None, help="with --http: the server's")
    parser.add_argument("--serve", nargs=2, metavar=("DB", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(*args.serve, busy=args.busy_thread, switch_interval=args.switch_interval)
    if args.http:
        return asyncio.run(http_bursts(args))
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


SECRET = "bench-secret"


def serve(db: str, port: str, busy: bool, switch_interval: float | None) -> None:
    """The web process of ``bot serve --workers N`` (route, intake), as ``bot serve`` runs it."""
    from bot.cli.serve import web_accept
    from bot.serving.server import LISTEN_BACKLOG, build_web
    from connectors.telegram import TelegramConnector

    if switch_interval is not None:
        sys.setswitchinterval(switch_interval)
    if busy:
        threading.Thread(target=_spin, daemon=True).start()
    accept = web_accept(Store.sqlite(Path(db)), [])
    app = build_web({"telegram": TelegramConnector("1:bench", SECRET)}, accept)
    app.run(host="127.0.0.1", port=int(port), workers=1, access_log=False, motd=False,
            backlog=LISTEN_BACKLOG)


def _spin() -> None:
    while True:
        sum(i * i for i in range(1000))


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _listen_overflows() -> int:
    names, values = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines()[:2]]
    return int(dict(zip(names, values, strict=True)).get("ListenOverflows", 0))


async def http_bursts(args: argparse.Namespace) -> None:
    import httpx

    from tests.connectors.harness import free_port

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        command = [sys.executable, __file__, "--serve", str(Path(tmp) / "bench.db"), str(port),
                   *(["--busy-thread"] if args.busy_thread else []),
                   *(["--switch-interval", str(args.switch_interval)] if args.switch_interval else [])]
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
        size = max(args.sizes)
        try:
            async with httpx.AsyncClient(limits=httpx.Limits(max_connections=size), timeout=60) as client:
                await _wait_healthy(client, url, server)

                async def one(n: int, start: float) -> float:
                    update = next(IDS)
                    chat = 5550000000 + n % SENDERS
                    body = json.dumps({"update_id": update, "message": {
                        "message_id": update, "date": 1764000000, "text": f"cau hoi {update}",
                        "chat": {"id": chat, "type": "private"},
                        "from": {"id": chat, "is_bot": False, "first_name": "An"}}})
                    answer = await client.post(f"{url}/webhooks/telegram/webhook", content=body,
                                               headers=headers)
                    assert answer.status_code == 200, answer.text
                    return time.perf_counter() - start

                print(f"web process over HTTP, busy thread {'on' if args.busy_thread else 'off'}, switch "
                      f"interval {args.switch_interval or sys.getswitchinterval()} s, {args.repeat} bursts "
                      f"each, load average {os.getloadavg()[0]:.1f}")
                print("| webhooks at once | ack p50 | ack p95 | ack p99 | server CPU per webhook | "
                      "listen overflows |")
                print("|---|---|---|---|---|---|")
                for size in args.sizes:
                    cpu, overflows, latencies = _cpu_seconds(server.pid), _listen_overflows(), []
                    for _ in range(args.repeat):
                        start = time.perf_counter()
                        latencies += await asyncio.gather(*(one(n, start) for n in range(size)))
                        await asyncio.sleep(0.5)
                    used = (_cpu_seconds(server.pid) - cpu) / (size * args.repeat)
                    p50, p95, p99, _ = _quantiles(latencies)
                    print(f"| {size} | {p50 * 1000:.1f} ms | {p95 * 1000:.1f} ms | {p99 * 1000:.1f} ms | "
                          f"{used * 1000:.2f} ms | {_listen_overflows() - overflows} |", flush=True)
        finally:
            server.terminate()
            server.wait(30)


async def _wait_healthy(client: object, url: str, server: subprocess.Popen) -> None:
    import httpx

    for _ in range(1200):
        if server.poll() is not None:
            raise SystemExit("the web process stopped")
        try:
            if (await client.get(f"{url}/health")).status_code == 200:  # type: ignore[attr-defined]
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("the web process did not start")


def _quantiles(latencies: list[float]) -> tuple[float, float, float, float]:
    return quantile(latencies, 50), quantile(latencies, 95), quantile(latencies, 99), max(latencies)


if __name__ == "__main__":
    main()
