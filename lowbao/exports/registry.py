"""The lists that can be exported, and how a domain app adds one.

Registering a list
------------------
A domain app describes its list once, in a module listed in the ``LOWBAO_EXPORT_MODULES`` setting
(or imported from its ``AppConfig.ready()``)::

    from lowbao.exports.registry import ExportQuery, register_export

    def review_list_rows(query: ExportQuery) -> Iterator[Sequence[object]]:
        # scoped to query.actor through the app's selectors, read in chunks (no query per row)
        ...

    register_export(
        "review_list",              # code, used in URLs and on the job row
        "年度复核名单",              # label shown to users and in file names
        Perm.RECONCILE_VIEW,        # capability needed to see the list (plus Perm.EXPORT_RUN)
        review_list_rows,           # ExportQuery -> rows (sequences in ``headers`` order)
        headers=("户编号", "姓名", "身份证号", ...),
        count_rows=review_list_count,   # ExportQuery -> number of rows (decides request vs Celery)
        filter_names=("township", "status"),  # GET parameters of the list page carried over
        id_columns={"身份证号"},      # full values in, masked by the writer unless revealed
    )

The framework does the rest: the export page (county choice, reveal with a reason), the decision
to write in the request or in Celery, the ``.xlsx`` writer (ID numbers, bank accounts and phone
numbers as text cells, masked unless the user holds ``Perm.SENSITIVE_REVEAL`` and gave a reason;
text that looks like a formula neutralised), the audit rows (``export.run``, ``export.reveal``),
the job list and the download. Builders return *full* values in the sensitive columns and never
mask themselves, so masking has one implementation.

Invariants a builder keeps: it reads only what ``query.actor`` may see (scoping selectors), within
``query.area`` when the kind ``needs_county``; it yields rows lazily and reads in chunks, so memory
stays flat in the number of rows (quality.md P7); it ignores filter values it does not understand,
like the list page does.

An export should use the column layout of the matching ledger import (ledgers.md §7), so that the
file re-imports: one row per person, household columns repeated on each member row.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings

from lowbao.areas.models import Area


@dataclass(frozen=True)
class ExportQuery:
    """What a builder is asked for: the acting user, the county (``None`` for kinds that do not
    need one) and the list page's filters (only the kind's ``filter_names``, as strings)."""

    actor: Any
    area: Area | None
    filters: Mapping[str, str]


BuildRows = Callable[[ExportQuery], Iterable[Sequence[object]]]
CountRows = Callable[[ExportQuery], int]


@dataclass(frozen=True)
class ExportKind:
    code: str
    label: str
    perm: str
    build_rows: BuildRows
    headers: tuple[str, ...]
    count_rows: CountRows
    filter_names: tuple[str, ...] = ()
    needs_county: bool = True
    id_columns: frozenset[str] = frozenset()
    account_columns: frozenset[str] = frozenset()
    phone_columns: frozenset[str] = frozenset()
    note: str = ""

    @property
    def sensitive_columns(self) -> frozenset[str]:
        return self.id_columns | self.account_columns | self.phone_columns


_KINDS: dict[str, ExportKind] = {}
_modules_loaded = False


def register_export(
    kind: str,
    label: str,
    perm: str,
    build_rows: BuildRows,
    *,
    headers: Sequence[str],
    count_rows: CountRows,
    filter_names: Sequence[str] = (),
    needs_county: bool = True,
    id_columns: Iterable[str] = (),
    account_columns: Iterable[str] = (),
    phone_columns: Iterable[str] = (),
    note: str = "",
) -> ExportKind:
    """Register (or replace) the export ``kind``; returns its description.

    ``note`` is shown on the export page (for example what re-importing the file does).
    """
    headers = tuple(headers)
    sensitive = {*id_columns, *account_columns, *phone_columns}
    unknown = sorted(sensitive - set(headers))
    if unknown:
        raise ValueError(f"export {kind!r}: sensitive columns {unknown} are not in its headers")
    if len(set(headers)) != len(headers):
        raise ValueError(f"export {kind!r}: duplicate headers")
    spec = ExportKind(
        code=kind,
        label=label,
        perm=perm,
        build_rows=build_rows,
        headers=headers,
        count_rows=count_rows,
        filter_names=tuple(filter_names),
        needs_county=needs_county,
        id_columns=frozenset(id_columns),
        account_columns=frozenset(account_columns),
        phone_columns=frozenset(phone_columns),
        note=note,
    )
    _KINDS[kind] = spec
    return spec


def _load_modules() -> None:
    global _modules_loaded  # loaded once per process
    if _modules_loaded:
        return
    for path in getattr(settings, "LOWBAO_EXPORT_MODULES", ()):
        import_module(path)  # importing the module registers its exports
    _modules_loaded = True


def export_kinds() -> dict[str, ExportKind]:
    _load_modules()
    return dict(_KINDS)


def get_export(kind: str) -> ExportKind | None:
    _load_modules()
    return _KINDS.get(kind)
