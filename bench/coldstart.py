"""Cold start and peak memory of ``bot serve``: process start to the first reply, and VmHWM.

Run from the repository root::

    PYTHONPATH=. .venv/bin/python bench/coldstart.py [--runs 3] [--other DIR] [--workers N]

Each run starts ``bot serve`` as ``bench/load.py`` does (a fresh SQLite file, Telegram and Kannel
pointed at the recording fakes of ``tests/connectors/``), posts one Telegram update until the
webhook takes it, and times the first reply reaching the fake; then it reads the peak resident set
(``VmHWM``) of ``bot serve`` and of its answering processes, and whether TensorFlow's library is
mapped in each. ``--other DIR`` measures another checkout too (its code and project, e.g. a
``git archive`` of the commit before a change, with a copy of the same model), the two alternated
run by run so that both see the same load. A first start of each checkout is made and left out of
the medians (it writes ``var/cache``; its cold start is shown apart).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import load  # noqa: E402  - bench/load.py: its fakes, process handling and the server under test


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far (less sensitive to a busy machine)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def tensorflow_mapped(pid: int) -> bool:
    """True when TensorFlow's shared library is mapped in the process (it was imported)."""
    try:
        return "libtensorflow" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


async def one_start(root: Path, model: Path, workers: int, work: Path, processes: Any, inboxes: Any,
                    telegram: Any, kannel: Any) -> dict[str, Any]:
    import httpx

    load.ROOT = root  # the server's code and project: PYTHONPATH and --root
    inboxes.loop = asyncio.get_running_loop()
    start = processes.start
    processes.start = functools.partial(start, cwd=root)  # the child's sys.path starts at its cwd
    try:
        server = load.OurServer(processes, work / f"bot-{time.monotonic_ns()}.db", inboxes, telegram,
                                kannel, model, workers)
    finally:
        processes.start = start
    try:
        async with httpx.AsyncClient(timeout=load.TURN_TIMEOUT) as client:
            first = await server.first_reply(client)
        await asyncio.sleep(1.0)
        pids = [server.pid, *load.child_pids(server.pid)]
        return {"first_reply_s": first, "cpu_s": [round(cpu_seconds(pid), 1) for pid in pids],
                "peak_mb": [round(load.peak_rss_mb(pid)) for pid in pids],
                "tensorflow": [tensorflow_mapped(pid) for pid in pids]}
    finally:
        processes.stop(server.process)
        load.ROOT = ROOT


def run(args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    checkouts = {"this": ROOT, **({"other": args.other.resolve()} if args.other else {})}
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in checkouts}
    with tempfile.TemporaryDirectory(prefix="bench-coldstart-") as tmp, load.stopping() as processes_of:
        work = Path(tmp)
        processes = processes_of(work)
        inboxes = load.Inboxes()
        with load.RecordingTelegram(load.TOKEN, inboxes) as telegram, load.RecordingKannel(inboxes) as kannel:
            for index in range(args.runs + 1):
                for name, root in checkouts.items():
                    model = root / "models" / "current.tar.gz"
                    figures = asyncio.run(one_start(root, model, args.workers, work, processes, inboxes,
                                                    telegram, kannel))
                    figures["first_start"] = index == 0
                    results[name].append(figures)
                    print(f"{name} ({root}) {'(first start) ' if index == 0 else ''}{load.machine()} "
                          f"(the commit is this checkout's): {figures}", flush=True)
    return results


def summary(results: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for name, runs in results.items():
        counted = [r for r in runs if not r["first_start"]]
        peaks = [max(r["peak_mb"]) for r in counted]
        times = ", ".join(f"{r['first_reply_s']:.1f}" for r in counted)
        lines.append(
            f"{name}: cold start median {statistics.median(r['first_reply_s'] for r in counted):.1f} s "
            f"(runs {times}; first start "
            f"{runs[0]['first_reply_s']:.1f} s), peak RSS median {statistics.median(peaks):.0f} MB "
            f"(runs {', '.join(str(r['peak_mb']) for r in counted)}), CPU at the first reply "
            f"{', '.join(str(r.get('cpu_s')) for r in counted)} s, TensorFlow mapped: "
            f"{sorted({str(r['tensorflow']) for r in runs})}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="counted starts per checkout (median)")
    parser.add_argument("--other", type=Path, default=None, help="another checkout, measured alternately")
    parser.add_argument("--workers", type=int, default=1, help="bot serve --workers")
    args = parser.parse_args(argv)
    print(summary(run(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
