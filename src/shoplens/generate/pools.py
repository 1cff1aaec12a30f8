"""Pools of names, cities and e-mail domains, built with Faker ONCE per run.

Faker is slow per call (tens of microseconds), so it only fills small pools (a few
hundred entries per country, with the country's own locale); every row is then drawn
from the pools with numpy indices and ``pyarrow.Array.take``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from faker import Faker

LOCALES: dict[str, str] = {
    "DE": "de_DE",
    "FR": "fr_FR",
    "GB": "en_GB",
    "IT": "it_IT",
    "ES": "es_ES",
    "NL": "nl_NL",
    "PL": "pl_PL",
    "BE": "nl_BE",
    "AT": "de_AT",
    "SE": "sv_SE",
    "CH": "de_CH",
    "DK": "da_DK",
    "PT": "pt_PT",
    "IE": "en_IE",
    "CZ": "cs_CZ",
    "FI": "fi_FI",
    "NO": "no_NO",
    "GR": "el_GR",
    "HU": "hu_HU",
    "RO": "ro_RO",
    "SK": "sk_SK",
    "SI": "sl_SI",
    "HR": "hr_HR",
    "LT": "lt_LT",
    "LV": "lv_LV",
    "EE": "et_EE",
    "US": "en_US",
    "CA": "en_CA",
    "AU": "en_AU",
}
FALLBACK_LOCALE = "en_US"

N_FIRST = 200
N_LAST = 400
N_CITY = 150
N_DOMAIN = 12


def ascii_slug(text: str) -> str:
    """'Müller-Lüdenscheidt' -> 'mullerludenscheidt' (for e-mail local parts)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum()) or "x"


@dataclass(frozen=True)
class Pool:
    """Concatenated per-country pools: entries of country c are ``offset[c]:offset[c+1]``."""

    values: pa.Array
    offset: npt.NDArray[np.int64]
    # Flat, increasing keys c + cdf (within country) for weighted draws.
    keys: npt.NDArray[np.float64]

    def draw(self, country: npt.NDArray[np.int64], u: npt.NDArray[np.float64]) -> pa.Array:
        """One entry per row from the row's country pool (weighted), uniform ``u``."""
        return self.values.take(pa.array(self.index(country, u)))

    def index(
        self, country: npt.NDArray[np.int64], u: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.int64]:
        idx = np.searchsorted(self.keys, country + u, side="right")
        out: npt.NDArray[np.int64] = np.minimum(idx, self.offset[country + 1] - 1)
        return out


def _pool(per_country: list[list[str]], zipf: float = 0.0) -> Pool:
    values: list[str] = []
    keys: list[npt.NDArray[np.float64]] = []
    offset = [0]
    for c, entries in enumerate(per_country):
        values.extend(entries)
        offset.append(len(values))
        w = 1.0 / np.arange(1, len(entries) + 1) ** zipf
        cdf = np.cumsum(w) / w.sum()
        cdf[-1] = 1.0
        keys.append(c + cdf)
    return Pool(pa.array(values, pa.string()), np.array(offset), np.concatenate(keys))


@dataclass(frozen=True)
class Pools:
    first_female: Pool
    first_male: Pool
    last: Pool
    first_female_slug: Pool
    first_male_slug: Pool
    last_slug: Pool
    city: Pool
    domain: Pool


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _stable_order(fake: Faker) -> None:
    """Make Faker's data independent of ``PYTHONHASHSEED``.

    Some providers build their lists from sets (e.g. the it_IT city list), so the same
    seed would draw different cities in different processes; sort such lists.
    """
    for provider in fake.get_providers():
        cities = getattr(provider, "cities", None)
        if isinstance(cities, list):
            provider.cities = sorted(cities)


@lru_cache(maxsize=8)
def build_pools(countries: tuple[str, ...], seed: int) -> Pools:
    """Pools for ``countries`` (ISO-2 codes, unknown ones use an English locale)."""
    ff: list[list[str]] = []
    fm: list[list[str]] = []
    la: list[list[str]] = []
    ci: list[list[str]] = []
    do: list[list[str]] = []
    for i, code in enumerate(countries):
        fake = Faker(LOCALES.get(code, FALLBACK_LOCALE))
        _stable_order(fake)
        fake.seed_instance(seed * 1000 + i)
        ff.append(_unique([fake.first_name_female() for _ in range(N_FIRST)]))
        fm.append(_unique([fake.first_name_male() for _ in range(N_FIRST)]))
        la.append(_unique([fake.last_name() for _ in range(N_LAST)]))
        ci.append(_unique([fake.city() for _ in range(N_CITY)]))
        do.append(_unique([fake.free_email_domain() for _ in range(N_DOMAIN * 3)])[:N_DOMAIN])
    return Pools(
        first_female=_pool(ff),
        first_male=_pool(fm),
        last=_pool(la),
        first_female_slug=_pool([[ascii_slug(x) for x in p] for p in ff]),
        first_male_slug=_pool([[ascii_slug(x) for x in p] for p in fm]),
        last_slug=_pool([[ascii_slug(x) for x in p] for p in la]),
        city=_pool(ci, zipf=0.8),
        domain=_pool(do, zipf=0.6),
    )
