"""Two PNGs per run: skill by origin, and forecast vs actual for the series the reference got most wrong."""
from __future__ import annotations

from pathlib import Path

import pandas as pd


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_plots(folder: Path, results: dict, cells: pd.DataFrame, reference: str, n_worst: int = 3) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [skill_by_origin(folder / "skill_by_origin.png", results, reference),
            worst_series(folder / "worst_series.png", results, cells, reference, n_worst)]


def skill_by_origin(path: Path, results: dict, reference: str) -> Path:
    """Top: the reference's MASE per origin (where the error is). Bottom: each variant's skill per origin."""
    plt = _pyplot()
    df = pd.DataFrame(results["per_origin"])
    ref = df[df["variant"] == reference].set_index("origin")["mase"].sort_index()
    x = list(range(len(ref)))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True, height_ratios=[1, 1.4])
    top.bar(x, ref.to_numpy(), color="#888")
    top.set_ylabel(f"MASE of {reference}")
    top.set_title(f"{results['suite']['id']}: error and skill by origin ({results['run_id']})")
    for name in results["leaderboard"]:
        if name == reference:
            continue
        v = df[df["variant"] == name].set_index("origin")["mase"].reindex(ref.index)
        bottom.plot(x, (1 - v / ref).to_numpy(), marker=".", label=name)
    bottom.set_xticks(x, [o[:7] if o.endswith(("-28", "-29", "-30", "-31")) else o for o in ref.index],
                      rotation=90, fontsize=7)
    bottom.set_xlabel("origin (last observed period)")
    bottom.axhline(0, color="black", linewidth=0.8)
    bottom.set_ylabel(f"skill vs {reference} (1 − MASE ratio)")
    bottom.set_ylim(max(bottom.get_ylim()[0], -2), min(bottom.get_ylim()[1], 1))
    bottom.legend(fontsize=8, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def worst_series(path: Path, results: dict, cells: pd.DataFrame, reference: str, n: int) -> Path:
    """Actual period totals, the reference's forecast with its 80 % interval, and the leading variants'."""
    plt = _pyplot()
    per = pd.DataFrame(results["per_series"])
    worst = per[per["variant"] == reference].sort_values("mase", ascending=False)["unique_id"].head(n).tolist()
    shown = [reference] + [v for v in results["leaderboard"] if v != reference][:2]
    fig, axes = plt.subplots(len(worst), 1, figsize=(11, 3.2 * len(worst)), squeeze=False)
    for ax, uid in zip(axes[:, 0], worst):
        mine = cells[cells["unique_id"] == uid]
        ref = mine[mine["variant"] == reference].sort_values("period_start")
        ax.plot(ref["period_start"], ref["actual"], color="black", linewidth=2, label="actual")
        ax.fill_between(ref["period_start"], ref["lo_80"], ref["hi_80"], alpha=0.2, label=f"{reference} 80 %")
        for name in shown:
            f = mine[mine["variant"] == name].sort_values("period_start")
            ax.plot(f["period_start"], f["forecast"], marker=".", linewidth=1, label=name)
        name = str(ref["name"].iloc[0]) if "name" in ref and len(ref) else uid
        ax.set_title(f"{uid} {name}: period totals, forecast from the previous origin", fontsize=10)
        ax.legend(fontsize=7, ncol=4)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
