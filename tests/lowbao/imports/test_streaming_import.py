"""The streamed roster import (quality.md P3, P4, R1, S4): staging in temporary tables holds no
plain sensitive value and is dropped, the set-based checks find what the checks in memory find,
the set-based apply is all-or-nothing, and the persons who joined a household are handed over in
one call."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import hooks, roster_import
from cases.models import BenefitPeriod, Household, HouseholdMember
from lowbao.areas.models import Area
from lowbao.imports import readers, staging
from lowbao.imports.kinds import ImportOptions
from lowbao.imports.models import ImportBatch, ImportRow, ImportStatus
from lowbao.imports.pipeline import (
    import_batch_apply,
    import_batch_create,
    import_batch_parse,
    import_batch_report,
)
from lowbao.people.models import Person
from tests.lowbao.imports.database_digest import database_digest, staging_tables
from tests.lowbao.imports.test_import_ledger_command import (
    COUNTY,
    roster,
    roster_row,
    run,
    run_json,
    two_households,
)
from tests.lowbao.people.factories import make_id_number


@pytest.fixture
def in_tables(settings):
    """Every row staged in temporary tables (as a file past 5,000 rows is)."""
    settings.LOWBAO_IMPORT_STAGE_IN_MEMORY_ROWS = 0


def _batch(areas, tmp_path, rows, name="roster.csv", **options) -> ImportBatch:
    batch = import_batch_create(
        actor=None,
        kind="dibao",
        path=roster(tmp_path, rows, name),
        county=areas.county,
        options=ImportOptions(**options),
    )
    return import_batch_parse(batch=batch)


def _households(count: int, prefix: str = "H") -> list[dict]:
    rows = []
    for index in range(count):
        number = f"{prefix}{index:04d}"
        rows.append(roster_row(number, make_id_number()))
        rows.append(roster_row(number, make_id_number(), "配偶", 银行账号="", 联系电话=""))
    return rows


def _mixed_rows() -> list[dict]:
    """Valid households, one with a bad cell, one with two heads, a person twice, a 15-digit
    ID number (a warning), a village by name."""
    rows = _households(3)
    rows[1]["月保障金额"] = "abc"
    rows[3]["与户主关系"] = "户主"
    rows.append(roster_row("H0009", rows[4]["身份证号"]))
    rows.append(roster_row("H0010", "150121800101123", 嘎查村代码="", 嘎查村="毕克齐一村委会"))
    return rows


# --- the same answers either way -------------------------------------------------------------


def _report_and_staging(areas, tmp_path, rows, **options) -> tuple[dict, list]:
    batch = _batch(areas, tmp_path, rows, **options)
    report = import_batch_report(ImportBatch.objects.get(pk=batch.pk))
    staged = list(
        ImportRow.objects.filter(batch=batch)
        .order_by("row_number")
        .values_list("row_number", "household", "raw", "match", "errors", "warnings")
    )
    pipeline_state = getattr(batch, "_parsed", None)
    if pipeline_state is not None:
        pipeline_state.close()
    return report, staged


@pytest.mark.parametrize("skip_invalid", [False, True], ids=["all_or_nothing", "skip_invalid"])
def test_tables_and_memory_find_exactly_the_same_problems(areas, tmp_path, settings, skip_invalid):
    rows = _mixed_rows()
    settings.LOWBAO_IMPORT_STAGE_IN_MEMORY_ROWS = 5000
    in_memory = _report_and_staging(areas, tmp_path, rows, skip_invalid=skip_invalid)
    ImportBatch.objects.all().delete()
    settings.LOWBAO_IMPORT_STAGE_IN_MEMORY_ROWS = 0

    in_tables = _report_and_staging(areas, tmp_path, rows, skip_invalid=skip_invalid)

    assert in_tables == in_memory
    assert [(e["row"], e["code"]) for e in in_tables[0]["errors"]] == [
        (4, "bad_number"),
        (6, "household_many_heads"),
        (9, "duplicate_in_file"),
    ]
    assert [w["code"] for w in in_tables[0]["warnings"]] == ["id_upgraded_from_15"]


@pytest.mark.parametrize("staged_in", ["memory", "tables"])
def test_a_mixed_file_with_skip_invalid_writes_the_valid_households_whole(
    areas, tmp_path, settings, staged_in
):
    settings.LOWBAO_IMPORT_STAGE_IN_MEMORY_ROWS = 5000 if staged_in == "memory" else 0
    first = _households(2, prefix="K")
    assert run_json("dibao", str(roster(tmp_path, first, "first.csv")), "--county", COUNTY)[0] == 0
    rows = first + _mixed_rows()
    rows[0]["月保障金额"] = "700.00"  # K0000 changes
    rows[1]["月保障金额"] = "700.00"

    code, report = run_json(
        "dibao", str(roster(tmp_path, rows, "second.csv")), "--county", COUNTY, "--skip-invalid"
    )

    assert code == 0
    assert (report["created"], report["updated"], report["unchanged"]) == (2, 1, 1)
    assert report["skipped_households"] == 3
    assert sorted(Household.objects.values_list("number", flat=True)) == [
        "H0002",
        "H0010",
        "K0000",
        "K0001",
    ]
    assert Household.objects.get(number="K0000").monthly_amount == 700
    assert HouseholdMember.objects.filter(household__number="H0002").count() == 2
    h0010 = Household.objects.get(number="H0010")
    assert h0010.area.code == "150121101201"
    member = HouseholdMember.objects.select_related("person").get(household=h0010)
    assert member.person.id_number == roster_import.parse_id_number("150121800101123").value
    period = BenefitPeriod.objects.get(household__number="H0002")
    assert (str(period.monthly_amount), period.covered_persons, period.reason) == (
        "680.00",
        2,
        "花名册导入",
    )


# --- staging: nothing sensitive, nothing left ---------------------------------------------------


def test_staging_tables_hold_no_plain_id_number_or_bank_account(areas, tmp_path, in_tables):
    rows = _households(3)
    batch = _batch(areas, tmp_path, rows)
    assert batch.status == ImportStatus.PARSED
    tables = staging_tables()
    assert tables  # kept for the apply in this process
    contents = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            contents.append(json.dumps(cursor.fetchall(), default=str, ensure_ascii=False))
    staged = "\n".join(contents)

    for row in rows:
        assert row["身份证号"] not in staged
    assert "6228480012345678901" not in staged
    assert rows[0]["身份证号"][:6] + "********" + rows[0]["身份证号"][14:] in staged


def test_staging_tables_are_dropped_once_applied_or_rejected(areas, tmp_path, in_tables):
    assert (
        run_json("dibao", str(roster(tmp_path, _households(2), "a.csv")), "--county", COUNTY)[0]
        == 0
    )
    assert staging_tables() == []
    rows = _households(2, prefix="B")
    rows[0]["月保障金额"] = "-1"

    assert run_json("dibao", str(roster(tmp_path, rows, "b.csv")), "--county", COUNTY)[0] == 1
    assert staging_tables() == []


def test_a_parse_left_unapplied_is_dropped_by_the_next_parse(areas, tmp_path, in_tables):
    first = _batch(areas, tmp_path, _households(2), "a.csv")
    held = staging_tables()

    second = _batch(areas, tmp_path, _households(2, prefix="B"), "b.csv")

    assert set(staging_tables()).isdisjoint(held)
    assert (first._parsed.is_alive(), second._parsed.is_alive()) == (False, True)
    applied = import_batch_apply(actor=None, batch=first)  # validated again from its file
    assert applied.counts["created"] == 2
    assert second._parsed.is_alive() is False  # one import's staging per connection
    assert import_batch_apply(actor=None, batch=second).counts["created"] == 2
    assert staging_tables() == []


def test_apply_in_the_same_process_does_not_read_the_file_again(
    areas, tmp_path, in_tables, monkeypatch
):
    batch = _batch(areas, tmp_path, _households(3))

    def no_second_read(*args, **kwargs):
        raise AssertionError("the file was read again")

    monkeypatch.setattr(readers, "open_table", no_second_read)
    applied = import_batch_apply(actor=None, batch=batch)

    assert applied.counts["created"] == 3
    assert staging_tables() == []


# --- R1: the set-based apply is all or nothing -------------------------------------------------


def test_a_failure_in_the_set_based_apply_leaves_every_table_unchanged(
    areas, tmp_path, in_tables, monkeypatch
):
    assert (
        run_json("dibao", str(roster(tmp_path, two_households(), "a.csv")), "--county", COUNTY)[0]
        == 0
    )
    rows = two_households() + _households(3)
    before = database_digest()
    real = staging.insert_select
    calls = []

    def failing_insert_select(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 3:  # persons and households are written by then
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(roster_import, "insert_select", failing_insert_select)

    with pytest.raises(RuntimeError):
        run("dibao", str(roster(tmp_path, rows, "b.csv")), "--county", COUNTY)

    assert calls == [Person, Household, HouseholdMember]
    assert database_digest() == before
    assert ImportBatch.objects.get(original_name="b.csv").status == ImportStatus.FAILED
    monkeypatch.undo()
    code, report = run_json("dibao", str(roster(tmp_path, rows, "b.csv")), "--county", COUNTY)
    assert (code, report["created"]) == (0, 3)


# --- the persons who joined, in one call ----------------------------------------------------------


@pytest.mark.parametrize("staged_in", ["memory", "tables"])
def test_the_persons_who_joined_are_handed_over_once_per_import(
    areas, tmp_path, settings, monkeypatch, staged_in
):
    settings.LOWBAO_IMPORT_STAGE_IN_MEMORY_ROWS = 5000 if staged_in == "memory" else 0
    calls: list[list[int]] = []
    monkeypatch.setattr(hooks, "AFTER_PERSONS_JOINED", [lambda ids: calls.append(sorted(ids))])
    monkeypatch.setattr(roster_import, "AFTER_PERSONS_JOINED", hooks.AFTER_PERSONS_JOINED)
    rows = _households(3)

    code, _report = run_json("dibao", str(roster(tmp_path, rows, "a.csv")), "--county", COUNTY)

    assert code == 0
    assert calls == [sorted(HouseholdMember.objects.values_list("person_id", flat=True))]
    assert len(calls[0]) == 6


def test_a_dry_run_hands_over_no_one(areas, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(roster_import, "AFTER_PERSONS_JOINED", [calls.append])

    code, _report = run_json(
        "dibao", str(roster(tmp_path, _households(2))), "--county", COUNTY, "--dry-run"
    )

    assert (code, calls) == (0, [])


# --- P4 in the table path ------------------------------------------------------------------------


def _statements(tmp_path, households: int) -> int:
    rows = _households(households, prefix=f"N{households}-")
    path = roster(tmp_path, rows, f"roster-{households}.csv")
    with CaptureQueriesContext(connection) as queries:
        code, _out, _err = run("dibao", str(path), "--county", COUNTY, "--json")
    assert code == 0
    return len(queries)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite splits bulk statements")
def test_statements_do_not_grow_with_the_rows_in_the_table_path(areas, tmp_path, in_tables):
    small = _statements(tmp_path, 10)
    large = _statements(tmp_path, 200)

    assert large == small


def test_the_county_of_a_run_is_required(areas):
    with pytest.raises(ValueError, match="one county"):
        roster_import.RosterRun(None, ImportOptions())
    assert Area.objects.filter(code=COUNTY).exists()
