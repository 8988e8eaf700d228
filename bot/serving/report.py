"""What citizens asked and could not get answered, from the turn journal, for staff.

``build`` reads the ``turns`` table (``bot.serving.journal``) and, when they exist, the tables
``ratings`` (another feature: id, rated_at, channel, sender, procedure, aspect, score 1 useful /
2 not useful, answer) and ``handover_cases`` (id, channel, sender, opened_at, closed_at, reason),
by reflection: this module never imports the features that write them. Every text taken from
the database is masked again (``mask_numbers``) before it reaches a report, so a row written by
an older version cannot leak a number. ``to_text`` and ``to_csv`` write what ``bot report``
prints; ``bot.serving.report_html`` draws the page.

Near-identical questions are grouped: the text is folded (no diacritics, lower case, words only),
every number (a phone in groups too) becomes one ``#``, and a question joins the most frequent
group whose folded text is at least ``SIMILAR`` alike (difflib's ratio).
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import MetaData, Table, inspect, select
from sqlalchemy.engine import Engine as SqlEngine

from bot.contract.redact import mask_numbers
from bot.serving.journal import ANSWERED, OUTCOMES, UNANSWERED, TurnRow
from bot.text import search_key

SIMILAR = 0.85  # two folded questions this alike (difflib ratio) are one group
MAX_GROUPED = 5000  # distinct folded questions compared with each other; the rest are counted alone
RATINGS_TABLE, HANDOVER_TABLE = "ratings", "handover_cases"
USEFUL, NOT_USEFUL = 1, 2  # ratings.score
NO_RATINGS = "chưa có đánh giá"
UNKNOWN = "(chưa rõ)"

OUTCOME_LABELS = {
    "answered": "trả lời được",
    "low_confidence": "trả lời nhưng chưa chắc",
    "clarification": "hỏi lại thủ tục nào",
    "not_covered": "thủ tục chưa hỗ trợ",
    "out_of_scope": "ngoài phạm vi",
    "fallback": "không hiểu câu hỏi",
}
CHANNEL_LABELS = {"telegram": "Telegram", "zalo": "Zalo", "sms": "SMS", "cli": "thử (bot chat)"}
# A number as typed or masked, separators and all ("0912 345 678", "+** *** *** 678", "70.000").
_NUMBER = re.compile(r"[+(]?[\d*](?:[\d*(). -]*[\d*])?")


def question_key(text: str) -> str:
    """The folded form questions are grouped on: masked, no diacritics, numbers as ``#``."""
    return search_key(_NUMBER.sub(" 0 ", mask_numbers(text))).replace("0", "#")


@dataclass
class Group:
    """Near-identical unanswered questions."""

    key: str
    count: int = 0
    texts: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    channels: Counter = field(default_factory=Counter)
    procedures: Counter = field(default_factory=Counter)
    last: dt.datetime | None = None

    @property
    def example(self) -> str:
        """The wording typed most often, masked."""
        return mask_numbers(self.texts.most_common(1)[0][0]) if self.texts else self.key

    def add(self, row: Any) -> None:
        self.count += 1
        self.texts[row.text] += 1
        self.outcomes[row.outcome] += 1
        self.channels[row.channel] += 1
        if row.procedure:
            self.procedures[row.procedure] += 1
        self.last = row.at if self.last is None or row.at > self.last else self.last


def group_questions(rows: Iterable[Any]) -> list[Group]:
    """Unanswered questions grouped, most frequent first."""
    by_key: dict[str, list[Any]] = {}
    for row in rows:
        by_key.setdefault(question_key(row.text), []).append(row)
    ordered = sorted(by_key.items(), key=lambda item: (-len(item[1]), item[0]))
    groups: list[Group] = []
    for index, (key, members) in enumerate(ordered):
        home = None
        if index < MAX_GROUPED:
            for group in groups:
                matcher = difflib.SequenceMatcher(None, group.key, key, autojunk=False)
                if matcher.real_quick_ratio() >= SIMILAR and matcher.quick_ratio() >= SIMILAR \
                        and matcher.ratio() >= SIMILAR:
                    home = group
                    break
        if home is None:
            home = Group(key)
            groups.append(home)
        for row in members:
            home.add(row)
    return sorted(groups, key=lambda g: (-g.count, g.key))


@dataclass(frozen=True)
class RatedAnswer:
    at: dt.datetime | None
    channel: str
    procedure: str | None
    aspect: str | None
    answer: str


@dataclass
class Ratings:
    per_procedure: dict[str, Counter]  # procedure (or UNKNOWN) -> {USEFUL: n, NOT_USEFUL: n}
    not_useful: list[RatedAnswer]

    @property
    def total(self) -> int:
        return sum(sum(c.values()) for c in self.per_procedure.values())


@dataclass(frozen=True)
class Case:
    channel: str
    sender: str  # masked
    opened_at: dt.datetime | None
    reason: str


@dataclass
class Handover:
    open: list[Case]
    closed: int


@dataclass
class Report:
    since: dt.date | None
    first: dt.datetime | None
    last: dt.datetime | None
    outcomes: Counter
    per_procedure: dict[str, Counter]  # procedure -> outcome counts
    per_aspect: dict[str, Counter]
    per_channel: dict[str, Counter]
    per_day: dict[dt.date, Counter]
    groups: list[Group]
    ratings: Ratings | None
    handover: Handover | None
    procedure_names: Mapping[str, str] = field(default_factory=dict)
    aspect_names: Mapping[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())

    @property
    def unanswered(self) -> int:
        return sum(self.outcomes[o] for o in UNANSWERED)

    def procedure_name(self, procedure: str | None) -> str:
        if not procedure:
            return UNKNOWN
        return self.procedure_names.get(procedure, procedure)

    def aspect_name(self, aspect: str | None) -> str:
        if not aspect:
            return UNKNOWN
        return self.aspect_names.get(aspect, aspect)


def _table(engine: SqlEngine, name: str) -> Table | None:
    if not inspect(engine).has_table(name):
        return None
    return Table(name, MetaData(), autoload_with=engine)


def _ratings(engine: SqlEngine, since: dt.datetime | None, limit: int) -> Ratings | None:
    table = _table(engine, RATINGS_TABLE)
    if table is None:
        return None
    query = select(table).order_by(table.c.id)
    if since is not None:
        query = query.where(table.c.rated_at >= since)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    if not rows:
        return None
    per_procedure: dict[str, Counter] = {}
    not_useful: list[RatedAnswer] = []
    for row in rows:
        per_procedure.setdefault(row.procedure or "", Counter())[row.score] += 1
        if row.score == NOT_USEFUL:
            not_useful.append(RatedAnswer(row.rated_at, row.channel, row.procedure, row.aspect,
                                          mask_numbers(row.answer or "")))
    return Ratings(per_procedure, list(reversed(not_useful))[:limit])


def _handover(engine: SqlEngine, since: dt.datetime | None) -> Handover | None:
    table = _table(engine, HANDOVER_TABLE)
    if table is None:
        return None
    with engine.connect() as connection:
        rows = connection.execute(select(table).order_by(table.c.opened_at)).all()
    cases = [Case(r.channel, mask_numbers(str(r.sender)), _moment(r.opened_at), mask_numbers(r.reason or ""))
             for r in rows if r.closed_at is None]
    closed = sum(1 for r in rows
                 if r.closed_at is not None and (since is None or _moment(r.closed_at) >= since))
    return Handover(cases, closed)


def _moment(value: dt.datetime | float | None) -> dt.datetime | None:
    """A naive UTC datetime from a column that holds one or a Unix time (the handover keeps its
    times as ``time.time()`` floats, like the inbox and outbox)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromtimestamp(float(value), dt.timezone.utc).replace(tzinfo=None)


def build(engine: SqlEngine, since: dt.date | None = None, top: int = 20,
          procedure_names: Mapping[str, str] | None = None,
          aspect_names: Mapping[str, str] | None = None) -> Report:
    """The report of every turn from ``since`` (a UTC day) on."""
    start = dt.datetime.combine(since, dt.time()) if since else None
    rows: list[Any] = []
    if inspect(engine).has_table(TurnRow.__tablename__):
        query = select(TurnRow.__table__).order_by(TurnRow.id)
        if start is not None:
            query = query.where(TurnRow.at >= start)
        with engine.connect() as connection:
            rows = connection.execute(query).all()
    outcomes: Counter = Counter({o: 0 for o in OUTCOMES})
    per_procedure: dict[str, Counter] = {}
    per_aspect: dict[str, Counter] = {}
    per_channel: dict[str, Counter] = {}
    per_day: dict[dt.date, Counter] = {}
    for row in rows:
        outcomes[row.outcome] += 1
        per_channel.setdefault(row.channel, Counter())[row.outcome] += 1
        per_day.setdefault(row.at.date(), Counter())[row.outcome] += 1
        if row.procedure:
            per_procedure.setdefault(row.procedure, Counter())[row.outcome] += 1
        if row.aspect:
            per_aspect.setdefault(row.aspect, Counter())[row.outcome] += 1
    groups = group_questions(r for r in rows if r.outcome != ANSWERED)[:top]
    return Report(since, rows[0].at if rows else None, rows[-1].at if rows else None, outcomes,
                  _by_total(per_procedure), _by_total(per_aspect), _by_total(per_channel),
                  dict(sorted(per_day.items())), groups, _ratings(engine, start, top),
                  _handover(engine, start), dict(procedure_names or {}), dict(aspect_names or {}))


def _by_total(counts: dict[str, Counter]) -> dict[str, Counter]:
    return dict(sorted(counts.items(), key=lambda item: (-sum(item[1].values()), item[0])))


def unanswered(counts: Counter) -> int:
    return sum(counts[o] for o in UNANSWERED)


def _outcome_list(counts: Counter) -> str:
    return ", ".join(f"{OUTCOME_LABELS.get(o, o)} {counts[o]}" for o in UNANSWERED if counts[o])


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def to_text(report: Report) -> str:
    """The report as ``bot report`` prints it (Vietnamese, for staff)."""
    out: list[str] = []
    span = f"từ {report.since.isoformat()}" if report.since else "toàn bộ thời gian lưu"
    out.append(f"BÁO CÁO CÂU HỎI CỦA NGƯỜI DÂN ({span}; giờ UTC)")
    if report.total == 0:
        out.append("Chưa có lượt hỏi nào.")
    else:
        out.append(f"Tổng số lượt hỏi: {report.total} ({_when(report.first)} đến {_when(report.last)}); "
                   f"trả lời được {report.outcomes[ANSWERED]}; chưa trả lời được {report.unanswered}"
                   + (f" ({_outcome_list(report.outcomes)})" if report.unanswered else ""))
    out.append("")
    out.append("Câu hỏi chưa trả lời được nhiều nhất (gộp câu gần giống nhau, số đã che):")
    if not report.groups:
        out.append("  (không có)")
    for group in report.groups:
        channels = ", ".join(f"{CHANNEL_LABELS.get(c, c)} {n}" for c, n in group.channels.most_common())
        procedures = ", ".join(report.procedure_name(p) for p, _ in group.procedures.most_common(2))
        out.append(f"  {group.count:>4}  {group.example}")
        out.append(f"        {_outcome_list(group.outcomes)}; {channels}"
                   + (f"; {procedures}" if procedures else "") + f"; lần cuối {_when(group.last)}")
    for title, counts, name in (
            ("Theo thủ tục", report.per_procedure, report.procedure_name),
            ("Theo nội dung hỏi", report.per_aspect, report.aspect_name),
            ("Theo kênh", report.per_channel, lambda c: CHANNEL_LABELS.get(c, c))):
        out.append("")
        out.append(f"{title} (số lượt / chưa trả lời được):")
        if not counts:
            out.append("  (không có)")
        for key, outcome_counts in counts.items():
            out.append(f"  {sum(outcome_counts.values()):>4} / {unanswered(outcome_counts):<4} {name(key)}")
    out.append("")
    out.append("Theo ngày (số lượt / chưa trả lời được):")
    if not report.per_day:
        out.append("  (không có)")
    for day, outcome_counts in report.per_day.items():
        out.append(f"  {day.isoformat()}  {sum(outcome_counts.values()):>4} / {unanswered(outcome_counts)}")
    out.append("")
    out.append("Đánh giá của người dân (hữu ích / không hữu ích):")
    if report.ratings is None:
        out.append(f"  {NO_RATINGS}")
    else:
        for procedure, scores in report.ratings.per_procedure.items():
            out.append(f"  {scores[USEFUL]:>4} / {scores[NOT_USEFUL]:<4} {report.procedure_name(procedure)}")
        if report.ratings.not_useful:
            out.append("  Câu trả lời bị đánh giá không hữu ích:")
        for rated in report.ratings.not_useful:
            out.append(f"    {_when(rated.at)} {CHANNEL_LABELS.get(rated.channel, rated.channel)} "
                       f"{report.procedure_name(rated.procedure)}: {_one_line(rated.answer)}")
    if report.handover is not None:
        out.append("")
        out.append(f"Chuyển cho cán bộ: đang mở {len(report.handover.open)}, "
                   f"đã đóng {report.handover.closed}")
        for case in report.handover.open:
            out.append(f"  {_when(case.opened_at)} {CHANNEL_LABELS.get(case.channel, case.channel)} "
                       f"{case.sender}: {_one_line(case.reason)}")
    return "\n".join(out) + "\n"


def _one_line(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


CSV_HEADER = ("so_lan", "cau_hoi", "cau_hoi_gop", "ket_qua", "thu_tuc", "kenh", "lan_cuoi")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: a citizen's ``=...`` never becomes a formula."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(report: Report) -> str:
    """The unanswered question groups, one row each (open with Excel or LibreOffice: UTF-8)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for group in report.groups:
        writer.writerow([_cell(v) for v in (
            group.count, group.example, group.key,
            "; ".join(f"{OUTCOME_LABELS.get(o, o)} {n}" for o, n in group.outcomes.most_common()),
            "; ".join(f"{report.procedure_name(p)} {n}" for p, n in group.procedures.most_common()),
            "; ".join(f"{CHANNEL_LABELS.get(c, c)} {n}" for c, n in group.channels.most_common()),
            _when(group.last))])
    return buffer.getvalue()
