"""Which calendar rows are holidays a planner knows ahead: the `holidays` library (PyPI, community-kept rules for
every country) computes a country's public holidays for any year, so a row on such a day, named like it, was known
before it happened. Everything else in a calendar file (an earthquake, a football match, a one-off bridge day) is
known at its own date unless the file says otherwise (retrieval.ingest.ingest_calendar).

A row is recognised when the library has a holiday of the country on the row's day whose name, in any of the
languages the library has for that country, shares a word with the row's name (accents, case, CamelCase and words
like "day" / "dia" / "de" aside): "Navidad" = "Navidad", "Primer dia del ano" ~ "Año Nuevo", M5's "Thanksgiving" ~
"Thanksgiving Day". The day alone is not enough: an unscheduled event can fall on a holiday.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Sequence

from .errors import InputError

# words that say nothing about which holiday it is
_FILLER = frozenset({
    "day", "dia", "the", "and", "of", "de", "del", "la", "las", "los", "el", "y", "da", "do", "des", "du", "le", "et",
    "der", "die", "und", "tag", "observed", "holiday", "national", "feriado", "festivo", "fiesta", "jour", "eve",
})


def words(name: str) -> set[str]:
    """The telling words of a holiday name: CamelCase split, accents stripped, lower case, filler words dropped."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(name))
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return {w for w in re.findall(r"[a-z0-9]+", text) if len(w) >= 3 and w not in _FILLER}


def known_ahead(days: Sequence[date | None], names: Sequence[str | None], country: str,
                subdiv: str | None = None, file: str = "calendar") -> list[bool]:
    """For each (day, name): whether the `holidays` library names a public holiday of `country` (ISO 3166 code, e.g.
    EC, US; `subdiv` a subdivision it knows) on that day, with a word of the name in common (module doc)."""
    try:
        import holidays
    except ImportError:  # a dependency; only a broken install lacks it
        raise InputError(file, "--country needs the `holidays` package (pip install holidays)") from None
    years = sorted({d.year for d in days if d is not None})
    if not years:
        return [False] * len(days)
    code = country.strip().upper()
    try:
        base = holidays.country_holidays(code, subdiv=subdiv, years=years)
    except NotImplementedError:
        raise InputError(file, f"--country {country!r}: not a country the holidays library knows "
                         "(ISO 3166 alpha-2 codes, e.g. US, EC, BR, DE)") from None
    names_by_day: dict[date, set[str]] = {}
    for language in (None, *getattr(base, "supported_languages", ())):
        cal = base if language is None else holidays.country_holidays(code, subdiv=subdiv, years=years,
                                                                       language=language)
        for day, label in cal.items():
            for part in str(label).split(";"):  # two holidays on one day are joined by "; "
                names_by_day.setdefault(day, set()).update(words(part))
    return [bool(d is not None and n and words(n) & names_by_day.get(d, set())) for d, n in zip(days, names)]
