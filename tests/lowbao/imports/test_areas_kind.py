"""The ``areas`` ledger: townships and villages of one county in the NBS code format, imported
through the same pipeline and command as every ledger; level and parent come from the code."""

import pytest
from openpyxl import Workbook

from lowbao.areas.models import Area, AreaLevel
from lowbao.audit.models import AuditEvent
from lowbao.imports.kinds import get_kind
from tests.lowbao.imports.test_import_ledger_command import COUNTY, run, run_json, write_csv

HEADERS = ["统计用区划代码", "城乡分类代码", "名称"]
NEW_TOWNSHIP = "150121102000"
NEW_VILLAGE = "150121102201"
NEW_VILLAGE_2 = "150121102202"


def areas_file(tmp_path, rows, name="areas.csv", headers=HEADERS):
    return write_csv(tmp_path / name, headers, rows, title="2026年统计用区划代码和城乡划分代码")


def row(code, name, urban=""):
    return {"统计用区划代码": code, "名称": name, "城乡分类代码": urban}


def area_state() -> dict[str, tuple[str, str, str, str, str]]:
    return {
        area.code: (
            area.name,
            area.level,
            area.parent.code if area.parent else "",
            area.path,
            area.urban_rural_class,
        )
        for area in Area.objects.filter(code__startswith="150121").select_related("parent")
    }


def test_the_areas_kind_is_registered_for_the_pipeline():
    kind = get_kind("areas")

    assert (kind.code, kind.needs_county, kind.household_ledger) == ("areas", True, False)
    assert kind.required_headers == ("统计用区划代码", "名称")


def test_townships_and_villages_are_created_with_level_and_parent_from_the_code(areas, tmp_path):
    rows = [
        row(NEW_VILLAGE, "新村一村", "220"),  # a village before its township: order is free
        row(NEW_TOWNSHIP, "新镇", "121"),
        row(NEW_VILLAGE_2, "新村二村", "220"),
        row("150121100203", "察素齐三村"),  # under an existing township
    ]

    code, report = run_json("areas", str(areas_file(tmp_path, rows)), "--county", COUNTY)

    assert (code, report["errors"], report["warnings"]) == (0, [], [])
    assert (report["rows"], report["created"], report["updated"], report["unchanged"]) == (
        4,
        4,
        0,
        0,
    )
    state = area_state()
    county_path = areas.county.path
    assert state[NEW_TOWNSHIP] == (
        "新镇",
        AreaLevel.TOWNSHIP,
        COUNTY,
        f"{county_path}{NEW_TOWNSHIP}/",
        "121",
    )
    assert state[NEW_VILLAGE] == (
        "新村一村",
        AreaLevel.VILLAGE,
        NEW_TOWNSHIP,
        f"{county_path}{NEW_TOWNSHIP}/{NEW_VILLAGE}/",
        "220",
    )
    assert state["150121100203"][1:3] == (AreaLevel.VILLAGE, "150121100000")
    assert AuditEvent.objects.filter(action="area.load").count() >= 1
    assert AuditEvent.objects.filter(action="import.apply").count() == 1


def test_importing_again_updates_names_and_classes_and_is_idempotent(areas, tmp_path):
    first = [row(NEW_TOWNSHIP, "新镇", "121"), row(NEW_VILLAGE, "新村一村", "220")]
    run_json("areas", str(areas_file(tmp_path, first, "first.csv")), "--county", COUNTY)
    second = [
        row(NEW_TOWNSHIP, "新镇", "121"),
        row(NEW_VILLAGE, "新村一村更名", "220"),
        row("150121100201", "察素齐一村", "210"),  # only the urban-rural class is new
    ]
    path = areas_file(tmp_path, second, "second.csv")

    code, report = run_json("areas", str(path), "--county", COUNTY)
    state = area_state()
    again_code, again = run_json(
        "areas", str(areas_file(tmp_path, second, "third.csv")), "--county", COUNTY
    )

    assert (code, report["created"], report["updated"], report["unchanged"]) == (0, 0, 2, 1)
    assert state[NEW_VILLAGE][0] == "新村一村更名"
    assert state["150121100201"][4] == "210"
    assert (again_code, again["created"], again["updated"], again["unchanged"]) == (0, 0, 0, 3)
    assert area_state() == state
    assert Area.objects.filter(code=NEW_VILLAGE).count() == 1


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [row("15012110200", "短码")], [(3, "统计用区划代码", "bad_code")], id="short_code_case"
        ),
        pytest.param(
            [row("15012110200A", "字母")], [(3, "统计用区划代码", "bad_code")], id="letters_case"
        ),
        pytest.param(
            [row(COUNTY, "土默特左旗")], [(3, "统计用区划代码", "bad_code")], id="county_code_case"
        ),
        pytest.param(
            [row("150122102000", "外县镇")],
            [(3, "统计用区划代码", "area_out_of_scope")],
            id="other_county_case",
        ),
        pytest.param(
            [row("", "无代码")], [(3, "统计用区划代码", "required_missing")], id="code_missing_case"
        ),
        pytest.param(
            [row(NEW_TOWNSHIP, "")], [(3, "名称", "required_missing")], id="name_missing_case"
        ),
        pytest.param(
            [row(NEW_TOWNSHIP, "镇" * 101)], [(3, "名称", "too_long")], id="name_too_long_case"
        ),
        pytest.param(
            [row(NEW_TOWNSHIP, "新镇", "999")], [(3, "城乡分类代码", "bad_enum")], id="class_case"
        ),
        pytest.param(
            [row(NEW_TOWNSHIP, "新镇"), row(NEW_TOWNSHIP, "新镇")],
            [(4, "统计用区划代码", "duplicate_in_file")],
            id="duplicate_in_file_case",
        ),
        pytest.param(
            [row(NEW_VILLAGE, "新村一村")],
            [(3, "统计用区划代码", "parent_missing")],
            id="parent_missing_in_file_and_db_case",
        ),
        pytest.param(
            [row(NEW_TOWNSHIP, "新镇", "999"), row(NEW_VILLAGE, "新村一村")],
            [(3, "城乡分类代码", "bad_enum"), (4, "统计用区划代码", "parent_missing")],
            id="parent_row_has_an_error_case",
        ),
    ],
)
def test_problems_are_reported_with_row_column_and_code_and_nothing_is_written(
    areas, tmp_path, rows, expected
):
    before = area_state()

    code, report = run_json("areas", str(areas_file(tmp_path, rows)), "--county", COUNTY)

    assert code == 1
    assert [(e["row"], e["column"], e["code"]) for e in report["errors"]] == expected
    assert all(e["message"] for e in report["errors"])
    assert area_state() == before


def test_skip_invalid_writes_the_valid_rows_only(areas, tmp_path):
    rows = [
        row(NEW_TOWNSHIP, "新镇"),
        row(NEW_VILLAGE, "新村一村"),
        row("150121103000", "坏镇", "999"),
        row("150121103201", "坏镇的村"),
    ]

    code, report = run_json(
        "areas", str(areas_file(tmp_path, rows)), "--county", COUNTY, "--skip-invalid"
    )

    assert (code, report["created"], report["skipped_households"]) == (0, 2, 2)
    assert set(area_state()) >= {NEW_TOWNSHIP, NEW_VILLAGE}
    assert not Area.objects.filter(code__in=["150121103000", "150121103201"]).exists()


def test_header_aliases_and_numeric_code_cells_are_accepted(areas, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["2026年统计用区划代码"])
    sheet.append(["区划代码", "区划名称", "城乡分类"])
    sheet.append([150121102000, "新镇", 121])
    sheet.append([150121102201, "新村一村", 220])
    path = tmp_path / "areas.xlsx"
    workbook.save(path)

    code, report = run_json("areas", str(path), "--county", COUNTY)

    assert (code, report["errors"], report["created"]) == (0, [], 2)
    assert area_state()[NEW_VILLAGE][1:3] == (AreaLevel.VILLAGE, NEW_TOWNSHIP)
    assert area_state()[NEW_TOWNSHIP][4] == "121"


def test_the_county_is_required(areas, tmp_path):
    path = areas_file(tmp_path, [row(NEW_TOWNSHIP, "新镇")])

    exit_code, _stdout, stderr = run("areas", str(path))

    assert exit_code == 2
    assert "须用 --county 指定旗县区划代码" in stderr
    assert not Area.objects.filter(code=NEW_TOWNSHIP).exists()
