"""Write a report folder atomically: everything goes into a hidden temp folder beside the target, which is renamed
into place at the end — a crashed or killed run leaves no half report (at most a `.report-*.tmp-*` folder).

Each run gets a folder of its own — `report-2020-W14`, then `report-2020-W14-2`, `-3`, ... — so that a re-run
never replaces what an earlier one wrote; `overwrite=True` replaces `report-<week>` itself."""
from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from trendcast.agent.report.model import Report

FORMATS = ("md", "html", "json")
STALE_S = 24 * 3600  # temp folders of killed runs older than this are removed by the next run


def folder_name(report: Report) -> str:
    return f"report-{report.week}"


def write_report(report: Report, out_dir: Path, formats: tuple[str, ...] = FORMATS, *,
                 overwrite: bool = False) -> Path:
    """Render `report` into a new `<out_dir>/report-<week>[-N]/` (report.md + charts/, report.html, report.json);
    with `overwrite`, into `report-<week>/`, replacing it. Returns the folder. A read-only folder or a full disk is
    a StoreError naming the file (exit 2), and nothing of the report is left behind."""
    from trendcast.common.stores import StoreError, storage_kind

    try:
        return _write_report(report, out_dir, formats, overwrite=overwrite)
    except OSError as exc:
        kind = storage_kind(exc)
        if kind not in ("read_only", "no_space"):
            raise
        raise StoreError(exc.filename or out_dir, kind, exc.strerror or str(exc), "") from None


def _write_report(report: Report, out_dir: Path, formats: tuple[str, ...], *, overwrite: bool) -> Path:
    from trendcast.agent.llm.redact import redact  # no credential-bearing URL reaches a report file
    from trendcast.agent.report.charts import chart_svg
    from trendcast.agent.report.render import chart_filenames, render_html, render_markdown
    from trendcast.agent.visible import visible_json_text  # no control character reaches report.json's strings

    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown report format(s) {', '.join(sorted(unknown))}; choose from {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale(out_dir)
    final = _inside(out_dir, folder_name(report))  # --out is where the user says; the folder's name stays in it
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=out_dir))
    try:
        os.chmod(tmp, 0o755)
        t0 = time.perf_counter()
        svgs = {e.series_id: s for e in report.entries if (s := chart_svg(e))} if "html" in formats else {}
        files = ({e.series_id: s for e in report.entries if (s := chart_svg(e, standalone=True))} if "md" in formats
                 else {})
        charts_s = time.perf_counter() - t0
        report.stats.timings["charts_s"] = round(charts_s, 3)
        report.stats.wall_s = round(report.stats.wall_s + charts_s, 3)
        if "md" in formats:
            names = {k: v for k, v in chart_filenames(report).items() if k in files}
            (tmp / "charts").mkdir()
            for sid, rel in names.items():
                _inside(tmp / "charts", rel.removeprefix("charts/")).write_text(files[sid], encoding="utf-8")
            (tmp / "report.md").write_text(redact(render_markdown(report, names)), encoding="utf-8")
        if "html" in formats:
            (tmp / "report.html").write_text(redact(render_html(report, svgs)), encoding="utf-8")
        if "json" in formats:
            (tmp / "report.json").write_text(redact(visible_json_text(report.model_dump_json(indent=2))),
                                             encoding="utf-8")
        if overwrite:
            _swap_in(tmp, final)
        else:
            final = _claim(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _claim(tmp: Path, final: Path) -> Path:
    """Rename tmp to the first free name of final, final-2, final-3, ...; a name another run takes at the same
    moment is skipped (a report folder is never empty, so the rename refuses to replace it)."""
    for n in range(1, 100_000):
        path = final if n == 1 else final.with_name(f"{final.name}-{n}")
        if path.exists() or path.is_symlink():
            continue
        try:
            os.rename(tmp, path)
            return path
        except OSError:
            if not path.exists():
                raise
    raise RuntimeError(f"no free report folder name beside {final}")


def _inside(folder: Path, name: str) -> Path:
    """folder / name, which must be an entry right in `folder` ('..' and symlinks resolved): never outside it."""
    path = Path(folder) / name
    if path.name in ("", ".", "..") or path.parent.resolve() != Path(folder).resolve():
        raise ValueError(f"report path {name!r} would be written outside {folder}")
    return path


def _swap_in(tmp: Path, final: Path) -> None:
    """Rename tmp to final; an existing final is renamed aside first and deleted once the new one is in."""
    if not final.exists():
        os.replace(tmp, final)
        return
    old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
    os.replace(final, old)
    try:
        os.replace(tmp, final)
    except BaseException:
        os.replace(old, final)
        raise
    shutil.rmtree(old, ignore_errors=True)


def remove_stale(out_dir: Path, older_than_s: float = STALE_S) -> list[Path]:
    """Delete what killed runs left behind (`.report-*.tmp-*`, `.report-*.old-*`) once it is old enough that no
    running report can still be writing it; returns what was removed."""
    removed = []
    now = time.time()
    for p in out_dir.glob(".report-*"):
        if (".tmp-" in p.name or ".old-" in p.name) and p.is_dir() and now - p.stat().st_mtime > older_than_s:
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed
