"""Matching township and village names of a ledger against the area table (ledgers.md §1), and
chunking of lookup lists. Shared by every ledger kind so that names match the same way."""

import difflib
from collections.abc import Iterable, Sequence
from typing import TypeVar

from lowbao.imports.cells import normalise_header

T = TypeVar("T")

# NBS names end in 村委会/嘎查委员会/社区居委会, ledgers often in 村/嘎查/社区; both sides of a
# comparison go through the same mapping (first match wins).
VILLAGE_SUFFIXES = (
    ("社区居民委员会", "社区"),
    ("社区居委会", "社区"),
    ("居民委员会", "社区"),
    ("居委会", "社区"),
    ("村民委员会", "村"),
    ("村委会", "村"),
    ("嘎查委员会", "嘎查"),
)
SUGGESTIONS = 3


def area_name_key(name: str) -> str:
    return normalise_header(name)


def village_name_key(name: str) -> str:
    key = area_name_key(name)
    for suffix, replacement in VILLAGE_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)] + replacement
    return key


def suggest_names(name: str, candidates: Iterable[str]) -> str:
    """ "，是否为：甲、乙？" with the closest candidate names, or '' when none is close."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=SUGGESTIONS, cutoff=0.4)
    return f"，是否为：{'、'.join(close)}？" if close else ""


def chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
