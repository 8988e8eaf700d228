"""Micro-benchmark of the webhook intake: N webhooks arriving at once, stored one transaction
each on the event loop (as before the group commit) or through ``bot.serving.intake.GroupCommit``.

Each webhook holds one Telegram message from one of 20 senders; its latency runs from the burst's
start to the moment its coroutine returns (when the web server would answer the platform). With
``--busy``, a thread commits small transactions on the same database meanwhile, as the answering
does (tracker, outbox), so the intake competes for SQLite's write lock.

With ``--http``, the whole web process instead: the webhook route (Telegram) and the intake of
``bot serve --workers N`` on a SQLite file, in a process of its own, and the bursts posted over
HTTP from this one (one connection per webhook, kept alive between bursts; ``--client``: the
lean client of ``bench/wire.py`` or httpx, as before session 9). Reported: the ack quantiles at
the client, the server's and the client's CPU per webhook (``/proc``, ``getrusage``), and the
listen-queue overflows and SYNs sent again counted by the kernel meanwhile (``TcpExt``, for the
whole machine). ``--writers N`` starts N processes at nice 10 committing small transactions on
the same file, as the answering processes do; ``--profile FILE`` records the web process with
py-spy (``--gil --threads``). With
``--busy-thread``, a thread of the web process spins in Python, as the answering thread of ``bot
serve`` without ``--workers`` does, so the webhooks wait for the interpreter lock
(``--switch-interval``: ``sys.setswitchinterval`` in the server, seconds).

    PYTHONPATH=. .venv/bin/python bench/accept.py [--sizes 1 10 50 200] [--repeat 5] [--busy]
    PYTHONPATH=. .venv/bin/python bench/accept.py --url postgresql://bot:pw@127.0.0.1:5432/bench
    PYTHONPATH=. .venv/bin/python bench/accept.py --http [--client httpx] [--writers 2] [--profile FILE]
    PYTHONPATH=. .venv/bin/python bench/accept.py --http [--busy-thread] [--switch-interval 0.001]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

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
    parser.add_argument("--client", choices=("wire", "httpx"), default="wire",
                        help="with --http: the HTTP client (bench/wire.py, or httpx as before)")
    parser.add_argument("--writers", type=int, default=0,
                        help="with --http: processes at nice 10 committing small transactions on the "
                             "same SQLite file meanwhile, as the answering processes of --workers do")
    parser.add_argument("--profile", type=Path, default=None,
                        help="with --http: py-spy record --gil --threads of the web process during the "
                             "bursts, raw stacks written to this file")
    parser.add_argument("--web-processes", type=int, default=1,
                        help="with --http: web processes sharing the port (Sanic's workers)")
    parser.add_argument("--write", metavar="DB", help=argparse.SUPPRESS)
    parser.add_argument("--serve", nargs=2, metavar=("DB", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        return write_forever(args.write)
    if args.serve:
        return serve(*args.serve, busy=args.busy_thread, switch_interval=args.switch_interval,
                     processes=args.web_processes)
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


def serve(db: str, port: str, busy: bool, switch_interval: float | None, processes: int = 1) -> None:
    """The web process of ``bot serve --workers N`` (route, intake), as ``bot serve`` runs it;
    ``processes`` > 1: Sanic's own workers, forked, sharing the listening socket."""
    from bot.cli.serve import web_accept
    from bot.serving.server import LISTEN_BACKLOG, build_web
    from connectors.telegram import TelegramConnector

    if switch_interval is not None:
        sys.setswitchinterval(switch_interval)
    if busy:
        threading.Thread(target=_spin, daemon=True).start()
    store = Store.sqlite(Path(db))
    accept = web_accept(store, [])
    app = build_web({"telegram": TelegramConnector("1:bench", SECRET)}, accept)

    @app.listener("before_server_start")
    async def own_connections(_app: Any, _loop: Any) -> None:  # never a connection across fork
        store.engine.dispose()
        store.durable_engine.dispose()

    app.run(host="127.0.0.1", port=int(port), workers=processes, access_log=False, motd=False,
            backlog=LISTEN_BACKLOG)


def write_forever(db: str) -> None:
    """An answering process's writes, without the model: small transactions on the inbox's file
    (at ``synchronous=NORMAL``), one every 2 ms, at nice 10, until killed."""
    os.nice(10)
    store = Store.sqlite(Path(db))
    store.accept("telegram", f"writer-{os.getpid()}", "1", "first")
    stop = threading.Event()
    busy_writer(store, stop)


def _spin() -> None:
    while True:
        sum(i * i for i in range(1000))


def _cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and its live children (``--web-processes``)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    total = 0.0
    for each in (pid, *map(int, children)):
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _tcp_counters() -> dict[str, int]:
    """The kernel's TcpExt counters (the whole machine): ``ListenOverflows`` (a connection dropped
    at a full listen queue), ``TCPSynRetrans`` (a SYN sent again, after 1, 3, 7 s)."""
    names, values = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines()[:2]]
    counters = dict(zip(names, values, strict=True))
    return {name: int(counters.get(name, 0)) for name in ("ListenOverflows", "TCPSynRetrans")}


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _client(kind: str, size: int) -> Any:
    """``wire``: this project's lean client (bench/wire.py); ``httpx``: httpx, as before."""
    if kind == "httpx":
        import httpx

        return httpx.AsyncClient(limits=httpx.Limits(max_connections=size), timeout=60)
    from bench.wire import Client

    return Client(limit=size, timeout=60)


async def http_bursts(args: argparse.Namespace) -> None:
    from tests.connectors.harness import free_port

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        command = [sys.executable, __file__, "--serve", str(Path(tmp) / "bench.db"), str(port),
                   *(["--busy-thread"] if args.busy_thread else []),
                   *(["--switch-interval", str(args.switch_interval)] if args.switch_interval else []),
                   "--web-processes", str(args.web_processes)]
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        writers = [subprocess.Popen([sys.executable, __file__, "--write", str(Path(tmp) / "bench.db")])
                   for _ in range(args.writers)]
        url = f"http://127.0.0.1:{port}"
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
        size = max(args.sizes)
        try:
            async with _client(args.client, size) as client:
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

                print(f"{args.web_processes} web process(es) over HTTP, client {args.client}, "
                      f"{args.writers} writing processes, "
                      f"busy thread {'on' if args.busy_thread else 'off'}, switch interval "
                      f"{args.switch_interval or sys.getswitchinterval()} s, {args.repeat} bursts each, "
                      f"load average {os.getloadavg()[0]:.1f}")
                print("| webhooks at once | ack p50 | ack p95 | ack p99 | server CPU per webhook | "
                      "client CPU per webhook | listen overflows | SYN sent again |")
                print("|---|---|---|---|---|---|---|---|")
                spy = _py_spy(server.pid, args.profile, args.web_processes > 1) if args.profile else None
                for size in args.sizes:
                    cpu, mine, tcp = _cpu_seconds(server.pid), _own_cpu_seconds(), _tcp_counters()
                    latencies: list[float] = []
                    for _ in range(args.repeat):
                        start = time.perf_counter()
                        latencies += await asyncio.gather(*(one(n, start) for n in range(size)))
                        await asyncio.sleep(0.5)
                    used = (_cpu_seconds(server.pid) - cpu) / (size * args.repeat)
                    client_used = (_own_cpu_seconds() - mine) / (size * args.repeat)
                    after = _tcp_counters()
                    p50, p95, p99, _ = _quantiles(latencies)
                    print(f"| {size} | {p50 * 1000:.1f} ms | {p95 * 1000:.1f} ms | {p99 * 1000:.1f} ms | "
                          f"{used * 1000:.2f} ms | {client_used * 1000:.2f} ms | "
                          f"{after['ListenOverflows'] - tcp['ListenOverflows']} | "
                          f"{after['TCPSynRetrans'] - tcp['TCPSynRetrans']} |", flush=True)
                if spy is not None:
                    spy.send_signal(signal.SIGINT)
                    spy.wait(60)
        finally:
            for process in (server, *writers):
                process.terminate()
                process.wait(30)


def _py_spy(pid: int, raw: Path, children: bool = False) -> subprocess.Popen:
    """py-spy sampling the threads of ``pid`` (and its ``children``) that hold the interpreter
    lock, 500 times a second."""
    spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--gil", "--threads",
                            "--nonblocking", "--rate", "500", "--format", "raw", "-o", str(raw),
                            "--pid", str(pid), *(["--subprocesses"] if children else [])],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached before the first burst
    return spy


async def _wait_healthy(client: Any, url: str, server: subprocess.Popen) -> None:
    for _ in range(1200):
        if server.poll() is not None:
            raise SystemExit("the web process stopped")
        try:
            if (await client.get(f"{url}/health")).status_code == 200:
                return
        except Exception:  # noqa: BLE001 - not listening yet (httpx's or an OSError)
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("the web process did not start")


def _quantiles(latencies: list[float]) -> tuple[float, float, float, float]:
    return quantile(latencies, 50), quantile(latencies, 95), quantile(latencies, 99), max(latencies)


if __name__ == "__main__":
    main()
