"""Items carry over from run to run with their resolution and history (reconciliation.md
"What a run produces"; quality.md R2: re-running gives the same items, no duplicates)."""

from datetime import date

import pytest
from django.utils import timezone

from poverty.choices import PovertyAttribute as A
from review.models import (
    ItemEvent,
    ItemState,
    ReconciliationFinding,
    ReconciliationItem,
    RunStatus,
    RunTrigger,
)
from review.models import ReconciliationCategory as C
from review.services.reconciliation import reconciliation_run_now, reconciliation_sweep_run
from tests.fixtures.reconciliation import AS_OF

pytestmark = pytest.mark.django_db

E = ItemEvent.Action


def reconcile(ledgers, county=None, as_of=AS_OF):
    run = reconciliation_run_now(
        actor=None, county=county or ledgers.areas.county, as_of=as_of, trigger=RunTrigger.COMMAND
    )
    assert run.status == RunStatus.FINISHED, run.error
    return run


def item_rows() -> list[tuple]:
    return list(
        ReconciliationItem.objects.order_by("pk").values_list(
            "pk",
            "county_id",
            "category",
            "key",
            "township_id",
            "dibao_household_id",
            "registry_household_id",
            "dibao_numbers",
            "registry_numbers",
            "person_ids",
            "details",
            "state",
            "first_run_id",
        )
    )


def events(item: ReconciliationItem) -> list[tuple]:
    return list(
        item.events.order_by("at", "id").values_list("action", "state_from", "state_to", "run_id")
    )


def test_a_second_run_for_the_same_county_and_date_gives_the_same_items(findings_world):
    first = reconcile(findings_world)
    before = item_rows()

    second = reconcile(findings_world)

    assert item_rows() == before
    assert len(before) == 10
    assert second.counts == first.counts
    assert set(
        ReconciliationFinding.objects.filter(run=second).values_list("item_id", flat=True)
    ) == {row[0] for row in before}
    # open items found again need no event: the findings record it
    assert set(ItemEvent.objects.values_list("action", flat=True)) == {E.FOUND}
    assert ItemEvent.objects.count() == 10


def test_a_sweep_gives_the_same_items_as_the_county_runs_one_by_one(findings_world):
    reconcile(findings_world)
    reconcile(findings_world, county=findings_world.areas.sibling_county)
    before = item_rows()

    sweep, runs = reconciliation_sweep_run(actor=None, as_of=AS_OF, trigger=RunTrigger.COMMAND)

    assert [run.county for run in runs] == [
        findings_world.areas.county,
        findings_world.areas.sibling_county,
    ]
    assert all(run.status == RunStatus.FINISHED for run in runs)
    assert item_rows() == before
    assert (sweep.status, sweep.counties_done, sweep.counties_total) == (RunStatus.FINISHED, 2, 2)


def test_a_resolved_item_found_again_stays_resolved_with_a_found_again_event(ledgers, make_user):
    registry = ledgers.registry((ledgers.person(), "lost"), attribute=A.DIBAO, income="3000.00")
    first = reconcile(ledgers)
    item = ReconciliationItem.objects.get(category=C.REGISTRY_DIBAO_MISSING)
    resolver = make_user()
    resolved_at = timezone.now()
    ReconciliationItem.objects.filter(pk=item.pk).update(
        state=ItemState.VERIFIED,
        resolved_by=resolver,
        resolved_at=resolved_at,
        resolution_note="已入户核实",
        details={**item.details, "referral_id": 7},
    )

    second = reconcile(ledgers)

    item.refresh_from_db()
    assert item.state == ItemState.VERIFIED
    assert (item.resolved_by, item.resolved_at, item.resolution_note) == (
        resolver,
        resolved_at,
        "已入户核实",
    )
    assert (item.first_run_id, item.last_run_id) == (first.pk, second.pk)
    assert item.details["referral_id"] == 7
    assert item.registry_household == registry
    assert events(item) == [
        (E.FOUND, "", ItemState.OPEN, first.pk),
        (E.FOUND_AGAIN, ItemState.VERIFIED, ItemState.VERIFIED, second.pk),
    ]
    assert ReconciliationFinding.objects.filter(item=item).count() == 2


def test_a_finding_that_disappears_is_closed_by_the_data(ledgers):
    registry = ledgers.registry(ledgers.person(), attribute=A.DIBAO)
    kept = ledgers.registry(ledgers.person(), attribute=A.TEKUN)
    first = reconcile(ledgers)
    gone = ReconciliationItem.objects.get(key=registry.number)
    ledgers.snapshot(on=date(2026, 6, 20), partial=True)
    ledgers.registry(registry.members.get().person, number=registry.number, attribute=A.GENERAL)

    second = reconcile(ledgers)

    gone.refresh_from_db()
    assert gone.state == ItemState.CLOSED_BY_DATA
    assert gone.last_run_id == first.pk
    assert events(gone)[-1] == (
        E.CLOSED_BY_DATA,
        ItemState.OPEN,
        ItemState.CLOSED_BY_DATA,
        second.pk,
    )
    assert set(
        ReconciliationFinding.objects.filter(run=second).values_list("item__key", flat=True)
    ) == {kept.number}
    assert second.counts[C.REGISTRY_DIBAO_MISSING] == 1


def test_a_resolved_item_that_disappears_is_closed_by_the_data_and_keeps_its_resolver(
    ledgers, make_user
):
    dibao = ledgers.dibao(ledgers.person(), income="100.00")
    reconcile(ledgers)
    resolver = make_user()
    ReconciliationItem.objects.filter(key=dibao.number).update(
        state=ItemState.REFERRED, resolved_by=resolver, resolution_note="已移交扶贫部门"
    )
    dibao.per_capita_income_monthly = 500
    dibao.save(update_fields=["per_capita_income_monthly"])

    second = reconcile(ledgers)

    item = ReconciliationItem.objects.get(key=dibao.number)
    assert (item.state, item.resolved_by, item.resolution_note) == (
        ItemState.CLOSED_BY_DATA,
        resolver,
        "已移交扶贫部门",
    )
    assert events(item)[-1] == (
        E.CLOSED_BY_DATA,
        ItemState.REFERRED,
        ItemState.CLOSED_BY_DATA,
        second.pk,
    )


def test_a_closed_item_found_again_is_reopened(ledgers, make_user):
    dibao = ledgers.dibao(ledgers.person(), income="100.00")
    first = reconcile(ledgers)
    ReconciliationItem.objects.filter(key=dibao.number).update(
        state=ItemState.VERIFIED, resolved_by=make_user(), resolution_note="核实"
    )
    dibao.per_capita_income_monthly = 500
    dibao.save(update_fields=["per_capita_income_monthly"])
    second = reconcile(ledgers)
    dibao.per_capita_income_monthly = 100
    dibao.save(update_fields=["per_capita_income_monthly"])

    third = reconcile(ledgers)

    item = ReconciliationItem.objects.get(key=dibao.number)
    assert (item.state, item.resolved_by, item.resolution_note) == (ItemState.OPEN, None, "")
    assert (item.first_run_id, item.last_run_id) == (first.pk, third.pk)
    assert events(item) == [
        (E.FOUND, "", ItemState.OPEN, first.pk),
        (E.CLOSED_BY_DATA, ItemState.VERIFIED, ItemState.CLOSED_BY_DATA, second.pk),
        (E.REOPENED, ItemState.CLOSED_BY_DATA, ItemState.OPEN, third.pk),
    ]
    assert ReconciliationItem.objects.count() == 1


def test_a_carried_over_item_follows_the_data(ledgers):
    a, b = ledgers.person(), ledgers.person()
    dibao = ledgers.dibao(a, b)
    registry = ledgers.registry(a, attribute=A.DIBAO)
    reconcile(ledgers)
    item = ReconciliationItem.objects.get(category=C.MEMBER_MISMATCH)
    assert item.details == {"only_in_dibao": [b.pk], "only_in_registry": []}
    c = ledgers.person()
    ledgers.snapshot(on=date(2026, 6, 20))
    ledgers.registry(a, c, number=registry.number, attribute=A.DIBAO)

    reconcile(ledgers)

    item.refresh_from_db()
    assert item.key == f"{dibao.number}|{registry.number}"
    assert item.details == {"only_in_dibao": [b.pk], "only_in_registry": [c.pk]}
    assert item.person_ids == sorted([b.pk, c.pk])
    assert ReconciliationItem.objects.count() == 1


def test_a_county_run_leaves_the_items_of_other_counties_alone(ledgers):
    elsewhere = ledgers.dibao(
        ledgers.person(), income="10.00", village=ledgers.areas.other_county_village
    )
    reconcile(ledgers, county=ledgers.areas.sibling_county)
    elsewhere.per_capita_income_monthly = 500
    elsewhere.save(update_fields=["per_capita_income_monthly"])

    reconcile(ledgers)

    assert ReconciliationItem.objects.get(key=elsewhere.number).state == ItemState.OPEN
