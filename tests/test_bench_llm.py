"""bench/bench_llm.py runs end to end against protocol test servers (`--url`): real prompts from the demo workspace,
both concurrency rows and the reference rows printed (the real-model run is the bench's own job, minutes long)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from openai_server import openai_server, valid_adjustment  # noqa: F401

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_bench_llm_prints_its_table_against_a_protocol_server(demo_copy, openai_server):
    server = openai_server(valid_adjustment(change_pct=2.0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDCAST_")}
    r = subprocess.run([sys.executable, str(REPO / "bench" / "bench_llm.py"), "--home", str(demo_copy), "--url",
                        server.url, "--model", server.model, "--n", "3", "--concurrency", "1,2"],
                       env={**env, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout
    assert "3 prompts (few-shot" in out and "3 categories x 3 as-ofs" in out
    rows = [line for line in out.splitlines() if "│" in line and "json_schema" in line]
    assert len(rows) == 4  # (server, reference) x (1, 2)
    assert all("100 %" in line for line in rows)  # every first reply valid
    assert len(server.chat_bodies) == 1 + 2 * 3  # the warm-up, then 3 prompts per concurrency
    assert all(any("As of 20" in m["content"] for m in b["messages"]) for b in server.chat_bodies[1:])
