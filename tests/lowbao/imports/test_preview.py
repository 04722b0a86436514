"""The preview of what a batch will change follows the trial's counts: for every kind the
groups 新增 / 更新 / 不变 (and 退出台账 for the poverty registry) carry the exact count of the
trial and, as samples, the first units of the file the apply reported for each, from staging
(masked values only). The page renders the groups, and previews stored in the former format
still render."""

import json
from datetime import date

import pytest
from django.urls import reverse

from cases import roster_import
from lowbao.imports import staging
from lowbao.imports.kinds import KEYS_KEPT, ImportOptions, Outcomes
from lowbao.imports.models import ImportBatch, ImportStatus
from lowbao.imports.pipeline import import_batch_apply
from lowbao.imports.preview import SAMPLE_SIZE
from poverty.services.disability import disability_records_apply
from poverty.verification_validation import DisabilityRow
from tests.lowbao.imports.test_import_ledger_command import (
    COUNTY,
    POVERTY_HEADERS,
    poverty_row,
    roster_row,
)
from tests.lowbao.imports.test_upload_kinds import (
    STANDARDS_HEADERS,
    VERIFICATION_HEADERS,
    bad_check_digit,
    masked,
    verification_row,
)
from tests.lowbao.imports.test_upload_pages import DISABILITY_HEADERS, make_admins, make_batch
from tests.lowbao.people.factories import make_id_number

pytestmark = pytest.mark.django_db

AREAS_HEADERS = ["统计用区划代码", "城乡分类代码", "名称"]
ACCOUNT = "6228480012345678901"


@pytest.fixture
def admins(areas, make_user):
    return make_admins(areas, make_user)


def groups_of(batch: ImportBatch) -> dict[str, dict]:
    return {group["key"]: group for group in batch.preview["groups"]}


def outcome(batch: ImportBatch) -> dict[str, tuple[int, list]]:
    """{group key: (count, samples)}."""
    return {key: (group["count"], group["samples"]) for key, group in groups_of(batch).items()}


def applied(batch: ImportBatch, actor) -> ImportBatch:
    batch = import_batch_apply(actor=actor, batch=batch)
    assert batch.status == ImportStatus.APPLIED
    return batch


def assert_counts_match_apply(batch: ImportBatch, actor) -> None:
    """The preview's counts are what the apply then writes."""
    preview = batch.preview
    written = applied(batch, actor).counts
    assert (preview["created"], preview["updated"], preview["unchanged"]) == (
        written["created"],
        written["updated"],
        written["unchanged"],
    )


def file_maker(tmp_path, *, actor, kind: str, headers: list[str], county=None):
    """``file(rows, name)``: the batch of a ``kind`` file with these rows, uploaded by
    ``actor``."""

    def file(rows: list[dict], name: str) -> ImportBatch:
        return make_batch(
            tmp_path,
            actor=actor,
            county=county,
            kind=kind,
            headers=headers,
            rows=rows,
            name=name,
        )

    return file


def assert_nothing_plain(batch: ImportBatch, secrets: list[str]) -> None:
    text = json.dumps(batch.preview, ensure_ascii=False)
    for secret in secrets:
        assert secret not in text


# --- the roster (dibao) ------------------------------------------------------------------------


@pytest.fixture(params=["memory", "tables"])
def staged_in(request, settings, monkeypatch):
    """Both roster paths: rows held in memory, or staged in tables with one household applied
    per round (so the keys come from several rounds and from the set-based write)."""
    if request.param == "tables":
        settings.LOWBAO_IMPORT_STAGE_IN_MEMORY_ROWS = 0
        monkeypatch.setattr(roster_import, "APPLY_HOUSEHOLDS", 1)
        monkeypatch.setattr(staging, "COPY_MIN_ROWS", 1)
    else:
        settings.LOWBAO_IMPORT_STAGE_IN_MEMORY_ROWS = 5000
    return request.param


def test_a_roster_imported_again_with_one_household_changed_is_previewed_by_outcome(
    areas, admins, tmp_path, staged_in
):
    ids = {name: make_id_number() for name in ("h1", "s1", "h2", "h3", "h4", "h5")}
    first = [
        roster_row("DB001", ids["h1"]),
        roster_row("DB001", ids["s1"], "配偶", 银行账号="", 联系电话=""),
        roster_row("DB002", ids["h2"]),
        roster_row("DB003", ids["h3"]),
    ]
    applied(
        make_batch(tmp_path, actor=admins.county, county=areas.county, rows=first, name="a.csv"),
        admins.county,
    )
    again = [
        roster_row("DB005", ids["h5"]),  # new, first in the file
        roster_row("DB001", ids["s1"], "配偶", 银行账号="", 联系电话=""),  # spouse first
        roster_row("DB001", ids["h1"]),
        roster_row("DB002", ids["h2"], 月保障金额="720.00"),  # changed
        roster_row("DB004", ids["h4"]),  # new
        roster_row("DB003", ids["h3"]),
    ]

    batch = make_batch(tmp_path, actor=admins.county, county=areas.county, rows=again)

    def sample(number: str, head: str) -> list[str]:
        return [number, f"成员{ids[head][-4:]}", masked(ids[head])]

    assert batch.preview["columns"] == ["户编号", "户主姓名", "户主身份证号"]
    assert outcome(batch) == {
        "new": (2, [sample("DB005", "h5"), sample("DB004", "h4")]),
        "updated": (1, [sample("DB002", "h2")]),
        "unchanged": (2, [sample("DB001", "h1"), sample("DB003", "h3")]),
    }
    assert {group["unit"] for group in batch.preview["groups"]} == {"户"}
    assert_nothing_plain(batch, [*ids.values(), ACCOUNT])
    assert_counts_match_apply(batch, admins.county)


def test_a_roster_with_more_households_than_samples_shows_the_first_in_file_order(
    areas, admins, tmp_path, staged_in
):
    numbers = [f"DB{index:03d}" for index in range(KEYS_KEPT + 3, 0, -1)]  # not sorted
    rows = [roster_row(number, make_id_number()) for number in numbers]

    batch = make_batch(tmp_path, actor=admins.county, county=areas.county, rows=rows)

    groups = groups_of(batch)
    assert (batch.preview["created"], groups["new"]["count"]) == (len(numbers), len(numbers))
    assert [sample[0] for sample in groups["new"]["samples"]] == numbers[:SAMPLE_SIZE]
    assert (groups["updated"]["count"], groups["unchanged"]["count"]) == (0, 0)


def apply_first_roster(tmp_path, admins, areas, ids: list[str]) -> None:
    """A roster of households DB001 and DB002 (heads ``ids[0]`` and ``ids[1]``), applied."""
    applied(
        make_batch(
            tmp_path,
            actor=admins.county,
            county=areas.county,
            rows=[roster_row("DB001", ids[0]), roster_row("DB002", ids[1])],
            name="a.csv",
        ),
        admins.county,
    )


def test_a_roster_previewed_after_skip_invalid_leaves_the_invalid_household_out(
    areas, admins, tmp_path, staged_in
):
    ids = [make_id_number() for _ in range(3)]
    apply_first_roster(tmp_path, admins, areas, ids)
    rows = [
        roster_row("DB001", ids[0]),
        roster_row("DB002", bad_check_digit(ids[1])),  # invalid: skipped
        roster_row("DB003", ids[2]),
    ]

    batch = make_batch(
        tmp_path,
        actor=admins.county,
        county=areas.county,
        rows=rows,
        options=ImportOptions(skip_invalid=True),
    )

    assert batch.status == ImportStatus.PARSED
    assert outcome(batch) == {
        "new": (1, [["DB003", f"成员{ids[2][-4:]}", masked(ids[2])]]),
        "updated": (0, []),
        "unchanged": (1, [["DB001", f"成员{ids[0][-4:]}", masked(ids[0])]]),
    }
    assert batch.counts["skipped_households"] == 1
    assert_nothing_plain(batch, [*ids, bad_check_digit(ids[1])])
    assert_counts_match_apply(batch, admins.county)


# --- the poverty registry ---------------------------------------------------------------------


def registry_file(tmp_path, admins, areas, numbers: dict[str, str], name: str, **options):
    return make_batch(
        tmp_path,
        actor=admins.county,
        county=areas.county,
        kind="poverty",
        headers=POVERTY_HEADERS,
        rows=[poverty_row(number, id_number) for number, id_number in numbers.items()],
        name=name,
        options=ImportOptions(**options),
    )


def test_the_registry_preview_after_skip_invalid_has_the_skipped_household_leaving(
    areas, admins, tmp_path
):
    ids = {number: make_id_number() for number in ("R1", "R2", "R3", "R4")}
    applied(
        registry_file(tmp_path, admins, areas, {n: ids[n] for n in ("R1", "R2", "R3")}, "1.csv"),
        admins.county,
    )
    numbers = {"R4": ids["R4"], "R1": ids["R1"], "R2": bad_check_digit(ids["R2"])}

    batch = registry_file(tmp_path, admins, areas, numbers, "2.csv", skip_invalid=True)

    def sample(number: str) -> list[str]:
        return [number, f"成员{ids[number][-4:]}", masked(ids[number])]

    assert outcome(batch) == {
        "new": (1, [sample("R4")]),
        "updated": (0, []),
        "unchanged": (1, [sample("R1")]),
        "leaving": (2, [sample("R2"), sample("R3")]),
    }
    assert_nothing_plain(batch, [*ids.values(), bad_check_digit(ids["R2"])])
    assert_counts_match_apply(batch, admins.county)


def test_a_registry_file_applied_again_on_the_same_date_is_all_unchanged(areas, admins, tmp_path):
    """The same content again is a replay of the latest snapshot: nothing changes."""
    ids = {number: make_id_number() for number in ("R1", "R2")}
    applied(registry_file(tmp_path, admins, areas, ids, "1.csv"), admins.county)
    reordered = {"R2": ids["R2"], "R1": ids["R1"]}

    batch = registry_file(tmp_path, admins, areas, reordered, "2.csv")

    assert outcome(batch) == {
        "new": (0, []),
        "updated": (0, []),
        "unchanged": (2, [[n, f"成员{ids[n][-4:]}", masked(ids[n])] for n in ("R2", "R1")]),
        "leaving": (0, []),
    }


def test_a_refused_registry_preview_has_no_groups(areas, admins, tmp_path):
    ids = {"R1": make_id_number()}
    applied(registry_file(tmp_path, admins, areas, ids, "1.csv"), admins.county)

    ids["R2"] = make_id_number()
    batch = registry_file(tmp_path, admins, areas, ids, "old.csv", snapshot_date=date(2020, 1, 1))

    assert batch.preview["refusal"].startswith("快照日期 2020-01-01")
    assert (batch.preview["created"], batch.preview["groups"]) == (None, [])


# --- person-level and reference ledgers -----------------------------------------------------------


def disability_row(id_number: str, issued_on: str = "2020-05-01") -> dict:
    return {
        "姓名": f"残{id_number[-4:]}",
        "身份证号": id_number,
        "残疾证号": f"{id_number}42",
        "残疾类别": "肢体",
        "残疾等级": "二级",
        "发证日期": issued_on,
    }


def test_a_disability_ledger_imported_again_is_previewed_by_row_outcome(admins, tmp_path):
    ids = [make_id_number() for _ in range(4)]

    file = file_maker(tmp_path, actor=admins.region, kind="disability", headers=DISABILITY_HEADERS)

    applied(file([disability_row(i) for i in ids[:3]], "1.csv"), admins.region)
    rows = [
        disability_row(ids[3]),  # row 3: new
        disability_row(ids[0]),  # row 4: unchanged
        disability_row(ids[1], issued_on="2024-05-01"),  # row 5: updated
        disability_row(ids[2]),  # row 6: unchanged
    ]

    batch = file(rows, "2.csv")

    def sample(row: int, id_number: str) -> list[str]:
        certificate = f"{id_number}42"
        return [
            str(row),
            masked(id_number),
            f"残{id_number[-4:]}",
            certificate[:6] + "*" * 10 + certificate[16:],
            "肢体",
        ]

    assert batch.preview["columns"] == ["行号", "身份证号", "姓名", "残疾证号", "残疾类别"]
    assert outcome(batch) == {
        "new": (1, [sample(3, ids[3])]),
        "updated": (1, [sample(5, ids[1])]),
        "unchanged": (2, [sample(4, ids[0]), sample(6, ids[2])]),
    }
    assert {group["unit"] for group in batch.preview["groups"]} == {"行"}
    assert_nothing_plain(batch, [*ids, *(f"{i}42" for i in ids)])
    assert_counts_match_apply(batch, admins.region)


def test_a_verification_ledger_imported_again_is_previewed_by_row_outcome(admins, tmp_path):
    ids = [make_id_number() for _ in range(3)]

    file = file_maker(
        tmp_path, actor=admins.region, kind="verification", headers=VERIFICATION_HEADERS
    )

    applied(file([verification_row(i) for i in ids[:2]], "1.csv"), admins.region)
    rows = [
        verification_row(ids[0]) | {"金额": "45000"},  # row 3: updated
        verification_row(ids[2]),  # row 4: new
        verification_row(ids[1]),  # row 5: unchanged
    ]

    batch = file(rows, "2.csv")

    columns = batch.preview["columns"]
    assert columns[0] == "行号"
    shown = {
        key: (count, [s[0] for s in samples]) for key, (count, samples) in outcome(batch).items()
    }
    assert shown == {"new": (1, ["4"]), "updated": (1, ["3"]), "unchanged": (1, ["5"])}
    new_sample = dict(zip(columns, groups_of(batch)["new"]["samples"][0], strict=True))
    assert new_sample["身份证号"] == masked(ids[2])
    assert_nothing_plain(batch, ids)
    assert_counts_match_apply(batch, admins.region)


def test_a_standards_ledger_imported_again_is_previewed_by_row_outcome(areas, admins, tmp_path):
    def standard(day: str, amount: str) -> dict:
        return {"区划代码": COUNTY, "生效日期": day, "农村低保标准": amount}

    file = file_maker(tmp_path, actor=admins.region, kind="standards", headers=STANDARDS_HEADERS)

    applied(
        file([standard("2025-01-01", "700"), standard("2026-01-01", "760")], "1.csv"), admins.region
    )
    rows = [
        standard("2025-01-01", "700"),  # row 3: unchanged
        standard("2026-01-01", "780"),  # row 4: updated
        standard("2027-01-01", "812"),  # row 5: new
    ]

    batch = file(rows, "2.csv")

    assert batch.preview["columns"] == ["行号", "区划代码", "生效日期", "农村低保标准"]
    assert outcome(batch) == {
        "new": (1, [["5", COUNTY, "2027-01-01", "812"]]),
        "updated": (1, [["4", COUNTY, "2026-01-01", "780"]]),
        "unchanged": (1, [["3", COUNTY, "2025-01-01", "700"]]),
    }
    assert_counts_match_apply(batch, admins.region)


def test_an_areas_ledger_imported_again_is_previewed_by_row_outcome(areas, admins, tmp_path):
    def village(code: str, name: str) -> dict:
        return {"统计用区划代码": code, "城乡分类代码": "220", "名称": name}

    file = file_maker(
        tmp_path, actor=admins.county, county=areas.county, kind="areas", headers=AREAS_HEADERS
    )

    applied(
        file([village("150121100203", "三村"), village("150121100204", "四村")], "1.csv"),
        admins.county,
    )
    rows = [
        village("150121100205", "五村"),  # row 3: new
        village("150121100204", "新四村"),  # row 4: renamed
        village("150121100203", "三村"),  # row 5: unchanged
    ]

    batch = file(rows, "2.csv")

    assert batch.preview["columns"] == ["行号", "统计用区划代码", "名称"]
    assert outcome(batch) == {
        "new": (1, [["3", "150121100205", "五村"]]),
        "updated": (1, [["4", "150121100204", "新四村"]]),
        "unchanged": (1, [["5", "150121100203", "三村"]]),
    }
    assert_counts_match_apply(batch, admins.county)


# --- bounded keys --------------------------------------------------------------------------------


def test_outcomes_count_everything_and_keep_only_the_first_keys():
    outcomes = Outcomes()
    for row in range(1, 50_001):
        outcomes.add("created" if row % 2 else "unchanged", row)

    counts = outcomes.counts()

    assert (counts.created, counts.updated, counts.unchanged) == (25_000, 0, 25_000)
    assert counts.created_keys == tuple(range(1, 2 * KEYS_KEPT, 2))
    assert counts.unchanged_keys == tuple(range(2, 2 * KEYS_KEPT + 1, 2))
    assert counts.updated_keys == ()


def test_the_disability_service_reports_its_first_rows_only_when_asked(admins):
    rows = [
        DisabilityRow(
            row=number,
            id_number=make_id_number(),
            name="王五",
            certificate_number=f"C{number}",
            disability_type="physical",
            grade=2,
            issued_on=None,
        )
        for number in range(3, 3 + KEYS_KEPT + 5)
    ]

    quiet = disability_records_apply(actor=None, rows=rows[:2], source="import")
    counts = disability_records_apply(actor=None, rows=rows, source="import", rows_kept=KEYS_KEPT)

    assert (quiet.created, quiet.created_rows) == (2, ())
    assert (counts.created, counts.unchanged) == (len(rows) - 2, 2)
    assert counts.created_rows == tuple(range(5, 5 + KEYS_KEPT))
    assert counts.unchanged_rows == (3, 4)
    assert "created_rows" not in counts.as_dict()


# --- the page -------------------------------------------------------------------------------------


def test_the_batch_page_shows_each_group_with_its_samples_masked(
    areas, admins, login_client, tmp_path
):
    ids = [make_id_number() for _ in range(3)]
    apply_first_roster(tmp_path, admins, areas, ids)
    rows = [
        roster_row("DB001", ids[0]),
        roster_row("DB002", ids[1], 月保障金额="720.00"),
        roster_row("DB003", ids[2]),
    ]
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county, rows=rows)

    page = login_client(admins.county).get(reverse("imports:batch_detail", args=[batch.pk]))

    html = page.content.decode()
    for key, label, number, id_number in (
        ("new", "新增", "DB003", ids[2]),
        ("updated", "更新", "DB002", ids[1]),
        ("unchanged", "不变", "DB001", ids[0]),
    ):
        heading = html.split(f'id="preview-group-{key}">', 1)[1].split("</h2>", 1)[0]
        assert heading.startswith(f'{label}：<span class="preview-group-count">1</span> 户')
        table = html.split(f'id="preview-samples-{key}"', 1)[1].split("</table>", 1)[0]
        assert f"<td>{number}</td>" in table
        assert f"<td>{masked(id_number)}</td>" in table
    assert 'id="confirm-apply"' in html
    for id_number in ids:
        assert id_number not in html
    assert ACCOUNT not in html


def test_a_preview_stored_in_the_former_format_still_renders(areas, admins, login_client, tmp_path):
    """Before the groups followed the counts, a household batch stored "new" and "known" (已有的户)
    groups by staging match, a person ledger one "rows" group, without a unit."""
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county)
    head = make_id_number()
    ImportBatch.objects.filter(pk=batch.pk).update(
        preview={
            "computed_at": "2026-06-01T08:00:00+00:00",
            "refusal": "",
            "created": 1,
            "updated": 0,
            "unchanged": 1,
            "columns": ["户编号", "户主姓名", "户主身份证号"],
            "groups": [
                {"key": "new", "label": "新增的户", "count": 1, "samples": [["DB009", "甲", "x"]]},
                {
                    "key": "known",
                    "label": "已有的户（将更新或保持不变）",
                    "count": 12,
                    "samples": [["DB001", "乙", masked(head)]],
                },
            ],
        }
    )

    page = login_client(admins.county).get(reverse("imports:batch_detail", args=[batch.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="preview-created">1<' in html
    assert "已有的户（将更新或保持不变）：" in html
    assert "（样例，前 1 条）" in html
    known = html.split('id="preview-samples-known"', 1)[1].split("</table>", 1)[0]
    assert f"<td>{masked(head)}</td>" in known
    assert 'id="confirm-apply"' in html
