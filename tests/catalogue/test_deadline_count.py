"""``deadline.days`` and ``deadline.counted_from``: the computable deadline reminders use."""

from __future__ import annotations

import pytest

from bot.catalogue import DeadlineCount, load_catalogue, load_file
from tests.catalogue.test_loading import MINIMAL, write
from tests.paths import PROJECT

OLD = "deadline:\n  text: Trong 60 ngày.\n"


def test_minimal_has_no_count_and_a_filled_one_loads(tmp_path):
    assert OLD in MINIMAL
    proc, errors = load_file(write(tmp_path, MINIMAL))
    assert errors == [] and proc.deadline_count is None
    proc, errors = load_file(write(tmp_path, MINIMAL.replace(
        OLD, OLD + "  days: 60\n  counted_from: sinh\n")))
    assert errors == [] and proc.deadline_count == DeadlineCount(60, "sinh")


@pytest.mark.parametrize("extra, field, fix", [
    ("  days: 60 ngày\n  counted_from: sinh\n", "deadline.days", "số nguyên"),
    ("  days: 0\n  counted_from: sinh\n", "deadline.days", "số nguyên"),
    ("  days: 60\n  counted_from: ngay sinh\n", "deadline.counted_from", "sinh, mat"),
    ("  days: 60\n", "deadline.counted_from", "counted_from: sinh"),
    ("  counted_from: mat\n", "deadline.days", "days: 60"),
])
def test_mistakes_are_located_in_vietnamese(tmp_path, extra, field, fix):
    _, errors = load_file(write(tmp_path, MINIMAL.replace(OLD, OLD + extra)))
    assert len(errors) == 1, errors
    assert errors[0].field == field and fix in errors[0].fix
    assert errors[0].line >= MINIMAL[:MINIMAL.index(OLD)].count("\n") + 2


def test_shipped_deadlines_that_count_days():
    counts = {p.id: p.deadline_count for p in load_catalogue(PROJECT.procedures) if p.deadline_count}
    assert counts == {"khai_sinh": DeadlineCount(60, "sinh"),
                      "lien_thong_khai_sinh": DeadlineCount(60, "sinh"),
                      "khai_tu": DeadlineCount(15, "mat"), "lien_thong_khai_tu": DeadlineCount(15, "mat")}
