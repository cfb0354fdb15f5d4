"""leaderboard.md: the variants sorted by MASE with 95 % CI columns, where the error comes from, and the worst series."""
from __future__ import annotations

import math

import pandas as pd

PCT = {"wape": 100.0, "smape": 200.0, "coverage_80": 100.0, "coverage_95": 100.0, "direction": 100.0}


def fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def ci(est: dict | None, scale: float = 1.0, digits: int = 3) -> str:
    """`value [lo, hi]`."""
    if not est:
        return ""
    v, lo, hi = (est[k] * scale if est[k] is not None else float("nan") for k in ("value", "lo", "hi"))
    return f"{fmt(v, digits)} [{fmt(lo, digits)}, {fmt(hi, digits)}]"


def signif(est: dict | None) -> str:
    """↑ / ↓ when the 95 % interval excludes 0 (better / worse than the reference), else ·."""
    if not est or not all(math.isfinite(est[k] or float("nan")) for k in ("lo", "hi")):
        return ""
    return "↑" if est["lo"] > 0 else "↓" if est["hi"] < 0 else "·"


def counts_text(counts: dict | None) -> str:
    """`direction_sign 3, copied_example 1` ("" when none)."""
    return ", ".join(f"{k} {n}" for k, n in (counts or {}).items())


def leaderboard_rows(results: dict) -> list[dict]:
    rows = []
    for rank, name in enumerate(results["leaderboard"], 1):
        v = results["variants"][name]
        m, vs = v["metrics"], v["vs_reference"]
        llm = v.get("llm") or {}
        tokens = llm.get("prompt_tokens", 0) + llm.get("completion_tokens", 0)
        rows.append({
            "#": rank, "variant": name + (" (ref)" if name == results["reference"] else ""),
            "adjuster": v["adjuster"] + (f" {v['prompt']}" if v.get("prompt") else ""),
            "MASE [95% CI]": ci(m["mase"]), "MASE skill [95% CI]": ci(vs.get("mase_skill")) + " "
            + signif(vs.get("mase_skill")),
            "WAPE %": ci(m["wape"], 100, 2), "sMAPE %": fmt(m["smape"]["value"] * 200, 2),
            "sCRPS": fmt(m["crps"]["value"], 4), "cov80 %": fmt(m["coverage_80"]["value"] * 100, 1),
            "cov95 %": fmt(m["coverage_95"]["value"] * 100, 1), "dir acc %": fmt(m["direction"]["value"] * 100, 1),
            "fallbacks": v.get("fallbacks", 0), "LLM fails": llm.get("failed_requests", ""),
            "dialect": ", ".join(v.get("dialects") or {}), "LLM problems": counts_text(v.get("llm_problems")),
            "tokens": tokens if llm else "", "time s": fmt(v.get("seconds"), 1)})
    return rows


def md_table(rows: list[dict]) -> str:
    if not rows:
        return "(nothing)\n"
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def per_origin_rows(results: dict, top_variants: int = 4) -> list[dict]:
    """MASE by origin: the reference's, its share of the reference's total scaled error, and the leaders'."""
    df = pd.DataFrame(results["per_origin"])
    ref = results["reference"]
    shown = [ref] + [n for n in results["leaderboard"] if n != ref][:top_variants - 1]
    r = df[df["variant"] == ref].set_index("origin")
    share = r["mase"] * r["cells"] / (r["mase"] * r["cells"]).sum()
    rows = []
    for origin in r.index:
        row = {"origin": origin, "forecast for": results["data"].get("periods", {}).get(origin, ""),
               f"share of {ref} error %": fmt(100 * share[origin], 1)}
        for n in shown:
            val = df[(df["variant"] == n) & (df["origin"] == origin)]["mase"]
            row[f"MASE {n}"] = fmt(float(val.iloc[0]) if len(val) else None)
        rows.append(row)
    return rows


def worst_series_rows(results: dict, n: int = 8) -> list[dict]:
    df = pd.DataFrame(results["per_series"])
    ref = results["reference"]
    best = next((v for v in results["leaderboard"] if v != ref), ref)
    r = df[df["variant"] == ref].sort_values("mase", ascending=False).head(n)
    b = df[df["variant"] == best].set_index("unique_id")["mase"]
    return [{"series": row.unique_id, f"MASE {ref}": fmt(row.mase), f"MASE {best}": fmt(b.get(row.unique_id)),
             f"WAPE {ref} %": fmt(100 * row.wape, 1)} for row in r.itertuples(index=False)]


def _llm_note(results: dict) -> str:
    if not any(v.get("adjuster") == "llm" for v in results["variants"].values()):
        return ""
    return (" LLM problems: the replies rejected (and re-asked) in this run, by kind (agent.llm.problems; a reply "
            "served from the LLM cache rejected nothing); dialect: how the server took the schema.")


def window_sections(results: dict) -> list[str]:
    """One table per window of origins (the shock, the rest): MASE, skill vs the reference, coverage."""
    out = []
    for w in results.get("windows") or []:
        span = f"origins {'outside ' if w['outside'] else ''}{w['start']} .. {w['end']}"
        rows = [{"variant": v, "MASE [95 % CI]": ci(e["mase"]),
                 "skill vs ref": ci(e["mase_skill"]) or "—",
                 "cov 80": fmt(e["coverage_80"]["value"], 2), "cov 95": fmt(e["coverage_95"]["value"], 2)}
                for v, e in sorted(w["variants"].items(), key=lambda kv: kv[1]["mase"]["value"])]
        out += [f"## Window {w['name']} ({span}, {w['origins']} origins)", "", md_table(rows)]
    return out


def trust_section(results: dict) -> list[str]:
    """The trust each adjusted variant's record earned, origin by origin (eval.trusted)."""
    rows = results.get("trust") or []
    if not rows:
        return []
    table = [{"origin": r["origin"], "variant": r["variant"], "record": r["key"],
              "trust down": f"{r['trust_down']:.2f} ({r['n_down']})", "trust up": f"{r['trust_up']:.2f} ({r['n_up']})",
              "errors": r["n"], "q80": fmt(r["q80"], 2), "q95": fmt(r["q95"], 2)} for r in rows]
    return ["## Trust over origins", "",
            "`<variant>+trust` applies each proposal times the trust its record earned (proposals and outcomes at "
            "earlier origins only; in brackets, how many) and takes its 80/95 % bounds from those past errors "
            "(q: conformal quantiles of the normalised errors; n/a: too few, the normal quantile).", "",
            md_table(table)]


def render_leaderboard(results: dict) -> str:
    d, ref, b = results["data"], results["reference"], results["bootstrap"]
    git = results["git"]
    head = [
        f"# {results['suite']['id']} — run `{results['run_id']}`", "",
        f"{d['series']} series x {len(d['origins'])} origins ({d['origins'][0]} .. {d['origins'][-1]}) = "
        f"{d['cells']} cells per variant. Reference: **{ref}**. Git {str(git.get('commit'))[:10]}"
        f"{' (dirty)' if git.get('dirty') else ''}; data sha256 {d['panel_sha256'][:12]}; "
        f"{results['seconds']:.0f} s.",
    ]
    if results.get("blind"):
        head.append(f"**Blind run**: category names masked and years shifted by {results['blind']['year_shift']} "
                    "in LLM prompts.")
    if d.get("excluded_series"):
        head.append("Left out: " + "; ".join(f"{k} ({v})" for k, v in d["excluded_series"].items()) + ".")
    unit = "whole origins" if b.get("unit") == "origin" else "(series, origin) cells"
    parts = head + [
        "", "## Leaderboard (sorted by MASE, lower is better)", "",
        f"95 % intervals: percentile bootstrap, {b['resamples']} paired resamples of {unit}, seed {b['seed']}. "
        f"Skill = 1 − MASE / MASE of {ref}: positive is better; ↑/↓ when its interval excludes 0. sMAPE on the "
        "0–200 % scale; sCRPS = scaled CRPS from the 80/95 % bounds and the point." + _llm_note(results), "",
        md_table(leaderboard_rows(results)),
        "## Error by origin", "",
        "Origin = last observed month; the forecast is for the next one. The share column says how much of the "
        f"reference's total scaled error each origin contributes.", "",
        md_table(per_origin_rows(results)),
        *window_sections(results),
        *trust_section(results),
        "## Worst series", "", md_table(worst_series_rows(results)),
        "Plots: `plots/skill_by_origin.png`, `plots/worst_series.png`. Every cell: `cells.parquet` / `cells.csv`.",
        "",
    ]
    return "\n".join(parts)
