"""The scale-out benchmark (``bench/scaleout.py``): the harness as load balancer, the kill's figures.

The full run (``bench/scaleout.py --scaleout 2 --kill-worker S``) loads the model in three processes,
far beyond a fast test; what it asserts under load, tests/serving/test_scaleout_load.py asserts
against real PostgreSQL and Redis in CI. Here: the parts of the harness that decide its figures.
"""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

import bench.scaleout
from bench.load import Conversation, Inboxes, OurServer, Outcome, Script, Turn
from bench.load import main as load_main
from bench.scaleout import Kill, ScaleOut, ScaleRun, parse_args, victim_waits
from tests.connectors.harness import LOOPBACK, free_port


class Worker(ThreadingHTTPServer):
    """A live worker's web server: records each Telegram update it acknowledges."""

    def __init__(self) -> None:
        self.updates: list[int] = []
        received = self.updates

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(json.loads(body)["update_id"])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__((LOOPBACK, 0), Handler)


def balancer(urls: list[str]) -> ScaleOut:
    """The harness's balancer over web servers at ``urls`` (no ``bot serve`` started)."""
    scale = ScaleOut.__new__(ScaleOut)
    scale.inboxes = Inboxes()
    scale._ids = iter(range(1, 100))
    scale.turn_of = iter(range(100))
    scale.workers = []
    for url in urls:
        worker = OurServer.__new__(OurServer)
        worker.url, worker._ids = url, scale._ids
        scale.workers.append(worker)
    return scale


@pytest.mark.parametrize(("dead", "expected"), [
    (None, {"a": [1, 3], "b": [2, 4]}),  # both alive: in turn
    ("b", {"a": [1, 2, 3, 4], "b": []}),  # one dead (connection refused): the other takes every update
])
def test_webhooks_alternate_and_skip_a_dead_worker(dead, expected):
    servers = {"a": Worker(), "b": Worker()}
    for server in servers.values():
        threading.Thread(target=server.serve_forever, daemon=True).start()
    dead_url = f"http://{LOOPBACK}:{free_port()}"  # nothing listens there
    urls = [dead_url if name == dead else f"http://{LOOPBACK}:{s.server_address[1]}"
            for name, s in servers.items()]
    conversation = Conversation(1, Script("telegram", ("a",)), "5550000001")

    scale = balancer(urls)

    async def send() -> list[int]:
        async with httpx.AsyncClient(timeout=5) as client:
            return [(await scale.post(client, conversation, "xin chao")).status_code for _ in range(4)]

    try:
        assert asyncio.run(send()) == [200] * 4
    finally:
        for server in servers.values():
            server.shutdown()
            server.server_close()
    assert {name: [u - 10_000_000 for u in s.updates] for name, s in servers.items()} == expected


def conversation(sender: str, sent_at: float, latency: float | None) -> Conversation:
    talk = Conversation(1, Script("telegram", ("a",)), sender)
    talk.turns.append(Turn(sent_at, ack=0.01, latency=latency))
    return talk


def test_the_killed_workers_waiting_conversations_and_their_waits():
    kill = Kill(at=100.0, pid=42, held={"1", "2", "3"}, cut_sends=0, peak_rss_mb=700.0)
    talks = [
        conversation("1", 99.0, 12.0),  # held, waiting at the kill, answered 11 s after it
        conversation("2", 95.0, 1.0),  # held, answered before the kill: not waiting
        conversation("3", 99.5, None),  # held, waiting, never answered
        conversation("4", 99.0, 2.0),  # not held by the victim
    ]
    arrivals = {"1": [111.0, 111.2], "2": [96.0], "4": [101.0]}
    run = ScaleRun(Outcome(), late=0, kill=kill)
    victim_waits(run, talks, arrivals)
    assert (run.waiting, run.waits, run.unanswered) == (2, [11.0], 1)


@pytest.mark.parametrize(("argv", "expected"), [
    (["--scaleout", "2", "--kill-worker", "5", "--sizes", "50", "200"], (2, 5.0, [50, 200], ["KILL"])),
    (["--kill-worker", "10", "--kill-signal", "TERM"], (2, 10.0, None, ["TERM"])),
    (["--kill-worker", "10", "--kill-signal", "TERM", "KILL", "--kill-only"],
     (2, 10.0, None, ["TERM", "KILL"])),
    (["--scaleout", "1", "--kill-worker", "5"], SystemExit),  # a kill needs two workers
    (["--kill-worker", "5", "--kill-signal", "HUP"], SystemExit),  # TERM or KILL only
    (["--kill-only"], SystemExit),  # nothing to run without a kill
])
def test_the_kill_options(argv, expected):
    if expected is SystemExit:
        with pytest.raises(SystemExit):
            parse_args(argv)
        return
    args = parse_args(argv)
    assert (args.scaleout, args.kill_worker, args.sizes, args.kill_signal) == expected


def test_load_py_with_scaleout_runs_the_scale_out_benchmark(monkeypatch):
    seen = []
    monkeypatch.setattr(bench.scaleout, "main", lambda argv: seen.append(argv) or 0)
    argv = ["--scaleout", "2", "--kill-worker", "10", "--sizes", "200", "--runs", "1", "--scripts", "6"]
    assert load_main(argv) == 0
    assert seen == [argv]
