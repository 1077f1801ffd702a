"""Server-side SVG charts of a tank's readings: no JavaScript, readable without colour.

The readings arrive downsampled (lowest and highest per time bucket, queries.chart_series),
so a month of one-minute readings is a few hundred points. The band between lowest and
highest is hatched, the highest is a solid line, the limit a dashed line with its value
written on it, readings beyond the limit carry an × marker, and every alarm is a
cross-hatched span labelled with its number and kind. Gaps (no readings) break the line.
"""
from datetime import datetime

from flask_babel import gettext as _
from ..core.lazy_text import lazy_gettext as _l
from markupsafe import Markup, escape

_PATTERNS = """<defs>
<pattern id="mon-band" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
<rect width="6" height="6" fill="#e4ecf4"/><line x1="0" y1="0" x2="0" y2="6" stroke="#12355b" stroke-width="1"/>
</pattern>
<pattern id="mon-alarm" width="8" height="8" patternUnits="userSpaceOnUse">
<rect width="8" height="8" fill="#f7dede" fill-opacity="0.6"/><path d="M0 0L8 8M8 0L0 8" stroke="#7f1010"
 stroke-width="0.8"/>
</pattern>
</defs>"""

W, LEFT, RIGHT, TOP, BOTTOM = 760, 64, 16, 34, 46
# The alarm kinds as a chart's alarm labels name them.
KIND_WORDS = {"temperature": _l("temperature"), "level": _l("level"), "silent": _l("silent")}


def _fmt_time(value: datetime, span_days: float) -> str:
    return value.strftime("%H:%M" if span_days <= 1 else "%m-%d %H:%M" if span_days <= 4 else "%m-%d")


def _nice_range(values: list[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if high - low < 1:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.08
    return low - pad, high + pad


def series_chart(*, title: str, unit: str, series: list[dict], low_key: str, high_key: str, start: datetime,
                 end: datetime, seconds_per_bucket: float, limit: float | None, limit_label: str,
                 limit_is_min: bool, alarms: list, alarm_kinds: tuple, height: int = 260) -> Markup:
    points = [s for s in series if s[low_key] is not None]
    plot_w, plot_h = W - LEFT - RIGHT, height - TOP - BOTTOM
    span = max(1.0, (end - start).total_seconds())
    span_days = span / 86400
    values = [p[low_key] for p in points] + [p[high_key] for p in points] + ([limit] if limit is not None else [])
    lowest, highest = _nice_range(values or [0.0])

    def x(when: datetime) -> float:
        return LEFT + plot_w * min(1.0, max(0.0, (when - start).total_seconds() / span))

    def y(value: float) -> float:
        return TOP + plot_h * (1 - (value - lowest) / (highest - lowest))

    def bucket_x(point) -> float:
        return LEFT + plot_w * min(1.0, (point["bucket"] + 0.5) * seconds_per_bucket / span)

    body = [f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#1b1f24"/>']
    for i in range(5):   # value grid with labels
        value = lowest + (highest - lowest) * i / 4
        body.append(f'<line x1="{LEFT}" y1="{y(value):.1f}" x2="{LEFT + plot_w}" y2="{y(value):.1f}" '
                    f'stroke="#c8ccd1" stroke-width="0.5"/><text x="{LEFT - 4}" y="{y(value) + 4:.1f}" '
                    f'text-anchor="end">{value:.0f}</text>')
    for i in range(7):   # time ticks
        when = start + (end - start) * (i / 6)
        body.append(f'<line x1="{x(when):.1f}" y1="{TOP + plot_h}" x2="{x(when):.1f}" y2="{TOP + plot_h + 4}" '
                    f'stroke="#1b1f24"/><text x="{x(when):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" '
                    f'font-size="10">{_fmt_time(when, span_days)}</text>')
    body.append(f'<text x="14" y="{TOP + plot_h / 2:.0f}" transform="rotate(-90 14 {TOP + plot_h / 2:.0f})" '
                f'text-anchor="middle">{escape(unit)}</text>')
    axis = _("time (UTC), %(start)s to %(end)s", start=start.strftime("%Y-%m-%d %H:%M"),
             end=end.strftime("%Y-%m-%d %H:%M"))
    body.append(f'<text x="{LEFT + plot_w / 2:.0f}" y="{height - 8}" text-anchor="middle">{escape(axis)}</text>')

    shown = [a for a in alarms if a.kind in alarm_kinds]
    for number, alarm in enumerate(shown, start=1):
        x0, x1 = x(alarm.opened_at), x(alarm.closed_at or end)
        kind = KIND_WORDS.get(alarm.kind, alarm.kind)
        label = _("ALARM %(id)s (%(kind)s, open)", id=alarm.id, kind=kind) if alarm.closed_at is None \
            else _("ALARM %(id)s (%(kind)s)", id=alarm.id, kind=kind)
        hint = _("Alarm %(id)s: %(message)s", id=alarm.id, message=alarm.message)
        body.append(f'<rect x="{x0:.1f}" y="{TOP}" width="{max(2.0, x1 - x0):.1f}" height="{plot_h}" '
                    f'fill="url(#mon-alarm)" stroke="#7f1010" stroke-dasharray="2 2" data-alarm="{alarm.id}">'
                    f'<title>{escape(hint)}</title></rect>')
        body.append(f'<text x="{x0 + 3:.1f}" y="{TOP + 12 + 12 * ((number - 1) % 3)}" font-weight="700" '
                    f'font-size="11">{escape(label)}</text>')

    # Lowest-to-highest band and the line of highest (of lowest, for a minimum limit), broken at gaps.
    runs, run, previous = [], [], None
    for point in points:
        if previous is not None and point["bucket"] - previous > 1:
            runs.append(run)
            run = []
        run.append(point)
        previous = point["bucket"]
    if run:
        runs.append(run)
    edge = low_key if limit_is_min else high_key
    for run in runs:   # each point's coordinates formatted once: a month is 360 of them
        xs = [f"{bucket_x(p):.1f}," for p in run]
        highs = [f"{y(p[high_key]):.1f}" for p in run]
        lows = [f"{y(p[low_key]):.1f}" for p in run]
        upper = " ".join(map(str.__add__, xs, highs))
        lower = " ".join(map(str.__add__, reversed(xs), reversed(lows)))
        body.append(f'<polygon points="{upper} {lower}" fill="url(#mon-band)" stroke="none"/>')
        line = upper if edge == high_key else " ".join(map(str.__add__, xs, lows))
        if len(run) == 1:
            body.append(f'<circle cx="{bucket_x(run[0]):.1f}" cy="{y(run[0][edge]):.1f}" r="2" fill="#12355b"/>')
        else:
            body.append(f'<polyline points="{line}" fill="none" stroke="#12355b" stroke-width="1.5"/>')
    beyond = 0
    if limit is not None:
        body.append(f'<line x1="{LEFT}" y1="{y(limit):.1f}" x2="{LEFT + plot_w}" y2="{y(limit):.1f}" '
                    f'stroke="#1b1f24" stroke-width="1.5" stroke-dasharray="7 4"/>'
                    f'<text x="{LEFT + plot_w - 4}" y="{y(limit) - 4:.1f}" text-anchor="end" font-weight="700">'
                    f'{escape(limit_label)}</text>')
        for point in points:
            over = point[low_key] < limit if limit_is_min else point[high_key] > limit
            if over:
                beyond += 1
                cx, cy = bucket_x(point), y(point[edge])
                body.append(f'<path d="M{cx - 3:.1f} {cy - 3:.1f}L{cx + 3:.1f} {cy + 3:.1f}M{cx + 3:.1f} '
                            f'{cy - 3:.1f}L{cx - 3:.1f} {cy + 3:.1f}" stroke="#7f1010" stroke-width="1.5"/>')
    count = sum(p["count"] for p in points)
    if points:
        low_seen, high_seen = min(p[low_key] for p in points), max(p[high_key] for p in points)
        seen = _("%(count)s readings in %(steps)s time steps; lowest %(low)s, highest %(high)s %(unit)s",
                 count=count, steps=len(points), low=f"{low_seen:g}", high=f"{high_seen:g}", unit=unit)
        if limit is not None:
            seen = _("%(seen)s; %(limit)s; %(beyond)s time steps beyond it", seen=seen, limit=limit_label,
                     beyond=beyond)
        desc = _("%(seen)s; %(num)s alarm(s) marked.", seen=seen, num=len(shown))
    else:
        desc = _("No readings in this period.")
        empty = _("No readings in this period")
        body.append(f'<text x="{LEFT + plot_w / 2:.0f}" y="{TOP + plot_h / 2:.0f}" text-anchor="middle">'
                    f'{escape(empty)}</text>')
    body.insert(0, f'<text x="{LEFT}" y="20" font-weight="700" font-size="13">{escape(title)}</text>')
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" viewBox="0 0 {W} {height}" '
            f'role="img" aria-label="{escape(title)}" font-family="system-ui, sans-serif" font-size="12">'
            f'<title>{escape(title)}</title><desc>{escape(desc)}</desc>{_PATTERNS}')
    return Markup(head + "".join(body) + "</svg>")
