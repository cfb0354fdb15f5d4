"""The situation: everything an adjuster may see, all known at as-of — history, baseline, past cases and
their misses, scheduled events, staleness."""
