"""Reads of payment sheets (发放花名册), always scoped to the actor (style B.5, quality.md S1).

A sheet belongs to its township: ``scope_to_actor(..., area_field="township")``. Outside the
actor's areas a sheet is a 404 and a list simply lacks it.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Concat, Substr
from django.http import Http404

from cases.choices import PaymentSheetStatus, Relation
from cases.models import HouseholdMember, PaymentLine, PaymentSheet
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import scope_to_actor
from lowbao.people.masking import mask_bank_account, mask_id_number
from lowbao.people.protection import decrypt

TOTALS_LEVELS = (AreaLevel.TOWNSHIP, AreaLevel.COUNTY, AreaLevel.LEAGUE)


def payment_sheet_queryset(
    *, actor: object, perm: str = Perm.PAYMENT_VIEW
) -> QuerySet[PaymentSheet]:
    return scope_to_actor(
        PaymentSheet.objects.select_related(
            "township", "township__parent", "generated_by", "checked_by"
        ),
        actor=actor,
        perm=perm,
        area_field="township",
    )


def payment_sheet_list(
    *, actor: object, month: date | None = None, township_code: str | None = None
) -> QuerySet[PaymentSheet]:
    """The sheets the actor may see, newest month first, then by township code."""
    queryset = payment_sheet_queryset(actor=actor)
    if month is not None:
        queryset = queryset.filter(month=month.replace(day=1))
    if township_code:
        queryset = queryset.filter(township__code=township_code)
    return queryset.order_by("-month", "township__code", "id")


def access_payment_sheet_by_id(
    actor: object, sheet_id: int, *, for_update: bool = False
) -> PaymentSheet:
    """The sheet if the actor may see it; otherwise 404 (never 403). ``for_update`` locks the row
    (``SELECT … FOR NO KEY UPDATE`` of the sheet only) until the caller's transaction ends.
    """
    queryset = payment_sheet_queryset(actor=actor)
    if for_update:
        queryset = queryset.select_for_update(no_key=True, of=("self",))
    sheet = queryset.filter(pk=sheet_id).first()
    if sheet is None:
        raise Http404("发放花名册不存在或不在您的管辖范围内")
    return sheet


def payment_generate_townships(*, actor: object) -> QuerySet[Area]:
    """Townships for which the actor may generate sheets (the generate form's choices)."""
    return scope_to_actor(
        Area.objects.filter(level=AreaLevel.TOWNSHIP),
        actor=actor,
        perm=Perm.PAYMENT_GENERATE,
        area_field=None,
    ).order_by("code")


def _head_member(field: str) -> Subquery:
    """One column of the household head (户主) of the line's household; a head who left sorts
    after a current one, so a replaced head never shadows the new one.
    """
    heads = HouseholdMember.objects.filter(
        household_id=OuterRef("household_id"), relation=Relation.HEAD
    ).order_by(F("left_at").asc(nulls_first=True), "id")
    return Subquery(heads.values(field)[:1])


def payment_sheet_lines(*, sheet: PaymentSheet) -> QuerySet[PaymentLine]:
    """The sheet's lines with everything a page, the API or the export shows, in one query:
    household, village, township, benefit period, and the head's name and encrypted ID number
    (``head_name``, ``head_id_number_ciphertext``). Ordered by village code, then roster number.
    """
    return (
        PaymentLine.objects.filter(sheet=sheet)
        .select_related("household", "household__area", "household__area__parent", "benefit_period")
        .annotate(
            head_name=_head_member("person__name"),
            head_id_number_ciphertext=_head_member("person__id_number_ciphertext"),
        )
        .order_by("household__area__code", "household__number", "id")
    )


@dataclass(frozen=True)
class PaymentLineRow:
    """A line as shown to users: sensitive values masked (quality.md S4)."""

    line_id: int
    household_id: int
    household_number: str
    head_name: str
    head_id_number_masked: str
    township_name: str
    village_name: str
    village_code: str
    covered_persons: int
    monthly_amount: Decimal
    amount: Decimal
    bank_name: str
    bank_account_masked: str


def payment_line_row(line: PaymentLine) -> PaymentLineRow:
    """Presentation of one line from ``payment_sheet_lines`` (no query)."""
    household = line.household
    village = household.area
    ciphertext = getattr(line, "head_id_number_ciphertext", None)
    return PaymentLineRow(
        line_id=line.pk,
        household_id=household.pk,
        household_number=household.number,
        head_name=getattr(line, "head_name", None) or "",
        head_id_number_masked=mask_id_number(decrypt(ciphertext)) if ciphertext else "",
        township_name=village.parent.name if village.parent_id else "",
        village_name=village.name,
        village_code=village.code,
        covered_persons=line.covered_persons,
        monthly_amount=line.benefit_period.monthly_amount,
        amount=line.amount,
        bank_name=household.bank_name,
        bank_account_masked=(
            mask_bank_account(decrypt(household.bank_account_ciphertext))
            if household.bank_account_ciphertext
            else ""
        ),
    )


def payment_line_rows(*, sheet: PaymentSheet, chunk_size: int = 2000) -> Iterator[PaymentLineRow]:
    """All lines of a sheet, streamed from the database (constant memory, for exports)."""
    for line in payment_sheet_lines(sheet=sheet).iterator(chunk_size=chunk_size):
        yield payment_line_row(line)


@dataclass(frozen=True)
class PaymentTotalsRow:
    code: str
    name: str
    sheet_count: int
    household_count: int
    person_count: int
    total_amount: Decimal
    paid_amount: Decimal


_PREFIX_LENGTH = {AreaLevel.TOWNSHIP: 12, AreaLevel.COUNTY: 6, AreaLevel.LEAGUE: 4}


def payment_totals(*, actor: object, month: date, level: str) -> list[PaymentTotalsRow]:
    """Totals of the month's sheets per township, county (``code[:6] + "000000"``) or league
    (``code[:4] + "00000000"``), over the sheets the actor may see only: a township user gets
    their own township's figures whatever the level. Sheets of every status count;
    ``paid_amount`` is the part already marked paid. A quarterly county has sheets only in a
    quarter's first month, so its figures appear in January, April, July and October.

    Grouping is by the code prefix in the database (one query), then one query for the names.
    """
    if level not in _PREFIX_LENGTH:
        raise ValueError(f"level must be one of {sorted(_PREFIX_LENGTH)}, got {level!r}")
    length = _PREFIX_LENGTH[level]
    padding = "0" * (12 - length)
    group = Substr("township__code", 1, length)
    if padding:
        group = Concat(group, Value(padding))
    grouped = (
        payment_sheet_list(actor=actor, month=month)
        .order_by()
        .annotate(group_code=group)
        .values("group_code")
        .annotate(
            sum_sheets=Count("id"),
            sum_households=Coalesce(Sum("household_count"), 0),
            sum_persons=Coalesce(Sum("person_count"), 0),
            sum_amount=Coalesce(Sum("total_amount"), Decimal("0")),
            sum_paid=Coalesce(
                Sum("total_amount", filter=Q(status=PaymentSheetStatus.PAID)), Decimal("0")
            ),
        )
        .order_by("group_code")
    )
    rows = list(grouped)
    names = dict(
        Area.objects.filter(code__in=[row["group_code"] for row in rows]).values_list(
            "code", "name"
        )
    )
    return [
        PaymentTotalsRow(
            code=row["group_code"],
            name=names.get(row["group_code"], row["group_code"]),
            sheet_count=row["sum_sheets"],
            household_count=row["sum_households"],
            person_count=row["sum_persons"],
            total_amount=Decimal(row["sum_amount"]).quantize(Decimal("0.01")),
            paid_amount=Decimal(row["sum_paid"]).quantize(Decimal("0.01")),
        )
        for row in rows
    ]
