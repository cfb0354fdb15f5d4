"""One small inline SVG per category: recent history, then the period's baseline and adjusted forecast with their
80 % and 95 % intervals (a fan from the last observation). Hand-written: a few hundred bytes of markup, no image
library, no PNG, so that a report of thousands of categories stays a file a browser opens.

Every number is formatted here and every text from data (model names) is escaped, its control characters made
visible (agent.visible: XML allows none); the markup is returned as
`Markup` for the HTML template and as a standalone file (`standalone=True`) for the Markdown report's charts/."""
from __future__ import annotations

import datetime as dt

from markupsafe import Markup, escape

from trendcast.agent.report.model import ChartData, Entry
from trendcast.agent.visible import visible

HISTORY = "#4a5568"
BASELINE = "#718096"
FORECAST = "#2b6cb0"
PERIOD = "#edf2f7"  # the forecast period's shading (tests find charts in screenshots by it)
W, H = 640, 150  # px; the plot sits inside the margins below
LEFT, RIGHT, TOP, BOTTOM = 46, 8, 16, 18
PERIOD_W = 90  # px the forecast period takes, however short it is beside the history
FONT = 'font-family="DejaVu Sans,Arial,sans-serif" font-size="10"'


def chart_svg(entry: Entry, standalone: bool = False) -> Markup | None:
    """The category's chart as SVG markup; None when it has no answer (a failed category) or no history."""
    if entry.chart is None or entry.answer is None or not entry.chart.history:
        return None
    c: ChartData = entry.chart
    a = entry.answer
    start, end = a.period.start, a.period.end + dt.timedelta(days=1)
    x0, xs, x1 = c.history[0][0].toordinal(), start.toordinal(), end.toordinal()
    split = W - RIGHT - PERIOD_W  # history up to the period's start, then the period at a readable width
    ys = [y for _, y in c.history] + [v for b in (c.baseline, c.forecast) for v in (b.lo_95, b.hi_95, b.total)]
    lo, hi = min(ys), max(ys)
    pad = (hi - lo) * 0.06 or abs(hi) * 0.1 or 1.0
    lo, hi = lo - pad, hi + pad
    px = lambda d: (LEFT + (d.toordinal() - x0) / max(xs - x0, 1) * (split - LEFT) if d.toordinal() <= xs  # noqa
                    else split + (d.toordinal() - xs) / max(x1 - xs, 1) * PERIOD_W)
    py = lambda v: TOP + (hi - v) / (hi - lo) * (H - TOP - BOTTOM)  # noqa: E731
    f = lambda v: f"{v:.0f}"  # noqa: E731  (whole pixels: small files, sharp enough at this size)
    span = max((end - start).days, 1)
    xb, xf = px(start + dt.timedelta(days=span * 0.3)), px(start + dt.timedelta(days=span * 0.7))
    last_x, last_y = px(c.history[-1][0]), py(c.history[-1][1])
    fb, ff = c.baseline, c.forecast
    parts = [
        f'<rect x="{f(px(start))}" y="{TOP}" width="{f(max(px(end) - px(start), 3))}" height="{H - TOP - BOTTOM}" '
        f'fill="{PERIOD}"/>',
        f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" stroke="#cbd5e0"/>',
        # the forecast's fan: from the last observation out to its 95 % and 80 % intervals
        f'<polygon points="{f(last_x)},{f(last_y)} {f(xf)},{f(py(ff.hi_95))} {f(xf)},{f(py(ff.lo_95))}" '
        f'fill="{FORECAST}" fill-opacity=".12"/>',
        f'<polygon points="{f(last_x)},{f(last_y)} {f(xf)},{f(py(ff.hi_80))} {f(xf)},{f(py(ff.lo_80))}" '
        f'fill="{FORECAST}" fill-opacity=".22"/>',
        '<polyline fill="none" stroke="{}" stroke-width="1.4" points="{}"/>'.format(
            HISTORY, " ".join(f"{f(px(d))},{f(py(y))}" for d, y in c.history)),
    ]
    for x, b, color in ((xb, fb, BASELINE), (xf, ff, FORECAST)):
        parts += [f'<line x1="{f(x)}" y1="{f(py(b.lo_95))}" x2="{f(x)}" y2="{f(py(b.hi_95))}" stroke="{color}"/>',
                  f'<line x1="{f(x)}" y1="{f(py(b.lo_80))}" x2="{f(x)}" y2="{f(py(b.hi_80))}" stroke="{color}" '
                  f'stroke-width="5" stroke-opacity=".5"/>',
                  f'<path d="M{f(x)} {f(py(b.total) - 5)}l5 5-5 5-5-5z" fill="{color}"/>']
    unit = (f"per step (period total / {c.steps_in_period})" if c.steps_in_period > 1 else a.unit or "")
    labels = [(LEFT - 4, TOP + 4, "end", compact(hi - pad)), (LEFT - 4, H - BOTTOM, "end", compact(lo + pad)),
              (LEFT, H - 5, "start", c.history[0][0].strftime("%Y-%m")),
              (px(start), H - 5, "end", c.history[-1][0].strftime("%Y-%m"))]
    text = [f'<text x="{f(x)}" y="{f(y)}" text-anchor="{anchor}">{escape(visible(s))}</text>'
            for x, y, anchor, s in labels]
    legend = (f'<text x="{LEFT}" y="11"><tspan fill="{HISTORY}">— history</tspan>'
              f'<tspan fill="{BASELINE}" dx="10">◆ baseline ({escape(visible(_short(a.baseline.model)))})</tspan>'
              f'<tspan fill="{FORECAST}" dx="10">◆ forecast ({escape(visible(a.adjustment.source))}), 80/95 %</tspan>'
              f'<tspan fill="#718096" dx="10">{escape(visible(unit))}</tspan></text>')
    ns = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    title = f"<title>{escape(visible(entry.name))}: history and forecast</title>"
    return Markup(f'<svg{ns} class="chart" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" {FONT}>'
                  f'{title}{"".join(parts)}<g fill="#4a5568">{"".join(text)}</g>{legend}</svg>')


def _short(model: str) -> str:
    """A legend-sized model name: "Ensemble(median of A,B,C)" → "Ensemble"."""
    return str(model).split("(")[0].strip() or "model"


def compact(v: float) -> str:
    """Axis labels that fit the margin: 2,500 · 25k · 2.5M · 1.2B."""
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e4, "k")):
        if abs(v) >= scale:
            return f"{v / (scale if suffix != 'k' else 1e3):,.4g}{suffix}"
    return f"{v:,.0f}"
