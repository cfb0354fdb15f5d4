"""`trendcast report`: the weekly trend report over every category of a level, safe to run from cron."""
from __future__ import annotations

from pathlib import Path

import click

from trendcast.agent.cli.base import AdjusterChoice, date_arg, settings_of

FORMATS = ("md", "html", "json")


def _formats(ctx, param, value) -> tuple[str, ...]:
    from trendcast.agent.report.targets import split_list

    out = tuple(dict.fromkeys(split_list([value])))
    bad = [f for f in out if f not in FORMATS]
    if bad or not out:
        raise click.BadParameter(f"{value!r}: choose from {','.join(FORMATS)} (comma list)")
    return out


@click.command("report")
@click.option("--as-of", callback=date_arg, help="Report as of this date (default: the last observed period).")
@click.option("--level", "levels", multiple=True, help="Hierarchy level(s), comma list, e.g. 3-digit,4-digit.")
@click.option("--categories", multiple=True, help="Categories (ids, codes or names), comma list.")
@click.option("--horizon", default="next-month", show_default=True,
              help="next-month, next-week, next-4-weeks, next-quarter or month:YYYY-MM.")
@click.option("--adjuster", type=AdjusterChoice(),
              help="Default: llm when TRENDCAST_LLM_URL is set, else carry.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Folder that receives report-YYYY-Www/ (default: <workspace>/reports); a re-run writes "
              "report-YYYY-Www-2/, -3, ... beside it.")
@click.option("--overwrite", is_flag=True, help="Replace report-YYYY-Www/ instead of writing a new folder.")
@click.option("--format", "formats", default=",".join(FORMATS), show_default=True, callback=_formats,
              help="Comma list of md, html, json.")
@click.option("--concurrency", type=click.IntRange(1, 1024), help="LLM requests in flight at once on each "
              "server (default: settings, env TRENDCAST_LLM_CONCURRENCY).")
@click.option("--prompt", help="Prompt template name[@version] (default: env TRENDCAST_PROMPT, else few-shot).")
@click.option("--no-cache", is_flag=True, help="Bypass the LLM response cache.")
@click.option("--top", "top_n", default=5, show_default=True, type=click.IntRange(1, 50),
              help="Biggest movers listed each way.")
@click.option("--workers", type=click.IntRange(1, 256), help="Processes for baselines and backtests (default: "
              "the usable CPUs).")
@click.option("--engine", type=click.Choice(["local", "dask", "ray", "spark"]), help="Where bulk baselines and "
              "backtests run (default: env TRENDCAST_ENGINE, else local); over 200 categories or any engine but local "
              "the report computes them in bulk (agent.report.bulk).")
@click.option("--engine-address", help="The engine's scheduler (dask tcp://host:8786, ray address, spark master); "
              "default: a local cluster of --workers workers.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary line (for cron).")
@click.pass_context
def report(ctx, as_of, levels, categories, horizon, adjuster, out_dir, overwrite, formats, concurrency, prompt,
           no_cache, top_n, workers, engine, engine_address, quiet):
    """Build the weekly trend report for every category of a level (or the named ones) in one run.

    LLM calls go out concurrently; a category whose adjustment fails falls back (and the report says so); the
    output folder appears complete or not at all. Exit code 0 even with fallbacks, 2 for bad input, 1 when no
    category got a forecast.
    """
    from trendcast.agent import workspace
    from trendcast.agent.engine import semantic_matcher
    from trendcast.agent.report.build import build_report
    from trendcast.agent.report.output import write_report
    from trendcast.agent.report.progress import progress_for
    from trendcast.agent.report.targets import report_as_of, select_targets, split_list
    from trendcast.common.processes import Interrupted, interrupts

    settings = settings_of(ctx)
    llm = {"use_cache": False} if no_cache else {}
    if concurrency:
        llm["concurrency"] = concurrency
    settings = settings.model_copy(update={**({"prompt": prompt} if prompt else {}),
                                           **{k: v for k, v in {"engine": engine,
                                                                "engine_address": engine_address}.items() if v},
                                           **({"llm": settings.llm.model_copy(update=llm)} if llm else {})})
    series = workspace.sales_store(settings).series()
    targets, selection = select_targets(series, split_list(levels), split_list(categories),
                                        semantic=semantic_matcher(settings))
    as_of = as_of or report_as_of(series, targets)
    try:
        with interrupts():  # SIGINT / SIGTERM: workers stopped, one line, exit 130 / 143
            with progress_for(quiet) as progress:
                rep = build_report(settings, targets, as_of=as_of, horizon=horizon, adjuster=adjuster,
                                   selection=selection, progress=progress, top_n=top_n, workers=workers)
            folder = write_report(rep, out_dir or settings.home / "reports", formats, overwrite=overwrite)
    except Interrupted as exc:  # the report folder is written whole or not at all: nothing half done is left
        click.echo(f"report interrupted by {exc.name}: {len(targets)} categories not done, no report written",
                   err=True)
        ctx.exit(exc.exit_code)
    s = rep.stats
    if not quiet:
        risk = ", ".join(f"{s.badges.get(b, 0)} {b}" for b in ("break", "stale"))
        click.echo(f"wrote {folder}  ({s.categories} categories: {s.ok} ok, {risk}, {s.fallbacks} fallbacks, "
                   f"{s.failed} failed; LLM calls {s.llm_calls}, cache hits {s.cache_hits}; {s.wall_s:.1f} s)")
    if s.categories and s.failed == s.categories:
        raise click.ClickException(f"no category got a forecast (see {folder})")
