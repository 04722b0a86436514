"""registry_snapshot_apply: create, update, unchanged, leaving the registry (never deleted),
partial pushes, idempotency, order of snapshots; registry_households_on and snapshot_diff."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.choices import LabourCapacity
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from lowbao.people.models import Person
from lowbao.people.protection import id_number_blind_index
from lowbao.people.services import person_upsert
from poverty.choices import PovertyAttribute, SnapshotSource
from poverty.models import (
    DataQualityIssue,
    RegistryHousehold,
    RegistryMember,
    RegistrySnapshot,
    RegistrySnapshotEntry,
    RegistrySnapshotMember,
)
from poverty.selectors import registry_households_on, snapshot_diff
from poverty.services import registry as registry_services
from poverty.services.registry import registry_snapshot_apply
from poverty.validation import validate_registry_rows
from tests.lowbao.people.factories import make_id_number
from tests.poverty.registry.conftest import (
    FIRST_SNAPSHOT,
    SECOND_SNAPSHOT,
    household_rows,
    person_by_id_number,
    person_row,
)

pytestmark = pytest.mark.django_db

THIRD_SNAPSHOT = date(2026, 7, 15)
TABLES = (
    Person,
    RegistrySnapshot,
    RegistryHousehold,
    RegistryMember,
    RegistrySnapshotEntry,
    RegistrySnapshotMember,
    DataQualityIssue,
    AuditEvent,
)


def table_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in TABLES}


def household(number: str) -> RegistryHousehold:
    return RegistryHousehold.objects.get(number=number)


def changes(snapshot: RegistrySnapshot) -> dict[str, str]:
    return dict(snapshot.entries.values_list("household__number", "change"))


@pytest.fixture
def first(areas, apply_rows, make_user):
    """Three households applied on 15 January; returns (snapshot, rows by household)."""
    rows = {number: household_rows(number, size=2) for number in ("H1", "H2", "H3")}
    actor = make_user(role="data_admin", area=areas.county)
    snapshot = apply_rows([row for group in rows.values() for row in group], actor=actor)
    return snapshot, rows


def test_first_snapshot_creates_households_members_persons_and_entries(first, areas):
    snapshot, rows = first

    assert (snapshot.household_count, snapshot.person_count) == (3, 6)
    assert (snapshot.created_count, snapshot.updated_count) == (3, 0)
    assert (snapshot.unchanged_count, snapshot.left_count) == (0, 0)
    assert snapshot.replayed is False
    assert snapshot.source == SnapshotSource.IMPORT
    assert snapshot.is_partial is False
    assert changes(snapshot) == {"H1": "created", "H2": "created", "H3": "created"}
    h1 = household("H1")
    assert (h1.county, h1.area, h1.attribute) == (areas.county, areas.village, "general")
    assert h1.annual_income_per_capita == Decimal("3200.00")
    assert (h1.in_registry, h1.left_registry_on) == (True, None)
    assert h1.first_snapshot == h1.last_snapshot == snapshot
    head_id = rows["H1"][0]["证件号码"]
    head = person_by_id_number(head_id)
    assert head.id_number == head_id
    assert head.id_number_hash == id_number_blind_index(head_id)
    assert (head.name, head.sex, head.ethnicity) == (rows["H1"][0]["姓名"], "男", "02")
    assert list(h1.members.values_list("person_id", "relation", "labour_capacity")) == [
        (head.pk, "01", LabourCapacity.ORDINARY),
        (person_by_id_number(rows["H1"][1]["证件号码"]).pk, "02", LabourCapacity.ORDINARY),
    ]
    entry = snapshot.entries.get(household=h1)
    assert entry.members.count() == 2
    assert len(entry.data_hash) == 64
    assert head_id not in entry.data_hash


def test_apply_writes_one_audit_row_with_counts_and_no_row_per_person(first):
    snapshot, _ = first

    events = AuditEvent.objects.filter(object_type="poverty.registrysnapshot")
    assert AuditEvent.objects.filter(action__startswith="person.").count() == 0
    assert events.count() == 1
    event = events.get()
    assert event.action == "registry.snapshot_apply"
    assert event.object_id == str(snapshot.pk)
    assert event.area_code == "150121000000"
    assert event.actor_id == snapshot.created_by_id
    assert event.changes == {
        "snapshot_date": "2026-01-15",
        "source": "import",
        "source_name": "tests.xlsx",
        "partial": False,
        "households": 3,
        "persons": 6,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "left": 0,
        "persons_created": 6,
        "persons_renamed": [],
        "quality_issues": 0,
    }


def test_second_snapshot_updates_keeps_unchanged_and_marks_absent_households_as_left(
    first, apply_rows
):
    _, rows = first
    kept_member = RegistryMember.objects.get(household__number="H2", relation="01")
    dropped_spouse = person_by_id_number(rows["H2"][1]["证件号码"])
    changed = [
        {**rows["H2"][0], "贫困户属性": "低保贫困户", "劳动能力": "弱劳动力"},
        person_row(household="H2", relation="子", cells={"贫困户属性": "低保贫困户"}),
    ]
    second = apply_rows([*rows["H1"], *changed, *household_rows("H4", size=1)], on=SECOND_SNAPSHOT)

    assert (second.created_count, second.updated_count) == (1, 1)
    assert (second.unchanged_count, second.left_count) == (1, 1)
    assert changes(second) == {"H1": "unchanged", "H2": "updated", "H4": "created"}
    h2 = household("H2")
    assert h2.attribute == PovertyAttribute.DIBAO
    assert h2.last_snapshot == second
    assert sorted(h2.members.values_list("relation", flat=True)) == ["01", "03"]
    assert not h2.members.filter(person=dropped_spouse).exists()
    head = h2.members.get(relation="01")
    assert (head.pk, head.labour_capacity) == (kept_member.pk, LabourCapacity.WEAK)
    h3 = household("H3")
    assert (h3.in_registry, h3.left_registry_on) == (False, SECOND_SNAPSHOT)
    assert h3.members.count() == 2  # never deleted
    assert household("H1").last_snapshot == second


def test_a_household_that_left_and_comes_back_is_updated_and_in_the_registry_again(
    first, apply_rows
):
    _, rows = first
    apply_rows([*rows["H1"], *rows["H2"]], on=SECOND_SNAPSHOT)

    third = apply_rows([*rows["H1"], *rows["H2"], *rows["H3"]], on=THIRD_SNAPSHOT)

    assert changes(third) == {"H1": "unchanged", "H2": "unchanged", "H3": "updated"}
    h3 = household("H3")
    assert (h3.in_registry, h3.left_registry_on) == (True, None)


def test_partial_push_updates_the_listed_households_and_marks_nobody_as_left(first, apply_rows):
    _, rows = first
    update = [{**row, "脱贫状态": "已脱贫", "脱贫年度": "2026"} for row in rows["H1"]]

    partial = apply_rows([*update, *household_rows("H5")], on=SECOND_SNAPSHOT, partial=True)

    assert partial.is_partial
    assert (partial.created_count, partial.updated_count, partial.left_count) == (1, 1, 0)
    assert household("H1").poverty_status == "out"
    assert household("H1").exit_year == 2026
    assert RegistryHousehold.objects.filter(in_registry=True).count() == 4


def test_same_content_again_returns_the_same_snapshot_and_writes_nothing(first, apply_rows):
    snapshot, rows = first
    before = table_counts()
    reordered = [rows["H3"][1], rows["H3"][0], *rows["H2"], *reversed(rows["H1"])]

    again = apply_rows(reordered)

    assert again.pk == snapshot.pk
    assert again.replayed is True
    assert table_counts() == before


def test_same_content_after_another_snapshot_of_that_date_is_applied_again(first, apply_rows):
    snapshot, rows = first
    apply_rows([*rows["H1"], *rows["H2"]])  # a corrected export of the same day: H3 left

    again = apply_rows([row for group in rows.values() for row in group])

    assert again.pk != snapshot.pk
    assert again.replayed is False
    assert changes(again) == {"H1": "unchanged", "H2": "unchanged", "H3": "updated"}
    assert household("H3").in_registry


def test_same_content_on_a_later_date_is_a_new_snapshot_with_everything_unchanged(
    first, apply_rows
):
    snapshot, rows = first

    later = apply_rows([row for group in rows.values() for row in group], on=SECOND_SNAPSHOT)

    assert later.pk != snapshot.pk
    assert (later.created_count, later.updated_count) == (0, 0)
    assert (later.unchanged_count, later.left_count) == (3, 0)


def test_a_snapshot_dated_before_the_latest_is_refused(first, apply_rows, areas):
    _, rows = first
    apply_rows(rows["H1"], on=SECOND_SNAPSHOT)
    before = table_counts()

    with pytest.raises(DomainError) as refused:
        apply_rows(rows["H2"], on=date(2026, 2, 1))

    assert refused.value.code == "snapshot_out_of_order"
    assert refused.value.status == 409
    assert refused.value.message == (
        "快照日期 2026-02-01 早于土默特左旗最近一次快照 2026-04-15，请按日期顺序导入"
    )
    assert table_counts() == before


def test_a_failure_while_writing_leaves_the_database_unchanged(first, apply_rows, monkeypatch):
    _, rows = first
    before = table_counts()

    def broken(*, snapshot):
        raise RuntimeError("boom")

    monkeypatch.setattr(registry_services, "quality_check_snapshot", broken)
    with pytest.raises(RuntimeError):
        apply_rows([*rows["H1"], *household_rows("H9")], on=SECOND_SNAPSHOT)

    assert table_counts() == before
    assert household("H2").in_registry


def test_existing_persons_are_reused_and_renamed_like_person_upsert(areas, apply_rows):
    id_number = make_id_number()
    person, _ = person_upsert(actor=None, id_number=id_number, name="旧名字")

    snapshot = apply_rows([person_row(household="H1", id_number=id_number, name="新名字")])

    person.refresh_from_db()
    assert person.name == "新名字"
    assert person.ethnicity == "02"
    assert RegistryMember.objects.get().person == person
    event = AuditEvent.objects.get(action="registry.snapshot_apply")
    assert event.changes["persons_created"] == 0
    assert event.changes["persons_renamed"] == [{"person": person.pk, "name": ["旧名字", "新名字"]}]
    assert snapshot.person_count == 1


def test_a_county_code_that_is_not_a_county_is_refused(areas):
    result = validate_registry_rows(household_rows("H1"), county=areas.county)

    with pytest.raises(DomainError) as refused:
        registry_snapshot_apply(
            actor=None,
            county=areas.township,
            households=result.households,
            snapshot_date=FIRST_SNAPSHOT,
            source=SnapshotSource.API,
        )

    assert refused.value.code == "invalid"
    assert RegistrySnapshot.objects.count() == 0


def _apply_size(apply_rows, households: int, on: date) -> int:
    rows = [
        row for index in range(households) for row in household_rows(f"Q{on:%m}{index}", size=3)
    ]
    with CaptureQueriesContext(connection) as queries:
        apply_rows(rows, on=on)
    return len(queries)


def test_apply_queries_do_not_grow_with_the_number_of_households(areas, apply_rows):
    """Below the database's batch size (SQLite: 999 parameters per insert, so about 70 members
    per batch; bulk inserts then take one more query per batch)."""
    small = _apply_size(apply_rows, 2, FIRST_SNAPSHOT)
    large = _apply_size(apply_rows, 20, SECOND_SNAPSHOT)  # also marks the 2 as left

    assert large == small


# --- the registry on a date ------------------------------------------------------------------


def test_registry_on_a_date_is_the_latest_snapshot_dated_on_or_before_it(first, apply_rows, areas):
    first_snapshot, rows = first
    changed = [{**row, "贫困户属性": "低保贫困户"} for row in rows["H2"]]
    second = apply_rows([*rows["H1"], *changed], on=SECOND_SNAPSHOT)

    def numbers_on(on: date) -> dict[str, str]:
        return {
            entry.household.number: entry.attribute
            for entry in registry_households_on(county=areas.county, on=on)
        }

    assert numbers_on(date(2026, 1, 14)) == {}
    assert numbers_on(FIRST_SNAPSHOT) == {"H1": "general", "H2": "general", "H3": "general"}
    assert numbers_on(date(2026, 4, 14)) == {"H1": "general", "H2": "general", "H3": "general"}
    assert numbers_on(SECOND_SNAPSHOT) == {"H1": "general", "H2": "dibao"}
    assert numbers_on(date(2027, 1, 1)) == {"H1": "general", "H2": "dibao"}
    entry = next(e for e in registry_households_on(county=areas.county, on=SECOND_SNAPSHOT))
    assert entry.snapshot == second
    assert {member.person.name for member in entry.members.all()} == {
        rows["H1"][0]["姓名"],
        rows["H1"][1]["姓名"],
    }
    assert first_snapshot.pk < second.pk


def test_registry_on_a_date_adds_partial_pushes_to_the_last_full_snapshot(
    first, apply_rows, areas, django_assert_num_queries
):
    _, rows = first
    changed = [{**row, "脱贫状态": "返贫"} for row in rows["H3"]]
    apply_rows([*changed, *household_rows("H6")], on=SECOND_SNAPSHOT, partial=True)

    with django_assert_num_queries(4):  # base snapshot, snapshot ids, entries, members
        entries = list(registry_households_on(county=areas.county, on=SECOND_SNAPSHOT))

    by_number = {entry.household.number: entry for entry in entries}
    assert sorted(by_number) == ["H1", "H2", "H3", "H6"]
    assert by_number["H3"].poverty_status == "returned"
    assert by_number["H1"].poverty_status == "not_out"
    assert [
        e.household.number for e in registry_households_on(county=areas.county, on=FIRST_SNAPSHOT)
    ] == [
        "H1",
        "H2",
        "H3",
    ]


def test_registry_on_a_date_is_per_county(first, areas):
    assert list(registry_households_on(county=areas.sibling_county, on=date(2027, 1, 1))) == []


# --- diff ------------------------------------------------------------------------------------


def test_snapshot_diff_lists_household_numbers_by_change(first, apply_rows):
    first_snapshot, rows = first
    changed = [{**row, "帮扶责任人": "赵六"} for row in rows["H2"]]
    second = apply_rows([*rows["H1"], *changed, *household_rows("H4")], on=SECOND_SNAPSHOT)

    diff = snapshot_diff(older=first_snapshot, newer=second)

    assert (diff.created, diff.updated, diff.left, diff.unchanged) == (
        ["H4"],
        ["H2"],
        ["H3"],
        ["H1"],
    )
    initial = snapshot_diff(older=None, newer=first_snapshot)
    assert (initial.created, initial.updated, initial.left) == (["H1", "H2", "H3"], [], [])


def test_snapshot_diff_of_a_partial_push_has_nobody_leaving(first, apply_rows):
    first_snapshot, rows = first
    partial = apply_rows(rows["H1"], on=SECOND_SNAPSHOT, partial=True)

    diff = snapshot_diff(older=first_snapshot, newer=partial)

    assert (diff.created, diff.updated, diff.left, diff.unchanged) == ([], [], [], ["H1"])


def test_snapshot_diff_refuses_two_counties(first, apply_rows, areas):
    first_snapshot, _ = first
    rows = household_rows("T1", village_code="150122100201")
    other = apply_rows(rows, county=areas.sibling_county)

    with pytest.raises(ValueError, match="same county"):
        snapshot_diff(older=first_snapshot, newer=other)
