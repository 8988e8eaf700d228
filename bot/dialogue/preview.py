"""Every answer of a procedure as a channel shows it, and what changed between two catalogues.

For staff (``bot preview``): the seven aspects and the FAQ answers, rendered exactly as the
channel sends them, with the SMS count and a visible mark on facts not verified yet. No model is
needed: the replies come from :class:`~bot.dialogue.answers.Answers` directly.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bot.catalogue import ASPECTS, Procedure
from bot.contract import Reply, sms_parts
from bot.dialogue.answers import CASE_SEPARATOR, Answers
from bot.render import render

CHANNELS = ("sms", "zalo", "telegram", "cli")
UNVERIFIED_MARK = "[CHƯA XÁC MINH]"
MORE_PAGE = "--- (trang sau, khi người dân nhắn THEM) ---"


@dataclass(frozen=True)
class Shown:
    """One answer of one procedure on one channel: what the citizen reads."""

    procedure: str
    key: str  # an aspect name, or "faq:<id>"
    label: str  # the heading staff read
    channel: str
    text: str  # the messages, one after the other, as sent
    verified: bool
    sms: int = 0  # SMS the whole answer costs (every page), on the sms channel

    def heading(self) -> str:
        parts = [f"{self.procedure} · {self.label} · {self.channel}"]
        if self.channel == "sms":
            parts.append(f"{self.sms} tin SMS")
        if not self.verified:
            parts.append(UNVERIFIED_MARK)
        return "== " + " · ".join(parts) + " =="


def _verified(proc: Procedure, aspect: str) -> bool:
    if aspect == "documents":
        return proc.documents_verified
    if aspect == "steps":
        return proc.steps_verified
    return getattr(proc, aspect).verified


def replies(answers: Answers, proc: Procedure) -> Iterator[tuple[str, str, Reply, bool]]:
    """(key, label, reply, verified) for the seven aspects, then each FAQ entry. A documents list
    that asks the case first is followed by each case's papers (key ``documents.<option>``)."""
    for aspect in ASPECTS:
        label = f"{answers.phrases['aspect.' + aspect]} ({aspect})"
        reply = answers.aspect(proc, aspect)
        yield aspect, label, reply, _verified(proc, aspect)
        if aspect == "documents" and reply.buttons:
            for _, option in answers.cases(proc):
                found = answers.documents_case(f"{proc.id}{CASE_SEPARATOR}{option.id}")
                if found is not None:
                    yield (f"documents{CASE_SEPARATOR}{option.id}", f"{label}, trường hợp: {option.label}",
                           found[1], proc.documents_verified)
    for entry in proc.faq:
        label = f"Câu hỏi thường gặp: {entry.questions[0]} (faq {entry.id})"
        yield f"faq:{entry.id}", label, answers.faq(proc, entry), entry.verified


def shown(reply: Reply, channel: str) -> tuple[str, int]:
    """The text a channel sends for ``reply`` (buttons as numbered lines) and its SMS count."""
    blocks: list[str] = []
    count = 0
    for message in render(reply, channel):
        pages = [message.text, *message.more]
        count += sum(sms_parts(page) for page in pages)
        blocks.append(f"\n{MORE_PAGE}\n".join(pages))
        blocks += [f"  [{title}]" for title, _ in message.buttons]
    return "\n".join(blocks), count


def preview(answers: Answers, proc: Procedure, channels: Iterable[str],
            aspect: str | None = None) -> list[Shown]:
    """Every answer of ``proc`` (or only ``aspect``: an aspect name or a FAQ id) per channel."""
    result = []
    for key, label, reply, verified in replies(answers, proc):
        if aspect is not None and aspect not in (key, key.removeprefix("faq:"), key.split(CASE_SEPARATOR)[0]):
            continue
        for channel in channels:
            text, count = shown(reply, channel)
            result.append(Shown(proc.id, key, label, channel, text, verified,
                                count if channel == "sms" else 0))
    return result


def keys(answers: Answers, proc: Procedure) -> list[str]:
    return [key for key, _, _, _ in replies(answers, proc)]


def changes(before: Answers, after: Answers, channels: Iterable[str]) -> list[str]:
    """A unified diff per answer a citizen would now read differently, old catalogue to new.

    A procedure or FAQ entry that appears or goes away shows as a diff from or to nothing.
    """
    channels = tuple(channels)
    ids = [p.id for p in before.catalogue] + [p.id for p in after.catalogue
                                              if before.catalogue.get(p.id) is None]
    diffs = []
    for proc_id in ids:
        old = _by_key(before, proc_id, channels)
        new = _by_key(after, proc_id, channels)
        for key in list(old) + [k for k in new if k not in old]:
            was, now = old.get(key), new.get(key)
            if was is not None and now is not None and (was.text, was.verified) == (now.text, now.verified):
                continue
            diffs.append(_diff(was, now))
    return diffs


def _by_key(answers: Answers, proc_id: str, channels: tuple[str, ...]) -> dict[tuple[str, str], Shown]:
    proc = answers.catalogue.get(proc_id)
    if proc is None:
        return {}
    return {(s.key, s.channel): s for s in preview(answers, proc, channels)}


def _lines(item: Shown | None) -> list[str]:
    if item is None:
        return []
    return [item.heading()] + item.text.splitlines()


def _diff(was: Shown | None, now: Shown | None) -> str:
    item = now or was
    assert item is not None
    name = f"{item.procedure} {item.key} ({item.channel})"
    return "\n".join(difflib.unified_diff(_lines(was), _lines(now), fromfile=f"đã lưu (HEAD): {name}",
                                          tofile=f"đang sửa: {name}", lineterm=""))
