"""The run's findings and the items' ``last_run`` have no database foreign-key constraint (the
row-by-row checks cost a province run ~5 s at commit, quality.md P5); the set-based writer keeps
them consistent by construction, and the ORM still governs deletion. These tests hold it to that."""

from datetime import timedelta

import pytest
from django.db.models import ProtectedError

from review.models import ReconciliationFinding, ReconciliationItem, ReconciliationRun
from tests.review.test_reconciliation_carry_over import reconcile

pytestmark = pytest.mark.django_db


def orphans() -> tuple[int, int, int]:
    runs = ReconciliationRun.objects.values("pk")
    items = ReconciliationItem.objects.values("pk")
    return (
        ReconciliationFinding.objects.exclude(run_id__in=runs).count(),
        ReconciliationFinding.objects.exclude(item_id__in=items).count(),
        ReconciliationItem.objects.exclude(last_run_id__in=runs).count(),
    )


def test_runs_that_find_items_again_leave_no_dangling_reference(findings_world):
    first = reconcile(findings_world)
    second = reconcile(findings_world, as_of=first.as_of + timedelta(days=1))

    assert orphans() == (0, 0, 0)
    found = ReconciliationItem.objects.count()
    assert found > 0
    assert ReconciliationFinding.objects.filter(run=first).count() == found
    assert ReconciliationFinding.objects.filter(run=second).count() == found
    assert set(ReconciliationItem.objects.values_list("last_run_id", flat=True)) == {second.pk}


def test_a_run_whose_items_point_at_it_cannot_be_deleted(findings_world):
    run = reconcile(findings_world)

    with pytest.raises(ProtectedError):
        run.delete()

    assert ReconciliationRun.objects.filter(pk=run.pk).exists()
    assert orphans() == (0, 0, 0)


def test_an_item_with_findings_cannot_be_deleted(findings_world):
    reconcile(findings_world)
    item = ReconciliationItem.objects.order_by("pk").first()

    with pytest.raises(ProtectedError):
        item.delete()

    assert ReconciliationFinding.objects.filter(item=item).count() == 1
