"""The supervision dashboard in the browser: a league officer opens 监督统计 from the menu, sees
the progress chart (server-side SVG, no script, no CDN), drills down to a county and back, and
downloads the bulletin (通报) as .xlsx and PDF."""

from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from lowbao.audit.models import AuditEvent
from tests.e2e.navigation import open_menu

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_league_officer_reads_the_dashboard_and_downloads_the_bulletin(
    open_as, live_server, dashboard_world, dashboard_users, areas, screenshot
):
    page = open_as("d-lg")
    open_menu(page, "监督统计")
    page.wait_for_selector("#progress-chart")

    assert page.inner_text("#dashboard-title") == "监督统计：呼和浩特市"
    bars = page.locator("#progress-chart g.progress-bar")
    assert bars.count() == 2
    assert bars.nth(0).get_attribute("data-label") == "土默特左旗"
    assert page.locator("#payment-chart g.point").count() == 12
    assert page.inner_text("#card-dibao .households") == "5"
    assert "东河区" not in page.content()
    screenshot("supervision_dashboard", page)

    with page.expect_download() as xlsx_download:
        page.click("#bulletin-xlsx")
    xlsx = xlsx_download.value
    assert xlsx.suggested_filename.endswith(".xlsx")
    assert "呼和浩特市" in xlsx.suggested_filename
    rows = list(
        load_workbook(BytesIO(Path(xlsx.path()).read_bytes())).active.iter_rows(values_only=True)
    )
    assert rows[4][:2] == ("1", "托克托县")
    assert rows[5][:2] == ("2", "土默特左旗")

    with page.expect_download() as pdf_download:
        page.click("#bulletin-pdf")
    reader = PdfReader(BytesIO(Path(pdf_download.value.path()).read_bytes()))
    text = "".join(p.extract_text() for p in reader.pages).replace(" ", "")
    assert text.index("托克托县") < text.index("土默特左旗")
    assert AuditEvent.objects.filter(action="export.review_bulletin").count() == 2

    page.click("#progress-table >> text=土默特左旗")
    page.wait_for_selector("#dashboard-title >> text=监督统计：土默特左旗")
    assert page.locator("#progress-chart g.progress-bar").count() == 2  # its two townships
    page.click("#dashboard-trail >> text=呼和浩特市")
    page.wait_for_selector("#dashboard-title >> text=监督统计：呼和浩特市")
