"""A small real workspace for the fault tests of issue 25, and the ways to damage it.

`small_workspace` (session fixture): three monthly series (2012-01 .. 2020-02) and 40 dated headlines, ingested and
indexed by the real `trendcast` CLI (a few seconds, where the demo workspace takes minutes); `small_copy` a private
copy of it. `trendcast(home, *args)` runs the CLI of this checkout in its own process. `read_only(folder)` and
`full_disk(tmp, size)` make a folder read-only (a read-only bind mount as root, else chmod) or a small tmpfs
filled to the last byte (root only: the test skips, saying why, where mounting is not allowed).
"""
from __future__ import annotations

import contextlib
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
AS_OF = "2020-02-29"
SERIES = {"A": "Shoe stores", "B": "Clothing stores", "C": "Book stores"}


def sales_csv(path: Path, values: dict[tuple[str, str], str] | None = None) -> Path:
    """month,id,name,value for the three series, 2012-01 .. 2020-02; `values` overrides cells: {(id, month): text}."""
    rows = ["month,id,name,value"]
    for k, (sid, name) in enumerate(SERIES.items()):
        for i in range(98):
            month = f"{2012 + i // 12}-{i % 12 + 1:02d}"
            y = (100 + 50 * k) * (1 + 0.15 * math.sin(2 * math.pi * i / 12) + 0.002 * i) + (i * 7919 % 13) - 6
            cell = (values or {}).get((sid, month), f"{y:.2f}")
            rows.append(f"{month},{sid},{name},{cell}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def docs_csv(path: Path, n: int = 40, texts: list[str] | None = None) -> Path:
    lines = ["date,headline"]
    words = ["shoe", "clothing", "book", "retail", "mall", "footwear", "fashion", "store"]
    for i in range(n):
        lines.append(f"2019-{i % 12 + 1:02d}-{i % 27 + 1:02d},{words[i % 8]} sales news item {i} "
                     f"about {words[(i * 3) % 8]} demand")
    lines += [f"2020-02-{i + 1:02d},{t}" for i, t in enumerate(texts or [])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def trendcast(home: Path, *args: str, timeout: float = 600, env: dict | None = None,
              ok: bool | None = True) -> subprocess.CompletedProcess:
    """This checkout's CLI in its own process (cwd: the repository root, so that its code is the one imported).
    ok=True: must exit 0; False: must not; None: either."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TRENDCAST_")}
    base.update(TRENDCAST_HOME=str(home), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", COLUMNS="100")
    base.update(env or {})
    done = subprocess.run([sys.executable, "-m", "trendcast", *args], cwd=REPO, env=base, capture_output=True,
                          timeout=timeout)
    done.out, done.err = done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    if ok is True:
        assert done.returncode == 0, done.out + done.err
    elif ok is False:
        assert done.returncode != 0, done.out + done.err
    return done


def one_line_error(done: subprocess.CompletedProcess) -> str:
    """The one line a user error prints (exit 2, no traceback)."""
    assert done.returncode == 2, done.out + done.err
    assert "Traceback" not in done.err, done.err
    lines = [ln for ln in done.err.splitlines() if ln.strip()]
    assert len(lines) == 1, done.err
    return lines[0]


@pytest.fixture(scope="session")
def small_workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("small")
    home = root / "home"
    trendcast(home, "ingest", "sales", str(sales_csv(root / "sales.csv")), "--date", "month", "--value", "value",
              "--id", "id", "--name", "name", "--dataset", "small")
    trendcast(home, "ingest", "docs", str(docs_csv(root / "docs.csv")), "--date", "date", "--text", "headline")
    trendcast(home, "index")
    return home


@pytest.fixture
def small_copy(small_workspace, tmp_path) -> Path:
    home = tmp_path / "ws"
    shutil.copytree(small_workspace, home)
    return home


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under folder and its bytes (what a failed command must leave as it was)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@contextlib.contextmanager
def read_only(folder: Path):
    """`folder` read-only while the block runs: a read-only bind mount onto itself as root (root writes through
    permissions), chmod a-w otherwise."""
    if os.geteuid() == 0:
        if not _mount("--bind", str(folder), str(folder)):
            pytest.skip("a read-only workspace needs a bind mount: `mount --bind` is not allowed here")
        try:
            if not _mount("-o", "remount,bind,ro", str(folder)):
                pytest.skip("a read-only workspace needs a read-only remount, not allowed here")
            yield folder
        finally:
            subprocess.run(["umount", str(folder)], capture_output=True)
        return
    modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
    for p in modes:
        p.chmod(modes[p] & ~0o222)
    try:
        yield folder
    finally:
        for p, m in modes.items():
            p.chmod(m)


@contextlib.contextmanager
def full_disk(where: Path, size: str = "120m"):
    """A tmpfs of `size` mounted at `where` (root only; skips otherwise), unmounted after the block. Fill it with
    `fill(where)`."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)):
        pytest.skip("a full disk is simulated with a small tmpfs, which needs root and `mount -t tmpfs`; "
                    "checked by hand on a tmpfs (bench/FAULTS.md)")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(where: Path, leave: int = 0) -> Path:
    """Write a filler file on the file system of `where` until only `leave` bytes are free (0: full)."""
    filler = where / "filler"
    free = shutil.disk_usage(where).free - leave
    with open(filler, "wb") as fh:
        block = b"\0" * (1 << 16)
        while free > 0:
            try:
                free -= fh.write(block[:min(len(block), free)])
                fh.flush()
            except OSError:
                break
    return filler
