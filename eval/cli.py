"""`trendcast eval run | list | compare`: thin commands over eval.harness and eval.runs."""
from __future__ import annotations

import math
from contextlib import contextmanager
from pathlib import Path

import click

from trendcast.agent.cli.base import CLIUserError, emit_json, settings_of


@click.group("eval")
def eval_group():
    """Score variants (baselines, analog, LLM × prompt) against held-out sales: rolling-origin backtests."""


def _names(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@contextmanager
def _progress(enabled: bool):
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=False) as bar:
        def factory(what: str, total: int):
            task = bar.add_task(what, total=total)
            return lambda n=1: bar.advance(task, n)
        yield factory


@eval_group.command("run")
@click.argument("suite")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="Run folder (default: <home>/runs/<suite>-<UTC timestamp>).")
@click.option("--resume", "resume_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Continue an interrupted run in this folder: finished cells are not recomputed.")
@click.option("--only", help="Comma-separated variant names to run (the reference is always run).")
@click.option("--skip", help="Comma-separated variant names to leave out, e.g. --skip llm.")
@click.option("--blind", is_flag=True, help="Mask category names and shift years in LLM prompts.")
@click.option("--blind-shift", default=37, show_default=True, type=int, help="Years added under --blind.")
@click.option("--llm-url", help="OpenAI-compatible base URL for llm variants that name none (default: settings, "
              "env TRENDCAST_LLM_URL).")
@click.option("--llm-model", help="Model for llm variants that name none (default: env TRENDCAST_LLM_MODEL).")
@click.option("--no-cache", is_flag=True, help="Bypass the LLM response cache.")
@click.option("--jobs", type=click.IntRange(1), help="Worker processes (default: the suite's n_jobs).")
@click.option("--engine", type=click.Choice(["local", "dask", "ray", "spark"]),
              help="Where the bulk baselines run (default: the suite's engine, else env TRENDCAST_ENGINE, else local); "
              "dask/ray/spark need the extra of that name.")
@click.option("--engine-address", help="The engine's scheduler (dask tcp://host:8786, ray address, spark master); "
              "default: env TRENDCAST_ENGINE_ADDRESS, else a local cluster of --jobs workers.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def run_cmd(ctx, suite, out, resume_dir, only, skip, blind, blind_shift, llm_url, llm_model, no_cache, jobs, engine,
            engine_address, quiet):
    """Run SUITE (a YAML file or a shipped suite name, see `trendcast eval list --suites`)."""
    from trendcast.common.processes import Interrupted, interrupts
    from trendcast.eval.harness import RunOptions, new_run_dir, run_suite
    from trendcast.eval.suite import load_suite

    settings = settings_of(ctx)
    llm = {k: v for k, v in {"url": llm_url, "model": llm_model}.items() if v}
    if no_cache:
        llm["use_cache"] = False
    if llm:
        settings = settings.model_copy(update={"llm": settings.llm.model_copy(update=llm)})
    s = load_suite(suite).select(_names(only), _names(skip))
    if jobs:
        s = s.model_copy(update={"n_jobs": jobs})
    s = s.model_copy(update={k: v for k, v in {"engine": engine, "engine_address": engine_address}.items() if v})
    if blind and not any(v.adjuster == "llm" for v in s.variants):
        raise CLIUserError("--blind only changes LLM prompts, and this run has no llm variant")
    run_dir = resume_dir or new_run_dir(settings, s, out)
    try:
        with interrupts():  # SIGINT / SIGTERM: workers stopped, one line, exit 130 / 143
            with _progress(not quiet) as factory:
                opts = RunOptions(blind_year_shift=blind_shift if blind else None, progress=factory,
                                  echo=lambda m: click.echo(m, err=True))
                run_suite(s, settings, run_dir, resume=resume_dir is not None, opts=opts)
    except Interrupted as exc:  # parts are written atomically: what is done stays done
        click.echo(f"eval run interrupted by {exc.name}; "
                   + (f"resume with --resume {run_dir}" if (run_dir / "run.json").is_file()
                      else "nothing was written"), err=True)
        ctx.exit(exc.exit_code)
    text = (run_dir / "leaderboard.md").read_text(encoding="utf-8")
    click.echo(text.split("## Error by origin")[0].rstrip())
    click.echo(f"\nrun folder: {run_dir}")


@eval_group.command("list")
@click.option("--suites", is_flag=True, help="List the shipped suites instead of the runs.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_cmd(ctx, suites, as_json):
    """The runs under <home>/runs and those registered from elsewhere (--out), newest first: suite, date, variants,
    best variant's MASE and skill. A run outside <home>/runs is shown by its path; one whose folder is gone says so."""
    from trendcast.eval.runs import list_runs
    from trendcast.eval.suite import load_suite, shipped_suites

    if suites:
        rows = [{"suite": n, "description": load_suite(n).description} for n in shipped_suites()]
        if as_json:
            return emit_json(rows)
        for r in rows:
            click.echo(f"{r['suite']:<24} {r['description']}")
        return
    rows = list_runs(settings_of(ctx))
    if as_json:
        return emit_json(rows)
    if not rows:
        click.echo("no runs yet (trendcast eval run SUITE)")
        return
    for r in rows:
        name = r["path"] if r.get("registered") else r["run_id"]  # what `eval compare` takes for it
        if r["status"] == "missing":
            click.echo(f"{name:<36} gone: the registered run folder no longer exists (or has no run.json)")
            continue
        head = (f"best {r['best']} MASE {r['best_mase']:.3f}" + (f", skill {r['best_skill']:+.3f}"
                if r.get("best_skill") is not None else " (reference)")) if r["best"] else r["status"]
        click.echo(f"{name:<36} {r['suite'] or '?':<18} {(r['started'] or '')[:16]:<17} "
                   f"{'blind ' if r['blind'] else ''}{head}  [{', '.join(r['variants'])}]")


@eval_group.command("compare")
@click.argument("run_a")
@click.argument("run_b")
@click.option("--variant", "pairs", multiple=True, help="A_NAME[:B_NAME] to compare (repeatable; default: "
              "every variant name both runs have).")
@click.option("--resamples", default=2000, show_default=True, type=click.IntRange(200))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def compare_cmd(ctx, run_a, run_b, pairs, resamples, seed, as_json):
    """Per-metric differences B − A with paired 95 % bootstrap intervals on the cells both runs scored."""
    from trendcast.eval.runs import compare, find_run

    settings = settings_of(ctx)
    a, b = find_run(settings, run_a), find_run(settings, run_b)
    parsed = [tuple(p.split(":", 1)) if ":" in p else (p, p) for p in pairs] or None
    rows = compare(a, b, parsed, resamples, seed)
    if as_json:
        return emit_json(rows)
    click.echo(f"A = {a.name}\nB = {b.name}\n(B − A; for the losses a negative difference and a positive skill "
               "mean B is better; * when the 95 % interval excludes 0)")
    for va, vb in dict.fromkeys((r["variant_a"], r["variant_b"]) for r in rows):
        mine = [r for r in rows if (r["variant_a"], r["variant_b"]) == (va, vb)]
        click.echo(f"\n{va} (A) vs {vb} (B), {mine[0]['cells']} shared cells"
                   + (f" — {mine[0]['actuals_differ']} with different actuals!" if mine[0]["actuals_differ"] else ""))
        click.echo(f"  {'metric':<12}{'A':>10}{'B':>10}   {'B − A [95% CI]':<32}{'skill of B vs A [95% CI]'}")
        for r in mine:
            click.echo(f"  {r['metric']:<12}{_f(r['a']):>10}{_f(r['b']):>10}   {_ci(r['diff']):<32}"
                       f"{_ci(r.get('skill_b_vs_a'))}")


def _f(x) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.4f}"


def _ci(est) -> str:
    if not est:
        return ""
    star = "*" if math.isfinite(est["lo"]) and (est["lo"] > 0 or est["hi"] < 0) else ""
    return f"{est['value']:+.4f} [{est['lo']:+.4f}, {est['hi']:+.4f}]{star}"
