"""Writes to the registry: applying a validated snapshot (ledger import or API push), and the
card/帮扶台账 extract export.

A snapshot replaces what lowbao knows of one county's registry (ledgers.md §3): households and
members present are created or updated, households absent are marked as no longer in the
registry on the snapshot date (never deleted). Every snapshot keeps an entry per household with a
digest, so the registry on any date and the changes between two snapshots can be told.

Digests never contain a plain ID number: persons enter them by their blind index (a keyed hash),
since a plain hash of an ID number is easy to reverse.
"""

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import IO, Any, TypeVar

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from openpyxl import Workbook

from cases.exports import text_cell
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_covers_area
from lowbao.audit.services import record
from lowbao.core.errors import CoreErrorCode, DomainError
from lowbao.people.models import Person
from lowbao.people.protection import encrypt
from poverty.choices import SnapshotSource
from poverty.models import (
    RegistryHousehold,
    RegistryMember,
    RegistrySnapshot,
    RegistrySnapshotEntry,
    RegistrySnapshotMember,
)
from poverty.quality import quality_check_snapshot
from poverty.selectors import card_extract_rows
from poverty.validation import ParsedHousehold, ParsedMember

BATCH_SIZE = 1000
LOOKUP_CHUNK = 5000
T = TypeVar("T")

HOUSEHOLD_FIELDS = (
    "area",
    "attribute",
    "main_cause",
    "other_causes",
    "poverty_status",
    "exit_year",
    "identified_year",
    "annual_income_per_capita",
    "dibao_amount_recorded",
    "helper_name",
    "helper_unit",
)
MEMBER_FIELDS = (
    "person_number",
    "relation",
    "education",
    "school_status",
    "health",
    "labour_capacity",
    "work_status",
    "work_months",
    "disability_certificate",
)

CARD_EXTRACT_HEADERS = (
    "户编号",
    "户主",
    "身份证号",
    "贫困户属性",
    "享受类型",
    "享受原因",
    "保障标准",
    "月发放金额",
    "保障起始年月",
)


class RegistryErrorCode(StrEnum):
    SNAPSHOT_OUT_OF_ORDER = "snapshot_out_of_order"


# --- digests ---------------------------------------------------------------------------------


def _canonical(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def household_data_hash(household: ParsedHousehold) -> str:
    """Digest of everything lowbao stores of a household; member order does not matter."""
    members = sorted(
        [
            member.id_number_hash,
            member.name,
            member.relation,
            member.person_number,
            member.ethnicity,
            member.education,
            member.school_status,
            member.health,
            member.labour_capacity,
            member.work_status,
            member.work_months,
            member.disability_certificate,
        ]
        for member in household.members
    )
    payload = {
        "number": household.number,
        "area": household.area.code,
        "attribute": household.attribute,
        "main_cause": household.main_cause,
        "other_causes": sorted(household.other_causes),
        "poverty_status": household.poverty_status,
        "exit_year": household.exit_year,
        "identified_year": household.identified_year,
        "income": _money(household.annual_income_per_capita),
        "dibao_amount": _money(household.dibao_amount_recorded),
        "helper_name": household.helper_name,
        "helper_unit": household.helper_unit,
        "members": members,
    }
    return hashlib.sha256(_canonical(payload)).hexdigest()


def snapshot_content_hash(
    *, county: Area, snapshot_date: date, partial: bool, data_hashes: Iterable[str]
) -> str:
    payload = {
        "county": county.code,
        "date": snapshot_date.isoformat(),
        "partial": partial,
        "households": sorted(data_hashes),
    }
    return hashlib.sha256(_canonical(payload)).hexdigest()


# --- helpers ---------------------------------------------------------------------------------


def _chunks(items: Sequence[T], size: int = LOOKUP_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _check_input(county: Area, households: list[ParsedHousehold], source: str) -> None:
    if source not in SnapshotSource.values:
        raise ValueError(f"unknown snapshot source {source!r}")
    if county.level != AreaLevel.COUNTY:
        raise DomainError(
            code=CoreErrorCode.INVALID,
            message=f"{county.name}不是旗县级区划，建档立卡快照按旗县导入",
            fields={"county": "应为旗县级区划代码"},
        )
    numbers = [household.number for household in households]
    if len(set(numbers)) != len(numbers):
        raise DomainError(code=CoreErrorCode.INVALID, message="快照中户编号重复")
    outside = sorted(h.number for h in households if not h.area.path.startswith(county.path))
    if outside:
        raise DomainError(
            code=CoreErrorCode.AREA_OUT_OF_SCOPE,
            message=f"户编号{'、'.join(outside[:10])}的嘎查村不在{county.name}",
        )


@dataclass
class _PersonResult:
    ids: dict[str, int]
    created: int
    renamed: list[dict[str, Any]]


def _persons_upsert(members: list[ParsedMember], *, now: Any) -> _PersonResult:
    """Create missing persons and update names/ethnicity like ``person_upsert``, in batches.

    No audit row per person (the snapshot's audit row counts them; renames are listed there).
    A person created concurrently by another import is picked up, not duplicated.
    """
    by_hash = {member.id_number_hash: member for member in members}
    hashes = sorted(by_hash)
    existing: dict[str, Person] = {}
    for chunk in _chunks(hashes):
        for person in Person.objects.filter(id_number_hash__in=chunk).only(
            "id", "id_number_hash", "name", "ethnicity"
        ):
            existing[person.id_number_hash] = person
    missing = [person_hash for person_hash in hashes if person_hash not in existing]
    Person.objects.bulk_create(
        [
            Person(
                id_number_hash=person_hash,
                id_number_ciphertext=encrypt(by_hash[person_hash].id_number),
                name=by_hash[person_hash].name,
                sex=by_hash[person_hash].sex,
                birth_date=by_hash[person_hash].birth_date,
                ethnicity=by_hash[person_hash].ethnicity,
            )
            for person_hash in missing
        ],
        batch_size=BATCH_SIZE,
        ignore_conflicts=True,
    )
    ids = {person_hash: person.pk for person_hash, person in existing.items()}
    for chunk in _chunks(missing):
        ids.update(
            Person.objects.filter(id_number_hash__in=chunk).values_list("id_number_hash", "id")
        )
    changed, renamed = [], []
    for person_hash, person in existing.items():
        member = by_hash[person_hash]
        is_changed = False
        if person.name != member.name:
            renamed.append({"person": person.pk, "name": [person.name, member.name]})
            person.name = member.name
            is_changed = True
        if member.ethnicity and person.ethnicity != member.ethnicity:
            person.ethnicity = member.ethnicity
            is_changed = True
        if is_changed:
            person.updated_at = now
            changed.append(person)
    Person.objects.bulk_update(changed, ["name", "ethnicity", "updated_at"], batch_size=500)
    return _PersonResult(ids=ids, created=len(missing), renamed=renamed)


def _household_values(parsed: ParsedHousehold) -> dict[str, Any]:
    return {
        "area": parsed.area,
        "attribute": parsed.attribute,
        "main_cause": parsed.main_cause,
        "other_causes": sorted(parsed.other_causes),
        "poverty_status": parsed.poverty_status,
        "exit_year": parsed.exit_year,
        "identified_year": parsed.identified_year,
        "annual_income_per_capita": parsed.annual_income_per_capita,
        "dibao_amount_recorded": parsed.dibao_amount_recorded,
        "helper_name": parsed.helper_name,
        "helper_unit": parsed.helper_unit,
    }


def _member_values(member: ParsedMember) -> dict[str, Any]:
    return {name: getattr(member, name) for name in MEMBER_FIELDS}


def _replace_members(
    parsed_by_id: dict[int, ParsedHousehold], person_ids: dict[str, int], *, now: Any
) -> None:
    """Make the stored members of these (updated) households match the file: update, add and
    remove by person, so unchanged members keep their rows."""
    stored: dict[int, dict[int, RegistryMember]] = {pk: {} for pk in parsed_by_id}
    for chunk in _chunks(list(parsed_by_id)):
        for member in RegistryMember.objects.filter(household_id__in=chunk):
            stored[member.household_id][member.person_id] = member
    to_create, to_update, to_delete = [], [], []
    for household_id, parsed in parsed_by_id.items():
        current = stored[household_id]
        wanted = set()
        for member in parsed.members:
            person_id = person_ids[member.id_number_hash]
            wanted.add(person_id)
            values = _member_values(member)
            row = current.get(person_id)
            if row is None:
                to_create.append(
                    RegistryMember(household_id=household_id, person_id=person_id, **values)
                )
            elif any(getattr(row, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(row, name, value)
                row.updated_at = now
                to_update.append(row)
        to_delete.extend(row.pk for person_id, row in current.items() if person_id not in wanted)
    for chunk in _chunks(to_delete):
        RegistryMember.objects.filter(pk__in=chunk).delete()
    RegistryMember.objects.bulk_update(to_update, [*MEMBER_FIELDS, "updated_at"], batch_size=500)
    RegistryMember.objects.bulk_create(to_create, batch_size=BATCH_SIZE)


# --- the service -----------------------------------------------------------------------------


def registry_snapshot_apply(
    *,
    actor: Any,
    county: Area,
    households: list[ParsedHousehold],
    snapshot_date: date,
    source: str,
    source_name: str = "",
    partial: bool = False,
) -> RegistrySnapshot:
    """Apply one validated snapshot of ``county``'s registry, in one transaction.

    - Persons are created or updated in batches (blind index kept, no per-person audit row).
    - Households are upserted by (county, 户编号); members are made to match the file.
    - Every household of the snapshot gets an entry (values, digest, created/updated/unchanged)
      with its members.
    - Unless ``partial`` (an API push of some households only), the county's households absent
      from the snapshot leave the registry on ``snapshot_date``; they are never deleted.
    - The data-quality rules run on the snapshot; one audit row records the counts.

    Idempotent: the same content for the same county and date as the county's latest snapshot
    returns that snapshot and writes nothing; the returned snapshot then has ``replayed = True``
    (``False`` otherwise). If another snapshot of the same date came in between, the content is
    applied again, so the registry ends up as the caller sent it. Snapshots are applied in date
    order: one dated before the county's latest is refused (``snapshot_out_of_order``, 409).
    """
    _check_input(county, households, source)
    data_hashes = {household.number: household_data_hash(household) for household in households}
    content_hash = snapshot_content_hash(
        county=county,
        snapshot_date=snapshot_date,
        partial=partial,
        data_hashes=data_hashes.values(),
    )
    with transaction.atomic():
        # One writer per county at a time (a no-op lock on SQLite, which has one writer anyway).
        list(Area.objects.select_for_update(no_key=True).filter(pk=county.pk).values_list("pk"))
        latest = (
            RegistrySnapshot.objects.filter(county=county).order_by("-snapshot_date", "-pk").first()
        )
        if (
            latest is not None
            and latest.snapshot_date == snapshot_date
            and latest.content_hash == content_hash
        ):
            latest.replayed = True
            return latest
        if latest is not None and snapshot_date < latest.snapshot_date:
            raise DomainError(
                code=RegistryErrorCode.SNAPSHOT_OUT_OF_ORDER,
                message=(
                    f"快照日期 {snapshot_date:%Y-%m-%d} 早于{county.name}最近一次快照 "
                    f"{latest.snapshot_date:%Y-%m-%d}，请按日期顺序导入"
                ),
                fields={"snapshot_date": "早于最近一次快照"},
                status=409,
            )
        snapshot = _apply(
            actor=actor,
            county=county,
            households=households,
            data_hashes=data_hashes,
            snapshot_date=snapshot_date,
            source=source,
            source_name=source_name,
            partial=partial,
            content_hash=content_hash,
        )
    snapshot.replayed = False
    return snapshot


def _apply(
    *,
    actor: Any,
    county: Area,
    households: list[ParsedHousehold],
    data_hashes: dict[str, str],
    snapshot_date: date,
    source: str,
    source_name: str,
    partial: bool,
    content_hash: str,
) -> RegistrySnapshot:
    now = timezone.now()
    snapshot = RegistrySnapshot.objects.create(
        county=county,
        snapshot_date=snapshot_date,
        source=source,
        source_name=source_name[:200],
        content_hash=content_hash,
        is_partial=partial,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    members = [member for household in households for member in household.members]
    persons = _persons_upsert(members, now=now)

    stored = {h.number: h for h in RegistryHousehold.objects.filter(county=county)}
    previous_hashes = dict(
        RegistrySnapshotEntry.objects.filter(
            household__county=county, snapshot_id=F("household__last_snapshot_id")
        ).values_list("household_id", "data_hash")
    )
    created: list[RegistryHousehold] = []
    updated: list[RegistryHousehold] = []
    unchanged_ids: list[int] = []
    changes: dict[str, str] = {}
    for parsed in households:
        household = stored.get(parsed.number)
        if household is None:
            household = RegistryHousehold(
                county=county,
                number=parsed.number,
                first_snapshot=snapshot,
                last_snapshot=snapshot,
                **_household_values(parsed),
            )
            created.append(household)
            changes[parsed.number] = "created"
        elif (
            household.in_registry
            and previous_hashes.get(household.pk) == data_hashes[parsed.number]
        ):
            unchanged_ids.append(household.pk)
            changes[parsed.number] = "unchanged"
        else:
            for name, value in _household_values(parsed).items():
                setattr(household, name, value)
            household.in_registry = True
            household.left_registry_on = None
            household.last_snapshot = snapshot
            household.updated_at = now
            updated.append(household)
            changes[parsed.number] = "updated"

    RegistryHousehold.objects.bulk_create(created, batch_size=BATCH_SIZE)
    RegistryHousehold.objects.bulk_update(
        updated,
        [*HOUSEHOLD_FIELDS, "in_registry", "left_registry_on", "last_snapshot", "updated_at"],
        batch_size=500,
    )
    for chunk in _chunks(unchanged_ids):
        RegistryHousehold.objects.filter(pk__in=chunk).update(
            last_snapshot=snapshot, updated_at=now
        )
    parsed_by_number = {parsed.number: parsed for parsed in households}
    RegistryMember.objects.bulk_create(
        [
            RegistryMember(
                household=household,
                person_id=persons.ids[member.id_number_hash],
                **_member_values(member),
            )
            for household in created
            for member in parsed_by_number[household.number].members
        ],
        batch_size=BATCH_SIZE,
    )
    _replace_members(
        {household.pk: parsed_by_number[household.number] for household in updated},
        persons.ids,
        now=now,
    )

    household_ids = {h.number: h.pk for h in (*created, *updated)}
    household_ids.update(
        {number: stored[number].pk for number, change in changes.items() if change == "unchanged"}
    )
    entries = RegistrySnapshotEntry.objects.bulk_create(
        [
            RegistrySnapshotEntry(
                snapshot=snapshot,
                household_id=household_ids[parsed.number],
                attribute=parsed.attribute,
                poverty_status=parsed.poverty_status,
                annual_income_per_capita=parsed.annual_income_per_capita,
                dibao_amount_recorded=parsed.dibao_amount_recorded,
                area=parsed.area,
                data_hash=data_hashes[parsed.number],
                change=changes[parsed.number],
            )
            for parsed in households
        ],
        batch_size=BATCH_SIZE,
    )
    RegistrySnapshotMember.objects.bulk_create(
        [
            RegistrySnapshotMember(
                entry=entry,
                person_id=persons.ids[member.id_number_hash],
                labour_capacity=member.labour_capacity,
            )
            for entry, parsed in zip(entries, households, strict=True)
            for member in parsed.members
        ],
        batch_size=BATCH_SIZE,
    )

    left = 0
    if not partial:
        left = (
            RegistryHousehold.objects.filter(county=county, in_registry=True)
            .exclude(last_snapshot=snapshot)
            .update(in_registry=False, left_registry_on=snapshot_date, updated_at=now)
        )

    snapshot.household_count = len(households)
    snapshot.person_count = len(members)
    snapshot.created_count = len(created)
    snapshot.updated_count = len(updated)
    snapshot.unchanged_count = len(unchanged_ids)
    snapshot.left_count = left
    snapshot.save(
        update_fields=[
            "household_count",
            "person_count",
            "created_count",
            "updated_count",
            "unchanged_count",
            "left_count",
            "updated_at",
        ]
    )
    issues = quality_check_snapshot(snapshot=snapshot)
    record(
        actor=actor,
        action="registry.snapshot_apply",
        obj=snapshot,
        area=county,
        changes={
            "snapshot_date": snapshot_date,
            "source": source,
            "source_name": snapshot.source_name,
            "partial": partial,
            "households": snapshot.household_count,
            "persons": snapshot.person_count,
            "created": snapshot.created_count,
            "updated": snapshot.updated_count,
            "unchanged": snapshot.unchanged_count,
            "left": left,
            "persons_created": persons.created,
            "persons_renamed": persons.renamed,
            "quality_issues": issues,
        },
        actor_label="" if getattr(actor, "pk", None) else "system:registry_snapshot",
    )
    return snapshot


# --- export ----------------------------------------------------------------------------------


def registry_card_extract_export(*, actor: Any, county: Area, stream: IO[bytes]) -> int:
    """Write the card/帮扶台账 extract of ``county`` as ``.xlsx`` to ``stream``; returns the rows.

    One row per registry household receiving dibao/特困 (``selectors.card_extract_rows``); ID
    numbers masked (first 6, last 4) and every text a string cell. Audited once complete.
    """
    if not actor_covers_area(actor, county, perm=Perm.REGISTRY_VIEW):
        raise DomainError(code=CoreErrorCode.NOT_FOUND, message="旗县不存在或不在您的管辖范围内")
    rows = card_extract_rows(actor=actor, county=county)
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(title="享受低保特困的建档立卡户")
    worksheet.append([text_cell(worksheet, header) for header in CARD_EXTRACT_HEADERS])
    for row in rows:
        worksheet.append(
            [
                text_cell(worksheet, row.number),
                text_cell(worksheet, row.head_name),
                text_cell(worksheet, row.head_id_number_masked),
                text_cell(worksheet, row.attribute),
                text_cell(worksheet, row.programmes),
                text_cell(worksheet, row.reasons),
                text_cell(worksheet, row.standards),
                row.monthly_amount,
                text_cell(worksheet, row.start_month),
            ]
        )
    workbook.save(stream)
    record(
        actor=actor,
        action="export.registry_card_extract",
        object_type="poverty.registryhousehold",
        area=county,
        changes={"format": "xlsx", "rows": len(rows), "masked": True},
    )
    return len(rows)
