"""The reconciliation in the browser: a township caseworker opens the worklist from the menu,
resolves an item with a note, and the county officer sees it on the summary with the chart — and
follows a run's progress (polled) until it finishes."""

from datetime import date

import pytest
from django.utils import timezone

from lowbao.people.masking import mask_id_number
from review.models import ItemState, ReconciliationItem, ReconciliationRun, RunStatus
from tests.e2e.navigation import open_menu
from tests.fixtures.review_items import make_run

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_township_resolves_an_item_and_the_county_sees_the_summary(
    open_as, live_server, recon, areas, screenshot
):
    caseworker = open_as("cw")
    open_menu(caseworker, "台账比对")
    caseworker.wait_for_selector("#reconciliation-items")
    row = caseworker.locator(f"#item-{recon.own_item.pk}")
    assert "贫困户属性与低保状态不符" in row.inner_text()
    assert mask_id_number(recon.own_id_number) in row.inner_text()
    assert recon.own_id_number not in caseworker.content()
    assert caseworker.locator("#reconciliation-items tbody tr").count() == 4
    screenshot("reconciliation_worklist", caseworker)

    row.get_by_role("link", name="处理").click()
    caseworker.wait_for_selector("#resolve-form")
    caseworker.select_option("#resolve-form [name=state]", ItemState.CORRECTED)
    caseworker.fill("#resolve-form [name=note]", "已与扶贫办核对，贫困户属性已更正为低保贫困户")
    caseworker.click("#resolve-form button[type=submit]")
    caseworker.wait_for_selector("#reopen-form")
    assert caseworker.inner_text("#item-state") == "已更正"
    assert "已与扶贫办核对" in caseworker.inner_text("#item-events")
    item = ReconciliationItem.objects.get(pk=recon.own_item.pk)
    assert (item.state, item.resolved_by.get_username()) == (ItemState.CORRECTED, "cw")

    county = open_as("ca")
    open_menu(county, "台账比对")
    county.wait_for_selector("#category-chart")
    assert county.inner_text("#summary-county") == "土默特左旗"
    assert county.locator("#category-chart g.bar").count() == 10
    township_row = county.locator("#township-counts tr", has_text=areas.township.name)
    assert township_row.locator("td").last.inner_text() == "4（3）"
    assert county.locator("#run-start-form button").is_enabled()
    screenshot("reconciliation_summary", county)

    # A run in progress: the page polls its progress and reloads once it has finished.
    running = make_run(areas.county, as_of=date(2025, 7, 1), status=RunStatus.RUNNING, progress=20)
    county.reload()
    assert county.inner_text(f"#run-{running.pk} .run-progress-text") == "20%"
    assert county.locator("#run-start-form button").is_disabled()
    ReconciliationRun.objects.filter(pk=running.pk).update(progress=70, step="写入比对结果")
    county.locator(f"#run-{running.pk} .run-progress-text", has_text="70%").wait_for()
    fill = county.locator(f"#run-{running.pk} .run-progress-fill")
    assert fill.get_attribute("width") == "70"
    assert county.inner_text(f"#run-{running.pk} .run-step") == "写入比对结果"
    ReconciliationRun.objects.filter(pk=running.pk).update(
        status=RunStatus.FINISHED, progress=100, finished_at=timezone.now()
    )
    county.wait_for_selector(f"#run-{running.pk} .run-progress", state="detached")
    assert county.inner_text(f"#run-{running.pk} .run-status") == "已完成"
    assert county.locator("#run-start-form button").is_enabled()
