"""Report → Markdown and → self-contained HTML, through jinja2 templates (agent/report/templates).

HTML: the environment autoescapes every expression. Markdown: every expression passes through `md_escape`
(the environment's `finalize`), so text from data or from the LLM cannot inject Markdown links, HTML or table cells.
Both: every expression passes through `agent.visible` first, so no terminal escape or other control character
reaches the file (a report is `cat` in a terminal as often as it is opened in a browser).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from markupsafe import Markup

from trendcast.agent.report.fmt import FILTERS, md_escape
from trendcast.agent.report.model import Report
from trendcast.agent.visible import visible


@lru_cache(maxsize=2)
def _env(kind: str):
    from jinja2 import Environment, PackageLoader, StrictUndefined

    loader = PackageLoader("trendcast.agent.report", "templates")
    if kind == "html":
        env = Environment(loader=loader, autoescape=True, finalize=visible, undefined=StrictUndefined)
    else:
        env = Environment(loader=loader, autoescape=False, finalize=lambda v: md_escape(visible(v)),
                          undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters.update(FILTERS)
    return env


def anchors(report: Report) -> dict[str, Markup]:
    """A safe, unique HTML id per category (series ids may hold commas and spaces)."""
    out = {}
    for i, e in enumerate(report.entries, 1):
        slug = re.sub(r"[^a-z0-9]+", "-", e.series_id.lower()).strip("-")[:40]
        out[e.series_id] = Markup(f"c{i}-{slug}" if slug else f"c{i}")
    return out


def chart_filenames(report: Report) -> dict[str, str]:
    """charts/<n>-<safe id>.svg per category, for the Markdown report's folder."""
    return {sid: f"charts/{a}.svg" for sid, a in anchors(report).items()}


def _context(report: Report, charts: Mapping[str, str]) -> dict:
    up, down = report.movers()
    return {"report": report, "ranked": report.ranked(), "up": up, "down": down, "anchors": anchors(report),
            "charts": charts}


def render_markdown(report: Report, chart_paths: dict[str, str] | None = None) -> str:
    """`chart_paths`: series id → relative SVG path, for categories that have a chart."""
    paths = {k: Markup(v) for k, v in (chart_paths or {}).items()}
    text = _env("md").get_template("report.md.j2").render(**_context(report, paths))
    return re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n"


def render_html(report: Report, chart_svgs: dict[str, Markup] | None = None) -> str:
    """`chart_svgs`: series id → inline SVG markup (charts.chart_svg), drawn in place (the file needs nothing else
    to render)."""
    svgs = {k: Markup(v) for k, v in (chart_svgs or {}).items() if v}
    return _env("html").get_template("report.html.j2").render(**_context(report, svgs))
