"""`trendcast report`: the batch weekly trend report over many categories (Markdown, self-contained HTML, JSON).

build.build_report → model.Report (every number shown) → output.write_report (atomic folder) via render (jinja2
templates) and charts (matplotlib, inlined).
"""
