"""Answers that do not fit SMS: the answer-level warnings of ``bot validate``.

Every answer of every procedure (the seven aspects, then each FAQ answer) is built by
:class:`~bot.dialogue.answers.Answers` and rendered by :func:`bot.render.render` exactly as the
SMS channel sends it (``bot.dialogue.preview.shown``); an answer that needs more than
``SMS_MAX_PARTS`` SMS, pages read with the MORE keyword included, gets a warning naming the file,
the line and the field. A documents list that cannot be shorter without dropping a paper may
carry ``documents.sms_parts: N``, the count staff accept: only a longer list warns again.

This lives in ``bot.dialogue`` because the catalogue package may not import the answer builder
or the renderer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.catalogue import Catalogue, CatalogueError, Procedure
from bot.contract import SMS_MAX_PARTS
from bot.dialogue.answers import Answers
from bot.dialogue.preview import replies, shown


def sms_overflows(catalogue: Iterable[Procedure], phrases: Mapping[str, str]) -> list[CatalogueError]:
    """A warning per answer whose SMS rendering needs more than ``SMS_MAX_PARTS`` parts."""
    procedures = tuple(catalogue)
    answers = Answers(Catalogue(procedures), phrases)
    found = []
    for proc in procedures:
        faq_index = {f"faq:{entry.id}": index for index, entry in enumerate(proc.faq, start=1)}
        for key, _label, reply, _verified in replies(answers, proc):
            _, parts = shown(reply, "sms")
            accepted = proc.documents_sms_parts if key == "documents" else 0
            name = f"faq[{faq_index[key]}].answer" if key in faq_index else key
            line = proc.line_of(key) or proc.line_of(key.split(".")[0])  # documents.<case>: the list
            look = f"xem bằng: bot preview {proc.id} --channel sms --aspect {key.removeprefix('faq:')}"
            if parts > max(SMS_MAX_PARTS, accepted):
                fix = f"viết ngắn lại (bỏ chữ thừa, không bỏ thông tin nào); {look}"
                if key == "documents":
                    fix += (f"; nếu không thể ngắn hơn mà không bỏ giấy tờ nào, ghi sms_parts: {parts} "
                            "trong documents để xác nhận người dân nhắn THEM để đọc tiếp")
                found.append(CatalogueError(
                    proc.path, line, name,
                    f"câu trả lời qua SMS cần {parts} tin, quá {SMS_MAX_PARTS} tin"
                    + (f" (đã chấp nhận {accepted})" if accepted else ""), fix))
            elif accepted and parts <= SMS_MAX_PARTS:
                found.append(CatalogueError(
                    proc.path, line, "documents.sms_parts",
                    f"danh sách giấy tờ nay chỉ cần {parts} tin SMS", "xóa dòng sms_parts"))
    return found
