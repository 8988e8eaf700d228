"""The load benchmark still runs: two conversations of two turns through ``bot serve``.

Runs ``bench/load.py`` against our server only (no Rasa stock model, no NLU timing), with the
session's model, the real webhooks and the recording Telegram and Kannel fakes on 127.0.0.1.
"""

from __future__ import annotations

import pytest

from bench import load


@pytest.mark.slow
def test_every_reply_arrives_once_and_in_order(full_model):
    args = load.parse_args(["--no-stock", "--no-parse", "--conversations", "2", "--turns", "2",
                            "--scripts", "2", "--runs", "1", "--model", str(full_model)])
    results = load.run(args)

    (scenario, ours, stock), = results["scenarios"]
    assert stock is None
    # one conversation came by Telegram, the other by SMS, and each turn was answered
    assert ours.turns_sent == 4 and ours.turns_answered == 4
    assert (ours.errors, ours.lost, ours.duplicated, ours.reordered, ours.unexpected) == (0, 0, 0, 0, 0)
    assert ours.finished == 1.0
    assert ours.p95 is not None and ours.ack_p95 is not None
    assert results["cold_start"]["ours"] > 0 and results["peak_rss_mb"]["ours"] > 100
    assert results["strays"] == 0
