"""Adjusters as plug-ins, loaded the way simonw/llm loads its models: from the `trendcast.adjusters` entry-point
group. The built-in ones (none, analog, carry, llm) are entries of that group in trendcast's own pyproject.toml, so a
user's package adds one the same way:

    [project.entry-points."trendcast.adjusters"]
    myadj = "my_package.adjust:MyAdjuster"

The entry point names a factory `(settings, deps) -> Adjuster` (a class taking `(settings, deps)` is one): an object
with a `name` and `adjust_many(situations, progress=None) -> [AdjustmentResult]` (agent.adjusters.registry). Only
the factory of the adjuster asked for is imported. `--adjuster` (ask, report, demo) and eval suites' variants accept
every name found.

`register_adjuster(name, factory)` adds one in this process (tests, programmatic use), ahead of the entry points;
`unregister_adjuster` removes it. A name that several packages declare: trendcast's own entry first, then the first
found. An installed trendcast whose metadata has no `trendcast.adjusters` entries (an editable install made before
the group existed, not reinstalled since) gets the built-ins from `BUILTIN`, the same table as pyproject's
(tests/test_adjuster_plugins.py checks the two agree).

Light on purpose (no pandas, no agent internals): the CLI lists the names without importing an adjuster.
"""
from __future__ import annotations

from importlib import metadata
from typing import Any, Callable

GROUP = "trendcast.adjusters"
DIST = "trendcast"
BUILTIN = {
    "none": "trendcast.agent.adjusters.registry:NoAdjuster",
    "analog": "trendcast.agent.adjusters.registry:AnalogAdjuster",
    "carry": "trendcast.agent.adjusters.registry:CarryAdjuster",
    "llm": "trendcast.agent.adjusters.llm:LLMAdjuster",
}

Factory = Callable[[Any, dict], Any]  # (Settings, deps) -> Adjuster
_REGISTRY: dict[str, Factory] = {}  # register_adjuster: ahead of the entry points


def register_adjuster(name: str, factory: Factory) -> None:
    _REGISTRY[name] = factory


def unregister_adjuster(name: str) -> None:
    _REGISTRY.pop(name, None)


def _dist(ep: metadata.EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    return None if dist is None else dist.name.lower().replace("_", "-")


def entry_points() -> dict[str, metadata.EntryPoint]:
    """The group's entry points by name, as installed now (trendcast's own first)."""
    found = list(metadata.entry_points(group=GROUP))
    ours = [ep for ep in found if _dist(ep) == DIST]
    if not ours:  # metadata older than the group: the built-ins as pyproject declares them
        ours = [metadata.EntryPoint(name, value, GROUP) for name, value in BUILTIN.items()]
    out: dict[str, metadata.EntryPoint] = {}
    for ep in [*ours, *(ep for ep in found if _dist(ep) != DIST)]:
        out.setdefault(ep.name, ep)
    return out


def adjuster_names() -> list[str]:
    return sorted({*_REGISTRY, *entry_points()})


def load(name: str) -> Factory | None:
    """The factory registered or installed under `name` (its module imported now); None when there is none."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    ep = entry_points().get(name)
    return None if ep is None else ep.load()
