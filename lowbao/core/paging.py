"""Keyset ("seek") pagination with a capped count, for the big list pages (quality.md P6).

A page is the ``per_page`` rows after (or before) the key of a row, on a stable ordering that ends
in the primary key, so a deep page costs the same as the first one (an index range scan, no
OFFSET). The key travels in the query string as a small JSON list of the ordering's values (ids,
numbers, dates: never ID numbers), e.g. ``?after=[12,"2026-0042",3051]``. The total is counted only
up to a cap (``SELECT count(*) FROM (SELECT … LIMIT cap+1)``) and shown as "共 10,000+ 条" above it.

    page = keyset_page(request, queryset, ordering=("county_id", "number", "id"), per_page=50)
    {% include "core/_keyset_pager.html" %}

The ordering fields must be non-null columns; a leading ``-`` sorts that field descending. Bad or
foreign cursors fall back to the first page.
"""

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import F, Model, Q, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.http import QueryDict

COUNT_CAP = 10_000
PER_PAGE_CHOICES = (20, 50, 100, 200)
CURSOR_PARAMS = ("after", "before")


@dataclass
class KeysetPage:
    object_list: list[Any]
    per_page: int
    has_next: bool
    has_previous: bool
    next_query: str
    previous_query: str
    first_query: str
    count: int
    count_capped: bool
    cap: int = COUNT_CAP
    extra: dict[str, Any] = field(default_factory=dict)

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    @property
    def is_first(self) -> bool:
        return not self.has_previous

    @property
    def count_text(self) -> str:
        """ "共 1,234 条" or "共 10,000+ 条" above the cap."""
        if self.count_capped:
            return f"共 {self.cap:,}+ 条"
        return f"共 {self.count:,} 条"

    @property
    def count_display(self) -> str:
        """The number alone, with "+" above the cap (for "共 N 户" style labels)."""
        return f"{self.cap:,}+" if self.count_capped else f"{self.count:,}"


def capped_count(queryset: QuerySet, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """(count, capped): counts at most ``cap + 1`` rows, in one query."""
    total = queryset.order_by().values("pk")[: cap + 1].count()
    return min(total, cap), total > cap


def _field(model: type[Model], name: str):
    """The model field behind an ordering name (``county_id`` too); None for an annotation."""
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Model):
        return value.pk
    return value


def _decode(model: type[Model], ordering: tuple[str, ...], raw: str | None) -> list[Any] | None:
    """The key from the query string, converted to the fields' Python types; None if bad."""
    if not raw or len(raw) > 500:
        return None
    try:
        values = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(values, list) or len(values) != len(ordering):
        return None
    decoded = []
    for name, value in zip(ordering, values, strict=True):
        if value is None or isinstance(value, dict | list | bool):
            return None
        model_field = _field(model, name.lstrip("-"))
        if model_field is None:
            if not isinstance(value, str | int):
                return None
            decoded.append(value)
            continue
        target = getattr(model_field, "target_field", model_field)
        try:
            decoded.append(target.to_python(value))
        except (ValidationError, TypeError, ValueError):
            return None
    return decoded


def _row_key(row: Any, ordering: tuple[str, ...]) -> list[Any]:
    return [_encode(getattr(row, name.lstrip("-"))) for name in ordering]


def encode_key(row: Any, ordering: tuple[str, ...]) -> str:
    """The cursor of ``row`` as it travels in links (a compact JSON list)."""
    return json.dumps(_row_key(row, ordering), ensure_ascii=False, separators=(",", ":"))


def _seek(ordering: tuple[str, ...], key: list[Any], *, forward: bool) -> Q:
    """Rows strictly after ``key`` in ``ordering`` (``forward``) or strictly before it."""
    names = [name.lstrip("-") for name in ordering]
    descending = [name.startswith("-") for name in ordering]
    if len(set(descending)) == 1:
        # One direction: a row-value comparison the composite index serves as a range scan.
        greater = forward != descending[0]
        lookup = TupleGreaterThan if greater else TupleLessThan
        return Q(lookup(Tuple(*(F(name) for name in names)), tuple(key)))
    condition = Q()
    for index, name in enumerate(names):
        greater = forward != descending[index]
        step = Q(**{f"{name}__{'gt' if greater else 'lt'}": key[index]})
        for prior in range(index):
            step &= Q(**{names[prior]: key[prior]})
        condition |= step
    first = names[0]
    bound = "gte" if forward != descending[0] else "lte"
    return condition & Q(**{f"{first}__{bound}": key[0]})


def _query(params: QueryDict, **changes: Any) -> str:
    kept = [(k, v) for k, v in params.lists() for v in v if k not in CURSOR_PARAMS]
    kept = [(k, v) for k, v in kept if k not in changes]
    kept += [(k, v) for k, v in changes.items() if v not in (None, "")]
    return urlencode(kept)


def per_page_from(params: QueryDict, default: int) -> int:
    try:
        value = int(params.get("per_page", default))
    except (TypeError, ValueError):
        return default
    return value if value in PER_PAGE_CHOICES else default


def keyset_page(
    params: QueryDict,
    queryset: QuerySet,
    *,
    ordering: tuple[str, ...],
    per_page: int,
    cap: int = COUNT_CAP,
    count: bool = True,
) -> KeysetPage:
    """One page of ``queryset`` on ``ordering`` (which must end in a unique field, e.g. ``id``),
    from the ``after``/``before`` key in ``params``: two queries (capped count and rows)."""
    model = queryset.model
    after = _decode(model, ordering, params.get("after"))
    before = None if after is not None else _decode(model, ordering, params.get("before"))
    total, capped = capped_count(queryset, cap) if count else (0, False)
    if before is not None:
        reverse = tuple(name[1:] if name.startswith("-") else f"-{name}" for name in ordering)
        rows = list(
            queryset.filter(_seek(ordering, before, forward=False)).order_by(*reverse)[
                : per_page + 1
            ]
        )
        has_previous = len(rows) > per_page
        rows = list(reversed(rows[:per_page]))
        has_next = True
    else:
        if after is not None:
            queryset = queryset.filter(_seek(ordering, after, forward=True))
        rows = list(queryset.order_by(*ordering)[: per_page + 1])
        has_next = len(rows) > per_page
        rows = rows[:per_page]
        has_previous = after is not None
    if not rows:
        has_next = False
        has_previous = before is not None or after is not None
    return KeysetPage(
        object_list=rows,
        per_page=per_page,
        has_next=has_next,
        has_previous=has_previous,
        next_query=(
            _query(params, after=encode_key(rows[-1], ordering)) if has_next and rows else ""
        ),
        previous_query=(
            _query(params, before=encode_key(rows[0], ordering)) if has_previous and rows else ""
        ),
        first_query=_query(params),
        count=total,
        count_capped=capped,
        cap=cap,
    )
