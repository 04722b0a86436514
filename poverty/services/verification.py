"""家庭经济状况核对 (domain.md §11): requests, reports, written explanations and the gate.

Principles: 先授权再核对、无委托不核对 (a request needs the household's authorisation) and
只核对不认定 (a report never decides eligibility: a finding that contradicts the declaration only
needs a written explanation before the county may approve). 逢救必核: before a county approval,
every counted current member of the household needs a report on every item the policy requires,
not older than ``verification_validity_days`` on the decision date.

Reports are person-level and keyed by the blind index of the ID number, so reports for a person
lowbao does not know yet are kept and count as soon as the person is a household member; ``person``
is linked when known (at write time, at acceptance, or by ``verification_link_new_person``).
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from cases.choices import ApplicationStatus, AssetKind
from cases.models import Application, Household, HouseholdAsset, HouseholdMember
from cases.policy import policy_for
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_covers_area, actor_has_perm, scope_to_actor
from lowbao.audit.services import record
from lowbao.core.errors import DomainError
from lowbao.imports.staging import value_in
from lowbao.people.models import Person
from lowbao.people.protection import id_number_blind_index
from poverty.choices import VerificationItem, VerificationRequestStatus
from poverty.models import (
    DisabilityRecord,
    VerificationExplanation,
    VerificationReport,
    VerificationRequest,
)
from poverty.services.disability import (
    disability_link_new_person,
    disability_link_new_persons,
    person_id_chunks,
)
from poverty.verification_validation import VerificationRow, validate_verification_rows

ZERO = Decimal("0")


class VerificationErrorCode(StrEnum):
    NO_AUTHORISATION = "no_authorisation"
    ITEMS_INVALID = "verification_items_invalid"
    INVALID_ROWS = "invalid_rows"
    EXPLANATION_MISSING = "explanation_missing"
    REPORT_NOT_IN_HOUSEHOLD = "report_not_in_household"


class ReportSource(StrEnum):
    PLATFORM = "platform"
    IMPORT = "import"
    MANUAL = "manual"


# Who may write reports from each source (None, i.e. system work, may write any).
_SOURCE_PERMS = {
    ReportSource.PLATFORM: Perm.VERIFICATION_PUSH,
    ReportSource.IMPORT: Perm.IMPORT_RUN,
    ReportSource.MANUAL: Perm.VERIFICATION_REQUEST,
}

# Stages at which the verification worklist shows an application ("awaiting county review").
AWAITING_COUNTY = (ApplicationStatus.COUNTY_REVIEW,)
BEFORE_DECISION = (
    ApplicationStatus.ACCEPTED,
    ApplicationStatus.INVESTIGATED,
    ApplicationStatus.APPRAISED,
    ApplicationStatus.TOWNSHIP_REVIEWED,
    ApplicationStatus.IN_NOTICE,
    ApplicationStatus.COUNTY_REVIEW,
)


def _denied(actor: object, perm: str) -> DomainError:
    if actor_has_perm(actor, perm):
        return DomainError(code="not_found", message="对象不存在或不在您的管辖范围内")
    return DomainError(code="permission_denied", message="没有执行此操作的权限")


def _is_system(actor: object) -> bool:
    return getattr(actor, "pk", None) is None


def item_label(code: str) -> str:
    return VerificationItem(code).label if code in VerificationItem.values else code


# --- requests -------------------------------------------------------------------------------


@transaction.atomic
def verification_request_create(
    *,
    actor: object,
    household: Household,
    application: Application | None = None,
    authorisation_reference: str,
    items: list[str],
    requested_on: date,
) -> VerificationRequest:
    """A check request to the platform, only with the household's authorisation (无委托不核对).

    The authorisation is the application's signed 授权书 or a reference to one (number or text).
    """
    if not actor_covers_area(actor, household.area, perm=Perm.VERIFICATION_REQUEST):
        raise _denied(actor, Perm.VERIFICATION_REQUEST)
    if application is not None and application.household_id != household.pk:
        raise DomainError(code="invalid", message="申请与保障户不一致")
    reference = (authorisation_reference or "").strip()
    if not reference and application is not None and application.authorisation_signed:
        reference = f"申请书所附家庭经济状况核对授权书（申请 #{application.pk}）"
    if not reference:
        raise DomainError(
            code=VerificationErrorCode.NO_AUTHORISATION,
            message="无委托不核对：须先取得申请人签署的家庭经济状况核对授权书，并填写授权书编号或说明",
            fields={"authorisation_reference": ["请填写授权书编号或说明"]},
        )
    wanted = list(dict.fromkeys(items))
    unknown = [item for item in wanted if item not in VerificationItem.values]
    if not wanted or unknown:
        raise DomainError(
            code=VerificationErrorCode.ITEMS_INVALID,
            message="请选择核对项目" if not wanted else f"未知的核对项目：{'、'.join(unknown)}",
            fields={"items": ["请选择有效的核对项目"]},
        )
    if requested_on > timezone.localdate():
        raise DomainError(
            code="invalid",
            message="申请日期不能晚于今天",
            fields={"requested_on": ["申请日期不能晚于今天"]},
        )
    request = VerificationRequest.objects.create(
        household=household,
        application=application,
        authorisation_reference=reference[:200],
        items=wanted,
        requested_on=requested_on,
        requested_by=actor,
    )
    record(
        actor=actor,
        action="verification.request",
        obj=request,
        area=household.area,
        changes={
            "household": household.number,
            "application": application.pk if application else None,
            "items": wanted,
            "authorisation_reference": reference[:200],
        },
    )
    return request


# --- reports --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplyCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    linked: int = 0  # rows whose person is known to lowbao
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
        }


_REPORT_FIELDS = ("name", "found", "amount", "detail", "source", "person_id", "request_id")


@transaction.atomic
def verification_reports_apply(
    *,
    actor: object,
    rows: Sequence[VerificationRow],
    source: str = ReportSource.PLATFORM,
    request: VerificationRequest | None = None,
    audit_action: str = "verification.reports_apply",
    rows_kept: int = 0,
) -> ApplyCounts:
    """Upsert validated rows on (ID number, item, date): re-applying the same rows changes nothing.

    Two queries to read (persons, existing reports) and one insert … on conflict update, whatever
    the number of rows. One audit row with the counts (never an ID number). The counts also give
    the ``row`` of the first ``rows_kept`` rows created, updated and unchanged.
    """
    if not _is_system(actor) and not actor_has_perm(actor, _SOURCE_PERMS[ReportSource(source)]):
        raise DomainError(code="permission_denied", message="没有写入核对结果的权限")
    hashes = [id_number_blind_index(row.id_number) for row in rows]
    persons = dict(
        Person.objects.filter(id_number_hash__in=set(hashes)).values_list("id_number_hash", "id")
    )
    existing = {
        (report.id_number_hash, report.item, report.checked_on): report
        for report in VerificationReport.objects.select_for_update().filter(
            id_number_hash__in=set(hashes),
            item__in={row.item for row in rows},
            checked_on__in={row.checked_on for row in rows},
        )
    }
    writes: list[VerificationReport] = []
    created = updated = unchanged = linked = 0
    kept: dict[str, list[int]] = {"created": [], "updated": [], "unchanged": []}
    for row, id_hash in zip(rows, hashes, strict=True):
        old = existing.get((id_hash, row.item, row.checked_on))
        person_id = persons.get(id_hash) or (old.person_id if old else None)
        linked += person_id is not None
        new = VerificationReport(
            id_number_hash=id_hash,
            name=row.name,
            item=row.item,
            found=row.found,
            amount=row.amount,
            detail=row.detail,
            checked_on=row.checked_on,
            source=source,
            person_id=person_id,
            request_id=request.pk if request else (old.request_id if old else None),
        )
        if old is None:
            created += 1
            outcome = kept["created"]
        elif all(getattr(old, name) == getattr(new, name) for name in _REPORT_FIELDS):
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
        VerificationReport.objects.bulk_create(
            writes,
            update_conflicts=True,
            unique_fields=["id_number_hash", "item", "checked_on"],
            update_fields=[
                "name",
                "found",
                "amount",
                "detail",
                "source",
                "person",
                "request",
                "updated_at",
            ],
        )
    if request is not None and request.status != VerificationRequestStatus.REPORTED:
        request.status = VerificationRequestStatus.REPORTED
        request.save(update_fields=["status", "updated_at"])
    counts = ApplyCounts(
        created=created,
        updated=updated,
        unchanged=unchanged,
        linked=linked,
        created_rows=tuple(kept["created"]),
        updated_rows=tuple(kept["updated"]),
        unchanged_rows=tuple(kept["unchanged"]),
    )
    record(
        actor=actor,
        action=audit_action,
        obj=request,
        area=request.household.area if request else None,
        changes={"source": str(source), "rows": len(rows), **counts.as_dict()},
        actor_label="" if not _is_system(actor) else f"system:verification_{source}",
    )
    return counts


def verification_report_record(
    *,
    actor: object,
    id_number: str,
    name: str,
    item: str,
    found: bool,
    amount: Decimal | None,
    detail: str,
    checked_on: date,
    source: str = ReportSource.MANUAL,
    request: VerificationRequest | None = None,
) -> VerificationReport:
    """One result entered by hand (or returned on paper), validated like a ledger row."""
    if request is not None and not actor_covers_area(
        actor, request.household.area, perm=Perm.VERIFICATION_REQUEST
    ):
        raise _denied(actor, Perm.VERIFICATION_REQUEST)
    validation = validate_verification_rows(
        [
            {
                "身份证号": id_number,
                "姓名": name,
                "核对项目": item,
                "核对结果": bool(found),
                "金额": amount,
                "明细": detail,
                "核对日期": checked_on,
            }
        ]
    )
    if not validation.is_valid:
        raise DomainError(
            code=VerificationErrorCode.INVALID_ROWS,
            message="；".join(problem["message"] for problem in validation.errors),
            fields=validation.as_fields(),
        )
    row = validation.rows[0]
    with transaction.atomic():
        verification_reports_apply(
            actor=actor,
            rows=[row],
            source=source,
            request=request,
            audit_action="verification.report_record",
        )
        return VerificationReport.objects.get(
            id_number_hash=id_number_blind_index(row.id_number),
            item=row.item,
            checked_on=row.checked_on,
        )


def verification_link_new_person(person: Person) -> int:
    """Link the reports kept for this person's ID number before lowbao knew them.

    Call it when a person first appears (household registration, member added, registry
    import); the gate reads reports by ID-number hash, so it does not depend on it.
    """
    return VerificationReport.objects.filter(
        id_number_hash=person.id_number_hash, person__isnull=True
    ).update(person=person, updated_at=timezone.now())


@transaction.atomic(savepoint=False)  # inside the import's transaction: no savepoint round trips
def verification_link_new_persons(person_ids: Sequence[int]) -> int:
    """``verification_link_new_person`` for every person an import added to a household: one
    UPDATE per 20,000 persons. Returns the number of reports linked."""
    linked = 0
    for chunk in person_id_chunks(person_ids):
        linked += VerificationReport.objects.filter(
            person__isnull=True,
            id_number_hash__in=Person.objects.filter(pk__in=chunk).values("id_number_hash"),
        ).update(
            person_id=Subquery(
                Person.objects.filter(id_number_hash=OuterRef("id_number_hash")).values("pk")[:1]
            ),
            updated_at=timezone.now(),
        )
    return linked


def persons_joined_link(person_ids: Sequence[int]) -> None:
    """The ``AFTER_PERSONS_JOINED`` reaction of an import: per 20,000 persons one query finds
    those with unlinked verification reports, unlinked disability records or a linked record
    to copy onto their member rows; only they go through the two bulk links (usually nobody:
    one statement per import)."""
    unlinked_reports = VerificationReport.objects.filter(
        person__isnull=True, id_number_hash=OuterRef("id_number_hash")
    )
    unlinked_records = DisabilityRecord.objects.filter(
        person__isnull=True, id_number_hash=OuterRef("id_number_hash")
    )
    own_records = DisabilityRecord.objects.filter(person_id=OuterRef("pk"))
    for chunk in person_id_chunks(person_ids):
        found = list(
            Person.objects.filter(value_in(Person, "id", chunk))  # one array, not 20,000 params
            .annotate(
                report=Exists(unlinked_reports),
                record=Exists(unlinked_records) | Exists(own_records),
            )
            .filter(Q(report=True) | Q(record=True))
            .values_list("pk", "report", "record")
        )
        reports = [pk for pk, report, _ in found if report]
        records = [pk for pk, _, record in found if record]
        if reports:
            verification_link_new_persons(reports)
        if records:
            disability_link_new_persons(records)


# --- explanations ---------------------------------------------------------------------------


@transaction.atomic
def verification_explain(
    *,
    actor: object,
    application: Application,
    report: VerificationReport,
    explanation: str,
) -> VerificationExplanation:
    """书面说明 of a finding for this application; writing it again replaces the text."""
    if not actor_covers_area(actor, application.area, perm=Perm.VERIFICATION_EXPLAIN):
        raise _denied(actor, Perm.VERIFICATION_EXPLAIN)
    text = (explanation or "").strip()
    if not text:
        raise DomainError(
            code=VerificationErrorCode.EXPLANATION_MISSING,
            message="请填写书面说明",
            fields={"explanation": ["请填写书面说明"]},
        )
    member_hashes = set(
        HouseholdMember.objects.filter(household_id=application.household_id).values_list(
            "person__id_number_hash", flat=True
        )
    )
    if report.id_number_hash not in member_hashes:
        raise DomainError(
            code=VerificationErrorCode.REPORT_NOT_IN_HOUSEHOLD,
            message="该核对结果不属于本户家庭成员",
        )
    current = VerificationExplanation.objects.filter(application=application, report=report).first()
    before = current.explanation if current else None
    if current is None:
        current = VerificationExplanation.objects.create(
            application=application, report=report, explanation=text, written_by=actor
        )
    elif current.explanation != text or current.written_by_id != actor.pk:
        current.explanation, current.written_by = text, actor
        current.save(update_fields=["explanation", "written_by", "updated_at"])
    record(
        actor=actor,
        action="verification.explain",
        obj=current,
        area=application.area,
        changes={
            "application": application.pk,
            "report": report.pk,
            "item": report.item,
            "explanation": [before, text],
        },
    )
    return current


# --- status and the gate --------------------------------------------------------------------


class CellState(StrEnum):
    OK = "ok"
    MISSING = "missing"
    STALE = "stale"
    FINDING_UNEXPLAINED = "finding_unexplained"
    FINDING_EXPLAINED = "finding_explained"


CELL_STATE_LABELS = {
    CellState.OK: "已核对",
    CellState.MISSING: "缺少",
    CellState.STALE: "已过期",
    CellState.FINDING_UNEXPLAINED: "发现不符，待说明",
    CellState.FINDING_EXPLAINED: "发现不符，已说明",
}


@dataclass(frozen=True)
class Finding:
    """A report with ``found`` that contradicts the declaration of the household."""

    member: HouseholdMember
    report: VerificationReport
    reason: str
    explanation: VerificationExplanation | None

    @property
    def is_explained(self) -> bool:
        return self.explanation is not None


@dataclass(frozen=True)
class Cell:
    item: str
    state: str
    report: VerificationReport | None  # the latest report on the item, if any
    required: bool

    @property
    def label(self) -> str:
        return CELL_STATE_LABELS[CellState(self.state)]


@dataclass(frozen=True)
class MemberStatus:
    member: HouseholdMember
    cells: list[Cell]

    @property
    def masked_id(self) -> str:
        return self.member.person.id_number_masked


@dataclass
class VerificationStatus:
    """Per member × item status of one application's household on a decision date."""

    application: Application | None
    household_id: int
    on: date
    validity_days: int
    earliest: date  # reports checked before this day are stale
    items: list[str]  # the required items, in policy order
    members: list[MemberStatus] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def is_complete(self) -> bool:
        return not self.problems

    @property
    def item_labels(self) -> list[tuple[str, str]]:
        return [(item, item_label(item)) for item in self.items]

    def count(self, state: str) -> int:
        return sum(1 for row in self.members for cell in row.cells if cell.state == state)

    @property
    def missing(self) -> int:
        return self.count(CellState.MISSING) + self.count(CellState.STALE)

    @property
    def unexplained(self) -> int:
        return sum(1 for finding in self.findings if not finding.is_explained)


def _current_counted_members(household_ids: Iterable[int], on: date) -> list[HouseholdMember]:
    return list(
        HouseholdMember.objects.filter(household_id__in=list(household_ids), is_counted=True)
        .filter(Q(left_at__isnull=True) | Q(left_at__gt=on))
        .select_related("person")
        .order_by("household_id", "relation", "id")
    )


@dataclass(frozen=True)
class _Declared:
    vehicles: int = 0
    houses: int = 0
    business: bool = False
    deposits: Decimal = ZERO
    has_deposits: bool = False


def _declared_by_household(household_ids: Iterable[int]) -> dict[int, _Declared]:
    """What each household declared (exempt assets are declared too)."""
    totals: dict[int, dict[str, object]] = defaultdict(dict)
    for household_id, kind, quantity, value in HouseholdAsset.objects.filter(
        household_id__in=list(household_ids)
    ).values_list("household_id", "kind", "quantity", "value"):
        bucket = totals[household_id]
        if kind == AssetKind.VEHICLE:
            bucket["vehicles"] = int(bucket.get("vehicles", 0)) + quantity
        elif kind == AssetKind.HOUSE:
            bucket["houses"] = int(bucket.get("houses", 0)) + quantity
        elif kind == AssetKind.BUSINESS:
            bucket["business"] = True
        elif kind == AssetKind.DEPOSITS:
            bucket["deposits"] = Decimal(bucket.get("deposits", ZERO)) + value
            bucket["has_deposits"] = True
    return {household_id: _Declared(**values) for household_id, values in totals.items()}


def _who(member: HouseholdMember) -> str:
    return f"{member.person.name}（{member.person.id_number_masked}）"


def _findings(
    members: list[HouseholdMember],
    latest: dict[tuple[str, str], VerificationReport],
    declared: _Declared,
    earliest: date,
) -> list[tuple[HouseholdMember, VerificationReport, str]]:
    """Valid (not stale) latest reports with ``found`` that contradict the declaration."""

    def found(item: str) -> list[tuple[HouseholdMember, VerificationReport]]:
        rows = []
        for member in members:
            report = latest.get((member.person.id_number_hash, item))
            if report is not None and report.found and report.checked_on >= earliest:
                rows.append((member, report))
        return rows

    result = []
    if declared.vehicles == 0:
        result += [(m, r, "申报无机动车辆") for m, r in found(VerificationItem.VEHICLE)]
    if not declared.business:
        result += [(m, r, "申报无工商登记") for m, r in found(VerificationItem.BUSINESS)]
    houses = found(VerificationItem.REAL_ESTATE)
    if len(houses) > declared.houses:
        reason = f"核对发现 {len(houses)} 人名下有房产，申报房产 {declared.houses} 处"
        result += [(m, r, reason) for m, r in houses]
    deposits = found(VerificationItem.DEPOSITS)
    total = sum((r.amount or ZERO for _m, r in deposits), ZERO)
    unknown_amount = any(r.amount is None for _m, r in deposits)
    if deposits and (total > declared.deposits or (unknown_amount and not declared.has_deposits)):
        reason = f"核对存款合计 {total:.2f} 元，申报存款 {declared.deposits:.2f} 元"
        result += [(m, r, reason) for m, r in deposits if r.amount is None or r.amount > 0]
    return result


def _finding_text(member: HouseholdMember, report: VerificationReport, reason: str) -> str:
    detail = f"（{report.detail}）" if report.detail else ""
    amount = f"，金额 {report.amount:.2f} 元" if report.amount is not None else ""
    return f"{_who(member)}“{item_label(report.item)}”核对为有{detail}{amount}，{reason}"


def _build_status(
    *,
    application: Application | None,
    household_id: int,
    on: date,
    validity_days: int,
    items: list[str],
    members: list[HouseholdMember],
    reports: list[VerificationReport],
    declared: _Declared,
    explanations: dict[int, VerificationExplanation],
) -> VerificationStatus:
    earliest = on - timedelta(days=validity_days)
    latest: dict[tuple[str, str], VerificationReport] = {}
    for report in sorted(reports, key=lambda r: (r.checked_on, r.pk)):
        latest[(report.id_number_hash, report.item)] = report
    status = VerificationStatus(
        application=application,
        household_id=household_id,
        on=on,
        validity_days=validity_days,
        earliest=earliest,
        items=items,
    )
    findings = _findings(members, latest, declared, earliest)
    finding_reports = {report.pk for _m, report, _reason in findings}
    for member in members:
        cells = []
        for item in items:
            report = latest.get((member.person.id_number_hash, item))
            if report is None:
                state = CellState.MISSING
                status.problems.append(
                    f"{_who(member)}缺少“{item_label(item)}”核对结果（须为 {validity_days} 天内）"
                )
            elif report.checked_on < earliest:
                state = CellState.STALE
                status.problems.append(
                    f"{_who(member)}的“{item_label(item)}”核对结果已过期"
                    f"（{report.checked_on:%Y-%m-%d} 核对，须为 {validity_days} 天内）"
                )
            elif report.pk in finding_reports:
                state = (
                    CellState.FINDING_EXPLAINED
                    if report.pk in explanations
                    else CellState.FINDING_UNEXPLAINED
                )
            else:
                state = CellState.OK
            cells.append(Cell(item=item, state=state, report=report, required=True))
        status.members.append(MemberStatus(member=member, cells=cells))
    for member, report, reason in findings:
        finding = Finding(
            member=member, report=report, reason=reason, explanation=explanations.get(report.pk)
        )
        status.findings.append(finding)
        if not finding.is_explained:
            status.problems.append(
                f"须对核对发现作出书面说明：{_finding_text(member, report, reason)}"
            )
    return status


def _required_items(policy: object) -> list[str]:
    items = getattr(policy, "verification_required_items", None) or []
    return [item for item in dict.fromkeys(items) if item in VerificationItem.values]


@dataclass(frozen=True)
class _Subject:
    """What a status is computed for: a household on behalf of an application (or of a 复核)."""

    key: int
    household_id: int
    area: object
    application: Application | None


def _statuses(subjects: list[_Subject], on: date) -> dict[int, VerificationStatus]:
    """Status of many households: a fixed number of queries plus one policy lookup per area."""
    if not subjects:
        return {}
    household_ids = {subject.household_id for subject in subjects}
    members_by_household: dict[int, list[HouseholdMember]] = defaultdict(list)
    for member in _current_counted_members(household_ids, on):
        members_by_household[member.household_id].append(member)
    hashes = {
        member.person.id_number_hash for rows in members_by_household.values() for member in rows
    }
    reports_by_hash: dict[str, list[VerificationReport]] = defaultdict(list)
    for report in VerificationReport.objects.filter(id_number_hash__in=hashes):
        reports_by_hash[report.id_number_hash].append(report)
    declared = _declared_by_household(household_ids)
    explanations: dict[int, dict[int, VerificationExplanation]] = defaultdict(dict)
    application_ids = [s.application.pk for s in subjects if s.application is not None]
    for explanation in VerificationExplanation.objects.filter(application_id__in=application_ids):
        explanations[explanation.application_id][explanation.report_id] = explanation
    policies: dict[int, object] = {}
    result = {}
    for subject in subjects:
        if subject.area.pk not in policies:
            policies[subject.area.pk] = policy_for(subject.area, on)
        policy = policies[subject.area.pk]
        members = members_by_household[subject.household_id]
        result[subject.key] = _build_status(
            application=subject.application,
            household_id=subject.household_id,
            on=on,
            validity_days=policy.verification_validity_days,
            items=_required_items(policy),
            members=members,
            reports=[
                report
                for member in members
                for report in reports_by_hash[member.person.id_number_hash]
            ],
            declared=declared.get(subject.household_id, _Declared()),
            explanations=(
                explanations[subject.application.pk] if subject.application is not None else {}
            ),
        )
    return result


def _subject(application: Application) -> _Subject:
    return _Subject(
        key=application.pk,
        household_id=application.household_id,
        area=application.area,
        application=application,
    )


def verification_status(*, application: Application, on: date | None = None) -> VerificationStatus:
    """Per member × item: ok / missing / stale / finding (explained or not), and the problems
    that block approval on ``on`` (default today)."""
    on = on or timezone.localdate()
    return _statuses([_subject(application)], on)[application.pk]


def verification_gate(application: Application, decision_date: date) -> list[str]:
    """APPROVAL_GATES hook (逢救必核): what blocks the county approval, in Chinese."""
    return verification_status(application=application, on=decision_date).problems


def household_verification_status(*, household: Household, on: date) -> VerificationStatus:
    """The same check for a household outside an application (the annual 复核): findings are
    listed but there is no application to hold their explanations."""
    subject = _Subject(
        key=household.pk, household_id=household.pk, area=household.area, application=None
    )
    return _statuses([subject], on)[household.pk]


def households_verification_status(
    *, households: Iterable[Household], on: date
) -> dict[int, VerificationStatus]:
    """``household_verification_status`` for many households at once (household id → status):
    a fixed number of queries plus one policy lookup per area."""
    subjects = [
        _Subject(key=household.pk, household_id=household.pk, area=household.area, application=None)
        for household in households
    ]
    return _statuses(subjects, on)


# --- reads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorklistRow:
    application: Application
    status: VerificationStatus


def verification_worklist(
    *,
    actor: object,
    on: date | None = None,
    statuses: Sequence[str] = AWAITING_COUNTY,
    area_path: str | None = None,
    include_complete: bool = False,
) -> list[WorklistRow]:
    """Applications (scoped to the actor) whose verification is incomplete or has unexplained
    findings, oldest deadline first. Queries do not grow with the number of applications (one
    policy lookup per village); the status is computed in memory for at most 1,000 applications
    at the chosen stages, which is far more than a county has awaiting review at once."""
    on = on or timezone.localdate()
    queryset = scope_to_actor(
        Application.objects.select_related("household", "area", "area__parent"),
        actor=actor,
        perm=Perm.VERIFICATION_VIEW,
    ).filter(status__in=list(statuses))
    if area_path:
        queryset = queryset.filter(area__path__startswith=area_path)
    applications = list(queryset.order_by("due_on", "id")[:1000])
    statuses_by_id = _statuses([_subject(application) for application in applications], on)
    return [
        WorklistRow(application=application, status=statuses_by_id[application.pk])
        for application in applications
        if include_complete or not statuses_by_id[application.pk].is_complete
    ]


def verification_reports_for_application(*, application: Application) -> list[VerificationReport]:
    """Every report on the household's current members, newest first (caller checks access)."""
    hashes = HouseholdMember.objects.filter(
        household_id=application.household_id, left_at__isnull=True
    ).values("person__id_number_hash")
    return list(
        VerificationReport.objects.filter(id_number_hash__in=hashes).order_by(
            "-checked_on", "item", "-id"
        )
    )


def verification_requests_for_application(*, application: Application) -> list[VerificationRequest]:
    return list(
        VerificationRequest.objects.filter(household_id=application.household_id)
        .select_related("requested_by")
        .order_by("-requested_on", "-id")
    )


# --- hooks ----------------------------------------------------------------------------------


def verification_link_household(application: Application, actor: object, today: date) -> None:
    """AFTER_ACCEPT hook: link reports and disability records kept for the members' ID numbers
    before lowbao knew them (the persons of an accepted application are now known)."""
    persons = Person.objects.filter(
        pk__in=HouseholdMember.objects.filter(household_id=application.household_id).values(
            "person_id"
        )
    )
    for person in persons:
        verification_link_new_person(person)
        disability_link_new_person(person)


def demo_verify_household(application: Application, day: date) -> None:
    """DEMO_BEFORE_DECISION hook: the platform answers "无" on every required item."""
    policy = policy_for(application.area, day)
    rows = [
        VerificationRow(
            row=index,
            id_number=member.person.id_number,
            name=member.person.name,
            item=item,
            found=False,
            amount=None,
            detail="",
            checked_on=day,
        )
        for index, (member, item) in enumerate(
            (
                (member, item)
                for member in _current_counted_members([application.household_id], day)
                for item in _required_items(policy)
            ),
            start=1,
        )
    ]
    if rows:
        verification_reports_apply(actor=None, rows=rows, source=ReportSource.PLATFORM)


HOOKS = [
    ("AFTER_PERSON_JOINED", verification_link_new_person),
    ("AFTER_PERSONS_JOINED", persons_joined_link),
    ("APPROVAL_GATES", verification_gate),
    ("AFTER_ACCEPT", verification_link_household),
    ("DEMO_BEFORE_DECISION", demo_verify_household),
]
