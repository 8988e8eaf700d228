"""Scale-out benchmark: ``bot serve`` workers on one PostgreSQL and one Redis, one of them stopped.

Run from the repository root (PostgreSQL and Redis from Debian's packages: ``bash
scripts/scaleout-services.sh install`` once)::

    PYTHONPATH=. .venv/bin/python bench/scaleout.py --scaleout 2 --kill-worker 10 --sizes 200 \
        --runs 3 --scripts 6 --kill-signal TERM KILL [--kill-only]

``bench/load.py --scaleout N ...`` runs this same command. Beside the N workers, the usual ``bot
serve`` on a SQLite file (one process, or ``--workers N``), on the same recording fakes; the
conversations, the fakes, the processes and the counting (every conversation must get the
replies it got when played alone, once each and in order) are ``bench/load.py``'s. The harness
is the load balancer: each webhook goes to the next worker in turn, and to another when the
request fails. With ``--kill-worker S`` one worker gets a signal S seconds into a run: SIGTERM
(the usual stop: a deploy, ``kill PID``, systemd, Docker), after which it should end what it is
doing and hand its conversations back at once, or SIGKILL (a crash), after which its claims
expire after the lease (``bot.serving.worker``). Its conversations' wait from the signal to
their next reply is measured, and its sends in flight at the signal and once it had exited.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.load import (  # noqa: E402
    FIRST_REPLY_TIMEOUT,
    TOKEN,
    TURN_TIMEOUT,
    Conversation,
    Inboxes,
    OurServer,
    Outcome,
    Processes,
    RecordingKannel,
    RecordingTelegram,
    Scenario,
    Script,
    build_scripts,
    check,
    child_pids,
    common_options,
    machine,
    ms,
    peak_rss_mb,
    quantile,
    run_scenario,
    session,
    summarise,
)
from tests.connectors.kannel.fake_kannel import FakeKannel  # noqa: E402
from tests.connectors.telegram.fake_telegram import FakeTelegram  # noqa: E402

SERVICES_SCRIPT = ROOT / "scripts" / "scaleout-services.sh"
LEASE_SECONDS = 10.0  # BOT_LEASE_SECONDS of the workers (the server's default is 30 s)
EXIT_TIMEOUT = 60.0  # seconds a stopped worker may take to exit before the harness kills it
SIGNALS = {"TERM": signal.SIGTERM, "KILL": signal.SIGKILL}


@contextlib.contextmanager
def scaleout_services() -> Iterator[tuple[str, str]]:
    """PostgreSQL and Redis from Debian's packages (``scripts/scaleout-services.sh``, as the
    scale-out tests start them) on 127.0.0.1, data in a throwaway folder; both stopped on exit."""
    folder = Path(tempfile.mkdtemp(prefix="bench-scaleout-"))  # not under the harness's 0700 folder:
    try:  # as root, the script runs PostgreSQL as the `postgres` user, who must reach it
        started = subprocess.run(["bash", str(SERVICES_SCRIPT), "start", str(folder)],
                                 capture_output=True, text=True, timeout=180)
        if started.returncode:
            raise RuntimeError(f"scaleout-services.sh start failed (install: bash {SERVICES_SCRIPT} "
                               f"install):\n{started.stderr[-2000:]}")
        urls = dict(line.split("=", 1) for line in started.stdout.split() if "=" in line)
        yield urls["DATABASE_URL"], urls["REDIS_URL"]
    finally:
        subprocess.run(["bash", str(SERVICES_SCRIPT), "stop", str(folder)], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Kill:
    """One worker stopped by a signal (``SIGTERM`` or ``SIGKILL``) during a run."""

    at: float  # monotonic time of the signal
    pid: int
    held: set[str]  # addresses of the conversations it held a claim on at the signal
    cut_sends: int  # its replies still in flight once it had exited: sent again by the survivor
    peak_rss_mb: float
    signal: str = "KILL"
    in_flight: int = 0  # its replies in flight at the signal
    exit_seconds: float = 0.0  # from the signal to the process's exit
    released_seconds: float | None = None  # from the signal until it held no claim (None: never)


@dataclass
class ScaleRun:
    """One run of one variant: the outcome, the late replies and, with a kill, what it did."""

    outcome: Outcome
    late: int  # replies that came after their turn's 60 s, before the drain's end
    kill: Kill | None = None
    waiting: int = 0  # of the victim's conversations, those waiting for a reply at the kill
    waits: list[float] = field(default_factory=list)  # from the kill to their next reply
    unanswered: int = 0  # victim's waiting conversations that never got their reply


class ScaleOut(OurServer):
    """``count`` plain ``bot serve`` processes on one PostgreSQL database and one Redis. The
    harness is their load balancer: each webhook goes to the next worker in turn, and to the other
    one when the request fails (nginx's ``proxy_next_upstream error``; a platform whose webhook got
    no answer delivers the same update again, which the shared inbox stores once)."""

    def __init__(self, processes: Processes, inboxes: Inboxes, telegram: FakeTelegram,
                 kannel: FakeKannel, model: Path, count: int, database: str, redis: str,
                 lease: float) -> None:
        self.name = f"PostgreSQL+Redis, {count} workers"
        self.inboxes = inboxes
        self.processes = processes
        self.expected = {}
        self._ids = itertools.count(1)
        self.opened = []
        self.database = database
        self.env = {"DATABASE_URL": database, "REDIS_URL": redis, "BOT_LEASE_SECONDS": f"{lease:g}",
                    "TICKET_LOCK_LIFETIME": f"{lease:g}"}  # Rasa's Redis lock of a killed worker too
        self.make = (processes, None, inboxes, telegram, kannel, model)
        self.generations = itertools.count()
        self.started = time.monotonic()
        self.workers = [self._worker(i) for i in range(count)]
        self.turn_of = itertools.count()
        self.arrivals: dict[str, list[float]] = {}  # recipient -> reply times at the fakes
        self.rss: dict[str, float] = {}  # worker (log name) -> peak RSS, MB
        forward = inboxes.__call__

        def record(channel: str, recipient: str, text: str, at: float) -> None:
            self.arrivals.setdefault(recipient, []).append(at)
            forward(channel, recipient, text, at)

        telegram.listener = kannel.listener = record  # type: ignore[attr-defined]

    def _worker(self, index: int) -> OurServer:
        worker = OurServer(*self.make, extra_env=self.env, name=f"worker-{index}-{next(self.generations)}")
        worker._ids = self._ids  # one numbering of updates across workers, as one platform has
        return worker

    @property
    def process(self) -> subprocess.Popen:  # type: ignore[override]
        return self.workers[0].process

    @property
    def pid(self) -> int:  # type: ignore[override]
        return self.workers[0].pid

    async def post(self, client: Any, conversation: Conversation, text: str, n: int | None = None) -> Any:
        n = next(self._ids) if n is None else n
        first = next(self.turn_of)
        failure: Exception | None = None
        for k in range(len(self.workers)):
            worker = self.workers[(first + k) % len(self.workers)]
            try:
                return await worker.post(client, conversation, text, n)
            except Exception as exc:  # noqa: BLE001 - refused or cut: the next worker gets it
                failure = exc
        assert failure is not None
        raise failure

    def rows(self, sql: str, **params: Any) -> list[tuple]:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.database, future=True)
        try:
            with engine.connect() as connection:
                return [tuple(r) for r in connection.execute(text(sql), params)]
        finally:
            engine.dispose()

    async def first_reply(self, client: Any) -> float:
        """Until every worker has answered a message of its own (each loads the model)."""
        from sqlalchemy.exc import ProgrammingError

        pending = list(self.workers)
        probe = itertools.count(1)
        deadline = time.monotonic() + FIRST_REPLY_TIMEOUT
        while pending:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(pending)} worker(s) answered nothing in {FIRST_REPLY_TIMEOUT:.0f}s")
            for worker in pending:
                if worker.process.poll() is not None:
                    raise RuntimeError(f"bot serve exited:\n{self.processes.tail(worker.process)}")
                conversation = Conversation(0, Script("telegram", ("khai sinh can giay to gi",)),
                                            self.sender("telegram", 800_000 + next(probe)))
                conversation.queue = self.inboxes.open("telegram", conversation.sender)
                with contextlib.suppress(Exception):
                    await worker.post(client, conversation, conversation.script.turns[0], next(self._ids))
            await asyncio.sleep(2.0)
            try:
                handled = " ".join(h for (h,) in await asyncio.to_thread(
                    self.rows, "SELECT DISTINCT handled_by FROM inbound WHERE handled_by IS NOT NULL"))
            except ProgrammingError:  # no worker has created the tables yet
                handled = ""
            pending = [w for w in pending if f":{w.pid}:" not in handled]
        return time.monotonic() - self.started

    def holding(self, pid: int) -> tuple[set[str], int]:
        """The addresses worker ``pid`` holds a claim on, and how many of its sends are in flight."""
        like = f"%:{pid}:%"
        held = {a for (a,) in self.rows("SELECT address FROM claims WHERE claimed_by LIKE :w", w=like)}
        (flying,), = self.rows("SELECT count(*) FROM outbound WHERE in_flight = 1 AND handled_by LIKE :w",
                               w=like)
        return held, int(flying)

    async def kill_after(self, seconds: float, index: int, how: str = "KILL") -> Kill:
        """Sends ``SIG{how}`` to worker ``index`` after ``seconds`` and waits for it to exit."""
        await asyncio.sleep(seconds)
        victim = self.workers[index]
        rss = peak_rss_mb(victim.pid)
        held, in_flight = await asyncio.to_thread(self.holding, victim.pid)
        os.killpg(victim.pid, SIGNALS[how])
        at = time.monotonic()
        released = None
        while victim.process.poll() is None or how == "TERM" and released is None:
            if not (await asyncio.to_thread(self.holding, victim.pid))[0]:
                released = time.monotonic() - at
                break
            if victim.process.poll() is not None:  # exited holding claims: they expire
                break
            await asyncio.sleep(0.1)
        try:
            await asyncio.to_thread(victim.process.wait, EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            print(f"    worker {index} still running {EXIT_TIMEOUT:.0f} s after SIG{how}: killed", flush=True)
            os.killpg(victim.pid, signal.SIGKILL)
            await asyncio.to_thread(victim.process.wait, 10)
        exited = time.monotonic() - at
        _, cut = await asyncio.to_thread(self.holding, victim.pid)
        print(f"    SIG{how} to worker {index} (pid {victim.pid}) holding {len(held)} conversations, "
              f"{in_flight} sends in flight; "
              + ("holding none after " + f"{released:.1f} s, " if released is not None else "")
              + f"exited after {exited:.1f} s (code {victim.process.returncode}), "
              f"{cut} sends left in flight", flush=True)
        return Kill(at, victim.pid, held, cut, rss, how, in_flight, exited, released)

    async def replace(self, index: int, client: Any) -> None:
        """A new worker in place of the killed one, answering before the next run."""
        old = self.workers[index]
        self.processes.stop(old.process)
        self.workers[index] = self._worker(index)
        started = time.monotonic()
        self.workers, others = [self.workers[index]], self.workers
        try:
            await self.first_reply(client)
        finally:
            self.workers = others
        print(f"    worker {index} replaced, answering after {time.monotonic() - started:.0f} s", flush=True)

    def peak_rss(self) -> None:
        for worker in self.workers:
            self.rss[worker.process.name] = max(self.rss.get(worker.process.name, 0.0),  # type: ignore[attr-defined]
                                                peak_rss_mb(worker.pid))


def explain(conversations: Sequence[Conversation], expected: dict[Script, list[list[str]]],
            most: int = 3) -> None:
    """Prints the first ``most`` conversations whose replies were lost, doubled, reordered or
    unexpected: what each sent, should have got and got, with the times (seconds into it)."""
    def wrong(conversation: Conversation) -> bool:
        want = [r for replies in expected[conversation.script][: len(conversation.turns)] for r in replies]
        return any(check(want, [r for t in conversation.turns for r in t.replies] + conversation.late))

    flawed = [c for c in conversations if wrong(c)]
    if len(flawed) > most:
        print(f"    {len(flawed)} conversations with replies lost, doubled or reordered; the first {most}:")
    for conversation in flawed[:most]:
        want = [r for replies in expected[conversation.script][: len(conversation.turns)] for r in replies]
        received = [r for t in conversation.turns for r in t.replies] + conversation.late
        start = conversation.turns[0].sent_at if conversation.turns else 0.0
        print(f"    {conversation.script.channel} {conversation.sender}: lost, duplicated, reordered, "
              f"unexpected = {check(want, received)}", flush=True)
        for k, turn in enumerate(conversation.turns):
            print(f"      sent {conversation.script.turns[k]!r} at {turn.sent_at - start:.1f} s, first reply "
                  f"after {'-' if turn.latency is None else f'{turn.latency:.1f} s'}, error {turn.error}; "
                  f"expected {[r[:40] for r in expected[conversation.script][k]]}, "
                  f"got {[r[:40] for r in turn.replies]}", flush=True)
        if conversation.late:
            print(f"      late: {[r[:40] for r in conversation.late]}", flush=True)


def late_replies(conversations: Sequence[Conversation]) -> int:
    return sum(len(c.late) for c in conversations)


def victim_waits(
    run: ScaleRun, conversations: Sequence[Conversation], arrivals: dict[str, list[float]]
) -> None:
    """Of the conversations the killed worker held, those waiting for a reply at the kill: how long
    from the kill to their next reply."""
    assert run.kill is not None
    at = run.kill.at
    for conversation in conversations:
        if conversation.sender not in run.kill.held:
            continue
        waiting = any(t.sent_at < at and (t.latency is None or t.sent_at + t.latency > at)
                      for t in conversation.turns)
        if not waiting:
            continue
        run.waiting += 1
        after = [t for t in arrivals.get(conversation.sender, []) if t > at]
        if after:
            run.waits.append(min(after) - at)
        else:
            run.unanswered += 1


async def drive_scaleout(args: argparse.Namespace, processes: Processes, work: Path, inboxes: Inboxes,
                         telegram: FakeTelegram, kannel: FakeKannel, model: Path, database: str,
                         redis: str) -> dict[str, Any]:
    """SQLite with one ``bot serve`` beside ``--scaleout`` workers on PostgreSQL and Redis, and
    (``--kill-worker``) the same workers with one stopped mid-run by each ``--kill-signal``;
    variants alternate run by run (``--kill-only``: the stopped variants alone)."""
    import httpx

    inboxes.loop = asyncio.get_running_loop()
    scripts = build_scripts(args.scripts, args.turns)
    results: dict[str, Any] = {"cold_start": {}, "runs": {}, "loads": []}
    async with httpx.AsyncClient(timeout=TURN_TIMEOUT) as client:
        sqlite_label = "SQLite, 1 process" + (f" (--workers {args.workers})" if args.workers > 1 else "")
        sqlite = None if args.kill_only else OurServer(processes, work / "bot.db", inboxes, telegram,
                                                       kannel, model, args.workers)
        scale = ScaleOut(processes, inboxes, telegram, kannel, model, args.scaleout, database, redis,
                         args.lease)
        if sqlite is not None:
            results["cold_start"][sqlite_label] = await sqlite.first_reply(client)
        results["cold_start"][scale.name] = await scale.first_reply(client)
        print(f"cold start: {results['cold_start']}", flush=True)
        await (sqlite or scale).calibrate(client, scripts)
        scale.expected = (sqlite or scale).expected  # the same model answers the same scripts alike
        variants: list[tuple[str, OurServer, tuple[float, str] | None]] = (
            [] if sqlite is None else [(sqlite_label, sqlite, None), (scale.name, scale, None)])
        for how in args.kill_signal if args.kill_worker is not None else ():
            what = "stopped (SIGTERM)" if how == "TERM" else "killed (SIGKILL)"
            variants.append((f"{scale.name}, 1 {what} at {args.kill_worker:g} s", scale,
                             (args.kill_worker, how)))
        sizes = args.sizes or [50, 200]
        for size in sizes:
            scenario = Scenario(f"{size} conversations", size, runs=args.runs)
            for run in range(scenario.runs):
                for label, server, kill_at in variants:
                    load = os.getloadavg()[0]
                    results["loads"].append(load)
                    before = len(server.opened)
                    if kill_at is None:
                        outcome = await run_scenario(server, scenario, scripts, run, args.turns)
                        kill = None
                    else:
                        outcome, kill = await asyncio.gather(
                            run_scenario(server, scenario, scripts, run, args.turns),
                            scale.kill_after(kill_at[0], len(scale.workers) - 1, kill_at[1]))
                    played = server.opened[before:]
                    figures = ScaleRun(outcome, late_replies(played), kill)
                    if kill is not None:
                        victim_waits(figures, played, scale.arrivals)
                    results["runs"].setdefault((scenario.label, label), []).append(figures)
                    print(f"  {scenario.label} run {run + 1} {label} (load {load:.1f}): "
                          f"{outcome.throughput:.1f} turns/s, p50/p95/p99 "
                          f"{'/'.join(ms(quantile(outcome.latencies, q)) for q in (50, 95, 99))}, "
                          f"ack p95 {ms(quantile(outcome.acks, 95))}, "
                          f"answered {outcome.turns_answered}/{outcome.turns_sent}, lost {outcome.lost}, "
                          f"duplicated {outcome.duplicated}, reordered {outcome.reordered}, "
                          f"late {figures.late}"
                          + (f", victim's waiting conversations {figures.waiting}, waits "
                             f"{', '.join(f'{w:.1f}' for w in sorted(figures.waits))} s" if kill else ""),
                          flush=True)
                    explain(played, server.expected)
                    if kill is not None:
                        scale.rss[f"SIG{kill.signal} pid {kill.pid}"] = kill.peak_rss_mb
                        await scale.replace(len(scale.workers) - 1, client)
                    scale.peak_rss()
    results["peak_rss_mb"] = {f"{scale.name}: {name}": mb for name, mb in scale.rss.items()}
    if sqlite is not None:
        results["peak_rss_mb"] |= {sqlite_label: peak_rss_mb(sqlite.pid),
                                   **{f"{sqlite_label} answering": mb for mb in
                                      [peak_rss_mb(pid) for pid in child_pids(sqlite.pid)]}}
    results["variants"] = [label for label, _, _ in variants]
    return results


def scaleout_report(results: dict[str, Any]) -> str:
    """One table per scenario: medians over the runs (losses: the worst run), the kill's figures."""
    labels = results["variants"]
    out = []
    for scenario in dict.fromkeys(s for s, _ in results["runs"]):
        out += scaleout_table(scenario, {label: results["runs"][(scenario, label)] for label in labels})
    out.append("cold start: " + ", ".join(f"{k} {v:.1f} s" for k, v in results["cold_start"].items()))
    out.append("peak RSS: " + ", ".join(f"{k} {v:.0f} MB" for k, v in results["peak_rss_mb"].items()))
    loads = results["loads"]
    out.append(f"load average (1 min) at the runs' starts: {min(loads):.1f}-{max(loads):.1f}, "
               f"median {statistics.median(loads):.1f}")
    return "\n".join(out)


def scaleout_table(scenario: str, runs: dict[str, list[ScaleRun]]) -> list[str]:
    """The variants side by side for one scenario: medians over the runs (losses: the worst run)."""
    labels = list(runs)
    summary = {label: summarise([r.outcome for r in runs[label]]) for label in labels}

    out: list[str] = []

    def row(name: str, cell: Callable[[str], str]) -> str:
        return f"| {name} | " + " | ".join(cell(label) for label in labels) + " |"

    def kills(label: str) -> list[ScaleRun]:
        return [r for r in runs[label] if r.kill is not None]

    def waits(label: str) -> str:
        pooled = sorted(w for r in kills(label) for w in r.waits)
        if not kills(label):
            return "-"
        held = "/".join(str(len(r.kill.held)) for r in kills(label))  # type: ignore[union-attr]
        waiting = "/".join(str(r.waiting) for r in kills(label))
        text = f"held {held}, waiting {waiting}"
        if pooled:
            text += f"; wait median {statistics.median(pooled):.1f} s, max {pooled[-1]:.1f} s"
        unanswered = sum(r.unanswered for r in kills(label))
        return text + (f"; never answered {unanswered}" if unanswered else "")

    out += [f"{scenario} ({len(runs[labels[0]])} runs each)", "",
            "| measure | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels),
            row("throughput (turns/s)", lambda k: f"{summary[k].throughput:.1f}"),
            row("turn latency p50 / p95 / p99",
                lambda k: " / ".join(ms(v) for v in (summary[k].p50, summary[k].p95, summary[k].p99))),
            row("webhook ack p95", lambda k: ms(summary[k].ack_p95)),
            row("turns answered / sent",
                lambda k: f"{summary[k].turns_answered}/{summary[k].turns_sent}"),
            row("errors, lost, duplicated, reordered, unexpected (worst run)",
                lambda k: f"{summary[k].errors}, {summary[k].lost}, {summary[k].duplicated}, "
                          f"{summary[k].reordered}, {summary[k].unexpected}"),
            row("late replies (after 60 s, worst run)", lambda k: str(max(r.late for r in runs[k]))),
            row("stopped worker's sends in flight at the signal / left in flight at its exit (sent again)",
                lambda k: ", ".join(f"{r.kill.in_flight} / {r.kill.cut_sends}"  # type: ignore[union-attr]
                                    for r in kills(k)) or "-"),
            row("stopped worker: claims all handed back / process exited, after the signal",
                lambda k: ", ".join(("-" if r.kill.released_seconds is None  # type: ignore[union-attr]
                                     else f"{r.kill.released_seconds:.1f} s")  # type: ignore[union-attr]
                                    + f" / {r.kill.exit_seconds:.1f} s" for r in kills(k)) or "-"),  # type: ignore[union-attr]
            row("stopped worker's conversations (per run), their wait from the signal to the next reply",
                waits),
            ""]
    return out



FAKE_BACKLOG = 256  # pending connections the fakes' listening sockets take (socketserver's default: 5)


def run_scaleout(args: argparse.Namespace, processes: Processes, work: Path, model: Path) -> dict[str, Any]:
    inboxes = Inboxes()
    with scaleout_services() as (database, redis), RecordingTelegram(TOKEN, inboxes) as telegram, \
            RecordingKannel(inboxes) as kannel:
        if args.backlog:
            # three servers sending at once overflow a backlog of 5 while the harness process is
            # busy: the kernel drops the connections and the servers back off up to 300 s
            for fake in (telegram, kannel):
                fake._http._server.socket.listen(FAKE_BACKLOG)
        try:
            results = asyncio.run(drive_scaleout(args, processes, work, inboxes, telegram, kannel, model,
                                                 database, redis))
        finally:
            processes.stop_all()  # before the database goes
        results["dlr_failures"] = kannel.dlr_failures
    results["strays"] = inboxes.strays
    return results


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_options(parser)
    parser.add_argument("--scaleout", type=int, default=2, metavar="N",
                        help="N `bot serve` processes on one PostgreSQL and one Redis, the harness "
                             "alternating webhooks between them")
    parser.add_argument("--kill-worker", type=float, default=None, metavar="SECONDS",
                        help="also runs where one of them gets a signal this long into the run")
    parser.add_argument("--kill-signal", nargs="+", choices=sorted(SIGNALS), default=["KILL"],
                        metavar="TERM|KILL",
                        help="the signal (default KILL); several: one variant each, alternated")
    parser.add_argument("--kill-only", action="store_true",
                        help="only the runs with a worker stopped: no SQLite server, no run without a signal")
    parser.add_argument("--lease", type=float, default=LEASE_SECONDS, metavar="SECONDS",
                        help="BOT_LEASE_SECONDS of the workers (how long a killed one's claims last)")
    parser.add_argument("--backlog", action="store_true",
                        help=f"the fakes' listening sockets take {FAKE_BACKLOG} pending connections, not 5")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, metavar="N",
                        help="conversations per scenario (default: 50 200), no pause")
    args = parser.parse_args(argv)
    if args.kill_worker is not None and args.scaleout < 2:
        parser.error("--kill-worker needs --scaleout 2 or more")
    if args.kill_only and args.kill_worker is None:
        parser.error("--kill-only needs --kill-worker")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with session(args) as (processes, work, model):
        results = run_scaleout(args, processes, work, model)
    print()
    print(machine())
    print(scaleout_report(results))
    print(f"Kannel delivery reports not answered within 5 s: {results['dlr_failures']}; "
          f"replies to unknown recipients: {results['strays']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
