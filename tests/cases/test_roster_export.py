"""The 低保/特困 roster export (ledgers.md §2, §7): the ``dibao`` import layout, one row per
member, scoped and filtered like the list page, masked unless revealed, and a revealed export
re-imports with no change."""

import pytest

from cases.choices import HouseholdStatus
from cases.models import Household
from cases.roster_export import HEADERS, roster_export_count, roster_export_rows
from lowbao.exports.registry import ExportQuery
from lowbao.exports.services import export_job_request
from tests.lowbao.exports.helpers import data_rows, job_path, read_cell_types, read_cells
from tests.lowbao.imports.test_import_ledger_command import (
    COUNTY,
    ROSTER_HEADERS,
    domain_counts,
    roster,
    roster_row,
    run_json,
)
from tests.lowbao.people.factories import make_id_number

OTHER_TOWNSHIP_VILLAGE = "150121101201"
HEAD1, SPOUSE1, HEAD2, HEAD3 = (make_id_number() for _ in range(4))


@pytest.fixture
def roster_world(areas, case_users, tmp_path):
    """DB001 (察素齐镇, 2 members, formula-looking bank name), DB002 (特困, 察素齐镇),
    DB003 (毕克齐镇, 二级残疾)."""
    shared = {"开户银行": "=HYPERLINK(1)", "保障类别": "一类"}
    rows = [
        roster_row("DB001", HEAD1, **shared),
        roster_row("DB001", SPOUSE1, "配偶", 是否保障对象="否", 劳动能力="丧失劳动力", **shared),
        roster_row(
            "DB002", HEAD2, 月保障金额="460.50", 救助类型="特困供养", 银行账号="", 联系电话=""
        ),
        roster_row(
            "DB003",
            HEAD3,
            嘎查村代码=OTHER_TOWNSHIP_VILLAGE,
            健康状况="残疾",
            残疾等级="二级",
            联系电话="0471-1234567",
        ),
    ]
    code, report = run_json("dibao", str(roster(tmp_path, rows, "source.csv")), "--county", COUNTY)
    assert (code, report["created"], report["errors"]) == (0, 3, [])
    return areas


@pytest.fixture(autouse=True)
def _export_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def query(actor, area, **filters):
    return ExportQuery(actor=actor, area=area, filters=filters)


def test_headers_are_the_dibao_import_headers_in_ledger_order():
    assert list(HEADERS) == ROSTER_HEADERS


def test_rows_repeat_household_columns_on_each_member_with_full_values(roster_world, case_users):
    rows = [
        dict(zip(HEADERS, row, strict=True))
        for row in roster_export_rows(query(case_users.civil_affairs, roster_world.county))
    ]

    assert [(r["户编号"], r["身份证号"], r["与户主关系"]) for r in rows] == [
        ("DB001", HEAD1, "户主"),
        ("DB001", SPOUSE1, "配偶"),
        ("DB002", HEAD2, "户主"),
        ("DB003", HEAD3, "户主"),
    ]
    first, spouse = rows[0], rows[1]
    assert first == {
        "户编号": "DB001",
        "苏木乡镇": "察素齐镇",
        "嘎查村": "察素齐一村",
        "嘎查村代码": "150121100201",
        "姓名": f"成员{HEAD1[-4:]}",
        "身份证号": HEAD1,
        "与户主关系": "户主",
        "民族": "蒙古族",
        "是否保障对象": "是",
        "劳动能力": "普通劳动力",
        "健康状况": "健康",
        "残疾等级": "",
        "救助类型": "低保",
        "保障类别": "一类",
        "月人均收入": first["月人均收入"],
        "月保障金额": first["月保障金额"],
        "保障起始年月": "2026-07",
        "开户银行": "=HYPERLINK(1)",
        "银行账号": "6228480012345678901",
        "联系电话": "13800001111",
    }
    assert (str(first["月人均收入"]), str(first["月保障金额"])) == ("120.00", "680.00")
    assert {key: spouse[key] for key in ("是否保障对象", "劳动能力", "开户银行", "银行账号")} == {
        "是否保障对象": "否",
        "劳动能力": "丧失劳动力",
        "开户银行": "=HYPERLINK(1)",
        "银行账号": "6228480012345678901",
    }
    assert (rows[2]["救助类型"], str(rows[2]["月保障金额"]), rows[2]["银行账号"]) == (
        "特困供养",
        "460.50",
        "",
    )
    assert (rows[3]["苏木乡镇"], rows[3]["残疾等级"], rows[3]["联系电话"]) == (
        "毕克齐镇",
        "二级",
        "0471-1234567",
    )


@pytest.mark.parametrize(
    ("user_name", "numbers"),
    [
        pytest.param("civil_affairs", ["DB001", "DB001", "DB002", "DB003"], id="county_case"),
        pytest.param("caseworker", ["DB001", "DB001", "DB002"], id="own_township_case"),
        pytest.param("village_assistant", ["DB001", "DB001", "DB002"], id="own_village_case"),
        pytest.param("sibling_caseworker", ["DB003"], id="sibling_township_case"),
        pytest.param("other_county_civil_affairs", [], id="other_county_case"),
    ],
)
def test_rows_are_scoped_to_what_the_user_sees(roster_world, case_users, user_name, numbers):
    actor = getattr(case_users, user_name)

    rows = list(roster_export_rows(query(actor, roster_world.county)))

    assert [row[0] for row in rows] == numbers
    assert roster_export_count(query(actor, roster_world.county)) == len(numbers)


@pytest.mark.parametrize(
    ("filters", "numbers"),
    [
        pytest.param({"programme": "tekun"}, ["DB002"], id="programme_case"),
        pytest.param({"name": HEAD3[-4:]}, ["DB003"], id="member_name_case"),
        pytest.param(
            {"status": "in_payment"}, ["DB001", "DB001", "DB002", "DB003"], id="paid_case"
        ),
        pytest.param({"status": "applying"}, [], id="not_paid_status_case"),
        pytest.param({"status": "nonsense"}, ["DB001", "DB001", "DB002", "DB003"], id="bad_case"),
    ],
)
def test_list_filters_narrow_the_roster(roster_world, case_users, filters, numbers):
    rows = roster_export_rows(query(case_users.civil_affairs, roster_world.county, **filters))

    assert [row[0] for row in rows] == numbers


def test_households_not_in_payment_and_members_who_left_are_not_exported(roster_world, case_users):
    Household.objects.filter(number="DB002").update(status=HouseholdStatus.STOPPED)
    spouse = Household.objects.get(number="DB001").members.exclude(relation="01").get()
    spouse.left_at = spouse.created_at.date()
    spouse.in_payment = False
    spouse.save(update_fields=["left_at", "in_payment"])

    rows = list(roster_export_rows(query(case_users.civil_affairs, roster_world.county)))

    assert [(row[0], row[6]) for row in rows] == [("DB001", "户主"), ("DB003", "户主")]


def test_reads_are_chunked_not_one_query_per_row(
    roster_world, case_users, django_assert_num_queries
):
    # assignments (1), households (1), members of the one chunk (1)
    actor = case_users.civil_affairs
    list(roster_export_rows(query(actor, roster_world.county)))
    with django_assert_num_queries(2):
        rows = list(roster_export_rows(query(actor, roster_world.county)))
    assert len(rows) == 4


def test_masked_export_file_has_masked_text_cells_and_neutralised_formulas(
    roster_world, case_users
):
    job = export_job_request(
        actor=case_users.civil_affairs, kind="dibao", county=roster_world.county, filters={}
    )

    cells = read_cells(job_path(job))
    rows = data_rows(job_path(job))
    assert cells[0][0] == "土默特左旗低保特困花名册"
    assert cells[1] == ROSTER_HEADERS
    assert rows[0]["身份证号"] == HEAD1[:6] + "********" + HEAD1[14:]
    assert rows[0]["银行账号"] == "622848*********8901"
    assert rows[0]["联系电话"] == "138****1111"
    assert rows[0]["开户银行"] == " =HYPERLINK(1)"
    assert HEAD1 not in str(cells)
    types = dict(zip(ROSTER_HEADERS, read_cell_types(job_path(job))[2], strict=True))
    assert {types[h] for h in ("户编号", "身份证号", "银行账号", "联系电话", "开户银行")} == {"s"}
    assert (types["月人均收入"], types["月保障金额"]) == ("n", "n")


def test_revealed_export_reimports_with_no_change(roster_world, case_users):
    job = export_job_request(
        actor=case_users.civil_affairs,
        kind="dibao",
        county=roster_world.county,
        filters={},
        reveal=True,
        reason="迁移核对",
    )
    before = domain_counts()

    code, report = run_json("dibao", str(job_path(job)), "--county", COUNTY)

    assert (code, report["errors"]) == (0, [])
    assert (report["rows"], report["households"], report["persons"]) == (4, 3, 4)
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 3)
    after = domain_counts()
    assert {k: v for k, v in after.items() if k != "audit"} == {
        k: v for k, v in before.items() if k != "audit"
    }


def test_revealed_export_of_a_township_reimports_with_no_change(roster_world, case_users):
    job = export_job_request(
        actor=case_users.caseworker,
        kind="dibao",
        county=roster_world.county,
        filters={},
        reveal=True,
        reason="乡镇核对",
    )

    code, report = run_json("dibao", str(job_path(job)), "--county", COUNTY)

    assert (code, report["created"], report["updated"], report["unchanged"]) == (0, 0, 0, 2)
    assert Household.objects.filter(status=HouseholdStatus.IN_PAYMENT).count() == 3


def test_masked_export_is_refused_by_the_importer_with_id_format_errors(roster_world, case_users):
    job = export_job_request(
        actor=case_users.civil_affairs, kind="dibao", county=roster_world.county, filters={}
    )
    before = domain_counts()

    code, report = run_json("dibao", str(job_path(job)), "--county", COUNTY)

    assert code == 1
    id_errors = [(e["row"], e["code"]) for e in report["errors"] if e["column"] == "身份证号"]
    assert id_errors == [(3, "id_format"), (4, "id_format"), (5, "id_format"), (6, "id_format")]
    assert all("身份证号" in e["message"] for e in report["errors"] if e["code"] == "id_format")
    assert domain_counts() == before
