"""One PNG per category: recent history, then the period's baseline and adjusted forecast with 80 % and 95 %
intervals. matplotlib is imported lazily and drawn through the Agg canvas directly (no pyplot, no global state)."""
from __future__ import annotations

import datetime as dt
import io

from trendcast.agent.report.model import ChartData, Entry

HISTORY = "#4a5568"
BASELINE = "#718096"
FORECAST = "#2b6cb0"
PERIOD = "#edf2f7"  # the forecast period's shading (tests find charts in screenshots by it)
SIZE_IN = (7.0, 2.6)
DPI = 110


def chart_png(entry: Entry) -> bytes | None:
    """The category's chart as PNG bytes; None when it has no answer (a failed category)."""
    if entry.chart is None or entry.answer is None or not entry.chart.history:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    c: ChartData = entry.chart
    a = entry.answer
    fig = Figure(figsize=SIZE_IN, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    xs = [d for d, _ in c.history]
    ax.plot(xs, [y for _, y in c.history], color=HISTORY, lw=1.4, marker="o", ms=2.2, label="history")
    start, end = a.period.start, a.period.end
    ax.set_axisbelow(True)  # grid at zorder 0.5: the period's shading (zorder 1) covers it
    ax.axvspan(start, end + dt.timedelta(days=1), color=PERIOD, lw=0, zorder=1)
    span = max((end - start).days, 1)
    for offset, band, color, label in ((0.3, c.baseline, BASELINE, f"baseline ({_short(a.baseline.model)}), 80/95 %"),
                                       (0.7, c.forecast, FORECAST, f"forecast ({a.adjustment.source}), 80/95 %")):
        x = start + dt.timedelta(days=span * offset)
        ax.vlines(x, band.lo_95, band.hi_95, color=color, lw=1.2, alpha=0.6)
        ax.vlines(x, band.lo_80, band.hi_80, color=color, lw=5.0, alpha=0.45)
        ax.plot([x], [band.total], marker="D", ms=6, color=color, label=label, ls="none")
    last_x, last_y = c.history[-1]
    ax.plot([last_x, start + dt.timedelta(days=span * 0.7)], [last_y, c.forecast.total], color=FORECAST, lw=1,
            ls=":")
    ax.grid(True, color="#e2e8f0", lw=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=7)
    ax.yaxis.set_major_formatter(_thousands())
    if c.steps_in_period > 1:
        ax.set_ylabel(f"per step (period total / {c.steps_in_period})", fontsize=7)
    elif a.unit:
        ax.set_ylabel(a.unit, fontsize=7)
    ax.legend(fontsize=7, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, borderaxespad=0.1)
    fig.subplots_adjust(left=0.1, right=0.99, top=0.89, bottom=0.1)  # fixed: tight_layout costs a second draw
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _short(model: str) -> str:
    """A legend-sized model name: "Ensemble(median of A,B,C)" → "Ensemble"; mathtext off ("$" starts a formula)."""
    return str(model).split("(")[0].strip().replace("$", r"\$") or "model"


def compact(v: float) -> str:
    """Tick labels that fit the margin: 2,500 · 25k · 2.5M · 1.2B."""
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e4, "k")):
        if abs(v) >= scale:
            return f"{v / (scale if suffix != 'k' else 1e3):,.4g}{suffix}"
    return f"{v:,.0f}"


def _thousands():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: compact(v))
