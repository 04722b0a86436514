"""残疾人信息 from the disabled persons' federation (ledgers.md §4).

Person-level: one ``DisabilityRecord`` per ID number (kept even while lowbao does not know the
person), applied to *every* ``HouseholdMember`` row of the person, in any household. Writes are
set-based: a fixed number of statements whatever the number of rows.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from cases.choices import Health
from cases.models import HouseholdMember
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_has_perm
from lowbao.audit.services import record
from lowbao.core.errors import DomainError
from lowbao.people.models import Person
from lowbao.people.protection import encrypt, id_number_blind_index
from poverty.models import DisabilityRecord
from poverty.verification_validation import DisabilityRow


@dataclass(frozen=True)
class DisabilityCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    linked: int = 0  # rows whose person is known to lowbao
    members_updated: int = 0  # household member rows whose disability data changed
    # The file rows (``row``) of the first ``rows_kept`` of each outcome (an import's preview).
    created_rows: tuple[int, ...] = ()
    updated_rows: tuple[int, ...] = ()
    unchanged_rows: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "linked": self.linked,
            "members_updated": self.members_updated,
        }


_RECORD_FIELDS = (
    "name",
    "certificate_number",
    "disability_type",
    "grade",
    "issued_on",
    "person_id",
)


def _apply_to_members(person_ids: Iterable[int]) -> int:
    """Copy each person's record onto every member row of the person that differs from it."""
    person_ids = list(set(person_ids))
    if not person_ids:
        return 0
    records = {
        row[0]: row[1:]
        for row in DisabilityRecord.objects.filter(person_id__in=person_ids).values_list(
            "person_id", "disability_type", "grade", "certificate_number"
        )
    }
    stale = [
        member_id
        for member_id, person_id, kind, grade, certificate, health in (
            HouseholdMember.objects.filter(person_id__in=list(records)).values_list(
                "id",
                "person_id",
                "disability_type",
                "disability_grade",
                "disability_certificate",
                "health",
            )
        )
        if (kind, grade, certificate, health) != (*records[person_id], Health.DISABLED)
    ]
    if not stale:
        return 0
    record_of = DisabilityRecord.objects.filter(person_id=OuterRef("person_id"))
    return HouseholdMember.objects.filter(pk__in=stale).update(
        disability_type=Subquery(record_of.values("disability_type")[:1]),
        disability_grade=Subquery(record_of.values("grade")[:1]),
        disability_certificate=Subquery(record_of.values("certificate_number")[:1]),
        health=Health.DISABLED,
        updated_at=timezone.now(),
    )


@transaction.atomic
def disability_records_apply(
    *, actor: object, rows: Sequence[DisabilityRow], source: str = "api", rows_kept: int = 0
) -> DisabilityCounts:
    """Upsert validated rows by ID number and update every member row of the known persons.

    Idempotent: the same rows again change nothing. One audit row with the counts. The counts
    also give the ``row`` of the first ``rows_kept`` rows created, updated and unchanged.
    """
    if getattr(actor, "pk", None) is not None and not (
        actor_has_perm(actor, Perm.DISABILITY_PUSH) or actor_has_perm(actor, Perm.IMPORT_RUN)
    ):
        raise DomainError(code="permission_denied", message="没有写入残疾人信息的权限")
    hashes = [id_number_blind_index(row.id_number) for row in rows]
    persons = dict(
        Person.objects.filter(id_number_hash__in=set(hashes)).values_list("id_number_hash", "id")
    )
    existing = {
        record_row.id_number_hash: record_row
        for record_row in DisabilityRecord.objects.select_for_update().filter(
            id_number_hash__in=set(hashes)
        )
    }
    writes: list[DisabilityRecord] = []
    created = updated = unchanged = 0
    kept: dict[str, list[int]] = {"created": [], "updated": [], "unchanged": []}
    for row, id_hash in zip(rows, hashes, strict=True):
        old = existing.get(id_hash)
        new = DisabilityRecord(
            id_number_hash=id_hash,
            id_number_ciphertext=old.id_number_ciphertext if old else encrypt(row.id_number),
            person_id=persons.get(id_hash) or (old.person_id if old else None),
            name=row.name,
            certificate_number=row.certificate_number,
            disability_type=row.disability_type,
            grade=row.grade,
            issued_on=row.issued_on,
        )
        if old is None:
            created += 1
            outcome = kept["created"]
        elif all(getattr(old, name) == getattr(new, name) for name in _RECORD_FIELDS):
            unchanged += 1
            outcome = kept["unchanged"]
        else:
            updated += 1
            outcome = kept["updated"]
        if len(outcome) < rows_kept:
            outcome.append(row.row)
        if outcome is not kept["unchanged"]:
            writes.append(new)
    if writes:
        DisabilityRecord.objects.bulk_create(
            writes,
            update_conflicts=True,
            unique_fields=["id_number_hash"],
            update_fields=[
                "name",
                "certificate_number",
                "disability_type",
                "grade",
                "issued_on",
                "person",
                "updated_at",
            ],
        )
    known = [persons[id_hash] for id_hash in hashes if id_hash in persons]
    counts = DisabilityCounts(
        created=created,
        updated=updated,
        unchanged=unchanged,
        linked=len(known),
        members_updated=_apply_to_members(known),
        created_rows=tuple(kept["created"]),
        updated_rows=tuple(kept["updated"]),
        unchanged_rows=tuple(kept["unchanged"]),
    )
    record(
        actor=actor,
        action="disability.records_apply",
        changes={"source": source, "rows": len(rows), **counts.as_dict()},
        actor_label="" if getattr(actor, "pk", None) else f"system:disability_{source}",
    )
    return counts


@transaction.atomic
def disability_link_new_person(person: Person) -> int:
    """Link a record kept for this person's ID number and apply it to the person's member rows.

    Call it whenever a person may have appeared or joined a household: after household
    registration and member additions (cases, through a hook), after a poverty-registry import.
    It is idempotent and cheap when there is no record. poverty calls it at acceptance of every
    application (``verification_link_household``). Returns the number of member rows updated.
    """
    linked = DisabilityRecord.objects.filter(
        id_number_hash=person.id_number_hash, person__isnull=True
    ).update(person=person, updated_at=timezone.now())
    if not linked and not DisabilityRecord.objects.filter(person=person).exists():
        return 0
    return _apply_to_members([person.pk])


# Persons per statement of the bulk link (keeps every IN list well inside the drivers' limits).
LINK_CHUNK = 20_000


def person_id_chunks(person_ids: Iterable[int]) -> list[list[int]]:
    ids = sorted(set(person_ids))
    return [ids[start : start + LINK_CHUNK] for start in range(0, len(ids), LINK_CHUNK)]


@transaction.atomic(savepoint=False)  # inside the import's transaction: no savepoint round trips
def disability_link_new_persons(person_ids: Sequence[int]) -> int:
    """``disability_link_new_person`` for every person an import added to a household, set-based:
    per 20,000 persons one UPDATE links the records kept for their ID numbers, then
    ``_apply_to_members`` copies each person's record onto their member rows that differ from it
    (one SELECT when none of them has a record). Returns the number of member rows updated."""
    updated = 0
    for chunk in person_id_chunks(person_ids):
        DisabilityRecord.objects.filter(
            person__isnull=True,
            id_number_hash__in=Person.objects.filter(pk__in=chunk).values("id_number_hash"),
        ).update(
            person_id=Subquery(
                Person.objects.filter(id_number_hash=OuterRef("id_number_hash")).values("pk")[:1]
            ),
            updated_at=timezone.now(),
        )
        updated += _apply_to_members(chunk)
    return updated


# the bulk link is called by ``verification.persons_joined_link`` (one probe for both apps)
HOOKS = [("AFTER_PERSON_JOINED", disability_link_new_person)]
