"""The eval harness: rolling-origin backtests that score every variant — each baseline model, their combination,
the analog adjuster, each LLM × prompt — the same way against held-out sales, with paired bootstrap intervals.

suite.py (YAML suites) → cells.py (the grid, bulk baselines) → variants.py / cases.py / parallel.py (the agent's
own prepare + adjusters, as of each origin) → scoring.py / significance.py (utilsforecast losses, paired CIs) →
report.py / leaderboard.py / plots.py (run artifacts); harness.py runs it all, runs.py lists and compares runs,
cli.py is `trendcast eval`.
"""
