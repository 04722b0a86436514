"""The registry export (ledgers.md §3, §7): the ``poverty`` import layout, one row per member of
the households in the current registry, scoped and filtered like the list page, masked unless
revealed, and a revealed export re-imports as a snapshot with every household unchanged."""

from datetime import date

import pytest

from lowbao.exports.registry import ExportQuery
from lowbao.exports.services import export_job_request
from poverty.models import RegistryHousehold, RegistrySnapshot
from poverty.registry_export import HEADERS, registry_export_count, registry_export_rows
from poverty.validation import COLUMN_ALIASES
from tests.lowbao.exports.helpers import data_rows, job_path, read_cell_types
from tests.lowbao.imports.test_import_ledger_command import COUNTY, run_json, write_csv
from tests.lowbao.people.factories import make_id_number
from tests.poverty.registry.conftest import OTHER_TOWNSHIP_VILLAGE_CODE, person_row

HEAD = make_id_number(birth_date=date(1975, 3, 1), sex="男")
SPOUSE = make_id_number(birth_date=date(1978, 4, 2), sex="女")
OTHER_HEAD = make_id_number(birth_date=date(1960, 5, 3), sex="男")
LEAVING_HEAD = make_id_number(birth_date=date(1966, 6, 4), sex="男")
CERTIFICATE = SPOUSE + "42"


def _rows(*, with_leaving: bool) -> list[dict[str, object]]:
    h1 = {
        "贫困户属性": "低保贫困户",
        "主要致贫原因": "因病",
        "其他致贫原因": "缺技术、因学",
        "脱贫状态": "已脱贫",
        "脱贫年度": "2019",
        "享受低保金额": "310.50",
        "帮扶单位": "=旗民政局",
    }
    rows = [
        person_row(household="H1", id_number=HEAD, name="巴特尔", cells=h1),
        person_row(
            household="H1",
            relation="配偶",
            id_number=SPOUSE,
            name="其其格",
            cells={
                **h1,
                "健康状况": "残疾",
                "残疾证号": CERTIFICATE,
                "务工状况": "省外",
                "务工时间": "6",
            },
        ),
        person_row(
            household="H2",
            id_number=OTHER_HEAD,
            cells={"嘎查村代码": OTHER_TOWNSHIP_VILLAGE_CODE, "贫困户属性": "一般贫困户"},
        ),
    ]
    if with_leaving:
        rows.append(person_row(household="H3", id_number=LEAVING_HEAD))
    return rows


@pytest.fixture
def registry_world(areas, case_users, tmp_path):
    """H1 (察素齐镇, 2 members) and H2 (毕克齐镇) in the registry; H3 left it in the second
    snapshot."""
    for name, on, leaving in (
        ("first.csv", "2026-01-15", True),
        ("second.csv", "2026-04-15", False),
    ):
        path = write_csv(tmp_path / name, list(COLUMN_ALIASES), _rows(with_leaving=leaving))
        code, report = run_json("poverty", str(path), "--county", COUNTY, "--snapshot-date", on)
        assert (code, report["errors"]) == (0, [])
    assert RegistryHousehold.objects.get(number="H3").in_registry is False
    return areas


@pytest.fixture(autouse=True)
def _export_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def query(actor, area, **filters):
    return ExportQuery(actor=actor, area=area, filters=filters)


def test_headers_are_the_poverty_import_headers():
    assert tuple(COLUMN_ALIASES) == HEADERS
    assert {"户编号", "证件号码", "与户主关系", "贫困户属性", "家庭年人均纯收入"} <= set(HEADERS)


def test_rows_repeat_household_columns_with_labels_and_full_values(registry_world, case_users):
    rows = [
        dict(zip(HEADERS, row, strict=True))
        for row in registry_export_rows(query(case_users.poverty_office, registry_world.county))
    ]

    assert [(r["户编号"], r["证件号码"], r["与户主关系"]) for r in rows] == [
        ("H1", HEAD, "户主"),
        ("H1", SPOUSE, "配偶"),
        ("H2", OTHER_HEAD, "户主"),
    ]
    spouse = rows[1]
    assert {key: spouse[key] for key in HEADERS if key not in ("人编号", "家庭年人均纯收入")} == {
        "户编号": "H1",
        "苏木乡镇": "察素齐镇",
        "嘎查村": "察素齐一村",
        "嘎查村代码": "150121100201",
        "姓名": "其其格",
        "证件号码": SPOUSE,
        "与户主关系": "配偶",
        "民族": "蒙古族",
        "文化程度": "初中",
        "在校生状况": "非在校生",
        "健康状况": "残疾",
        "务工状况": "省外",
        "劳动能力": "普通劳动力",
        "务工时间": 6,
        "残疾证号": CERTIFICATE,
        "贫困户属性": "低保贫困户",
        "主要致贫原因": "因病",
        "其他致贫原因": "因学、缺技术",
        "脱贫状态": "已脱贫",
        "脱贫年度": 2019,
        "识别年度": 2014,
        "享受低保金额": spouse["享受低保金额"],
        "帮扶责任人": "王帮扶",
        "帮扶单位": "=旗民政局",
    }
    assert (str(spouse["享受低保金额"]), str(spouse["家庭年人均纯收入"])) == ("310.50", "3200.00")
    assert spouse["人编号"] == rows[1]["人编号"] != rows[0]["人编号"]


@pytest.mark.parametrize(
    ("user_name", "numbers"),
    [
        pytest.param("poverty_office", ["H1", "H1", "H2"], id="county_case"),
        pytest.param("caseworker", ["H1", "H1"], id="own_township_case"),
        pytest.param("sibling_caseworker", ["H2"], id="sibling_township_case"),
        pytest.param("other_county_civil_affairs", [], id="other_county_case"),
    ],
)
def test_rows_are_scoped_to_what_the_user_sees(registry_world, case_users, user_name, numbers):
    actor = getattr(case_users, user_name)

    rows = list(registry_export_rows(query(actor, registry_world.county)))

    assert [row[0] for row in rows] == numbers
    assert registry_export_count(query(actor, registry_world.county)) == len(numbers)


@pytest.mark.parametrize(
    ("filters", "numbers"),
    [
        pytest.param({"township": "150121101000"}, ["H2"], id="township_case"),
        pytest.param({"attribute": "dibao"}, ["H1", "H1"], id="attribute_case"),
        pytest.param({"status": "not_out"}, ["H2"], id="status_case"),
        pytest.param({"name": "其其格"}, ["H1", "H1"], id="member_name_case"),
        pytest.param({"in_registry": "0"}, ["H1", "H1", "H2"], id="left_never_exported_case"),
        pytest.param({"township": "150122100000"}, ["H1", "H1", "H2"], id="other_county_township"),
    ],
)
def test_list_filters_narrow_the_registry(registry_world, case_users, filters, numbers):
    rows = registry_export_rows(query(case_users.poverty_office, registry_world.county, **filters))

    assert [row[0] for row in rows] == numbers


def test_reads_are_chunked_not_one_query_per_row(
    registry_world, case_users, django_assert_num_queries
):
    actor = case_users.poverty_office
    list(registry_export_rows(query(actor, registry_world.county)))
    with django_assert_num_queries(2):  # households (1), members of the one chunk (1)
        rows = list(registry_export_rows(query(actor, registry_world.county)))
    assert len(rows) == 3


def test_masked_export_masks_id_and_certificate_numbers(registry_world, case_users):
    job = export_job_request(
        actor=case_users.poverty_office, kind="poverty", county=registry_world.county, filters={}
    )

    rows = data_rows(job_path(job))
    assert rows[1]["证件号码"] == SPOUSE[:6] + "********" + SPOUSE[14:]
    assert rows[1]["残疾证号"] == CERTIFICATE[:6] + "**********" + CERTIFICATE[16:]
    assert rows[0]["帮扶单位"] == " =旗民政局"
    types = dict(zip(HEADERS, read_cell_types(job_path(job))[3], strict=True))
    assert {types[h] for h in ("户编号", "人编号", "证件号码", "残疾证号", "帮扶单位")} == {"s"}
    assert (types["家庭年人均纯收入"], types["务工时间"]) == ("n", "n")


def test_revealed_export_reimports_as_a_snapshot_with_every_household_unchanged(
    registry_world, case_users
):
    job = export_job_request(
        actor=case_users.poverty_office,
        kind="poverty",
        county=registry_world.county,
        filters={},
        reveal=True,
        reason="报送扶贫办核对",
    )

    code, report = run_json(
        "poverty", str(job_path(job)), "--county", COUNTY, "--snapshot-date", "2026-06-30"
    )

    assert (code, report["errors"]) == (0, [])
    assert (report["rows"], report["households"]) == (3, 2)
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 2)
    latest = RegistrySnapshot.objects.order_by("-pk").first()
    assert (latest.snapshot_date, latest.left_count) == (date(2026, 6, 30), 0)
    assert sorted(
        RegistryHousehold.objects.filter(in_registry=True).values_list("number", flat=True)
    ) == ["H1", "H2"]


def test_masked_export_is_refused_by_the_importer_with_id_format_errors(registry_world, case_users):
    job = export_job_request(
        actor=case_users.poverty_office, kind="poverty", county=registry_world.county, filters={}
    )
    snapshots = RegistrySnapshot.objects.count()

    code, report = run_json("poverty", str(job_path(job)), "--county", COUNTY)

    assert code == 1
    assert [(e["row"], e["column"], e["code"]) for e in report["errors"]] == [
        (3, "证件号码", "id_format"),
        (4, "证件号码", "id_format"),
        (5, "证件号码", "id_format"),
    ]
    assert RegistrySnapshot.objects.count() == snapshots
