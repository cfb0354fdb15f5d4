"""The call log's migrations, columns, counts and cache."""
from __future__ import annotations

import sqlite3
import threading

from trendcast.agent.llm.calllog import MIGRATIONS, CallLog, migrate, public_url, request_hash

CALL_COLUMNS = {
    "id", "time", "model", "url", "prompt_id", "tag", "attempt", "retry", "messages_json", "response_format_json",
    "raw_reply", "parsed_json", "error", "status", "latency_s", "prompt_tokens", "completion_tokens", "cached",
    "request_hash", "final", "metadata_json", "dialect", "problem",
}


def columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def test_migrate_in_memory_creates_tables_and_columns():
    db = sqlite3.connect(":memory:")
    applied = migrate(db)
    assert applied == [fn.__name__ for fn in MIGRATIONS]
    assert columns(db, "calls") == CALL_COLUMNS
    assert columns(db, "cache") == {"request_hash", "model", "reply_raw", "parsed_json", "created"}
    assert [r[0] for r in db.execute("SELECT name FROM _migrations ORDER BY rowid")] == applied


def test_rerunning_migrations_is_a_noop(tmp_path):
    path = tmp_path / "llm.sqlite"
    with CallLog(path) as log:
        log.record(status="ok", model="m", attempt=1)
    db = sqlite3.connect(path)
    before = db.execute("SELECT name, applied FROM _migrations").fetchall()
    assert migrate(db) == []
    assert db.execute("SELECT name, applied FROM _migrations").fetchall() == before
    assert db.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 1
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    with CallLog(path) as log:  # reopening migrates nothing and keeps the rows
        assert len(log.recent(10)) == 1


def test_record_recent_and_counts():
    log = CallLog(":memory:")
    a = log.record(status="invalid", attempt=1, messages=[{"role": "user", "content": "q"}], prompt_tokens=10,
                   completion_tokens=5)
    log.record(status="http_error", attempt=2, retry=0, error="HTTP 500")
    b = log.record(status="ok", attempt=2, retry=1, parsed_json="{}", final=True, prompt_tokens=12,
                   completion_tokens=6, metadata={"series": "S1"})
    log.record(status="cache_hit", attempt=0, cached=True, final=True)
    log.record(status="timeout", attempt=1, error="slow")
    log.mark_final(log.recent(1)[0]["id"])
    rows = log.recent(10)
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    assert rows[-1]["id"] == a and rows[-1]["messages_json"] == '[{"role": "user", "content": "q"}]'
    assert next(r for r in rows if r["id"] == b)["metadata_json"] == '{"series": "S1"}'
    assert log.counts() == {
        "calls": 4, "cache_hits": 1, "retries": 1, "reasks": 1, "failed_calls": 3, "requests": 3,
        "failed_requests": 1, "prompt_tokens": 22, "completion_tokens": 11,
    }
    assert log.counts(since="9999")["calls"] == 0


def test_unknown_status_is_refused():
    log = CallLog(":memory:")
    try:
        log.record(status="fine")
    except ValueError as exc:
        assert "unknown call status" in str(exc)
    else:
        raise AssertionError("expected ValueError")


def test_cache_roundtrip_and_replace():
    log = CallLog(":memory:")
    assert log.cache_get("k") is None
    log.cache_put("k", "m", '{"a": 1}', '{"a":1}')
    log.cache_put("k", "m", '{"a": 2}', '{"a":2}')
    hit = log.cache_get("k")
    assert (hit["model"], hit["reply_raw"], hit["parsed_json"]) == ("m", '{"a": 2}', '{"a":2}')


def test_urls_are_stored_without_credentials():
    url = "https://user:sk-secret@host.example:8443/v1/?api-key=sk-secret#x"
    assert public_url(url) == "https://host.example:8443/v1"
    assert public_url("http://[::1]:8000/v1") == "http://[::1]:8000/v1"
    log = CallLog(":memory:")
    log.record(status="ok", url="https://user:sk-secret@host.example/v1?key=sk-secret")
    assert "sk-secret" not in repr(log.recent(1))


def test_request_hash_is_canonical_and_ignores_credentials():
    msgs = [{"role": "user", "content": "q"}]
    rf = {"type": "json_schema", "json_schema": {"name": "a", "schema": {"b": 1, "a": 2}}}
    rf_reordered = {"json_schema": {"schema": {"a": 2, "b": 1}, "name": "a"}, "type": "json_schema"}
    key = request_hash("http://h/v1", "m", msgs, rf, 0.0, 100)
    assert key == request_hash("http://u:secret@h/v1/", "m", msgs, rf_reordered, 0.0, 100)
    assert key != request_hash("http://h/v1", "m", msgs, rf, 0.0, 101)
    assert key != request_hash("http://h/v1", "other", msgs, rf, 0.0, 100)


def test_threads_can_record_concurrently(tmp_path):
    log = CallLog(tmp_path / "llm.sqlite")
    threads = [threading.Thread(target=lambda: [log.record(status="ok") for _ in range(25)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log.counts()["calls"] == 200
