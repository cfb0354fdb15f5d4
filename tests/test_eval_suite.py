"""Suites: YAML with include:, strict validation, origins, variant selection."""
from __future__ import annotations

import datetime as dt

import pytest

from trendcast.eval.errors import SuiteError
from trendcast.eval.suite import as_of_date, load_suite, shipped_suites


def test_the_shipped_suite_is_the_acceptance_one():
    s = load_suite("mrts-nsa")
    assert "mrts-nsa" in shipped_suites()
    assert s.series.levels == ["3-digit", "4-digit"] and s.series.dataset == "mrts-nsa"
    origins = s.origins.dates("MS")
    assert (origins[0], origins[-1], len(origins)) == (dt.date(2018, 1, 31), dt.date(2020, 6, 30), 30)
    assert s.horizon == "next-month"
    names = {v.name: v for v in s.variants}
    assert set(s.baseline.models) <= set(names) and "combined" in names
    assert names["analog"].adjuster == "analog" and names["llm"].adjuster == "llm"
    assert names["llm"].prompt == "few-shot@2"


def test_include_merges_mappings_and_variants_by_name(tmp_path):
    (tmp_path / "child.yaml").write_text(
        "include: mrts-nsa\nname: child\norigins: {start: 2019-01}\nbaseline: {refit_every: 6}\n"
        "variants:\n  - {name: llm, prompt: zero-shot@1, model: {url: 'http://h:1/v1', name: m}}\n"
        "  - {name: SeasonalNaive, drop: true}\n  - {name: analog2, adjuster: analog, baseline: AutoETS}\n")
    s = load_suite(tmp_path / "child.yaml")
    assert s.name == "child" and s.origins.start == "2019-01" and s.origins.end == "2020-06"
    assert s.baseline.refit_every == 6 and s.baseline.models[0] == "AutoETS"  # rest of the mapping kept
    names = [v.name for v in s.variants]
    assert "SeasonalNaive" not in names and names[-1] == "analog2"
    llm = next(v for v in s.variants if v.name == "llm")
    assert (llm.adjuster, llm.prompt, llm.model.url) == ("llm", "zero-shot@1", "http://h:1/v1")
    assert s.fingerprint() != load_suite("mrts-nsa").fingerprint()


def test_files_suite_resolves_paths_against_its_own_file():
    s = load_suite("mrts-nsa-files")
    assert s.data.source == "files"
    from pathlib import Path

    assert Path(s.data.sales[0].path).is_file() and Path(s.data.docs[0].path).is_file()


@pytest.mark.parametrize("body, message", [
    ("name: x\norigins: {start: 2019-01, end: 2019-03}\nvariants: [{name: a, adjuster: magic}]\n", "adjuster"),
    ("name: x\norigins: {start: 2019-01, end: 2019-03}\nvariants: [{name: a}]\nfoo: 1\n", "foo"),
    ("name: x\norigins: {start: 2019-01, end: 2019-03}\nvariants: [{name: a, baseline: Prophet}]\n", "Prophet"),
    ("name: x\norigins: {start: 2019-01, end: 2019-03}\nvariants: [{name: a}]\nreference: b\n", "reference"),
    ("name: x\norigins: {start: 2019-01, end: 2019-03}\nvariants: [{name: a, prompt: p@1}]\n", "llm"),
    ("include: nowhere\n", "nowhere"),
    ("- just a list\n", "mapping"),
])
def test_bad_suites_name_the_file_and_field(tmp_path, body, message):
    path = tmp_path / "bad.yaml"
    path.write_text(body)
    with pytest.raises(SuiteError, match=message):
        load_suite(path)


def test_include_cycles_are_reported(tmp_path):
    (tmp_path / "a.yaml").write_text("include: b.yaml\n")
    (tmp_path / "b.yaml").write_text("include: a.yaml\n")
    with pytest.raises(SuiteError, match="cycle"):
        load_suite(tmp_path / "a.yaml")


def test_select_keeps_the_reference_and_rejects_unknown_names():
    s = load_suite("mrts-nsa")
    assert [v.name for v in s.select(only=["analog"]).variants] == ["combined", "analog"]
    assert "llm" not in [v.name for v in s.select(skip=["llm"]).variants]
    with pytest.raises(SuiteError, match="gpt"):
        s.select(skip=["gpt"])


def test_origin_spellings():
    assert as_of_date("2020-02") == dt.date(2020, 2, 29)
    assert as_of_date("2020-02-15") == dt.date(2020, 2, 15)
    with pytest.raises(SuiteError):
        as_of_date("Feb 2020")
