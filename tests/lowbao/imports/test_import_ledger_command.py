"""``import_ledger`` (contracts.md): every kind, exit codes, the exact JSON object."""

import csv
import json
from collections.abc import Sequence
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cases.choices import HouseholdStatus
from cases.models import BenefitPeriod, GuaranteeStandard, Household, HouseholdMember
from lowbao.audit.models import AuditEvent
from lowbao.imports.models import ImportBatch, ImportRow, ImportStatus
from lowbao.people.models import Person
from poverty.models import DisabilityRecord, RegistryHousehold, VerificationReport
from tests.lowbao.people.factories import make_id_number

COUNTY = "150121000000"
VILLAGE = "150121100201"
TITLE = "土默特左旗2026年农村牧区低保对象花名册"
EXPECTED_KEYS = [
    "kind",
    "file",
    "county",
    "dry_run",
    "rows",
    "households",
    "persons",
    "created",
    "updated",
    "unchanged",
    "skipped_households",
    "errors",
    "warnings",
]
ROSTER_HEADERS = [
    "户编号",
    "苏木乡镇",
    "嘎查村",
    "嘎查村代码",
    "姓名",
    "身份证号",
    "与户主关系",
    "民族",
    "是否保障对象",
    "劳动能力",
    "健康状况",
    "残疾等级",
    "救助类型",
    "保障类别",
    "月人均收入",
    "月保障金额",
    "保障起始年月",
    "开户银行",
    "银行账号",
    "联系电话",
]


# --- helpers shared by the import tests ------------------------------------------------------


def write_csv(
    path: Path, headers: Sequence[str], rows: Sequence[dict[str, Any]], *, title: str = TITLE
) -> Path:
    """A CSV ledger: a title row (row 1), the header (row 2), data from row 3."""
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([title])
        writer.writerow(headers)
        for row in rows:
            writer.writerow([row.get(header, "") for header in headers])
    return path


def roster_row(number: str, id_number: str, relation: str = "户主", **values: Any) -> dict:
    row = {
        "户编号": number,
        "嘎查村代码": VILLAGE,
        "姓名": f"成员{id_number[-4:]}",
        "身份证号": id_number,
        "与户主关系": relation,
        "民族": "蒙古族",
        "劳动能力": "普通劳动力",
        "健康状况": "健康",
        "救助类型": "低保",
        "月人均收入": "120.00",
        "月保障金额": "680.00",
        "保障起始年月": "2026-07",
        "开户银行": "内蒙古农村信用社",
        "银行账号": "6228480012345678901",
        "联系电话": "13800001111",
    }
    row.update(values)
    return row


def roster(tmp_path: Path, rows: Sequence[dict], name: str = "roster.csv") -> Path:
    return write_csv(tmp_path / name, ROSTER_HEADERS, rows)


def two_households() -> list[dict]:
    head1, spouse1, head2 = make_id_number(), make_id_number(), make_id_number()
    return [
        roster_row("DB001", head1),
        roster_row("DB001", spouse1, "配偶", 银行账号="", 联系电话=""),
        roster_row("DB002", head2, 月保障金额="460", 救助类型="特困供养"),
    ]


def run(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("import_ledger", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return code, out.getvalue(), err.getvalue()


def run_json(*args: str) -> tuple[int, dict]:
    code, out, _err = run(*args, "--json")
    return code, json.loads(out)


def domain_counts() -> dict[str, int]:
    return {
        "persons": Person.objects.count(),
        "households": Household.objects.count(),
        "members": HouseholdMember.objects.count(),
        "periods": BenefitPeriod.objects.count(),
        "registry": RegistryHousehold.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


# --- dibao -----------------------------------------------------------------------------------


def test_dibao_roster_imports_households_in_payment_with_exact_json(areas, tmp_path):
    path = roster(tmp_path, two_households())

    code, report = run_json("dibao", str(path), "--county", COUNTY)

    assert code == 0
    assert list(report) == EXPECTED_KEYS
    assert report == {
        "kind": "dibao",
        "file": "roster.csv",
        "county": COUNTY,
        "dry_run": False,
        "rows": 3,
        "households": 2,
        "persons": 3,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "skipped_households": 0,
        "errors": [],
        "warnings": [],
    }
    first = Household.objects.get(number="DB001")
    assert first.status == HouseholdStatus.IN_PAYMENT
    assert first.migrated_from == "roster.csv"
    assert first.area.code == VILLAGE
    assert first.payment_start_month == date(2026, 7, 1)
    assert first.bank_account_masked == "622848*********8901"
    assert Household.objects.get(number="DB002").programme == "tekun"
    assert HouseholdMember.objects.filter(household=first, in_payment=True).count() == 2
    period = BenefitPeriod.objects.get(household=first)
    assert (period.start_month, period.monthly_amount, period.covered_persons) == (
        date(2026, 7, 1),
        680,
        2,
    )
    assert AuditEvent.objects.filter(action="import.apply").count() == 1


def test_dibao_same_file_twice_is_one_batch_and_changes_nothing(areas, tmp_path):
    path = roster(tmp_path, two_households())
    run_json("dibao", str(path), "--county", COUNTY)
    before = domain_counts()

    code, report = run_json("dibao", str(path), "--county", COUNTY)

    assert code == 0
    assert ImportBatch.objects.count() == 1
    assert domain_counts() == before
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 2)
    assert [w["code"] for w in report["warnings"]] == ["already_imported"]


def test_dibao_roster_exported_again_reimports_unchanged_and_updates_what_changed(areas, tmp_path):
    rows = two_households()
    run_json("dibao", str(roster(tmp_path, rows, "first.csv")), "--county", COUNTY)
    rows[2]["月保障金额"] = "500.00"
    rows.append(roster_row("DB003", make_id_number()))

    code, report = run_json("dibao", str(roster(tmp_path, rows, "second.csv")), "--county", COUNTY)

    assert code == 0
    assert (report["created"], report["updated"], report["unchanged"]) == (1, 1, 1)
    assert Household.objects.get(number="DB002").monthly_amount == 500
    assert BenefitPeriod.objects.get(household__number="DB002").monthly_amount == 500
    assert Household.objects.count() == 3


def test_dibao_dry_run_writes_nothing_and_reports_what_it_would_do(areas, tmp_path):
    path = roster(tmp_path, two_households())
    before = domain_counts()

    code, report = run_json("dibao", str(path), "--county", COUNTY, "--dry-run")

    assert code == 0
    assert report["dry_run"] is True
    assert (report["created"], report["updated"], report["unchanged"]) == (2, 0, 0)
    assert domain_counts() == before
    assert ImportBatch.objects.get().status == ImportStatus.PARSED


def test_dibao_file_with_errors_exits_1_and_writes_nothing(areas, tmp_path):
    rows = two_households()
    rows[1]["身份证号"] = rows[1]["身份证号"][:17] + (
        "0" if rows[1]["身份证号"][17] != "0" else "1"
    )
    path = roster(tmp_path, rows)
    before = domain_counts()

    code, report = run_json("dibao", str(path), "--county", COUNTY)

    assert code == 1
    assert domain_counts() == before
    assert report["errors"] == [
        {
            "row": 4,
            "column": "身份证号",
            "value": rows[1]["身份证号"][:6] + "********" + rows[1]["身份证号"][14:],
            "code": "id_checksum",
            "message": "身份证号校验位错误",
        }
    ]
    assert (report["created"], report["skipped_households"]) == (0, 0)
    assert ImportBatch.objects.get().status == ImportStatus.REJECTED


def test_dibao_skip_invalid_writes_only_whole_valid_households(areas, tmp_path):
    rows = two_households()
    rows[1]["月人均收入"] = "-5"  # DB001's second row: the whole household is left out
    path = roster(tmp_path, rows)

    code, report = run_json("dibao", str(path), "--county", COUNTY, "--skip-invalid")

    assert code == 0
    assert (report["created"], report["skipped_households"]) == (1, 1)
    assert [e["code"] for e in report["errors"]] == ["negative_amount"]
    assert list(Household.objects.values_list("number", flat=True)) == ["DB002"]
    assert Person.objects.count() == 1
    event = AuditEvent.objects.get(action="import.apply")
    assert event.changes["skip_invalid"] is True
    assert event.changes["skipped"] == ["DB001"]


def test_staging_rows_hold_masked_id_numbers_and_accounts_only(areas, tmp_path):
    rows = two_households()
    run_json("dibao", str(roster(tmp_path, rows)), "--county", COUNTY)

    stored = json.dumps(list(ImportRow.objects.values_list("raw", flat=True)), ensure_ascii=False)

    for row in rows:
        assert row["身份证号"] not in stored
    assert "6228480012345678901" not in stored
    assert "622848*********8901" in stored


# --- unreadable files and bad arguments -------------------------------------------------------


def test_a_file_that_is_not_a_spreadsheet_exits_2_with_one_json_object(areas, tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(b"%PDF-1.4 not a spreadsheet")

    code, report = run_json("dibao", str(path), "--county", COUNTY)

    assert code == 2
    assert list(report) == EXPECTED_KEYS
    assert [e["code"] for e in report["errors"]] == ["not_a_spreadsheet"]
    assert ImportBatch.objects.get().status == ImportStatus.REJECTED


def test_a_file_without_the_ledger_headers_exits_2(areas, tmp_path):
    path = write_csv(tmp_path / "other.csv", ["名称", "数量"], [{"名称": "a", "数量": "1"}])

    code, report = run_json("dibao", str(path), "--county", COUNTY)

    assert code == 2
    assert [e["code"] for e in report["errors"]] == ["header_not_found"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["roster", "{file}", "--county", COUNTY], "未知的台账类型", id="unknown_kind_case"
        ),
        pytest.param(["dibao", "{file}"], "须用 --county", id="county_missing_case"),
        pytest.param(
            ["dibao", "{file}", "--county", "150121100000"], "不是旗县", id="not_county_case"
        ),
        pytest.param(
            ["dibao", "{file}", "--county", "159999000000"], "不存在", id="unknown_county_case"
        ),
        pytest.param(
            ["poverty", "{file}", "--county", COUNTY, "--snapshot-date", "2026-13-01"],
            "不是有效日期",
            id="bad_snapshot_date_case",
        ),
        pytest.param(
            ["dibao", "{file}", "--county", COUNTY, "--snapshot-date", "2026-07-01"],
            "只用于 poverty",
            id="snapshot_date_for_dibao_case",
        ),
        pytest.param(["dibao"], "参数错误", id="file_missing_case"),
    ],
)
def test_bad_arguments_exit_2_with_a_chinese_message(areas, tmp_path, args, message):
    path = roster(tmp_path, two_households())

    code, out, err = run(*[arg.replace("{file}", str(path)) for arg in args])

    assert code == 2
    assert message in err
    assert out == ""
    assert Household.objects.count() == 0


# --- poverty -----------------------------------------------------------------------------------

POVERTY_HEADERS = [
    "户编号",
    "人编号",
    "嘎查村代码",
    "姓名",
    "证件号码",
    "与户主关系",
    "贫困户属性",
    "主要致贫原因",
    "脱贫状态",
    "家庭年人均纯收入",
    "备注",
]


def poverty_row(number: str, id_number: str, relation: str = "户主") -> dict:
    return {
        "户编号": number,
        "嘎查村代码": VILLAGE,
        "姓名": f"成员{id_number[-4:]}",
        "证件号码": id_number,
        "与户主关系": relation,
        "贫困户属性": "一般贫困户",
        "主要致贫原因": "因病",
        "脱贫状态": "已脱贫",
        "家庭年人均纯收入": "5200",
    }


def test_poverty_snapshot_imports_with_its_date_and_exact_json(areas, tmp_path):
    rows = [
        poverty_row("1501210001", make_id_number()),
        poverty_row("1501210001", make_id_number(), "配偶"),
        poverty_row("1501210002", make_id_number()),
    ]
    path = write_csv(tmp_path / "registry.csv", POVERTY_HEADERS, rows, title="建档立卡贫困人口")

    code, report = run_json(
        "poverty", str(path), "--county", COUNTY, "--snapshot-date", "2026-06-30"
    )

    assert code == 0
    assert report == {
        "kind": "poverty",
        "file": "registry.csv",
        "county": COUNTY,
        "dry_run": False,
        "rows": 3,
        "households": 2,
        "persons": 3,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "skipped_households": 0,
        "errors": [],
        "warnings": [
            {
                "row": None,
                "column": "备注",
                "value": "",
                "code": "unknown_column",
                "message": "未识别的列，已忽略",
            }
        ],
    }
    household = RegistryHousehold.objects.get(number="1501210001")
    assert household.last_snapshot.snapshot_date == date(2026, 6, 30)

    code, again = run_json("poverty", str(path), "--county", COUNTY)
    assert (code, again["created"], again["unchanged"]) == (0, 0, 2)
    assert RegistryHousehold.objects.count() == 2


def test_poverty_person_in_another_countys_registry_is_a_warning(areas, tmp_path):
    shared = make_id_number()
    other = write_csv(
        tmp_path / "other.csv",
        POVERTY_HEADERS,
        [poverty_row("1501220001", shared) | {"嘎查村代码": "150122100201"}],
    )
    assert run_json("poverty", str(other), "--county", "150122000000")[0] == 0
    path = write_csv(tmp_path / "mine.csv", POVERTY_HEADERS, [poverty_row("1501210001", shared)])

    code, report = run_json("poverty", str(path), "--county", COUNTY)

    assert code == 0
    assert [(w["row"], w["code"]) for w in report["warnings"]] == [
        (None, "unknown_column"),
        (3, "duplicate_in_registry"),
    ]


def test_poverty_duplicate_in_file_exits_1(areas, tmp_path):
    shared = make_id_number()
    rows = [poverty_row("1501210001", shared), poverty_row("1501210002", shared)]
    path = write_csv(tmp_path / "registry.csv", POVERTY_HEADERS, rows)

    code, report = run_json("poverty", str(path), "--county", COUNTY)

    assert code == 1
    assert [(e["row"], e["column"], e["code"]) for e in report["errors"]] == [
        (4, "证件号码", "duplicate_in_file")
    ]
    assert RegistryHousehold.objects.count() == 0


# --- person-level ledgers and standards ----------------------------------------------------------


def test_disability_ledger_imports_without_a_county(areas, tmp_path):
    id_number = make_id_number()
    path = write_csv(
        tmp_path / "disability.csv",
        ["姓名", "身份证号", "残疾证号", "残疾类别", "残疾等级", "发证日期"],
        [
            {
                "姓名": "王五",
                "身份证号": id_number,
                "残疾证号": f"{id_number}42",
                "残疾类别": "肢体",
                "残疾等级": "二级",
                "发证日期": "2020-05-01",
            }
        ],
        title="残疾人信息",
    )

    code, report = run_json("disability", str(path))

    assert code == 0
    assert (report["county"], report["rows"], report["persons"], report["created"]) == (
        None,
        1,
        1,
        1,
    )
    assert DisabilityRecord.objects.get().grade == 2
    assert run_json("disability", str(path))[1]["unchanged"] == 1


def test_verification_ledger_imports_and_reports_masked_id_errors(areas, tmp_path):
    good, bad = make_id_number(), make_id_number()
    bad = bad[:17] + ("0" if bad[17] != "0" else "1")
    headers = ["身份证号", "姓名", "核对项目", "核对结果", "金额", "明细", "核对日期"]
    row = {
        "姓名": "李四",
        "核对项目": "车辆",
        "核对结果": "有",
        "金额": "30000",
        "明细": "蒙A12345",
        "核对日期": "2026-06-01",
    }
    path = write_csv(tmp_path / "verification.csv", headers, [row | {"身份证号": good}])
    code, report = run_json("verification", str(path))
    assert (code, report["created"]) == (0, 1)
    assert VerificationReport.objects.count() == 1

    broken = write_csv(tmp_path / "broken.csv", headers, [row | {"身份证号": bad}])
    code, report = run_json("verification", str(broken))

    assert code == 1
    assert report["errors"][0]["value"] == bad[:6] + "********" + bad[14:]
    assert report["errors"][0]["code"] == "id_checksum"


def test_standards_ledger_upserts_guarantee_standards(areas, tmp_path):
    headers = ["区划代码", "生效日期", "农村低保标准", "特困基本生活标准"]
    rows = [
        {
            "区划代码": COUNTY,
            "生效日期": "2027-01-01",
            "农村低保标准": "812",
            "特困基本生活标准": "1056",
        },
        {"区划代码": VILLAGE, "生效日期": "2027-01-01", "农村低保标准": "800"},
    ]
    path = write_csv(tmp_path / "standards.csv", headers, rows, title="保障标准")

    code, report = run_json("standards", str(path), "--skip-invalid")

    assert code == 0
    assert (report["created"], report["skipped_households"]) == (1, 1)
    assert [(e["row"], e["column"], e["code"]) for e in report["errors"]] == [
        (4, "区划代码", "area_out_of_scope")
    ]
    standard = GuaranteeStandard.objects.get(area__code=COUNTY, effective_from=date(2027, 1, 1))
    assert (standard.rural_dibao_monthly, standard.tekun_basic_monthly) == (812, 1056)
