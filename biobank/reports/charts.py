"""Server-side SVG charts for the capacity page: no JavaScript, no colour needed.

Every bar carries its number as text, filled parts use hatching patterns, and
containers over the alert threshold get a cross-hatch and the word ALERT, so
the charts read the same in greyscale and printed.
"""
from flask_babel import gettext as _
from markupsafe import Markup, escape

from ..core.display import display, percent

_PATTERNS = """<defs>
<pattern id="hatch-used" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
<rect width="6" height="6" fill="#c9d6e3"/><line x1="0" y1="0" x2="0" y2="6" stroke="#12355b" stroke-width="2"/>
</pattern>
<pattern id="hatch-alert" width="6" height="6" patternUnits="userSpaceOnUse">
<rect width="6" height="6" fill="#f3c5c5"/><path d="M0 0L6 6M6 0L0 6" stroke="#7f1010" stroke-width="1.4"/>
</pattern>
<pattern id="dots-intake" width="5" height="5" patternUnits="userSpaceOnUse">
<rect width="5" height="5" fill="#dde6ef"/><circle cx="2.5" cy="2.5" r="1.2" fill="#12355b"/>
</pattern>
</defs>"""


def _svg(width: int, height: int, title: str, desc: str, body: list[str]) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" font-family="system-ui, sans-serif" font-size="12">'
            f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>{_PATTERNS}")
    return Markup(head + "".join(body) + "</svg>")


def fill_chart(items: list[dict], threshold: float, width: int = 760) -> Markup:
    """One horizontal bar per container: used part hatched, free part empty, numbers written out."""
    label_w, bar_w, row_h, top = 230, width - 230 - 150, 26, 28
    height = top + row_h * max(1, len(items)) + 24
    body = []
    x_threshold = label_w + bar_w * threshold
    body.append(f'<text x="{label_w}" y="16">0%</text><text x="{label_w + bar_w}" y="16" '
                f'text-anchor="end">100%</text>')
    for i, item in enumerate(items):
        y = top + i * row_h
        indent = 12 * item.get("depth", 0)
        name = item["name"] if len(item["name"]) <= 28 else item["name"][:27] + "…"
        fraction = min(1.0, max(0.0, item["fraction"]))
        fill = "url(#hatch-alert)" if item.get("alert") else "url(#hatch-used)"
        body.append(f'<text x="{indent}" y="{y + 15}">{escape(display(item["kind"], "kind"))}: {escape(name)}</text>')
        body.append(f'<rect x="{label_w}" y="{y + 2}" width="{bar_w}" height="{row_h - 8}" fill="#fff" '
                    f'stroke="#1b1f24"/>')
        if fraction > 0:
            body.append(f'<rect x="{label_w}" y="{y + 2}" width="{bar_w * fraction:.1f}" height="{row_h - 8}" '
                        f'fill="{fill}" stroke="#1b1f24"/>')
        taken = item["used"] + item.get("held", 0)
        text = f'{taken}/{item["positions"]} ({percent(taken, item["positions"])}%)'
        if item.get("alert"):
            text += " " + _("ALERT")
        weight = ' font-weight="700"' if item.get("alert") else ""
        body.append(f'<text x="{label_w + bar_w + 6}" y="{y + 15}"{weight}>{escape(text)}</text>')
    line_label = _("alert at %(threshold)s", threshold=f"{threshold:.0%}")
    body.append(f'<line x1="{x_threshold:.1f}" y1="20" x2="{x_threshold:.1f}" y2="{height - 18}" stroke="#1b1f24" '
                f'stroke-dasharray="4 3"/><text x="{x_threshold:.1f}" y="{height - 5}" text-anchor="middle">'
                f'{escape(line_label)}</text>')
    return _svg(width, height, _("Fill by container"),
                _("Used and free positions per container; dashed line: alert threshold %(threshold)s.",
                  threshold=f"{threshold:.0%}"), body)


def intake_chart(weeks: list[dict], width: int = 760, height: int = 220) -> Markup:
    """Vertical bars of samples registered per week, each labelled with its count."""
    left, bottom, top = 40, 40, 20
    plot_w, plot_h = width - left - 10, height - top - bottom
    peak = max([w["registered"] for w in weeks] + [1])
    step = plot_w / max(1, len(weeks))
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#1b1f24"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#1b1f24"/>',
            f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{peak}</text>',
            f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>']
    for i, week in enumerate(weeks):
        x = left + i * step
        h = plot_h * week["registered"] / peak
        if week["registered"]:
            hint = _("week of %(week)s: %(num)s", week=week["week_start"], num=week["registered"])
            body.append(f'<rect x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" width="{max(1.0, step - 2):.1f}" '
                        f'height="{h:.1f}" fill="url(#dots-intake)" stroke="#1b1f24">'
                        f'<title>{escape(hint)}</title></rect>')
            body.append(f'<text x="{x + step / 2:.1f}" y="{top + plot_h - h - 3:.1f}" text-anchor="middle" '
                        f'font-size="9">{week["registered"]}</text>')
        if i % 4 == 0 or i == len(weeks) - 1:
            body.append(f'<text x="{x + step / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
                        f'font-size="9">{week["week_start"][5:]}</text>')
    axis = _("week starting (month-day), %(first)s to %(last)s", first=weeks[0]["week_start"][:4] if weeks else "",
             last=weeks[-1]["week_start"][:4] if weeks else "")
    body.append(f'<text x="{left + plot_w / 2:.0f}" y="{height - 6}" text-anchor="middle">{escape(axis)}</text>')
    total = sum(w["registered"] for w in weeks)
    return _svg(width, height, _("Samples registered per week"),
                _("%(total)s samples registered in the last %(weeks)s weeks; tallest week %(peak)s.", total=total,
                  weeks=len(weeks), peak=peak), body)
