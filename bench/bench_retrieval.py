"""Retrieval benchmark on the 20,560 real headlines (agent/data/headlines_dated.csv.gz).

Ingests and indexes them into a temporary workspace with the bundled all-MiniLM-L6-v2, then measures
- throughput: documents per second of ingest + index (model import and load included), wall and CPU time;
- warm search latency (index open, model loaded) over 50 searches with as-of filters: with the query vector already
  in the cache, and with a new query that has to be encoded;
- cold search: the wall time of a fresh Python process that opens the workspace and searches once, with a cached
  query (no torch import) and with a new one (imports and loads the model);
- the as-of acceptance check: "coronavirus lockdown closes stores" as of 2020-03-31 and as of 2019-12-31.

Run: python bench/bench_retrieval.py [--home DIR]   (the machine's load average is printed: other work on the same
cores slows every number here, embedding most of all).
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from trendcast.retrieval import (HEADLINES_MAPPING, DocIndex, DocStore, build_index, embed_queries,  # noqa: E402
                       get_embedder, ingest_docs)

NEWS = REPO / "agent" / "data" / "headlines_dated.csv.gz"
MODEL = "all-MiniLM-L6-v2"
CORONA = re.compile(r"coronavirus|covid|virus|pandemic|lockdown|outbreak|quarantin", re.IGNORECASE)
TOPICS = ["coronavirus lockdown closes stores", "retail sales slump on the high street", "oil prices fall",
          "brexit uncertainty hits business investment", "christmas shoppers spend online",
          "bank of england raises interest rates", "trade war tariffs on china", "housing market slows",
          "unemployment rises as firms cut jobs", "clothing retailer profit warning"]
AS_OF = ["2018-06-30", "2019-03-31", "2019-12-31", "2020-03-31", "2020-06-30"]
COLD = textwrap.dedent("""
    import sys
    from trendcast.retrieval import DocStore, open_index
    index = open_index(sys.argv[1], DocStore(sys.argv[2]), "all-MiniLM-L6-v2")
    hits = index.search(sys.argv[3], as_of="2020-03-31", k=10)
    assert len(hits) == 10
    print("torch" in sys.modules)
""")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def cold_runs(home: Path, queries: list[str]) -> tuple[list[float], set[bool]]:
    """Wall ms of one fresh `python -c COLD` process per query, and whether each imported torch."""
    times, torch_loaded = [], set()
    for query in queries:
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", COLD, str(home / "index"), str(home / "docs.duckdb"), query],
                             cwd=REPO, capture_output=True, text=True, check=True)
        times.append((time.perf_counter() - start) * 1000)
        torch_loaded.add(out.stdout.strip() == "True")
    return times, torch_loaded


def run(home: Path) -> tuple[list[tuple[str, str]], list, list]:
    rows: list[tuple[str, str]] = [("load average before (1 min, 2 cores)", f"{os.getloadavg()[0]:.2f}")]
    wall, cpu = time.perf_counter(), time.process_time()
    store = DocStore(home / "docs.duckdb")
    ingested = ingest_docs(store, NEWS, HEADLINES_MAPPING, "news")
    summary = build_index(home / "index", store, get_embedder(MODEL), progress=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rows += [("documents (rows, stored, duplicates)", f"{ingested.rows:,}, {ingested.added:,}, {ingested.duplicates}"),
             ("ingest seconds", f"{ingested.seconds:.2f}"),
             ("index seconds (model import+load, embed, write)", f"{summary.seconds:.1f}"),
             ("index throughput, docs/s (IndexSummary.docs_per_s)", f"{summary.docs_per_s:,.0f}"),
             ("ingest + index throughput, docs/s wall", f"{ingested.rows / wall:,.0f}"),
             ("ingest + index CPU seconds (all threads)", f"{cpu:.1f}"),
             ("index kind / device", f"{summary.kind} / {summary.device}")]

    index = DocIndex.open(home / "index", store, MODEL)
    searches = [(q, a) for q in TOPICS for a in AS_OF]
    embed_queries(store, index.embedder(), TOPICS)
    index.search(TOPICS[0], as_of=AS_OF[0])
    cached = [timed(lambda q=q, a=a: index.search(q, as_of=a, k=10)) for q, a in searches]
    fresh = [timed(lambda q=q, a=a, i=i: index.search(f"{q} ({i})", as_of=a, k=10))
             for i, (q, a) in enumerate(searches)]
    mmr = [timed(lambda q=q, a=a: index.search(q, as_of=a, k=10, mmr=0.7)) for q, a in searches]
    for label, values in (("cached query vector", cached), ("new query (encode included)", fresh),
                          ("cached query vector + MMR 0.7", mmr)):
        rows.append((f"warm search, {label}: median / p95 ms",
                     f"{statistics.median(values):.2f} / {pct(values, 0.95):.2f}"))

    march = index.search(TOPICS[0], as_of="2020-03-31", k=10)
    december = index.search(TOPICS[0], as_of="2019-12-31", k=10)
    rows += [("as of 2020-03-31: results, latest date, about the coronavirus",
              f"{len(march)}, {max(h.date for h in march)}, {sum(bool(CORONA.search(h.content)) for h in march)}"),
             ("as of 2019-12-31: results, latest date, mentioning it",
              f"{len(december)}, {max(h.date for h in december)}, "
              f"{sum(bool(CORONA.search(h.content)) for h in december)}")]
    store.close()

    cached_cold, torch_cached = cold_runs(home, [TOPICS[0]] * 5)
    fresh_cold, torch_fresh = cold_runs(home, [f"a query nobody asked before, take {i}" for i in range(3)])
    rows += [(f"cold search process, cached query (torch imported: {'/'.join(map(str, torch_cached))}): median ms",
              f"{statistics.median(cached_cold):,.0f}"),
             (f"cold search process, new query (torch imported: {'/'.join(map(str, torch_fresh))}): median ms",
              f"{statistics.median(fresh_cold):,.0f}"),
             ("load average after", f"{os.getloadavg()[0]:.2f}")]
    return rows, march, december


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="workspace folder to use (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp)
        rows, march, december = run(home)
    width = max(len(k) for k, _ in rows)
    print(f"\nretrieval benchmark — {NEWS.name}, model {MODEL}, faiss-cpu, {os.cpu_count()} cores\n")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    for label, hits in (("2020-03-31", march), ("2019-12-31", december)):
        print(f"\n'{TOPICS[0]}' as of {label}:")
        for h in hits:
            print(f"  {h.date}  {h.score:.3f}  {h.text[:100]}")


if __name__ == "__main__":
    main()
