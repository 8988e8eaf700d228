"""Start-up cost and per-turn latency of the address step (issue #5: under 5 ms per turn).

Run from the repository root: ``.venv/bin/python bench/address.py [repeats]``. Prints figures only.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LONG_SMS = (
    "chao ad, em o thon Na Sang xa Yen Dinh huyen Bac Me tinh Ha Giang, vo em moi sinh be duoc 3 tuan, "
    "gio muon lam giay khai sinh va dang ky thuong tru cho con thi nop o dau, can giay to gi a"
)
ESSAY = " ".join(["toi muon hoi ve thu tuc dang ky khai sinh cho con o phuong 1 quan 3"] * 15)


def rss_kb() -> int:
    """Resident set size of this process, from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def timed(fn, *args, clock=time.perf_counter):
    start = clock()
    result = fn(*args)
    return result, (clock() - start) * 1000


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered):.3f} ms, p95 {p95:.3f} ms, max {ordered[-1]:.3f} ms"


def main(repeats: int = 50) -> None:
    rss0 = rss_kb()
    _, ms_module = timed(__import__, "bot.address")
    rss1 = rss_kb()
    _, ms_library = timed(__import__, "vietnamadminunits")
    rss2 = rss_kb()
    from bot.address import AddressBook

    book, ms_index = timed(AddressBook.load)
    rss3 = rss_kb()
    print(f"python {sys.version.split()[0]}")
    print(f"import bot.address:           {ms_module:7.0f} ms  RSS +{(rss1 - rss0) / 1024:.1f} MB")
    print(f"import vietnamadminunits:     {ms_library:7.0f} ms  RSS +{(rss2 - rss1) / 1024:.1f} MB")
    print(f"AddressBook.load() (indexes): {ms_index:7.0f} ms  RSS +{(rss3 - rss2) / 1024:.1f} MB")
    print(
        f"start-up total:               {ms_module + ms_library + ms_index:7.0f} ms  "
        f"RSS +{(rss3 - rss0) / 1024:.1f} MB (process now {rss3 / 1024:.0f} MB)"
    )

    from tests.test_address import GOLDEN, NO_ADDRESS

    inputs = [text for text, _ in GOLDEN] + NO_ADDRESS
    _, first = timed(book.find, inputs[0])
    print(f"first find() after load:      {first:7.2f} ms")

    # wall time includes waiting for a CPU on a busy machine; process time is this process's work
    for label, clock in (("wall", time.perf_counter), ("cpu", time.process_time)):
        print(f"-- per call, {label} time")
        samples = [timed(book.find, text, clock=clock)[1] for _ in range(repeats) for text in inputs]
        print(f"find() over {len(inputs)} golden and no-address inputs x {repeats}: {summary(samples)}")
        for name, text in ((f"{len(LONG_SMS)}-char SMS", LONG_SMS), (f"{len(ESSAY)}-char message", ESSAY)):
            samples = [timed(book.find, text, clock=clock)[1] for _ in range(repeats)]
            print(f"find() on a {name}: {summary(samples)}")
        for name, arg in (("current_province", "tra vinh"), ("sources", "ia phi"), ("units", "yen dinh")):
            samples = [timed(getattr(book, name), arg, clock=clock)[1] for _ in range(repeats)]
            print(f"{name}({arg!r}): {summary(samples)}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
