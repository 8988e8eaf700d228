"""``bot forget``: everything stored about one sender goes, the others stay."""

from __future__ import annotations

import datetime as dt

from bot.cli import main
from bot.contract import Topic
from bot.serving.engine import TRACKER_EVENTS_TABLE
from bot.serving.ratings import USEFUL, Prompt, Ratings
from bot.serving.reminders import Reminders
from bot.serving.store import Store
from tests.serving.test_at_rest import SMS_SENDER, TG_CHAT, converse, every_cell


def test_forget_deletes_everything_about_a_sender(tmp_path, capsys):
    db = tmp_path / "bot.db"
    converse(db)
    reminders = Reminders(Store.sqlite(db))
    reminders.schedule("sms", SMS_SENDER, "khai_sinh", dt.date(2027, 1, 24), 1_900_000_000.0)
    reminders.opt_out("sms", SMS_SENDER)
    ratings = Ratings(Store.sqlite(db))
    for sender in (SMS_SENDER, TG_CHAT):
        ratings.record("sms" if sender == SMS_SENDER else "telegram", sender,
                       Prompt("khai_sinh", "fee", "Khai sinh – Lệ phí: miễn phí"), USEFUL)
    ratings.ask("sms", SMS_SENDER, Topic("khai_sinh", "fee"), "Khai sinh – Lệ phí: miễn phí")
    assert main(["forget", SMS_SENDER, "--channel", "sms", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert SMS_SENDER not in out and "********333" in out
    assert "inbound 2" in out and "outbound 2" in out and f"{TRACKER_EVENTS_TABLE} " in out
    assert "reminders 1" in out and "opt_outs 1" in out
    assert "ratings 1" in out and "rating_prompts 1" in out
    assert [r.sender for r in ratings.rated()] == [TG_CHAT]
    left = [(t, c) for t, c, v in every_cell(db) if SMS_SENDER in v]
    assert left == []
    assert any(TG_CHAT in v for _, _, v in every_cell(db))  # others are kept
    assert main(["forget", SMS_SENDER, "--db", str(db)]) == 0
    assert "nothing stored" in capsys.readouterr().out
