"""How the load benchmark classifies one conversation's replies against the expected ones."""

from __future__ import annotations

import pytest

from bench.load import build_scripts, check


@pytest.mark.parametrize(("received", "lost", "duplicated", "reordered", "unexpected"), [
    (["a", "b", "c"], 0, 0, 0, 0),
    (["a", "c"], 1, 0, 0, 0),
    (["a", "b", "b", "c"], 0, 1, 0, 0),
    (["b", "a", "c"], 0, 0, 1, 0),
    (["a", "b", "c", "z"], 0, 0, 0, 1),
    ([], 3, 0, 0, 0),
])
def test_replies_are_classified(received, lost, duplicated, reordered, unexpected):
    assert check(["a", "b", "c"], received) == (lost, duplicated, reordered, unexpected)


def test_a_repeated_expected_reply_is_not_a_duplicate():
    assert check(["menu", "x", "menu"], ["menu", "x", "menu"]) == (0, 0, 0, 0)


def test_scripts_are_catalogue_conversations_without_diacritics():
    scripts = build_scripts(6, 3)
    assert {s.channel for s in scripts} == {"telegram", "sms"}
    for script in scripts:
        assert len(script.turns) == 3
        assert all(text.isascii() and text.strip() for text in script.turns), script
    assert len({s.turns for s in scripts}) == 6
