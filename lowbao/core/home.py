"""The 工作台's cards: what waits for the user, one card per app that has something to say.

Apps register a card source at start-up (``register_home_card``, as they register menu entries);
a source takes the user and returns a ``HomeCard`` or ``None`` when the user's roles do not cover
that work. Sources read through the app's scoped selectors and cost one query each.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class HomeLine:
    label: str
    count: int
    capped: bool = False  # "count+" (more than counted)
    alert: bool = False  # shown in red when non-zero (overdue work)


@dataclass(frozen=True)
class HomeCard:
    title: str
    url: str
    link_label: str
    lines: tuple[HomeLine, ...]


HomeCardSource = Callable[[object], HomeCard | None]
HOME_CARDS: list[HomeCardSource] = []


def register_home_card(source: HomeCardSource) -> None:
    if source not in HOME_CARDS:
        HOME_CARDS.append(source)


def home_cards(user: object) -> list[HomeCard]:
    return [card for source in HOME_CARDS if (card := source(user)) is not None]
