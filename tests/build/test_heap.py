"""Within ``kept_heap`` large blocks come from the heap; afterwards glibc's defaults are back.

Checked in a fresh interpreter: in the test session's process, a heap fragmented by earlier tests
may serve a large block from a free chunk whatever the settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bot.build import heap
from tests.paths import REPO

# In a child: how many blocks glibc maps on their own (mallinfo2's hblks) while one block of
# 4 MB, above glibc's default mmap threshold and below the kept one, is allocated.
CHILD = """
import ctypes, json, sys
from bot.build import heap

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = heap._glibc()
if libc is None or not hasattr(libc, "mallinfo2"):
    print(json.dumps(None))
    sys.exit()
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]

def mapped() -> int:
    before = libc.mallinfo2().hblks
    block = libc.malloc(4 * 1024 * 1024)
    try:
        return libc.mallinfo2().hblks - before
    finally:
        libc.free(block)

counts = {}
with heap.kept_heap():
    counts["within"] = mapped()
counts["after"] = mapped()
try:
    with heap.kept_heap():
        raise RuntimeError("training failed")
except RuntimeError:
    counts["after a failure"] = mapped()
print(json.dumps(counts))
"""


def test_large_blocks_come_from_the_heap_within_and_are_mapped_again_after():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=60, check=True)
    counts = json.loads(done.stdout.splitlines()[-1])
    if counts is None:
        pytest.skip("not glibc 2.33 or later")
    assert counts == {"within": 0, "after": 1, "after a failure": 1}


def test_without_glibc_the_block_runs_unchanged(monkeypatch):
    monkeypatch.setattr(heap, "_glibc", lambda: None)
    ran = []
    with heap.kept_heap():
        ran.append(True)
    assert ran == [True]
