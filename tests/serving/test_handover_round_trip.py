"""A handover round trip with the trained model: a Telegram citizen, then an SMS citizen through
the Kannel path, ask for a person; the case reaches the staff group on the fake Bot API; a staff
reply threaded to it comes back on the citizen's channel; the bot is quiet until ``/dong``."""

from __future__ import annotations

import time
from typing import Any

from bot.contract import is_gsm7, septets
from bot.dialogue.phrases import load_phrases
from bot.render import to_gsm7
from bot.serving.store import Store
from connectors.kannel import KannelConnector
from connectors.kannel.protocol import MAX_SEPTETS
from tests.connectors.harness import ServerThread, request, wait_until
from tests.connectors.kannel.fake_kannel import FakeKannel, mo_query
from tests.connectors.telegram.fake_telegram import FakeTelegram
from tests.connectors.telegram.test_staff_group import (
    ALWAYS_OPEN,
    GROUP,
    TOKEN,
    citizen_update,
    group_update,
    post,
    staff_connector,
    texts_to,
)
from tests.paths import PROJECT

PHRASES = load_phrases(PROJECT.phrases)
KANNEL_SECRET = "kannel-shared-secret"
TIMEOUT = 60.0  # turns of the real model on a loaded machine


def case_posts(fake: FakeTelegram) -> list[tuple[int, str]]:
    """(message id, text) of what the bot sent the staff group; the fake numbers messages from 101."""
    sent = fake.sent()
    return [(101 + sent.index(c), c.params["text"]) for c in sent if str(c.params["chat_id"]) == str(GROUP)]


def test_telegram_citizen_asks_for_a_person_and_gets_the_staff_reply(engine, tmp_path):
    citizen = 5550300001
    store = Store.sqlite(tmp_path / "bot.db")
    with FakeTelegram(TOKEN) as fake, ServerThread(engine, store, {
            "telegram": staff_connector(fake.base_url)}, handover=ALWAYS_OPEN) as server:
        url = f"{server.url}/webhooks/telegram/webhook"
        assert post(url, citizen_update(1, citizen, "khai sinh cần giấy tờ gì, sđt tôi 0912 345 678")) == 200
        wait_until(lambda: texts_to(fake, citizen), TIMEOUT)
        assert post(url, citizen_update(2, citizen, "cho tôi gặp cán bộ")) == 200
        [(case_id, case)] = wait_until(lambda: case_posts(fake), TIMEOUT)
        # the group post and the citizen's reply go out side by side: wait for the reply
        wait_until(lambda: texts_to(fake, citizen)[-1:] == [PHRASES["handover.opened"]], TIMEOUT)
        answered = len(texts_to(fake, citizen))

        assert post(url, citizen_update(3, citizen, "lệ phí bao nhiêu")) == 200
        wait_until(lambda: len(case_posts(fake)) == 2, TIMEOUT)
        staff_reply = "Chào anh, khai sinh đúng hạn thì miễn phí."
        assert post(url, group_update(4, staff_reply, reply_to=case_id)) == 200
        wait_until(lambda: len(texts_to(fake, citizen)) == answered + 1, TIMEOUT)
        assert post(url, group_update(5, "/dong", reply_to=case_id)) == 200
        wait_until(lambda: len(texts_to(fake, citizen)) == answered + 2, TIMEOUT)
        assert post(url, citizen_update(6, citizen, "lệ phí bao nhiêu")) == 200
        wait_until(lambda: len(texts_to(fake, citizen)) > answered + 2, TIMEOUT)
        time.sleep(1.0)
        said, posts = texts_to(fake, citizen), [text for _, text in case_posts(fake)]
    assert said[answered:answered + 2] == ["Cán bộ trả lời: Chào anh, khai sinh đúng hạn thì miễn phí.",
                                           PHRASES["handover.closed"]]  # nothing from the bot in between
    assert "Miễn phí" in "\n".join(said[answered + 2:])  # the bot answers again, about khai sinh
    assert "Dân: khai sinh cần giấy tờ gì" in case and "Bot: " in case  # the conversation so far
    assert "Dân: cho tôi gặp cán bộ" in case and "Ở đây tôi chưa chuyển được" not in case
    assert "**** *** 678" in case and "0912 345 678" not in case
    assert posts[1] == "#1 Dân: lệ phí bao nhiêu"


def _mo(server: ServerThread, sender: str, text: str, message_id: str) -> Any:
    query = mo_query(KANNEL_SECRET, sender, text, message_id=message_id, ts=str(int(time.time())))
    return request(f"{server.url}/webhooks/sms/mo?{query}")


def test_sms_citizen_gets_the_staff_reply_through_kannel_in_gsm7_pages(engine, tmp_path):
    phone = "84912000301"
    store = Store.sqlite(tmp_path / "bot.db")
    answer = ("Chào bác, cháu là cán bộ tư pháp xã. Bác mang căn cước của bác, giấy chứng sinh của cháu "
              "và giấy đăng ký kết hôn nếu có; nộp ở Trung tâm Phục vụ hành chính công xã, sáng từ 7 giờ 30. "
              "Khai sinh đúng hạn thì miễn phí, có kết quả trong ngày. Bác cần gì thêm cứ nhắn ạ. ") * 2 + (
              "Hẹn gặp bác sáng thứ Hai.")
    with FakeTelegram(TOKEN) as fake, FakeKannel() as kannel:
        sms = KannelConnector(username="bot", password="botpw", shared_secret=KANNEL_SECRET,
                              public_url="http://127.0.0.1:5005", sendsms_url=kannel.url)
        with ServerThread(engine, store, {"sms": sms, "telegram": staff_connector(fake.base_url)},
                          handover=ALWAYS_OPEN) as server:
            sms.public_url = server.url
            staff_hook = server.url + "/webhooks/telegram/webhook"
            assert _mo(server, "0912000301", "gap can bo", "ho-0001").status == 200
            [(case_id, case)] = wait_until(lambda: case_posts(fake), TIMEOUT)
            wait_until(lambda: kannel.calls, TIMEOUT)
            assert _mo(server, phone, "con toi sinh o nha", "ho-0002").status == 200
            wait_until(lambda: len(case_posts(fake)) == 2, TIMEOUT)
            assert post(staff_hook, group_update(7, answer, reply_to=case_id)) == 200
            wait_until(lambda: len(kannel.calls) == 2, TIMEOUT)
            assert _mo(server, phone, "THEM", "ho-0003").status == 200
            wait_until(lambda: len(kannel.calls) == 3, TIMEOUT)
            assert post(staff_hook, group_update(8, "/dong", reply_to=case_id)) == 200
            wait_until(lambda: len(kannel.calls) == 4, TIMEOUT)
            time.sleep(1.0)
            calls = list(kannel.calls)
    opened, relayed, more, closed = (call.text for call in calls)
    assert {call.to for call in calls} == {phone}
    assert opened == to_gsm7(PHRASES["handover.opened"])
    assert relayed.startswith("Can bo tra loi: Chao bac, chau la can bo tu phap xa.")
    assert "Hen gap bac sang thu Hai." in more and "Hen gap" not in relayed  # the next page
    assert closed == to_gsm7(PHRASES["handover.closed"])
    assert all(is_gsm7(call.text) and septets(call.text) <= MAX_SEPTETS for call in calls)
    assert "********301" in case and "912000301" not in case
    assert "Dân: gap can bo" in case and phone not in case
