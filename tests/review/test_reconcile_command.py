"""``manage.py reconcile`` (contracts.md): the JSON shape, ``--all``, the summary, exit codes."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cases.models import GuaranteeStandard
from poverty.choices import PovertyAttribute as A
from review.models import ReconciliationCategory, ReconciliationRun, RunStatus, RunTrigger
from review.services.reconciliation import reconciliation_request

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
COUNTY, SIBLING = "150121000000", "150122000000"
ZEROS = dict.fromkeys(ReconciliationCategory.values, 0)


def reconcile(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("reconcile", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*args: str) -> CommandError:
    with pytest.raises(CommandError) as error:
        reconcile(*args)
    return error.value


@pytest.fixture
def county_data(ledgers):
    """A linked pair, an attr + member mismatch pair, a registry household missing dibao; and a
    should_register household in the sibling county."""
    ledgers.pair()
    a, b, c = ledgers.person(), ledgers.person(), ledgers.person()
    dibao = ledgers.dibao(a, b, number="DB-0007")
    registry = ledgers.registry(a, number="1501210001", attribute=A.GENERAL)
    missing = ledgers.registry(c, number="1501210002", attribute=A.DIBAO)
    there = ledgers.person()
    elsewhere = ledgers.dibao(
        there, number="TK-0001", income="10.00", village=ledgers.areas.other_county_village
    )
    return {
        "a": ledgers.id_number(a),
        "b": ledgers.id_number(b),
        "c": ledgers.id_number(c),
        "there": ledgers.id_number(there),
        "dibao": dibao.number,
        "registry": registry.number,
        "missing": missing.number,
        "elsewhere": elsewhere.number,
    }


def county_report(data: dict[str, str]) -> dict:
    return {
        "county": COUNTY,
        "as_of": "2026-07-01",
        "period": "2026H2",
        "status": "finished",
        "counts": {
            **ZEROS,
            "linked": 1,
            "attr_mismatch": 1,
            "member_mismatch": 1,
            "registry_dibao_missing": 1,
        },
        "items": [
            {
                "category": "attr_mismatch",
                "dibao_household": "DB-0007",
                "registry_household": "1501210001",
                "id_numbers": [data["a"]],
                "township": "150121100000",
                "dibao_households": ["DB-0007"],
                "registry_households": ["1501210001"],
                "state": "open",
            },
            {
                "category": "member_mismatch",
                "dibao_household": "DB-0007",
                "registry_household": "1501210001",
                "id_numbers": [data["b"]],
                "township": "150121100000",
                "dibao_households": ["DB-0007"],
                "registry_households": ["1501210001"],
                "state": "open",
                "only_in_dibao": [data["b"]],
                "only_in_registry": [],
            },
            {
                "category": "registry_dibao_missing",
                "dibao_household": None,
                "registry_household": "1501210002",
                "id_numbers": [data["c"]],
                "township": "150121100000",
                "dibao_households": [],
                "registry_households": ["1501210002"],
                "state": "open",
            },
        ],
    }


def test_json_for_one_county_is_exactly_the_contract_object(county_data):
    out, err = reconcile("--county", COUNTY, "--as-of", "2026-07-01", "--json")

    report = json.loads(out)
    assert report == county_report(county_data)
    assert list(report["counts"]) == ReconciliationCategory.values
    assert err == ""
    run = ReconciliationRun.objects.get()
    assert (run.trigger, run.started_by, run.status) == (
        RunTrigger.COMMAND,
        None,
        RunStatus.FINISHED,
    )


def test_json_for_all_counties_lists_one_report_per_county(county_data):
    out, _ = reconcile("--all", "--as-of", "2026-07-01", "--json")

    assert json.loads(out) == {
        "runs": [
            county_report(county_data),
            {
                "county": SIBLING,
                "as_of": "2026-07-01",
                "period": "2026H2",
                "status": "finished",
                "counts": {**ZEROS, "should_register": 1},
                "items": [
                    {
                        "category": "should_register",
                        "dibao_household": "TK-0001",
                        "registry_household": None,
                        "id_numbers": [county_data["there"]],
                        "township": "150122100000",
                        "dibao_households": ["TK-0001"],
                        "registry_households": [],
                        "state": "open",
                    }
                ],
            },
        ]
    }


def test_without_json_the_command_prints_a_summary(county_data):
    out, _ = reconcile("--county", COUNTY, "--as-of", "2026-07-01")

    lines = out.splitlines()
    assert lines[0] == (
        "土默特左旗（150121000000）基准日 2026-07-01，期次 2026H2：已完成；"
        "低保/特困在保 2 户，建档立卡 3 户"
    )
    assert lines[1:] == [
        f"  {label}（{code}）：{county_report(county_data)['counts'][code]}"
        for code, label in ReconciliationCategory.choices
    ]


@pytest.mark.parametrize(
    ("_case", "args", "message"),
    [
        ("neither", (), "请用 --county 指定一个旗县区划代码，或用 --all 比对所有旗县（二者选一）"),
        (
            "both",
            ("--all", "--county", COUNTY),
            "请用 --county 指定一个旗县区划代码，或用 --all 比对所有旗县（二者选一）",
        ),
        ("unknown_county", ("--county", "150199000000"), "区划代码 150199000000 不存在"),
        (
            "township",
            ("--county", "150121100000"),
            "150121100000（察素齐镇）不是旗县级区划，请填写旗县区划代码",
        ),
        (
            "bad_date",
            ("--county", COUNTY, "--as-of", "2026-13-01"),
            "--as-of “2026-13-01”不是有效日期，应为 YYYY-MM-DD",
        ),
        (
            "unknown_option",
            ("--county", COUNTY, "--bogus"),
            "参数错误：unrecognized arguments: --bogus",
        ),
    ],
)
def test_bad_arguments_exit_2_with_a_chinese_message(ledgers, _case, args, message):
    error = refused(*args)

    assert (error.returncode, str(error)) == (2, message)
    assert not ReconciliationRun.objects.exists()


def test_a_future_date_exits_2(ledgers):
    error = refused("--county", COUNTY, "--as-of", "2099-01-01")

    assert error.returncode == 2
    assert "晚于今天" in str(error)


def test_a_failed_run_exits_1_after_printing_its_report(county_data):
    GuaranteeStandard.objects.all().delete()
    out = StringIO()

    with pytest.raises(CommandError) as error:
        call_command("reconcile", "--county", COUNTY, "--as-of", "2026-07-01", "--json", stdout=out)

    reason = "土默特左旗在 2026-07-01 没有适用的保障标准，请先导入保障标准"
    assert error.value.returncode == 1
    assert str(error.value) == f"比对失败：土默特左旗（{reason}）"
    assert json.loads(out.getvalue()) == {
        "county": COUNTY,
        "as_of": "2026-07-01",
        "period": "2026H2",
        "status": "failed",
        "counts": ZEROS,
        "items": [],
        "error": reason,
    }


def test_a_county_being_reconciled_already_exits_1(county_data, areas):
    reconciliation_request(actor=None, county=areas.county, trigger=RunTrigger.MANUAL)

    error = refused("--county", COUNTY)

    assert error.returncode == 1
    assert str(error).startswith("土默特左旗的台账比对正在进行（排队中")


def test_all_skips_a_county_being_reconciled_and_says_so(county_data, areas):
    reconciliation_request(actor=None, county=areas.county, trigger=RunTrigger.MANUAL)

    out, err = reconcile("--all", "--as-of", "2026-07-01", "--json")

    assert [report["county"] for report in json.loads(out)["runs"]] == [SIBLING]
    assert err.strip() == "1 个旗县已有比对正在进行，本次跳过"


def test_the_real_process_exits_2_on_bad_arguments():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "lowbao.settings.test"}
    for args, message in (
        (["--bogus"], "参数错误：unrecognized arguments: --bogus"),
        ([], "请用 --county 指定一个旗县区划代码，或用 --all 比对所有旗县（二者选一）"),
    ):
        done = subprocess.run(
            [sys.executable, "manage.py", "reconcile", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 2
        assert message in done.stderr
        assert done.stdout == ""
