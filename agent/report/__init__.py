"""`trendcast report`: the batch weekly trend report over many categories (Markdown, self-contained HTML, JSON).

build.build_report → model.Report (every number shown, each entry badged by its warnings) → output.write_report
(a new atomic folder per run) via render (jinja2 templates) and charts (small inline SVG, hand-written).
"""
