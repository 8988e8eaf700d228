"""``bot report --html``: one self-contained page (inline CSS and SVG; no script, font or image
from anywhere), readable on a phone. Everything that comes from the database is escaped: citizens
typed it, and it may be hostile."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape

from bot.serving.journal import ANSWERED, UNANSWERED
from bot.serving.report import (
    CHANNEL_LABELS,
    NO_RATINGS,
    NOT_USEFUL,
    OUTCOME_LABELS,
    USEFUL,
    Report,
    unanswered,
)

WIDTH = 360  # SVG user units; the charts scale to the page's width
ROW = 34  # one labelled bar: the label line, then the bar
BAR = 14
LABEL_CHARS = 50  # a longer label is cut with "…" (60 ran past the edge at phone width)
COLOURS = {"ok": "#2e7d32", "bad": "#c62828", "neutral": "#1565c0"}

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;padding:12px;
color:#1a1a1a;background:#fafafa;max-width:860px;margin:auto;line-height:1.4}
h1{font-size:1.35em}h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #ccc}
.cards{display:flex;flex-wrap:wrap;gap:8px}.card{background:#fff;border:1px solid #ddd;
border-radius:6px;padding:8px 12px;flex:1 1 140px}.card b{display:block;font-size:1.5em}
svg{width:100%;height:auto;background:#fff;border:1px solid #eee}svg text{font-size:11px;fill:#1a1a1a}
table{border-collapse:collapse;width:100%;background:#fff}td,th{border:1px solid #ddd;padding:4px 6px;
text-align:left;vertical-align:top;word-break:break-word}th{background:#f0f0f0}
.legend span{display:inline-block;margin-right:12px}.sw{display:inline-block;width:10px;height:10px;
margin-right:4px}.muted{color:#666}.small{font-size:.85em}td.n{white-space:nowrap;text-align:right;
width:3em}
"""


def _label(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1] + "…"


VALUE_ROOM = 125  # right of the longest bar: "12, 3 không hữu ích"


def bars(title: str, rows: Sequence[tuple[str, int, int]], bad_word: str | None = "chưa trả lời") -> str:
    """Horizontal bars, one per ``(label, good, bad)``: green then red; the total at the end, and
    how many of it are bad (``bad_word``) when some are."""
    if not rows:
        return '<p class="muted">(không có)</p>'
    top = max(a + u for _, a, u in rows) or 1
    scale = (WIDTH - 4 - VALUE_ROOM) / top
    parts = [f'<svg viewBox="0 0 {WIDTH} {ROW * len(rows) + 6}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for index, (label, ok, bad) in enumerate(rows):
        y = index * ROW
        parts.append(f'<text x="4" y="{y + 13}">{escape(_label(label))}</text>')
        x = 4.0
        for value, colour, kind in ((ok, COLOURS["ok"], "ok"), (bad, COLOURS["bad"], "bad")):
            if value:
                width = max(value * scale, 1.5)
                parts.append(f'<rect class="bar {kind}" x="{x:.1f}" y="{y + 17}" width="{width:.1f}" '
                             f'height="{BAR}" fill="{colour}"><title>{value}</title></rect>')
                x += width
        split = f", {bad} {bad_word}" if bad and bad_word else ""
        parts.append(f'<text class="value" x="{x + 4:.1f}" y="{y + 28}">{ok + bad}{escape(split)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def days_chart(per_day: dict[dt.date, tuple[int, int]]) -> str:
    """Questions per day as columns: answered (green) under unanswered (red)."""
    if not per_day:
        return '<p class="muted">(không có)</p>'
    height, bottom, left = 160, 22, 26
    top = max(a + u for a, u in per_day.values()) or 1
    step = (WIDTH - left - 4) / len(per_day)
    width = max(step * 0.7, 1.0)
    scale = (height - bottom - 14) / top
    parts = [f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-label="Số lượt hỏi theo ngày">'
             '<title>Số lượt hỏi theo ngày</title>',
             f'<text x="2" y="12">{top}</text><text x="2" y="{height - bottom}">0</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH}" y2="{height - bottom}" stroke="#999"/>']
    labels_every = max(1, round(len(per_day) / 6))
    for index, (day, (ok, bad)) in enumerate(per_day.items()):
        x = left + index * step + (step - width) / 2
        y = height - bottom
        for value, kind in ((ok, "ok"), (bad, "bad")):
            if value:
                h = value * scale
                y -= h
                parts.append(f'<rect class="bar {kind}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                             f'height="{h:.1f}" fill="{COLOURS[kind]}"><title>{day.isoformat()}: '
                             f'{value}</title></rect>')
        if len(per_day) <= 14:
            parts.append(f'<text class="value" x="{x + width / 2:.1f}" y="{y - 2:.1f}" '
                         f'text-anchor="middle">{ok + bad}</text>')
        if index % labels_every == 0:
            centre = x + width / 2
            anchor = "end" if centre > WIDTH - 16 else "middle"  # the last date stays on the chart
            parts.append(f'<text x="{min(centre, WIDTH - 2):.1f}" y="{height - 6}" '
                         f'text-anchor="{anchor}">{day.strftime("%d/%m")}</text>')
    parts.append("</svg>")
    return "".join(parts)


LEGEND = ('<p class="legend"><span><i class="sw" style="background:{ok}"></i>trả lời được</span>'
          '<span><i class="sw" style="background:{bad}"></i>chưa trả lời được</span></p>').format(**COLOURS)


def _split(counts) -> tuple[int, int]:
    bad = unanswered(counts)
    return sum(counts.values()) - bad, bad


def _when(value: dt.datetime | None) -> str:
    return escape(value.strftime("%Y-%m-%d %H:%M")) if value else ""


def to_html(report: Report, generated: dt.datetime) -> str:
    """The whole page."""
    span = f"từ {report.since.isoformat()}" if report.since else "toàn bộ thời gian lưu"
    body = [f"<h1>Câu hỏi của người dân ({escape(span)})</h1>",
            f'<p class="muted">Lập lúc {_when(generated)} (giờ UTC). Số điện thoại, số CCCD, mã BHXH '
            "đã được che.</p>",
            '<div class="cards">',
            f'<div class="card"><b id="total">{report.total}</b>lượt hỏi</div>',
            f'<div class="card"><b id="answered">{report.outcomes[ANSWERED]}</b>trả lời được</div>',
            f'<div class="card"><b id="unanswered">{report.unanswered}</b>chưa trả lời được</div>',
            "</div>",
            "<h2>Số lượt hỏi theo ngày</h2>", LEGEND,
            days_chart({day: _split(c) for day, c in report.per_day.items()}),
            "<h2>Theo thủ tục</h2>", LEGEND,
            bars("Theo thủ tục", [(report.procedure_name(p), *_split(c))
                                  for p, c in report.per_procedure.items()]),
            "<h2>Theo nội dung hỏi</h2>",
            bars("Theo nội dung hỏi", [(report.aspect_name(a), *_split(c))
                                       for a, c in report.per_aspect.items()]),
            "<h2>Theo kênh</h2>",
            bars("Theo kênh", [(CHANNEL_LABELS.get(c, c), *_split(n))
                               for c, n in report.per_channel.items()]),
            "<h2>Chưa trả lời được</h2>",
            bars("Chưa trả lời được, theo lý do", [(OUTCOME_LABELS[o], 0, report.outcomes[o])
                                                   for o in UNANSWERED if report.outcomes[o]], None),
            "<h3>Câu hỏi chưa trả lời được nhiều nhất</h3>"]
    if report.groups:
        body.append('<table id="questions"><tr><th>Số lần</th><th>Câu hỏi (gộp câu gần giống nhau); '
                    "lý do; kênh</th></tr>")
        for group in report.groups:
            reasons = ", ".join(f"{OUTCOME_LABELS.get(o, o)} {n}" for o, n in group.outcomes.most_common())
            channels = ", ".join(f"{CHANNEL_LABELS.get(c, c)} {n}" for c, n in group.channels.most_common())
            body.append(f'<tr><td class="n">{group.count}</td><td>{escape(group.example)}'
                        f'<div class="muted small">{escape(reasons)}; {escape(channels)}</div></td></tr>')
        body.append("</table>")
    else:
        body.append('<p class="muted">(không có)</p>')
    body.append("<h2>Đánh giá của người dân</h2>")
    if report.ratings is None:
        body.append(f'<p id="ratings">{NO_RATINGS}</p>')
    else:
        body.append('<p class="legend"><span><i class="sw" style="background:{ok}"></i>hữu ích</span>'
                    '<span><i class="sw" style="background:{bad}"></i>không hữu ích</span></p>'
                    .format(**COLOURS))
        body.append(bars("Đánh giá theo thủ tục", [
            (report.procedure_name(p), s[USEFUL], s[NOT_USEFUL])
            for p, s in report.ratings.per_procedure.items()], "không hữu ích"))
        if report.ratings.not_useful:
            body.append("<h3>Câu trả lời bị đánh giá không hữu ích</h3>"
                        "<table><tr><th>Lúc</th><th>Thủ tục</th><th>Câu trả lời</th></tr>")
            for rated in report.ratings.not_useful:
                body.append(f"<tr><td>{_when(rated.at)}</td><td>{escape(report.procedure_name(rated.procedure))}"
                            f"</td><td>{escape(rated.answer)}</td></tr>")
            body.append("</table>")
    if report.handover is not None:
        body.append(f"<h2>Chuyển cho cán bộ</h2><p>Đang mở <b>{len(report.handover.open)}</b>, "
                    f"đã đóng <b>{report.handover.closed}</b>.</p>")
        if report.handover.open:
            body.append("<table><tr><th>Mở lúc</th><th>Kênh</th><th>Người hỏi</th><th>Lý do</th></tr>")
            for case in report.handover.open:
                body.append(f"<tr><td>{_when(case.opened_at)}</td>"
                            f"<td>{escape(CHANNEL_LABELS.get(case.channel, case.channel))}</td>"
                            f"<td>{escape(case.sender)}</td><td>{escape(case.reason)}</td></tr>")
            body.append("</table>")
    return ('<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'\">"
            f"<title>Báo cáo câu hỏi của người dân</title><style>{CSS}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")
